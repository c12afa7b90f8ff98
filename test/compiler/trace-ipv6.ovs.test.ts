/**
 * Needs root and Open vSwitch. IPv6 flows like the IPv4 ones in trace.ovs.test.ts: the dual-stack fixture's plans
 * (every profile) are loaded with `ovs-ofctl add-flows` onto userspace bridges (v6tr0, v6tr1, … deleted by name),
 * and IPv6 packets — allowed and denied services, replies, spoofed sources, Neighbor Discovery for own and foreign
 * addresses, DAD, router advertisements from user and router ports, DHCPv6 replies from trusted and untrusted
 * ports, traffic arriving on links — are traced with `ovs-appctl ofproto/trace`; the cookies hit, table by table,
 * and the verdict must equal the flow-table interpreter's.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlowTables, formatOvsFlows, type Compiled, type Packet, type SwitchPlan } from '../../compiler/index.js';
import { eui64LinkLocal } from '../../compiler/addr.js';
import { createBridge, deleteBridge, ensureOvs, haveOvs, ofctl } from '../helpers/ovs.js';
import { describeWith } from '../helpers/needs.js';
import { ovsTrace, traceSpec } from '../helpers/ovs-trace6.js';
import { build, MAC, V6 } from './ipv6-fixture.js';

const bridges = new Set<string>();
let dir = '';
let next = 0;

const LL = { alice: eui64LinkLocal(MAC.alice), bob: eui64LinkLocal(MAC.bob), web: eui64LinkLocal(MAC.web) };

function packets(c: Compiled, sp: SwitchPlan): Packet[] {
  const tcp = (inPort: number, mac: string, src: string, dst: string, dport: number, flags = 0x002, sport = 40000): Packet => ({
    inPort,
    ethSrc: mac,
    ethType: 0x86dd,
    ipSrc: src,
    ipDst: dst,
    ipProto: 6,
    tpSrc: sport,
    tpDst: dport,
    tcpFlags: flags,
  });
  const icmp = (inPort: number, mac: string, src: string, dst: string, type: number, ndTarget?: string): Packet => ({
    inPort,
    ethSrc: mac,
    ethType: 0x86dd,
    ipSrc: src,
    ipDst: dst,
    ipProto: 58,
    icmpType: type,
    ...(ndTarget ? { ndTarget } : {}),
  });
  const udp = (inPort: number, mac: string, src: string, dst: string, sport: number, dport: number): Packet => ({
    inPort,
    ethSrc: mac,
    ethType: 0x86dd,
    ipSrc: src,
    ipDst: dst,
    ipProto: 17,
    tpSrc: sport,
    tpDst: dport,
  });
  if (sp.name === 'e1')
    return [
      tcp(1, MAC.alice, V6.alice, V6.web, 443),
      tcp(1, MAC.alice, V6.alice, V6.web, 22),
      tcp(1, MAC.alice, V6.alice, V6.db, 5432),
      tcp(2, MAC.bob, V6.bob, V6.db, 5432),
      tcp(1, MAC.alice, V6.bob, V6.web, 443),
      tcp(2, MAC.alice, V6.alice, V6.web, 443),
      tcp(1, MAC.alice, LL.alice, V6.web, 443),
      tcp(1, MAC.alice, V6.alice, '2001:db8:9::1', 443),
      udp(1, MAC.alice, V6.alice, '2001:db8:2::99', 40000, 53),
      udp(2, MAC.bob, V6.bob, '2001:db8:2::99', 40000, 53),
      icmp(1, MAC.alice, V6.alice, V6.web, 128),
      icmp(1, MAC.alice, V6.alice, V6.web, 1),
      icmp(1, MAC.alice, LL.alice, 'ff02::1:ff00:b', 135, V6.bob),
      icmp(1, MAC.alice, '::', 'ff02::1:ff00:a', 135, V6.alice),
      icmp(1, MAC.alice, '::', 'ff02::1:ff00:b', 135, V6.bob),
      icmp(1, MAC.alice, V6.bob, 'ff02::1:ff00:b', 135, V6.alice),
      icmp(1, MAC.alice, V6.alice, V6.bob, 136, V6.alice),
      icmp(1, MAC.alice, LL.alice, LL.bob, 136, LL.bob),
      icmp(1, MAC.alice, LL.alice, 'ff02::1', 136, V6.alice), // NA from its link-local address for its global one
      icmp(1, MAC.alice, V6.bob, 'ff02::1', 136, V6.alice), // NA for its own address from a spoofed source
      icmp(1, MAC.alice, LL.alice, 'ff02::16', 143), // MLDv2 report (not forwarded)
      icmp(1, MAC.alice, LL.alice, 'ff02::1', 130), // MLD query from a host
      icmp(1, MAC.alice, LL.alice, 'ff02::1', 134),
      icmp(5, '02:00:00:00:09:09', 'fe80::1', 'ff02::1', 134),
      icmp(10, '02:00:00:00:09:09', 'fe80::1', 'ff02::1', 134),
      icmp(1, MAC.alice, LL.alice, 'ff02::2', 133),
      icmp(1, MAC.alice, LL.alice, LL.bob, 137),
      udp(6, '02:00:00:00:09:0a', 'fe80::9', LL.alice, 547, 546),
      udp(2, MAC.bob, LL.bob, LL.alice, 547, 546),
      udp(1, MAC.alice, LL.alice, 'ff02::1:2', 546, 547),
      tcp(10, MAC.web, V6.web, V6.alice, 40000, 0x012, 443),
      tcp(10, MAC.web, V6.web, V6.alice, 40000, 0x010, 443),
    ];
  return [
    tcp(10, MAC.alice, V6.alice, V6.web, 443),
    tcp(10, MAC.alice, V6.alice, V6.web, 22),
    tcp(10, MAC.bob, V6.bob, V6.db, 5432),
    tcp(10, MAC.alice, V6.alice, V6.db, 5432),
    tcp(10, '02:00:00:00:ee:01', '2001:db8:1::99', V6.web, 443),
    icmp(10, MAC.alice, V6.alice, V6.web, 128),
    tcp(1, MAC.web, V6.web, V6.alice, 40000, 0x012, 443),
    tcp(1, MAC.web, V6.web, V6.alice, 40001, 0x002, 443),
    tcp(1, MAC.web, V6.web, V6.alice, 40001, 0x010, 443),
    icmp(1, MAC.web, V6.web, V6.alice, 129),
    tcp(1, MAC.web, V6.db, V6.alice, 40000, 0x012, 443),
    icmp(1, MAC.web, LL.web, 'ff02::1:ff00:11', 135, V6.db),
    icmp(1, MAC.web, '::', 'ff02::1:ff00:10', 135, V6.web),
    icmp(10, MAC.alice, LL.alice, 'ff02::1:ff00:10', 135, V6.web),
    icmp(10, MAC.alice, V6.alice, V6.web, 136, V6.alice),
    icmp(1, MAC.web, LL.web, 'ff02::1', 134),
  ].map((p) => ({ ...p, ...(c ? {} : {}) }));
}

describeWith(
  { 'Open vSwitch (root)': haveOvs() && process.getuid?.() === 0 },
  'IPv6: interpreter vs ovs-appctl ofproto/trace on a real Open vSwitch',
  () => {
    beforeAll(() => {
      ensureOvs();
      dir = mkdtempSync(join(tmpdir(), 'v6tr-'));
    });
    afterAll(() => {
      for (const b of bridges) deleteBridge(b);
      if (dir) rmSync(dir, { recursive: true, force: true });
    });
    for (const profile of ['ovs', 'ovs-stateless', 'openflow13']) {
      it(`${profile}: every IPv6 packet walks the same flows as in the interpreter`, () => {
        const c = build(profile);
        const verdicts = new Map<string, number>();
        for (const sp of c.plan.switches) {
          const br = `v6tr${next++}`;
          bridges.add(br);
          createBridge(br);
          ofctl('add-meter', br, 'meter=1,pktps,band=type=drop,rate=100');
          ofctl('add-meter', br, 'meter=2,pktps,band=type=drop,rate=50');
          const file = join(dir, `${profile}-${sp.name}.flows`);
          writeFileSync(file, formatOvsFlows(sp) + '\n');
          ofctl('add-flows', br, file);
          const tables = new FlowTables(sp.flows);
          for (const p of packets(c, sp)) {
            const want = tables.apply(p);
            const got = ovsTrace(br, p);
            const ctx = `${profile} ${sp.name}: ${traceSpec(p)}`;
            expect(got.cookies, ctx).toEqual(want.hits.map((h) => h.flow.cookie.toString(16)));
            expect(got.verdict, ctx).toBe(want.verdict);
            verdicts.set(want.verdict, (verdicts.get(want.verdict) ?? 0) + 1);
          }
          deleteBridge(br);
          bridges.delete(br);
        }
        expect(verdicts.get('forward') ?? 0).toBeGreaterThan(12);
        expect(verdicts.get('drop') ?? 0).toBeGreaterThan(8);
        expect(verdicts.get('controller') ?? 0).toBeGreaterThan(2);
      }, 240_000);
    }
  },
);
