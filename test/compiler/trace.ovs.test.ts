/**
 * Needs root and Open vSwitch. The flow-table interpreter (which `verify` and `explain` rely on) must walk a
 * packet through exactly the flows a real Open vSwitch walks it through. For every switch of the examples, the
 * plan is loaded with `ovs-ofctl add-flows` onto a userspace bridge, and packets — allowed and denied services,
 * replies, spoofed sources, wrong ports, ARP, IPv6, unknown addresses, traffic arriving on inter-switch links —
 * are traced with `ovs-appctl ofproto/trace`; the cookies of the flows hit, table by table, and the final
 * verdict must equal the interpreter's. Bridges are named cmpt0, cmpt1, … and deleted by name afterwards.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile, formatOvsFlows, FlowTables, type Packet, type SwitchPlan, type Compiled } from '../../compiler/index.js';
import { loadPolicy } from '../../loader/index.js';
import { createBridge, deleteBridge, ensureOvs, haveOvs, ofctl } from '../helpers/ovs.js';
import { describeWith } from '../helpers/needs.js';
import { ctNext } from '../helpers/ovs-trace6.js';

const bridges = new Set<string>();
let dir = '';
let nextBridge = 0;

/** ofproto/trace flow syntax for a packet. */
function traceSpec(p: Packet): string {
  const parts = [`in_port=${p.inPort}`, `dl_src=${p.ethSrc}`, `dl_dst=${p.ethDst ?? '02:ff:00:00:00:01'}`];
  if (p.ethType === 0x0806) {
    parts.unshift('arp');
    parts.push(`arp_op=1,arp_spa=${p.arpSpa},arp_tpa=${p.arpTpa},arp_sha=${p.arpSha}`);
  } else if (p.ethType === 0x86dd) {
    parts.unshift('ipv6');
    parts.push('ipv6_src=fe80::1,ipv6_dst=fe80::2');
  } else if (p.ipProto === 6) {
    parts.unshift('tcp');
    parts.push(
      `nw_src=${p.ipSrc},nw_dst=${p.ipDst},tcp_src=${p.tpSrc},tcp_dst=${p.tpDst},tcp_flags=0x${(p.tcpFlags ?? 0).toString(16).padStart(3, '0')}`,
    );
  } else if (p.ipProto === 17) {
    parts.unshift('udp');
    parts.push(`nw_src=${p.ipSrc},nw_dst=${p.ipDst},udp_src=${p.tpSrc},udp_dst=${p.tpDst}`);
  } else if (p.ipProto === 1) {
    parts.unshift('icmp');
    parts.push(`nw_src=${p.ipSrc},nw_dst=${p.ipDst},icmp_type=${p.icmpType},icmp_code=0`);
  } else {
    parts.unshift('ip');
    parts.push(`nw_src=${p.ipSrc},nw_dst=${p.ipDst},nw_proto=${p.ipProto}`);
  }
  return parts.join(',');
}

interface Traced {
  cookies: string[];
  verdict: 'forward' | 'drop' | 'controller';
}

function ovsTrace(bridge: string, p: Packet): Traced {
  // conntrack (ovs profile): ofproto/trace does not run the tracker; it is told the state the interpreter computes
  const ct = p.ethType === 0x0800 ? ['--ct-next', ctNext(p)] : [];
  const out = execFileSync('ovs-appctl', ['ofproto/trace', bridge, traceSpec(p), ...ct], { encoding: 'utf8' });
  const cookies = [...out.matchAll(/^\s*\d+\.\s.*cookie (0x[0-9a-f]+)\s*$/gm)].map((m) => BigInt(m[1]).toString(16));
  // The bridge has no ports, so datapath actions are always "drop"; the verdict is the OpenFlow action executed.
  // with conntrack the trace has a section per recirculation (each ending in Final flow/Megaflow/Datapath actions)
  const steps = out.replace(/^(Final flow|Megaflow|Datapath actions):.*$/gm, '');
  // a deny sample (meter:2 then CONTROLLER) sends a metered copy of a dropped packet to the deny log: a drop
  const sampledDrop = /^\s+meter:2\s*$/m.test(steps) && !/^\s+NORMAL$/m.test(steps);
  const verdict = sampledDrop ? 'drop' : /^\s+CONTROLLER:/m.test(steps) ? 'controller' : /^\s+NORMAL$/m.test(steps) ? 'forward' : 'drop';
  return { cookies, verdict };
}

