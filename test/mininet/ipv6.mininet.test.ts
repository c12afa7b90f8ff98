/**
 * IPv6 end to end on Mininet through the real controller (needs root, Open vSwitch, Debian mininet): one switch
 * (v6s1, ovs profile with conntrack) connects to the controller running in this process, which compiles the policy
 * and installs it (meters, flows, barrier) like on any network; the hosts are dual-stack with static global IPv6
 * addresses (no DAD delay, no router advertisements except on the RA target). Proves on real packets: allowed IPv6
 * services connect (TCP, ICMPv6 echo), denied ones fail, IPv4 still works, Neighbor Discovery between allowed hosts
 * works, a spoofed IPv6 source is dropped, a rogue router advertisement from a user port is dropped while one from
 * the declared router port is taken; `ovs-appctl ofproto/trace` on the live switch walks the same flows as the
 * interpreter on the controller's plan, also for a real frame carrying a hop-by-hop extension header.
 * Everything is removed by the driver (net.stop()); the controller is stopped.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Controller } from '../../controller/controller.js';
import { FlowTables, type Packet } from '../../compiler/index.js';
import { eui64LinkLocal, ipv6Text } from '../../compiler/addr.js';
import { ensureOvs } from '../helpers/ovs.js';
import { ovsTrace, ovsTraceFrame, traceSpec } from '../helpers/ovs-trace6.js';
import { tempDir, waitFor } from '../helpers/tmp.js';
import { describeWith } from '../helpers/needs.js';
import { MininetLab, haveMininet } from './harness.js';
import { HBH_CONNECT, NEIGH, SEND_RA, WAIT_ADDR } from './ipv6-scripts.js';

const SW = 'v6s1';
const OF_PORT = 26410;
const H = {
  alice: { name: 'v6a', mac: '02:6a:00:00:00:01', ip: '10.96.0.1', v6: '2001:db8:6a::a', port: 1 },
  bob: { name: 'v6b', mac: '02:6a:00:00:00:02', ip: '10.96.0.2', v6: '2001:db8:6a::b', port: 2 },
  web: { name: 'v6w', mac: '02:6a:00:00:00:10', ip: '10.96.2.10', v6: '2001:db8:6a:2::10', port: 3 },
  db: { name: 'v6d', mac: '02:6a:00:00:00:11', ip: '10.96.2.11', v6: '2001:db8:6a:2::11', port: 4 },
  router: { name: 'v6r', mac: '02:6a:00:00:00:fe', ip: '10.96.255.254', v6: '2001:db8:6a:ff::1', port: 5 },
} as const;

const POLICY = `version: 1
directory: d.yaml
topology: t.yaml
resources:
  web: { hosts: [web], services: [tcp/443, icmpv6/128] }
  db: { hosts: ["${H.db.v6}"], services: [tcp/5432] }
rules:
  - { name: staff-web, from: { roles: [staff] }, to: web }
  - { name: alice-db, from: { users: [alice] }, to: db }
`;
const DIRECTORY = `users:
  - { id: alice, name: Alice, roles: [staff], devices: [{ mac: "${H.alice.mac}", ip: ${H.alice.ip}, ipv6: ["${H.alice.v6}"] }] }
  - { id: bob, name: Bob, roles: [staff], devices: [{ mac: "${H.bob.mac}", ip: ${H.bob.ip}, ipv6: ["${H.bob.v6}"] }] }
`;
const TOPOLOGY = `switches: [{ name: ${SW}, dpid: 0x6a01, profile: ovs }]
hosts:
  - { mac: "${H.alice.mac}", switch: ${SW}, port: ${H.alice.port} }
  - { mac: "${H.bob.mac}", switch: ${SW}, port: ${H.bob.port} }
servers:
  - { name: web, switch: ${SW}, port: ${H.web.port}, mac: "${H.web.mac}", ip: ${H.web.ip}, ipv6: ["${H.web.v6}"] }
  - { name: db, switch: ${SW}, port: ${H.db.port}, mac: "${H.db.mac}", ip: ${H.db.ip}, ipv6: ["${H.db.v6}"] }
routers: ["${SW}:${H.router.port}"]
`;

/** The interpreter's packet for a captured Ethernet/IPv6/hop-by-hop/TCP frame (the layout HBH_CONNECT checked). */
function packetOfFrame(inPort: number, hex: string): Packet {
  const b = Buffer.from(hex, 'hex');
  const mac = (o: number) => [...b.subarray(o, o + 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');
  const v6 = (o: number) => ipv6Text(BigInt('0x' + b.subarray(o, o + 16).toString('hex')));
  const tcp = 14 + 40 + (b[55] + 1) * 8;
  return {
    inPort,
    ethDst: mac(0),
    ethSrc: mac(6),
    ethType: 0x86dd,
    ipSrc: v6(22),
    ipDst: v6(38),
    ipProto: b[54], // the hop-by-hop header's next header
    tpSrc: b.readUInt16BE(tcp),
    tpDst: b.readUInt16BE(tcp + 2),
    tcpFlags: b.readUInt16BE(tcp + 12) & 0x1ff,
  };
}

describeWith({ 'Mininet (root)': haveMininet() }, 'IPv6 on Mininet through the controller: dual-stack policy on real packets', () => {
  const lab = new MininetLab();
  let ctl: Controller;
  const tables = () => new FlowTables(ctl.planFor(0x6a01n)!.flows);

  beforeAll(async () => {
    ensureOvs();
    const dir = tempDir('v6mn-');
    writeFileSync(join(dir, 'p.yaml'), POLICY);
    writeFileSync(join(dir, 'd.yaml'), DIRECTORY);
    writeFileSync(join(dir, 't.yaml'), TOPOLOGY);
    ctl = new Controller({ policyPath: join(dir, 'p.yaml'), listen: { host: '127.0.0.1', port: OF_PORT }, auditIntervalMs: 0 });
    await ctl.start();
    await lab.startOneSwitch({
      controllerPort: OF_PORT,
      switch: SW,
      dpid: 0x6a01n,
      hosts: H,
      users: ['alice', 'bob'],
      listen: { tcp: [22, 443, 5432], udp: [] },
      extra: (h) => ({ ipv6: [`${H[h.id as keyof typeof H].v6}/48`], acceptRa: h.id === 'bob' }),
    });
    await waitFor('the switch synced by the controller', () => ctl.switchStatus().some((s) => s.connected && s.lastSync), 60_000);
  }, 180_000);
  afterAll(async () => {
    await lab.stop();
    await ctl?.stop();
  }, 60_000);

  it('the controller installed the IPv6 plan: every desired flow is on the switch', async () => {
    const st = ctl.switchStatus().find((s) => s.name === SW)!;
    expect(st.connected).toBe(true);
    expect(st.errors).toEqual([]);
    const again = await ctl.syncAll();
    expect(again.map((r) => r.added + r.removed + r.changed)).toEqual([0]);
    expect(ctl.planFor(0x6a01n)!.flows.some((f) => f.match.some((m) => m.field === 'ipv6_src'))).toBe(true);
  }, 60_000);

  it('allowed IPv6 services connect, denied ones fail (and IPv4 still works on the same hosts)', async () => {
    const probes = [
      { from: 'alice', to: H.web.v6, service: 'tcp/443' },
      { from: 'bob', to: H.web.v6, service: 'tcp/443' },
      { from: 'alice', to: H.web.v6, service: 'icmp' },
      { from: 'alice', to: H.db.v6, service: 'tcp/5432' },
      { from: 'alice', to: H.web.ip, service: 'tcp/443' },
      { from: 'bob', to: H.db.v6, service: 'tcp/5432' },
      { from: 'alice', to: H.web.v6, service: 'tcp/22' },
      { from: 'alice', to: H.bob.v6, service: 'tcp/22' },
    ];
    const got = await lab.probe(probes, 2);
    expect(probes.map((p, i) => `${p.from}->${p.to} ${p.service}: ${got[i]}`)).toEqual(
      probes.map((p, i) => `${p.from}->${p.to} ${p.service}: ${i < 5}`),
    );
  }, 60_000);

  it('Neighbor Discovery between allowed hosts works (real NS/NA through the switch)', async () => {
    const out = (await lab.call({ op: 'run', host: H.alice.name, script: NEIGH, args: [H.web.v6], timeout: 10 })).output as string;
    expect(out).toContain(`lladdr ${H.web.mac}`);
  }, 30_000);

  it("a spoofed IPv6 source is dropped (another device's address, an unbound one)", async () => {
    await lab.call({ op: 'spoof', host: H.alice.name, ip: '2001:db8:6a::99' });
    await lab.call({ op: 'spoof', host: H.alice.name, ip: H.bob.v6 });
    try {
      const got = await lab.probe(
        [
          { from: 'alice', to: H.web.v6, service: 'tcp/443', src: '2001:db8:6a::99' },
          { from: 'alice', to: H.web.v6, service: 'tcp/443', src: H.bob.v6 },
          { from: 'alice', to: H.web.v6, service: 'tcp/443', src: H.alice.v6 }, // the control: her own address still works
        ],
        2,
      );
      expect(got).toEqual([false, false, true]);
    } finally {
      await lab.call({ op: 'unspoof', host: H.alice.name });
    }
  }, 60_000);

  it('a rogue router advertisement from a user port is dropped; one from the declared router port is taken', async () => {
    const rogue = await lab.call({
      op: 'run',
      host: H.alice.name,
      script: SEND_RA,
      args: [`${H.alice.name}-eth0`, '2001:db8:bad::'],
      timeout: 10,
    });
    expect(rogue.output).toContain('SENT');
    const after = await lab.call({ op: 'run', host: H.bob.name, script: WAIT_ADDR, args: ['2001:db8:bad:', 3], timeout: 15 });
    expect(after.output.trim()).toBe('NONE');
    const good = await lab.call({
      op: 'run',
      host: H.router.name,
      script: SEND_RA,
      args: [`${H.router.name}-eth0`, '2001:db8:600d::'],
      timeout: 10,
    });
    expect(good.output).toContain('SENT');
    const taken = await lab.call({ op: 'run', host: H.bob.name, script: WAIT_ADDR, args: ['2001:db8:600d:', 8], timeout: 15 });
    expect(taken.output.trim()).toMatch(/^2001:db8:600d:/);
  }, 60_000);

  it('ofproto/trace on the live switch walks the same flows as the interpreter on the controller plan (IPv6)', () => {
    const LL = { alice: eui64LinkLocal(H.alice.mac), web: eui64LinkLocal(H.web.mac) };
    const base = { ethType: 0x86dd, ethDst: '02:ff:00:00:00:01' };
    const tcp = (port: number, mac: string, src: string, dst: string, dport: number, flags = 0x002): Packet => ({
      ...base,
      inPort: port,
      ethSrc: mac,
      ipSrc: src,
      ipDst: dst,
      ipProto: 6,
      tpSrc: 40000,
      tpDst: dport,
      tcpFlags: flags,
    });
    const icmp = (port: number, mac: string, src: string, dst: string, type: number, ndTarget?: string): Packet => ({
      ...base,
      inPort: port,
      ethSrc: mac,
      ipSrc: src,
      ipDst: dst,
      ipProto: 58,
      icmpType: type,
      ...(ndTarget ? { ndTarget } : {}),
    });
    const a = H.alice;
    const packets: Packet[] = [
      tcp(a.port, a.mac, a.v6, H.web.v6, 443),
      tcp(a.port, a.mac, a.v6, H.web.v6, 22),
      tcp(a.port, a.mac, a.v6, H.db.v6, 5432),
      tcp(H.bob.port, H.bob.mac, H.bob.v6, H.db.v6, 5432),
      tcp(a.port, a.mac, H.bob.v6, H.web.v6, 443),
      tcp(a.port, a.mac, '2001:db8:6a::99', H.web.v6, 443),
      tcp(H.web.port, H.web.mac, H.web.v6, a.v6, 40000, 0x010),
      icmp(a.port, a.mac, a.v6, H.web.v6, 128),
      icmp(a.port, a.mac, LL.alice, 'ff02::1:ff00:10', 135, H.web.v6),
      icmp(a.port, a.mac, '::', 'ff02::1:ff00:a', 135, a.v6),
      icmp(a.port, a.mac, a.v6, 'ff02::1', 136, H.bob.v6),
      icmp(a.port, a.mac, LL.alice, 'ff02::1', 134),
      icmp(H.router.port, H.router.mac, eui64LinkLocal(H.router.mac), 'ff02::1', 134),
    ];
    const t = tables();
    const verdicts: string[] = [];
    for (const p of packets) {
      const want = t.apply(p);
      const got = ovsTrace(SW, p);
      expect(got.cookies, traceSpec(p)).toEqual(want.hits.map((h) => h.flow.cookie.toString(16)));
      expect(got.verdict, traceSpec(p)).toBe(want.verdict);
      verdicts.push(want.verdict);
    }
    // the set is not trivial: allowed, denied and copied-to-controller packets are all among them
    expect(new Set(verdicts)).toEqual(new Set(['forward', 'drop', 'controller']));
  }, 60_000);

  it('a hop-by-hop extension header: real packets and ofproto/trace of the same frame agree with the policy', async () => {
    const run = async (dst: string, port: number) =>
      (
        await lab.call({
          op: 'run',
          host: H.alice.name,
          script: HBH_CONNECT,
          args: [`${H.alice.name}-eth0`, dst, String(port), '2'],
          timeout: 15,
        })
      ).output as string;
    const allowed = await run(H.web.v6, 443);
    const denied = await run(H.web.v6, 22);
    // the SYN left with a hop-by-hop header in both cases; only the allowed service connected
    expect(allowed).toMatch(/^HBH-SENT CONNECTED$/m);
    expect(denied).toMatch(/^HBH-SENT FAILED$/m);
    for (const [out, dport, verdict] of [
      [allowed, 443, 'forward'],
      [denied, 22, 'drop'],
    ] as const) {
      const hex = out.match(/^FRAME ([0-9a-f]+)$/m)![1];
      expect(hex.slice(40, 42)).toBe('00'); // IPv6 next header: hop-by-hop
      const p = packetOfFrame(H.alice.port, hex);
      expect(p).toMatchObject({ ipProto: 6, tpDst: dport, ipSrc: H.alice.v6, ipDst: H.web.v6 });
      const got = ovsTraceFrame(SW, H.alice.port, hex, 'trk,new');
      // Open vSwitch parses past the extension header: the upper-layer protocol and its ports are matched
      expect(got.flow).toMatch(new RegExp(`^tcp6,.*tp_dst=${dport}`));
      const want = tables().apply(p);
      expect(got.cookies).toEqual(want.hits.map((h) => h.flow.cookie.toString(16)));
      expect([got.verdict, want.verdict]).toEqual([verdict, verdict]);
    }
  }, 60_000);
});
