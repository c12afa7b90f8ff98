/**
 * First contact for real (root, Open vSwitch, Mininet, dnsmasq, dhclient, slapd, Chromium): a laptop with no address
 * anywhere in the directory gets a lease from a real dnsmasq, reaches only DHCP, DNS and the sign-in page, signs in
 * with Chromium (running inside the laptop's network namespace) by a real LDAP bind, then reaches exactly its
 * role's resources. A rogue dnsmasq on an access port is blocked; another host using the laptop's address gets
 * nothing; a release removes the address's access; moving to another switch moves access and the old port denies.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium, type Browser } from 'playwright-core';
import { Controller } from '../../controller/controller.js';
import { ensureOvs } from '../helpers/ovs.js';
import { Slapd, haveSlapd } from '../helpers/slapd.js';
import { tempDir, waitFor } from '../helpers/tmp.js';
import { haveMininet } from './harness.js';
import { describeWith, haveCommand } from '../helpers/needs.js';

const OF_PORT = 18501,
  SIGNIN_PORT = 18543;
const NET = '10.185.0';
const MAC = {
  srv: '02:00:00:85:00:02',
  portal: '02:00:00:85:00:01',
  fs: '02:00:00:85:00:03',
  laptop: '02:00:00:85:00:10',
  rogue: '02:00:00:85:00:20',
};
const SUFFIX = 'dc=campus,dc=example';
const pct = (l: number[], q: number) => {
  const s = [...l].sort((a, b) => a - b);
  return s.length ? Math.round(s[Math.min(s.length - 1, Math.floor(q * s.length))]) : -1;
};

class Net {
  private child!: ChildProcess;
  private lines: string[] = [];
  private waiters: Array<(l: string) => void> = [];
  stderr = '';
  async start(spec: unknown, dir: string): Promise<void> {
    const f = join(dir, 'net.json');
    writeFileSync(f, JSON.stringify(spec));
    this.child = spawn('/usr/bin/python3', [new URL('./netdriver.py', import.meta.url).pathname, f], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr!.on('data', (d) => {
      this.stderr = (this.stderr + d).slice(-10_000);
    });
    createInterface({ input: this.child.stdout! }).on('line', (l) => {
      const w = this.waiters.shift();
      if (w) w(l);
      else this.lines.push(l);
    });
    const r = JSON.parse(await this.next(180_000));
    if (!r.ready) throw new Error(`driver: ${JSON.stringify(r)} ${this.stderr}`);
  }
  private next(ms: number): Promise<string> {
    const l = this.lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    return new Promise((res, rej) => {
      const t = setTimeout(() => rej(new Error(`driver silent for ${ms} ms: ${this.stderr}`)), ms);
      this.waiters.push((x) => {
        clearTimeout(t);
        res(x);
      });
    });
  }
  async call(c: Record<string, unknown>, ms = 60_000): Promise<any> {
    this.child.stdin!.write(JSON.stringify(c) + '\n');
    const r = JSON.parse(await this.next(ms));
    if (!r.ok) throw new Error(`driver: ${r.error}`);
    return r;
  }
  cmd(host: string, cmd: string, timeout = 10): Promise<{ out: string; rc: number }> {
    return this.call({ op: 'cmd', host, cmd, timeout }, (timeout + 30) * 1000);
  }
  async stop(): Promise<void> {
    if (!this.child || this.child.exitCode !== null) return;
    this.child.stdin!.write('{"op":"stop"}\n');
    this.child.stdin!.end();
    await new Promise<void>((res) => {
      const t = setTimeout(() => {
        this.child.kill('SIGTERM');
      }, 60_000);
      this.child.once('exit', () => {
        clearTimeout(t);
        res();
      });
    });
  }
}

const have = {
  'Mininet (root)': haveMininet(),
  slapd: haveSlapd(),
  dnsmasq: haveCommand('dnsmasq'),
  dhclient: haveCommand('dhclient'),
  chromium: haveCommand('/usr/bin/chromium'),
  nsenter: haveCommand('nsenter'),
};

describeWith(have, 'first contact on Mininet: DHCP snooping, unauthenticated state, web sign-in, roaming', () => {
  let slapd: Slapd;
  let ctl: Controller;
  let net: Net;
  let dir: string;
  let browser: Browser | undefined;
  let laptopIp = '';
  const timings: Record<string, number> = {};

  /** HTTP GET from a host: the status code, or 0 when nothing answered. */
  const httpStatus = async (host: string, url: string, timeout = 2) => {
    const r = await net.cmd(host, `curl -s -o /dev/null -m ${timeout} -w '%{http_code}' ${url}`, timeout + 3);
    return Number(r.out.trim() || 0);
  };
  /** A DNS A query for portal.lan to the server, answered with 10.185.0.1? */
  const dnsOk = async (host: string) => {
    const py = `import socket,struct;s=socket.socket(2,2);s.settimeout(2);q=struct.pack('!HHHHHH',0x1234,0x100,1,0,0,0)+b'\\x06portal\\x03lan\\x00'+struct.pack('!HH',1,1);s.sendto(q,('${NET}.2',53));d=s.recv(512);print('OK' if socket.inet_aton('${NET}.1') in d else 'NO')`;
    const r = await net.cmd(host, `python3 -c "${py}"`, 6);
    return r.out.includes('OK');
  };
  const flowsWith = (sw: string, mac: string) =>
    execFileSync('ovs-ofctl', ['-O', 'OpenFlow13', 'dump-flows', sw], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.includes(mac)).length;
  const dhclient = (intf: string, extra = '') =>
    `dhclient -v -1 ${extra} -sf ${dir}/dhclient-script -pf ${dir}/dhclient-${intf}.pid -lf ${dir}/dhclient-${intf}.leases ${intf}`;
  const addrOf = async (host: string, intf: string) =>
    ((await net.cmd(host, `ip -4 -o addr show dev ${intf}`)).out.match(/inet (\d+\.\d+\.\d+\.\d+)/) ?? [])[1];

  beforeAll(async () => {
    ensureOvs();
    dir = tempDir('dh-fc-');
    slapd = new Slapd({
      ldif: [
        `dn: ${SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\no: Campus\ndc: campus\n\ndn: ou=people,${SUFFIX}\nobjectClass: organizationalUnit\nou: people\n\n` +
          `dn: uid=dana,ou=people,${SUFFIX}\nobjectClass: inetOrgPerson\nuid: dana\ncn: Dana\nsn: D\nuserPassword: dana-secret-1\n`,
      ],
    });
    await slapd.start();
    process.env.DH_LDAP_PW = slapd.rootPassword;
    writeFileSync(
      join(dir, 'dhclient-script'),
      `#!/bin/sh
# only the address and route: never /etc/resolv.conf or the hostname
m2p() { c=0; for o in $(echo "$1" | tr . ' '); do while [ "$o" -gt 0 ]; do c=$((c + (o & 1))); o=$((o >> 1)); done; done; echo $c; }
case "$reason" in
  PREINIT) ip link set dev "$interface" up ;;
  BOUND|RENEW|REBIND|REBOOT) ip -4 addr flush dev "$interface"; ip addr add "$new_ip_address/$(m2p "$new_subnet_mask")" dev "$interface" ;;
  EXPIRE|FAIL|RELEASE|STOP) ip -4 addr flush dev "$interface" ;;
esac
exit 0
`,
    );
    chmodSync(join(dir, 'dhclient-script'), 0o755);
    writeFileSync(
      join(dir, 'directory.yaml'),
      'organizations: [campus]\nusers:\n  - { id: dana, name: Dana, organization: campus, roles: [staff], devices: [] }\n',
    );
    writeFileSync(
      join(dir, 'topology.yaml'),
      `switches:
  - { name: dhe1, dpid: 0xd1, kind: edge }
  - { name: dhe2, dpid: 0xd2, kind: edge }
links:
  - [dhe1:10, dhe2:10]
servers:
  - { name: dhsrv, switch: dhe1, port: 9, mac: "${MAC.srv}", ip: ${NET}.2 }
  - { name: portal, switch: dhe1, port: 8, mac: "${MAC.portal}", ip: ${NET}.1 }
  - { name: fs, switch: dhe2, port: 9, mac: "${MAC.fs}", ip: ${NET}.3 }
`,
    );
    writeFileSync(
      join(dir, 'policy.yaml'),
      `version: 1
directory: directory.yaml
topology: topology.yaml
resources:
  signin: { hosts: [portal], services: [tcp/${SIGNIN_PORT}] }
  dns: { hosts: [dhsrv], services: [udp/53] }
  files: { hosts: [fs], services: [tcp/80] }
rules:
  - { name: staff-files, from: { roles: [staff] }, to: [files, signin, dns] }
dhcp:
  servers: [dhsrv]
  clientRate: 20
unauthenticated:
  to: [signin, dns]
signin:
  listen: ${NET}.1:${SIGNIN_PORT}
  ldap: { url: "${slapd.url}", baseDn: "${SUFFIX}", bindDn: "cn=admin,${SUFFIX}", passwordEnv: DH_LDAP_PW }
  sessionTime: 10m
  maxFailures: 3
  lockout: 1m
`,
    );
    net = new Net();
    await net.start(
      {
        controller: { ip: '127.0.0.1', port: OF_PORT },
        switches: [
          { name: 'dhe1', dpid: '00000000000000d1' },
          { name: 'dhe2', dpid: '00000000000000d2' },
        ],
        links: [{ a: 'dhe1', aPort: 10, b: 'dhe2', bPort: 10 }],
        hosts: [
          { name: 'dhsrv', mac: MAC.srv, ip: `${NET}.2/24`, links: [{ switch: 'dhe1', port: 9 }] },
          { name: 'dhportal', root: true, mac: MAC.portal, ip: `${NET}.1/24`, links: [{ switch: 'dhe1', port: 8 }] },
          { name: 'dhfs', mac: MAC.fs, ip: `${NET}.3/24`, links: [{ switch: 'dhe2', port: 9 }] },
          {
            name: 'dhlaptop',
            mac: MAC.laptop,
            ip: null,
            links: [
              { switch: 'dhe1', port: 1 },
              { switch: 'dhe2', port: 1, up: false },
            ],
          },
          { name: 'dhrogue', mac: MAC.rogue, ip: `${NET}.66/24`, links: [{ switch: 'dhe1', port: 2 }] },
        ],
      },
      dir,
    );
    ctl = new Controller({ policyPath: join(dir, 'policy.yaml'), listen: { host: '127.0.0.1', port: OF_PORT }, discoveryPps: 200 });
    await ctl.start();
    await waitFor('both switches synced', () => ctl.switchStatus().filter((s) => s.connected && s.lastSync).length === 2, 60_000);
    await net.call({
      op: 'bg',
      host: 'dhsrv',
      argv: [
        'dnsmasq',
        '--no-daemon',
        '--conf-file=/dev/null',
        '--port=53',
        '--interface=dhsrv-eth0',
        '--bind-interfaces',
        `--dhcp-range=${NET}.100,${NET}.150,255.255.255.0,2m`,
        `--dhcp-leasefile=${dir}/srv.leases`,
        `--pid-file=${dir}/srv.pid`,
        '--no-ping',
        '--no-resolv',
        '--no-hosts',
        `--address=/portal.lan/${NET}.1`,
      ],
    });
    await net.call({
      op: 'bg',
      host: 'dhrogue',
      argv: [
        'dnsmasq',
        '--no-daemon',
        '--conf-file=/dev/null',
        '--port=0',
        '--interface=dhrogue-eth0',
        '--bind-interfaces',
        `--dhcp-range=${NET}.200,${NET}.210,255.255.255.0,2m`,
        `--dhcp-leasefile=${dir}/rogue.leases`,
        `--pid-file=${dir}/rogue.pid`,
        '--no-ping',
      ],
    });
    await net.call({ op: 'bg', host: 'dhfs', argv: ['python3', '-m', 'http.server', '80', '--bind', `${NET}.3`, '--directory', dir] });
    await new Promise((r) => setTimeout(r, 1500));
  }, 300_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    // dhclient daemonizes after its lease: stop ours by their pid files
    for (const i of ['dhlaptop-eth0', 'dhlaptop-eth1'])
      await net
        ?.cmd('dhlaptop', `[ -s ${dir}/dhclient-${i}.pid ] && kill $(cat ${dir}/dhclient-${i}.pid) 2>/dev/null; true`)
        .catch(() => undefined);
    if (ctl) {
      timings.ackToFlowsP50 = pct(ctl.firstContact.bindLatencies, 0.5);
      timings.ackToFlowsMax = pct(ctl.firstContact.bindLatencies, 1);
    }
    await net?.stop();
    await ctl?.stop();
    await slapd?.destroy();
    console.log('first-contact timings (ms):', JSON.stringify(timings));
  }, 180_000);

  it('1. the laptop gets its lease from the trusted server; the rogue server on an access port is blocked and alerted', async () => {
    const t0 = Date.now();
    const r = await net.cmd('dhlaptop', dhclient('dhlaptop-eth0'), 40);
    timings.dhclient = Date.now() - t0;
    laptopIp = (await addrOf('dhlaptop', 'dhlaptop-eth0')) ?? '';
    expect(laptopIp, r.out).toMatch(new RegExp(`^${NET.replace(/\./g, '\\.')}\\.(1[0-4]\\d|150)$`));
    await waitFor('lease bound', () => ctl.firstContact.leases.byMac(MAC.laptop)?.ip === laptopIp, 5000);
    expect(ctl.firstContact.leases.byMac(MAC.laptop)).toMatchObject({ switch: 'dhe1', port: 1 });
    expect(ctl.firstContact.snooper.counters['rogue-server'] ?? 0).toBeGreaterThan(0);
    expect(ctl.alerts.some((a) => a.type === 'dhcp-rogue-server' && a.port === 2)).toBe(true);
  }, 90_000);

  it('2. before sign-in: DNS and the sign-in page only; the file server is out of reach', async () => {
    await ctl.edge.settled();
    expect(await dnsOk('dhlaptop')).toBe(true);
    expect(await httpStatus('dhlaptop', `http://${NET}.1:${SIGNIN_PORT}/`)).toBe(200);
    expect(await httpStatus('dhlaptop', `http://${NET}.3:80/`)).toBe(0);
    expect((await net.cmd('dhlaptop', `ping -c 1 -W 1 ${NET}.3`)).rc).not.toBe(0);
  }, 60_000);

  it('3. sign-in with Chromium inside the laptop namespace: a wrong password is refused, the right one gives the role', async () => {
    const pid = (await net.call({ op: 'pid', host: 'dhlaptop' })).pid as number;
    const wrapper = join(dir, 'chromium-in-laptop');
    writeFileSync(wrapper, `#!/bin/sh\nexec nsenter --net=/proc/${pid}/ns/net /usr/bin/chromium "$@"\n`);
    chmodSync(wrapper, 0o755);
    browser = await chromium.launch({
      executablePath: wrapper,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-proxy-server',
      ],
    });
    const page = await browser.newPage({ javaScriptEnabled: false });
    await page.goto(`http://${NET}.1:${SIGNIN_PORT}/`, { timeout: 20_000 });
    expect(await page.getByLabel('User name').count()).toBe(1);
    await page.getByLabel('User name').fill('dana');
    await page.getByLabel('Password').fill('wrong-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    expect(await page.getByRole('alert').textContent()).toContain('wrong');
    expect(ctl.edge.sessions.byMac(MAC.laptop)).toBeUndefined();
    await page.getByLabel('User name').fill('dana');
    await page.getByLabel('Password').fill('dana-secret-1');
    const t0 = Date.now();
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('You are signed in as').waitFor({ timeout: 20_000 });
    timings.signinClickToPage = Date.now() - t0;
    expect(ctl.edge.sessions.byMac(MAC.laptop)).toMatchObject({ user: 'dana', method: 'web', switch: 'dhe1', port: 1 });
    // the answer came after the barrier: access is there now
    const t1 = Date.now();
    expect(await httpStatus('dhlaptop', `http://${NET}.3:80/`)).toBe(200);
    timings.firstFilesRequestAfterSignin = Date.now() - t1;
    expect(await dnsOk('dhlaptop')).toBe(true);
    // exactly the role: nothing else on the file server
    expect((await net.cmd('dhlaptop', `ping -c 1 -W 1 ${NET}.3`)).rc).not.toBe(0);
  }, 120_000);

  it('4. another host using the laptop’s address reaches nothing and cannot sign in', async () => {
    await net.cmd('dhrogue', `ip addr add ${laptopIp}/32 dev dhrogue-eth0`);
    expect(
      await net
        .cmd('dhrogue', `curl -s -o /dev/null -m 2 -w '%{http_code}' --interface ${laptopIp} http://${NET}.3:80/`, 6)
        .then((r) => Number(r.out.trim() || 0)),
    ).toBe(0);
    expect(
      await net
        .cmd('dhrogue', `curl -s -o /dev/null -m 2 -w '%{http_code}' --interface ${laptopIp} http://${NET}.1:${SIGNIN_PORT}/`, 6)
        .then((r) => Number(r.out.trim() || 0)),
    ).toBe(0);
    await net.cmd('dhrogue', `ip addr del ${laptopIp}/32 dev dhrogue-eth0`);
    expect(ctl.firstContact.snooper.counters['arp-spoof'] ?? 0).toBeGreaterThan(0);
    expect(ctl.edge.sessions.byMac(MAC.rogue)).toBeUndefined();
    expect(ctl.firstContact.leases.byMac(MAC.rogue)).toBeUndefined();
  }, 60_000);

  it('5. DHCPRELEASE: the address loses its access within a second', async () => {
    let endedAt = 0;
    const onEv = (e: { type: string; mac?: string }) => {
      if (e.type === 'lease-ended' && e.mac === MAC.laptop) endedAt = Date.now();
    };
    ctl.on('event', onEv);
    await net.cmd('dhlaptop', dhclient('dhlaptop-eth0', '-r'), 20);
    await waitFor('lease gone', () => ctl.firstContact.leases.byMac(MAC.laptop) === undefined, 5000, 10);
    await ctl.edge.settled();
    timings.releaseSeenToFlowsGone = Date.now() - endedAt;
    ctl.off('event', onEv);
    expect(timings.releaseSeenToFlowsGone).toBeLessThan(1000);
    expect(flowsWith('dhe1', MAC.laptop)).toBe(0);
    // the address put back by hand: the switch no longer admits it
    await net.cmd('dhlaptop', `ip addr add ${laptopIp}/24 dev dhlaptop-eth0`);
    expect(await httpStatus('dhlaptop', `http://${NET}.3:80/`)).toBe(0);
    expect(await httpStatus('dhlaptop', `http://${NET}.1:${SIGNIN_PORT}/`)).toBe(0);
    await net.cmd('dhlaptop', 'ip -4 addr flush dev dhlaptop-eth0');
  }, 60_000);

  it('6. moved to the other switch: a new lease there, sign-in there, access follows; the old port admits nothing', async () => {
    // re-admit on dhe1 first so there is something to move
    await net.cmd('dhlaptop', dhclient('dhlaptop-eth0'), 40);
    await waitFor('lease on dhe1', () => ctl.firstContact.leases.byMac(MAC.laptop)?.switch === 'dhe1', 5000);
    await ctl.edge.settled();
    expect(await httpStatus('dhlaptop', `http://${NET}.3:80/`)).toBe(200); // the session from step 3 still holds
    await net.cmd('dhlaptop', 'ip -4 addr flush dev dhlaptop-eth0; ip link set dhlaptop-eth0 down; ip link set dhlaptop-eth1 up');
    await net.cmd('dhlaptop', dhclient('dhlaptop-eth1'), 40);
    await waitFor('lease on dhe2', () => ctl.firstContact.leases.byMac(MAC.laptop)?.switch === 'dhe2', 5000);
    await ctl.edge.settled();
    expect(flowsWith('dhe1', MAC.laptop)).toBe(0);
    // unauthenticated here until signed in here: the sign-in page yes, files no
    expect(await httpStatus('dhlaptop', `http://${NET}.3:80/`)).toBe(0);
    const page = await browser!.newPage({ javaScriptEnabled: false });
    await page.goto(`http://${NET}.1:${SIGNIN_PORT}/`, { timeout: 20_000 });
    await page.getByLabel('User name').fill('dana');
    await page.getByLabel('Password').fill('dana-secret-1');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('You are signed in as').waitFor({ timeout: 20_000 });
    expect(ctl.edge.sessions.byMac(MAC.laptop)).toMatchObject({ switch: 'dhe2', port: 1 });
    expect(await httpStatus('dhlaptop', `http://${NET}.3:80/`)).toBe(200);
    expect(flowsWith('dhe1', MAC.laptop)).toBe(0);
    expect(flowsWith('dhe2', MAC.laptop)).toBeGreaterThan(0);
    // sign out: access gone
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText('You are signed out').waitFor({ timeout: 20_000 });
    expect(await httpStatus('dhlaptop', `http://${NET}.3:80/`)).toBe(0);
  }, 180_000);
});
