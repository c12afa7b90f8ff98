/**
 * Learned IPv6 on real hosts (root, Open vSwitch, Debian mininet, dnsmasq, dhclient): devices with no IPv6
 * address anywhere in the directory get IPv6 access only through what the controller snoops. One switch (v6s2)
 * connects to the controller in this process; policy `ipv6: { learn: [nd, dhcpv6], lifetime: 1m }`.
 *  - ND/DAD: a host brings up a global address (the kernel's DAD probe) → the controller binds it → the host
 *    reaches its role's IPv6 resource from it; an address it never probed for (nodad) reaches nothing.
 *  - DHCPv6: a real dnsmasq on the declared `dhcpv6:` server port leases an address to `dhclient -6` → access;
 *    a rogue dnsmasq on an access port answers the same Solicit, and its replies never reach the client.
 *  - a DHCPv6 Release (`dhclient -6 -r`) ends the address: the same address set by hand reaches nothing.
 *  - the ND-learned address expires after its lifetime (1 minute): access gone.
 * The driver stops every process it started (by pid) and the network (net.stop()); the controller is stopped.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Controller } from '../../controller/controller.js';
import { eui64LinkLocal } from '../../compiler/addr.js';
import { ensureOvs } from '../helpers/ovs.js';
import { tempDir, waitFor } from '../helpers/tmp.js';
import { describeWith, haveCommand } from '../helpers/needs.js';
import { MininetLab, haveMininet } from './harness.js';

const SW = 'v6s2';
const DPID = 0x6a02n;
const OF_PORT = 26411;
const P = '2001:db8:6b:';
const H = {
  alice: { name: 'v6la', mac: '02:6b:00:00:00:01', ip: '10.97.0.1', port: 1 },
  carol: { name: 'v6lc', mac: '02:6b:00:00:00:02', ip: '10.97.0.2', port: 2 },
  dave: { name: 'v6lr', mac: '02:6b:00:00:00:03', ip: '10.97.0.3', port: 3 },
  web: { name: 'v6lw', mac: '02:6b:00:00:00:10', ip: '10.97.2.10', port: 4, v6: `${P}:10` },
  dhcp6: { name: 'v6ld', mac: '02:6b:00:00:00:05', ip: '10.97.2.5', port: 5, v6: `${P}:5` },
} as const;
const ALICE_V6 = `${P}:a1`;
const UNPROBED = `${P}:a2`;

const POLICY = `version: 1
directory: d.yaml
topology: t.yaml
resources:
  web: { hosts: [web], services: [tcp/443] }
rules:
  - { name: staff-web, from: { roles: [staff] }, to: web }
ipv6: { learn: [nd, dhcpv6], lifetime: 1m }
`;
// nobody has an IPv6 address in the directory
const DIRECTORY = `users:
${(['alice', 'carol', 'dave'] as const).map((u) => `  - { id: ${u}, name: ${u}, roles: [staff], devices: [{ mac: "${H[u].mac}", ip: ${H[u].ip} }] }`).join('\n')}
`;
const TOPOLOGY = `switches: [{ name: ${SW}, dpid: 0x6a02, profile: ovs }]
hosts:
${(['alice', 'carol', 'dave'] as const).map((u) => `  - { mac: "${H[u].mac}", switch: ${SW}, port: ${H[u].port} }`).join('\n')}
servers:
  - { name: web, switch: ${SW}, port: ${H.web.port}, mac: "${H.web.mac}", ip: ${H.web.ip}, ipv6: ["${H.web.v6}"] }
  - { name: dhcp6, switch: ${SW}, port: ${H.dhcp6.port}, mac: "${H.dhcp6.mac}", ip: ${H.dhcp6.ip}, ipv6: ["${H.dhcp6.v6}"] }
dhcpv6: [dhcp6]
`;
/** dhclient -6 script: only the address (as /64, on-link), never resolv.conf or the hostname (see docs TESTBED pitfalls). */
const DHCLIENT_SCRIPT = `#!/bin/sh
case "$reason" in
  BOUND6|RENEW6|REBIND6|REBOOT6) [ -n "$new_ip6_address" ] && ip -6 addr replace "$new_ip6_address/64" dev "$interface" nodad ;;
  EXPIRE6|RELEASE6|STOP6) [ -n "$old_ip6_address" ] && ip -6 addr del "$old_ip6_address/64" dev "$interface" 2>/dev/null ;;
esac
exit 0
`;

