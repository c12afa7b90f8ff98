/**
 * IPv6 end to end on Mininet (needs root, Open vSwitch, Debian mininet): one switch (v6s1, ovs profile with
 * conntrack) with dual-stack hosts that have static global IPv6 addresses (no DAD delay, no router advertisements
 * except on the RA target), and the compiled plan loaded onto it with ovs-ofctl (the controller is not involved:
 * this proves the compiled IPv6 flows on real packets). Proves: allowed IPv6 services connect (TCP, ICMPv6 echo),
 * denied ones fail, a spoofed IPv6 source is dropped, Neighbor Discovery between allowed hosts works, a rogue router
 * advertisement from a user port is dropped while one from the declared router port is taken (the control).
 * Everything is removed by the driver (net.stop()).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compile, formatOvsFlows, parseDirectoryText, parsePolicyText, parseTopologyText, type Compiled } from '../../compiler/index.js';
import { ensureOvs, ofctl } from '../helpers/ovs.js';
import { tempDir } from '../helpers/tmp.js';
import { describeWith } from '../helpers/needs.js';
import { MininetLab, haveMininet, type LabHost } from './harness.js';

const SW = 'v6s1';
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

/** A router advertisement (ICMPv6 134, hop limit 255, from the link-local address) with one /64 prefix for SLAAC. */
const SEND_RA = String.raw`
import socket, struct, sys, time
ifname, prefix = sys.argv[1], sys.argv[2]
idx = socket.if_nametoindex(ifname)
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, idx)
ra = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, 1800, 0, 0)
pio = struct.pack("!BBBBIII", 3, 4, 64, 0xc0, 86400, 14400, 0) + socket.inet_pton(socket.AF_INET6, prefix)
for _ in range(3):
    s.sendto(ra + pio, ("ff02::1", 0, 0, idx)); time.sleep(0.2)
print("SENT")
`;
/** Waits up to N seconds for an IPv6 address in a prefix on this host; prints it or NONE. */
const WAIT_ADDR = String.raw`
import subprocess, sys, time
prefix, secs = sys.argv[1], float(sys.argv[2])
end = time.time() + secs
found = ""
while time.time() < end and not found:
    out = subprocess.run(["ip", "-6", "-o", "addr", "show"], capture_output=True, text=True).stdout
    found = next((l.split()[3] for l in out.splitlines() if l.split()[3].startswith(prefix)), "")
    time.sleep(0.2)
print(found or "NONE")
`;
const NEIGH = String.raw`
import subprocess, sys
print(subprocess.run(["ip", "-6", "neigh", "show", sys.argv[1]], capture_output=True, text=True).stdout.strip())
`;

describeWith({ 'Mininet (root)': haveMininet() }, 'IPv6 on Mininet: compiled dual-stack flows on real packets', () => {
  const lab = new MininetLab();
  let c: Compiled;

  beforeAll(async () => {
    ensureOvs();
    const p = parsePolicyText(POLICY, 'p.yaml'),
      d = parseDirectoryText(DIRECTORY, 'd.yaml'),
      t = parseTopologyText(TOPOLOGY, 't.yaml');
    if (!p.ok || !d.ok || !t.ok) throw new Error(JSON.stringify([p, d, t].filter((x) => !x.ok)));
    c = compile({ policy: p.value, directory: d.value, topology: t.value });
    const hosts: LabHost[] = [
      {
        name: H.alice.name,
        kind: 'user',
        id: 'alice',
        mac: H.alice.mac,
        ip: H.alice.ip,
        switch: SW,
        port: H.alice.port,
        ipv6: [H.alice.v6],
      },
      { name: H.bob.name, kind: 'user', id: 'bob', mac: H.bob.mac, ip: H.bob.ip, switch: SW, port: H.bob.port, ipv6: [H.bob.v6] },
      { name: H.web.name, kind: 'server', id: 'web', mac: H.web.mac, ip: H.web.ip, switch: SW, port: H.web.port, ipv6: [H.web.v6] },
      { name: H.db.name, kind: 'server', id: 'db', mac: H.db.mac, ip: H.db.ip, switch: SW, port: H.db.port, ipv6: [H.db.v6] },
      {
        name: H.router.name,
        kind: 'server',
        id: 'router',
        mac: H.router.mac,
        ip: H.router.ip,
        switch: SW,
        port: H.router.port,
        ipv6: [H.router.v6],
      },
    ];
    await lab.startSpec(
      {
        controller: { ip: '127.0.0.1', port: 21401 }, // nobody listens: the switch keeps the flows loaded below (fail-mode secure)
        failMode: 'secure',
        switches: [{ name: SW, dpid: '0000000000006a01' }],
        links: [],
        hosts: hosts.map((h) => ({
          name: h.name,
          mac: h.mac,
          ip: h.ip,
          switch: h.switch,
          port: h.port,
          ipv6: h.ipv6!.map((a) => `${a}/48`),
          acceptRa: h.id === 'bob',
        })),
        listen: { tcp: [22, 443, 5432], udp: [] },
      },
      hosts,
    );
    const file = join(tempDir('v6mn-'), 'flows.txt');
    writeFileSync(file, formatOvsFlows(c.plan.switches[0]) + '\n');
    ofctl('add-meter', SW, 'meter=1,pktps,band=type=drop,rate=100');
    ofctl('add-meter', SW, 'meter=2,pktps,band=type=drop,rate=50');
    ofctl('add-flows', SW, file);
  }, 180_000);
  afterAll(async () => {
    await lab.stop();
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
});