/** Deterministic pseudo-random picks, so a failure reproduces. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

function packetsFor(c: Compiled, sp: SwitchPlan, max: number): Packet[] {
  const rand = rng(0x5ac1 + sp.name.length * 7919 + sp.name.charCodeAt(0));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const endpoints = c.subjects.flatMap((s) => s.endpoints.filter((e) => e.ip && e.switch).map((e) => ({ ...e, ip: e.ip! })));
  const local = endpoints.filter((e) => e.switch === sp.name);
  const linkPorts = c.input.topology.links
    .flatMap((l) => [l.a, l.b])
    .filter((x) => x.switch === sp.name)
    .map((x) => x.port);
  const targets = [
    ...new Set([
      ...c.dest.map(
        (d) =>
          `${(d.prefix.addr >>> 24) & 255}.${(d.prefix.addr >>> 16) & 255}.${(d.prefix.addr >>> 8) & 255}.${(d.prefix.addr & 255) + (d.prefix.len < 32 ? 1 : 0)}`,
      ),
      ...endpoints.map((e) => e.ip),
      '203.0.113.7',
    ]),
  ];
  const l4: Array<Pick<Packet, 'ipProto' | 'tpSrc' | 'tpDst' | 'icmpType' | 'tcpFlags'>> = [
    ...[22, 53, 80, 443, 5432, 8080].map((d) => ({ ipProto: 6, tpSrc: 40000, tpDst: d, tcpFlags: 0x002 })),
    // from a service port: answers (SYN+ACK, ACK), and a server opening a connection (SYN), which is no answer
    ...[80, 443, 5432].flatMap((s) => [0x012, 0x010, 0x002].map((tcpFlags) => ({ ipProto: 6, tpSrc: s, tpDst: 40001, tcpFlags }))),
    { ipProto: 17, tpSrc: 40002, tpDst: 53 },
    { ipProto: 17, tpSrc: 53, tpDst: 40003 },
    { ipProto: 1, icmpType: 8 },
    { ipProto: 1, icmpType: 0 },
    { ipProto: 47 },
  ];
  const out: Packet[] = [];
  // ARP: own pair, someone else's address, from a link port
  for (const e of local) {
    out.push({ inPort: e.port!, ethSrc: e.mac, ethType: 0x0806, arpSpa: e.ip, arpTpa: pick(targets), arpSha: e.mac });
    out.push({ inPort: e.port!, ethSrc: e.mac, ethType: 0x0806, arpSpa: pick(endpoints).ip, arpTpa: pick(targets), arpSha: e.mac });
    out.push({ inPort: e.port!, ethSrc: e.mac, ethType: 0x86dd });
  }
  for (const lp of linkPorts)
    out.push({
      inPort: lp,
      ethSrc: '02:00:00:00:ee:01',
      ethType: 0x0806,
      arpSpa: pick(endpoints).ip,
      arpTpa: pick(targets),
      arpSha: '02:00:00:00:ee:01',
    });
  while (out.length < max && endpoints.length) {
    const e = pick(endpoints);
    const r = rand();
    let inPort: number;
    let ethSrc = e.mac;
    let ipSrc = e.ip;
    if (e.switch === sp.name) {
      inPort = e.port!;
      if (r < 0.1)
        ipSrc = pick(endpoints).ip; // another device's address from this port
      else if (r < 0.2)
        inPort = pick([...local.map((x) => x.port!), 999]); // right MAC and IP, wrong port
      else if (r < 0.25) ethSrc = '02:00:00:00:ee:02'; // wrong MAC
    } else if (linkPorts.length && r < 0.8)
      inPort = pick(linkPorts); // arriving from the network
    else inPort = local.length ? pick(local).port! : 999; // someone else's address on an access port
    out.push({ inPort, ethSrc, ethType: 0x0800, ipSrc, ipDst: pick(targets), ...pick(l4) });
  }
  return out;
}

describeWith({ 'Open vSwitch (root)': !!haveOvs() }, 'interpreter vs ovs-appctl ofproto/trace on a real Open vSwitch', () => {
  beforeAll(() => {
    ensureOvs();
    dir = mkdtempSync(join(tmpdir(), 'cmpt-'));
  });
  afterAll(() => {
    for (const b of bridges) deleteBridge(b);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const example of ['basic', 'campus']) {
    it(`${example}: every switch walks every packet through the same flows as the interpreter`, async () => {
      const r = await loadPolicy(new URL(`../../examples/${example}/policy.yaml`, import.meta.url).pathname);
      if (!r.ok) throw new Error(JSON.stringify(r.diagnostics));
      const c = compile(r.value);
      const verdicts = new Map<string, number>();
      for (const sp of c.plan.switches) {
        const br = `cmpt${nextBridge++}`;
        bridges.add(br);
        createBridge(br);
        ofctl('add-meter', br, 'meter=1,pktps,band=type=drop,rate=100');
        ofctl('add-meter', br, 'meter=2,pktps,band=type=drop,rate=50');
        const file = join(dir, `${example}-${sp.name}.flows`);
        writeFileSync(file, formatOvsFlows(sp) + '\n');
        ofctl('add-flows', br, file);
        const tables = new FlowTables(sp.flows);
        for (const p of packetsFor(c, sp, example === 'basic' ? 120 : 90)) {
          const want = tables.apply(p);
          const got = ovsTrace(br, p);
          const ctx = `${sp.name}: ${traceSpec(p)}`;
          expect(got.cookies, ctx).toEqual(want.hits.map((h) => h.flow.cookie.toString(16)));
          expect(got.verdict, ctx).toBe(want.verdict);
          verdicts.set(want.verdict, (verdicts.get(want.verdict) ?? 0) + 1);
        }
        deleteBridge(br);
        bridges.delete(br);
      }
      // the sample exercised all three outcomes, not just drops
      expect(verdicts.get('forward') ?? 0).toBeGreaterThan(10);
      expect(verdicts.get('drop') ?? 0).toBeGreaterThan(10);
      expect(verdicts.get('controller') ?? 0).toBeGreaterThan(2);
    }, 180_000);
  }
});