const have = { 'Mininet (root)': haveMininet(), dnsmasq: haveCommand('dnsmasq'), dhclient: haveCommand('dhclient') };

describeWith(have, 'learned IPv6 on Mininet: ND/DAD and DHCPv6 snooping with real hosts, through the controller', () => {
  const lab = new MininetLab();
  let ctl: Controller;
  let dir = '';
  let aliceLearnedAt = 0;
  let carolV6 = '';
  const v6 = () => ctl.firstContact.ipv6;
  const sh = async (host: string, cmd: string, timeout = 10) =>
    (await lab.call({ op: 'sh', host, cmd, timeout }, (timeout + 30) * 1000)) as { out: string; rc: number };
  const dhclient = (extra = '') =>
    `dhclient -6 -v -1 ${extra} -sf ${dir}/dhclient-script -pf ${dir}/dhclient6.pid -lf ${dir}/dhclient6.leases ${H.carol.name}-eth0`;
  const reach = async (from: 'alice' | 'carol', src: string, service = 'tcp/443') =>
    (await lab.probe([{ from, to: H.web.v6, service, src }], 2))[0];

  beforeAll(async () => {
    ensureOvs();
    dir = tempDir('v6learn-');
    writeFileSync(join(dir, 'p.yaml'), POLICY);
    writeFileSync(join(dir, 'd.yaml'), DIRECTORY);
    writeFileSync(join(dir, 't.yaml'), TOPOLOGY);
    writeFileSync(join(dir, 'dhclient-script'), DHCLIENT_SCRIPT);
    chmodSync(join(dir, 'dhclient-script'), 0o755);
    ctl = new Controller({ policyPath: join(dir, 'p.yaml'), listen: { host: '127.0.0.1', port: OF_PORT }, auditIntervalMs: 0 });
    await ctl.start();
    const v6spec: Record<string, { ipv6: string[]; dad?: boolean }> = {
      alice: { ipv6: [], dad: true },
      carol: { ipv6: [], dad: true },
      dave: { ipv6: ['2001:db8:bad::1/64'] }, // the rogue server's own subnet
      web: { ipv6: [`${H.web.v6}/64`] },
      dhcp6: { ipv6: [`${H.dhcp6.v6}/64`] },
    };
    await lab.startOneSwitch({
      controllerPort: OF_PORT,
      switch: SW,
      dpid: DPID,
      hosts: H,
      users: ['alice', 'carol', 'dave'],
      listen: { tcp: [22, 443], udp: [] },
      extra: (h) => v6spec[h.id],
    });
    await waitFor('the switch synced', () => ctl.switchStatus().some((s) => s.connected && s.lastSync), 60_000);
    const dnsmasq = (host: string, range: string, tag: string) => [
      'dnsmasq',
      '--no-daemon',
      '--conf-file=/dev/null',
      '--port=0',
      `--interface=${host}-eth0`,
      '--bind-interfaces',
      `--dhcp-range=${range},64,2m`,
      `--dhcp-leasefile=${dir}/${tag}.leases`,
      `--pid-file=${dir}/${tag}.pid`,
      '--log-dhcp',
      `--log-facility=${dir}/${tag}.log`,
    ];
    await lab.call({ op: 'bg', host: H.dhcp6.name, argv: dnsmasq(H.dhcp6.name, `${P}:100,${P}:1ff`, 'srv') });
    await lab.call({ op: 'bg', host: H.dave.name, argv: dnsmasq(H.dave.name, '2001:db8:bad::100,2001:db8:bad::1ff', 'rogue') });
    await new Promise((r) => setTimeout(r, 1500));
  }, 240_000);

  afterAll(async () => {
    // dhclient daemonizes after its lease: stop it by its pid file (the driver stops dnsmasq by pid)
    await sh(H.carol.name, `[ -s ${dir}/dhclient6.pid ] && kill $(cat ${dir}/dhclient6.pid) 2>/dev/null; true`).catch(() => undefined);
    await lab.stop();
    await ctl?.stop();
  }, 120_000);

  it('ND/DAD: a global address brought up on the host (kernel DAD probe) is learned and reaches the role’s IPv6 resource', async () => {
    // at most its link-local address (its DAD at link-up may have been seen): no global address yet
    expect(
      v6()
        .leases.byMac(H.alice.mac)
        .filter((l) => !l.ip.startsWith('fe80:')),
    ).toEqual([]);
    expect(await reach('alice', eui64LinkLocal(H.alice.mac))).toBe(false); // nothing global yet
    await sh(H.alice.name, `ip -6 addr add ${ALICE_V6}/64 dev ${H.alice.name}-eth0`);
    await waitFor('alice’s address learned', () => v6().leases.byIp(ALICE_V6)?.mac === H.alice.mac, 15_000);
    aliceLearnedAt = Date.now();
    expect(v6().leases.byIp(ALICE_V6)).toMatchObject({ source: 'nd', switch: SW, port: H.alice.port });
    await ctl.edge.settled();
    await waitFor(
      'DAD done on the host',
      async () => !(await sh(H.alice.name, 'ip -6 addr show tentative')).out.includes(ALICE_V6),
      10_000,
    );
    expect(await reach('alice', ALICE_V6)).toBe(true);
    expect(await reach('alice', ALICE_V6, 'tcp/22')).toBe(false); // still the policy: only the role's service
    // an address used without a DAD probe is not learned from use
    await sh(H.alice.name, `ip -6 addr add ${UNPROBED}/64 dev ${H.alice.name}-eth0 nodad`);
    expect(await reach('alice', UNPROBED)).toBe(false);
    expect(v6().leases.byIp(UNPROBED)).toBeUndefined();
    await sh(H.alice.name, `ip -6 addr del ${UNPROBED}/64 dev ${H.alice.name}-eth0`);
  }, 90_000);

  it('DHCPv6: dnsmasq on the declared server port leases an address to dhclient -6 → access; the rogue server never reaches the client', async () => {
    await waitFor('carol’s link-local ready', async () => !(await sh(H.carol.name, 'ip -6 addr show tentative')).out.trim(), 10_000);
    const r = await sh(H.carol.name, dhclient(), 60);
    carolV6 =
      ((await sh(H.carol.name, `ip -6 -o addr show dev ${H.carol.name}-eth0 scope global`)).out.match(/inet6 ([0-9a-f:]+)\//) ?? [])[1] ??
      '';
    expect(carolV6, r.out).toMatch(/^2001:db8:6b::1[0-9a-f]{2}$/);
    await waitFor('carol’s lease learned', () => v6().leases.byIp(carolV6)?.mac === H.carol.mac, 10_000);
    expect(v6().leases.byIp(carolV6)).toMatchObject({ source: 'dhcpv6', switch: SW, port: H.carol.port });
    await ctl.edge.settled();
    expect(await reach('carol', carolV6)).toBe(true);
    // the rogue answered the Solicit (its log), but nothing from it reached the client
    const rogueLog = readFileSync(join(dir, 'rogue.log'), 'utf8');
    expect(rogueLog).toMatch(/DHCPADVERTISE|DHCPREPLY/);
    expect(r.out.toLowerCase()).not.toContain(eui64LinkLocal(H.dave.mac));
    expect(r.out).not.toContain('2001:db8:bad');
    expect(
      v6()
        .leases.list()
        .filter((l) => l.ip.startsWith('2001:db8:bad')),
    ).toEqual([]);
  }, 120_000);

  it('DHCPv6 Release: the lease ends in the controller and the same address set by hand reaches nothing', async () => {
    await sh(H.carol.name, dhclient('-r'), 30);
    await waitFor('carol’s lease gone', () => v6().leases.byIp(carolV6) === undefined, 10_000);
    await ctl.edge.settled();
    await sh(H.carol.name, `ip -6 addr replace ${carolV6}/64 dev ${H.carol.name}-eth0 nodad`);
    expect(await reach('carol', carolV6)).toBe(false);
  }, 60_000);

  it('the ND-learned address expires after its lifetime (1 minute): access gone', async () => {
    expect(await reach('alice', ALICE_V6)).toBe(true);
    const left = aliceLearnedAt + 60_000 - Date.now();
    await waitFor('alice’s address expired', () => v6().leases.byIp(ALICE_V6) === undefined, Math.max(left, 0) + 30_000, 200);
    await ctl.edge.settled();
    expect(await reach('alice', ALICE_V6)).toBe(false);
  }, 150_000);
});
