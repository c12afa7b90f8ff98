/**
 * The 802.1X lab on Mininet, shared by the dot1x*.mininet tests: a private slapd (people, groups, devices) that is
 * both the controller's directory (pushed changes, RFC 4533) and FreeRADIUS's user store (rlm_ldap), a private
 * FreeRADIUS (PEAP/TTLS certificates made by openssl in a temp dir; a users file for MAB), the controller in
 * this process as the authenticator of the access ports, and a Mininet network whose hosts run the real
 * wpa_supplicant (wired driver) with EAP-PEAP/MSCHAPv2, EAP-TTLS/PAP or EAP-MD5.
 *
 *   dxann ── dxe1:1 (dot1x)                      dxdb    dxe1:9  10.216.0.10  tcp/5432  finance
 *   dxben ─┐                                     dxweb   dxe1:8  10.216.0.11  tcp/80    role staff
 *   dxcat ─┴ dxhub (no controller) ── dxe1:2     dxspool dxe2:9  10.216.0.12  tcp/631   device group printers
 *   dxprn ── dxe1:3 (mab)                        dxe1:10 ── dxe2:10
 *   dxlap ── dxe1:4 (dot1x) and dxe2:1 (dot1x, link down at start): one laptop, two interfaces, one MAC
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Controller, type ControllerEvent } from '../../controller/controller.js';
import type { EventOf, EventType } from '../../controller/events.js';
import { explain } from '../../compiler/query.js';
import { ensureOvs } from '../helpers/ovs.js';
import { Slapd, haveSlapd } from '../helpers/slapd.js';
import { haveFreeradius, startFreeRadius, type FreeRadius } from '../helpers/freeradius.js';
import { haveCommand } from '../helpers/needs.js';
import { tempDir, waitFor } from '../helpers/tmp.js';
import { NetLab, haveMininet } from './harness.js';

const execFileAsync = promisify(execFile);

export const BASE = 'dc=dx,dc=example';
export const NET = '10.216.0';
export const MAC = {
  ann: '02:00:00:21:60:01',
  ben: '02:00:00:21:60:02',
  cat: '02:00:00:21:60:03',
  lap: '02:00:00:21:60:04',
  prn: '02:00:00:21:60:aa',
  db: '02:00:00:21:60:10',
  web: '02:00:00:21:60:11',
  spool: '02:00:00:21:60:12',
} as const;
export const IP = {
  ann: `${NET}.101`,
  ben: `${NET}.102`,
  cat: `${NET}.103`,
  lap: `${NET}.104`,
  prn: `${NET}.120`,
  db: `${NET}.10`,
  web: `${NET}.11`,
  spool: `${NET}.12`,
} as const;
export const PASSWORD = { ann: 'ann-pw-1', ben: 'ben-pw-1', cat: 'cat-pw-1', dan: 'dan-pw-1' } as const;
/** The resources every probe checks: [name, ip, tcp port]. */
export const TARGETS: ReadonlyArray<readonly [string, string, number]> = [
  ['db', IP.db, 5432],
  ['web', IP.web, 80],
  ['spool', IP.spool, 631],
];

export const haveDot1xLab = {
  'Mininet (root)': haveMininet(),
  slapd: haveSlapd(),
  freeradius: haveFreeradius,
  wpa_supplicant: haveCommand('wpa_supplicant') && haveCommand('wpa_cli'),
  ldapmodify: haveCommand('ldapmodify'),
};

export type Method = 'peap' | 'ttls' | 'md5';

const ldif = `dn: ${BASE}\nobjectClass: dcObject\nobjectClass: organization\no: DX\ndc: dx\n
dn: ou=people,${BASE}\nobjectClass: organizationalUnit\nou: people\n
dn: ou=finance,ou=people,${BASE}\nobjectClass: organizationalUnit\nou: finance\n
dn: ou=sales,ou=people,${BASE}\nobjectClass: organizationalUnit\nou: sales\n
dn: ou=groups,${BASE}\nobjectClass: organizationalUnit\nou: groups\n
${[
  ['ann', 'finance', MAC.ann, IP.ann],
  ['ben', 'sales', MAC.ben, IP.ben],
  ['cat', 'finance', MAC.cat, IP.cat],
  ['dan', 'sales', MAC.lap, IP.lap],
]
  .map(
    ([u, ou, mac, ip]) =>
      `dn: uid=${u},ou=${ou},ou=people,${BASE}\nobjectClass: inetOrgPerson\nobjectClass: ieee802Device\nobjectClass: ipHost\nuid: ${u}\ncn: ${u}\nsn: ${u}\nuserPassword: ${PASSWORD[u as keyof typeof PASSWORD]}\nmacAddress: ${mac}\nipHostNumber: ${ip}\n`,
  )
  .join('\n')}
dn: cn=staff,ou=groups,${BASE}\nobjectClass: groupOfNames\ncn: staff\nmember: uid=ann,ou=finance,ou=people,${BASE}\nmember: uid=ben,ou=sales,ou=people,${BASE}\nmember: uid=dan,ou=sales,ou=people,${BASE}\n`;

export class Dot1xLab {
  slapd!: Slapd;
  fr!: FreeRadius;
  ctl!: Controller;
  net!: NetLab;
  dir!: string;
  readonly events: Array<ControllerEvent & { t: number }> = [];
  private readonly supplicants = new Map<string, { id: number; pid: number }>();

  constructor(
    readonly ports: { of: number; radius: number },
    readonly extraPolicy = '',
  ) {}

  async start(): Promise<void> {
    ensureOvs();
    this.dir = tempDir('dx-lab-');
    this.slapd = new Slapd({ suffix: BASE, syncprov: true, ldif });
    await this.slapd.start();
    process.env.DX_LDAP_PW = this.slapd.rootPassword;
    this.fr = await startFreeRadius({
      port: this.ports.radius,
      innerPort: this.ports.radius + 1,
      users: [
        {
          name: MAC.prn.replace(/:/g, ''),
          password: MAC.prn.replace(/:/g, ''),
          reply: { 'Filter-Id': 'printers', 'Framed-IP-Address': IP.prn },
        },
      ],
      ldap: {
        port: this.slapd.port,
        bindDn: this.slapd.rootDn,
        password: this.slapd.rootPassword,
        usersBase: `ou=people,${BASE}`,
        groupsBase: `ou=groups,${BASE}`,
      },
    });
    const d = this.dir;
    writeFileSync(join(d, 'radius.secret'), this.fr.secret + '\n', { mode: 0o600 });
    writeFileSync(
      join(d, 'topology.yaml'),
      `switches:
  - { name: dxe1, dpid: 0x2160e1, kind: edge }
  - { name: dxe2, dpid: 0x2160e2, kind: edge }
links:
  - [dxe1:10, dxe2:10]
servers:
  - { name: dxdb, switch: dxe1, port: 9, mac: "${MAC.db}", ip: ${IP.db} }
  - { name: dxweb, switch: dxe1, port: 8, mac: "${MAC.web}", ip: ${IP.web} }
  - { name: dxspool, switch: dxe2, port: 9, mac: "${MAC.spool}", ip: ${IP.spool} }
`,
    );
    writeFileSync(
      join(d, 'policy.yaml'),
      `version: 1
directory:
  ldap:
    url: ${this.slapd.url}
    bindDn: ${this.slapd.rootDn}
    passwordEnv: DX_LDAP_PW
    baseDn: ${BASE}
    pollInterval: 1s
topology: topology.yaml
resources:
  db: { hosts: [dxdb], services: [tcp/5432] }
  web: { hosts: [dxweb], services: [tcp/80] }
  spool: { hosts: [dxspool], services: [tcp/631] }
rules:
  - { name: finance-db, from: { organizations: [finance] }, to: db }
  - { name: staff-web, from: { roles: [staff] }, to: web }
  - { name: printers-spool, from: { roles: [printers] }, to: spool }
authentication:
  radius:
    servers: [{ host: 127.0.0.1, port: ${this.ports.radius}, secretFile: radius.secret }]
    timeout: 3000
    retries: 1
  ports:
    - { switch: dxe1, ports: [1, 2, 4], auth: dot1x, maxDevices: 4 }
    - { switch: dxe1, ports: [3], auth: mab }
    - { switch: dxe2, ports: [1], auth: dot1x }
  mab: { quietPeriod: 0 }
  deviceGroups: [printers]
  failureAlert: { count: 2, within: 60 }
${this.extraPolicy}`,
    );
    // the servers answer on their service ports (a TCP handshake is the probe)
    writeFileSync(
      join(d, 'serve.py'),
      `import socket, sys, threading
def loop(p):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", p)); s.listen(64)
    while True:
        c, _ = s.accept(); c.close()
for p in sys.argv[1:]: threading.Thread(target=loop, args=(int(p),), daemon=True).start()
threading.Event().wait()
`,
    );
    this.net = new NetLab();
    await this.net.start(
      {
        controller: { ip: '127.0.0.1', port: this.ports.of },
        switches: [
          { name: 'dxe1', dpid: '00000000002160e1' },
          { name: 'dxe2', dpid: '00000000002160e2' },
          { name: 'dxhub', dpid: '00000000002160ff', hub: true },
        ],
        links: [
          { a: 'dxe1', aPort: 10, b: 'dxe2', bPort: 10 },
          { a: 'dxhub', aPort: 9, b: 'dxe1', bPort: 2 },
        ],
        hosts: [
          { name: 'dxann', mac: MAC.ann, ip: `${IP.ann}/24`, links: [{ switch: 'dxe1', port: 1 }] },
          { name: 'dxben', mac: MAC.ben, ip: `${IP.ben}/24`, links: [{ switch: 'dxhub', port: 1 }] },
          { name: 'dxcat', mac: MAC.cat, ip: `${IP.cat}/24`, links: [{ switch: 'dxhub', port: 2 }] },
          { name: 'dxprn', mac: MAC.prn, ip: `${IP.prn}/24`, links: [{ switch: 'dxe1', port: 3 }] },
          {
            name: 'dxlap',
            mac: MAC.lap,
            ip: `${IP.lap}/24`,
            links: [
              { switch: 'dxe1', port: 4 },
              { switch: 'dxe2', port: 1, up: false },
            ],
          },
          { name: 'dxdb', mac: MAC.db, ip: `${IP.db}/24`, links: [{ switch: 'dxe1', port: 9 }] },
          { name: 'dxweb', mac: MAC.web, ip: `${IP.web}/24`, links: [{ switch: 'dxe1', port: 8 }] },
          { name: 'dxspool', mac: MAC.spool, ip: `${IP.spool}/24`, links: [{ switch: 'dxe2', port: 9 }] },
        ],
      },
      d,
    );
    this.ctl = new Controller({ policyPath: join(d, 'policy.yaml'), listen: { host: '127.0.0.1', port: this.ports.of } });
    this.ctl.edge.radiusBindAddress = '127.0.0.1';
    this.ctl.on('event', (e: ControllerEvent) => this.events.push({ ...e, t: Date.now() }));
    await this.ctl.start();
    await waitFor('dxe1 and dxe2 synced', () => this.ctl.switchStatus().filter((s) => s.connected && s.lastSync).length === 2, 60_000);
    for (const [h, p] of [
      ['dxdb', 5432],
      ['dxweb', 80],
      ['dxspool', 631],
    ] as const)
      await this.net.bg(h, ['python3', join(d, 'serve.py'), String(p)]);
  }

  async stop(): Promise<void> {
    // DX_KEEP=DIR keeps the supplicants' logs, the configs and the controller's events for a look afterwards
    if (process.env.DX_KEEP && this.dir) {
      try {
        cpSync(this.dir, process.env.DX_KEEP, { recursive: true, filter: (f) => !f.includes('/ctrl-') });
        writeFileSync(join(process.env.DX_KEEP, 'events.json'), JSON.stringify(this.events, null, 1));
        writeFileSync(join(process.env.DX_KEEP, 'radius.log'), this.fr?.log() ?? '');
      } catch {
        /* best effort */
      }
    }
    await this.net?.stop().catch(() => undefined);
    await this.ctl?.stop().catch(() => undefined);
    await this.fr?.stop().catch(() => undefined);
    await this.slapd?.destroy().catch(() => undefined);
  }

  // ---------- wpa_supplicant ----------

  ctrlDir(host: string, intf: string): string {
    return join(this.dir, `ctrl-${host}-${intf}`);
  }

  /** Starts wpa_supplicant (wired driver) on one interface of a host with one network block. */
  async supplicant(host: string, intf: string, method: Method, identity: string, password: string): Promise<void> {
    const ctrl = this.ctrlDir(host, intf);
    mkdirSync(ctrl, { recursive: true });
    const eap =
      method === 'peap'
        ? `eap=PEAP\n  ca_cert="${this.fr.caFile}"\n  phase2="auth=MSCHAPV2"`
        : method === 'ttls'
          ? `eap=TTLS\n  anonymous_identity="anonymous"\n  ca_cert="${this.fr.caFile}"\n  phase2="auth=PAP"`
          : 'eap=MD5';
    const conf = join(this.dir, `wpa-${host}-${intf}.conf`);
    writeFileSync(
      conf,
      `ctrl_interface=${ctrl}\nap_scan=0\nnetwork={\n  key_mgmt=IEEE8021X\n  eapol_flags=0\n  identity="${identity}"\n  password="${password}"\n  ${eap}\n}\n`,
    );
    const { id, pid } = await this.net.bg(host, [
      'wpa_supplicant',
      '-D',
      'wired',
      '-i',
      intf,
      '-c',
      conf,
      '-t',
      '-f',
      join(this.dir, `wpa-${host}-${intf}.log`),
      ...(process.env.DX_KEEP ? ['-d'] : []),
    ]);
    this.supplicants.set(`${host}/${intf}`, { id, pid });
    // short retry periods for a test (the defaults are 30 s between Starts and 60 s held after a failure)
    await waitFor(
      `${host} control socket`,
      async () => (await this.wpaCli(host, intf, 'set EAPOL::heldPeriod 2')).trim() === 'OK',
      10_000,
      100,
    );
    await this.wpaCli(host, intf, 'set EAPOL::startPeriod 2');
  }

  async stopSupplicant(host: string, intf: string): Promise<void> {
    const p = this.supplicants.get(`${host}/${intf}`);
    if (p !== undefined) {
      this.supplicants.delete(`${host}/${intf}`);
      await this.net.kill(p.id);
    }
  }

  /** The supplicant vanishes without a word (SIGKILL by its pid: no EAPOL-Logoff), as a laptop carried away. */
  async killSupplicant(host: string, intf: string): Promise<void> {
    const p = this.supplicants.get(`${host}/${intf}`);
    if (!p) return;
    this.supplicants.delete(`${host}/${intf}`);
    process.kill(p.pid, 'SIGKILL');
    await this.net.kill(p.id); // reaps it
  }

  async wpaCli(host: string, intf: string, command: string): Promise<string> {
    return (await this.net.cmd(host, `wpa_cli -p ${this.ctrlDir(host, intf)} -i ${intf} ${command}`, 5)).out;
  }

  async wpaStatus(host: string, intf: string): Promise<Record<string, string>> {
    const out = await this.wpaCli(host, intf, 'status');
    return Object.fromEntries(
      out
        .split('\n')
        .map((l) => l.split('='))
        .filter((kv) => kv.length >= 2)
        .map(([k, ...v]) => [k, v.join('=')]),
    );
  }

  /** Waits until the supplicant says the port is authorized (EAP-Success came). */
  async authorized(host: string, intf: string, timeoutMs = 20_000): Promise<void> {
    await waitFor(`${host} authorized`, async () => (await this.wpaStatus(host, intf)).suppPortStatus === 'Authorized', timeoutMs, 50);
  }

  /** Runs a command in a host and returns the wall-clock time (ms) read in the host just before it ran. */
  async timed(host: string, cmd: string): Promise<number> {
    const r = await this.net.cmd(host, `date +%s%3N; ${cmd}`, 10);
    const t = Number(r.out.split('\n')[0]);
    if (!Number.isFinite(t) || t <= 0) throw new Error(`no time from ${host}: ${r.out}`);
    return t;
  }

  // ---------- probes ----------

  /** TCP handshakes from a host to each target, in parallel: true where the connection opened. */
  async reach(host: string, targets: ReadonlyArray<readonly [string, string, number]> = TARGETS, timeout = 1): Promise<boolean[]> {
    const cmd =
      targets
        .map(
          ([, ip, port], i) =>
            `(timeout ${timeout} bash -c 'exec 3<>/dev/tcp/${ip}/${port}' 2>/dev/null && echo R${i}=1 || echo R${i}=0) &`,
        )
        .join(' ') + ' wait';
    const out = (await this.net.cmd(host, cmd, timeout + 5)).out;
    return targets.map((_, i) => new RegExp(`R${i}=1`).test(out));
  }

  /** What the interpreter predicts for a device (by MAC) on the compiled flow tables: the path forwards all the way. */
  predicted(mac: string, targets: ReadonlyArray<readonly [string, string, number]> = TARGETS): boolean[] {
    return targets.map(([, ip, port]) => {
      try {
        const e = explain(this.ctl.compiled, mac, ip, `tcp/${port}`);
        return e.decision === 'allow' && e.path.length > 0 && e.path.every((h) => h.verdict === 'forward');
      } catch {
        return false;
      } // a MAC that is not logged in is nobody: it reaches nothing
    });
  }

  /**
   * Probes until what the host reaches equals the interpreter's prediction for its MAC (the first probes after a
   * login may still be resolving ARP); returns the last result and how long it took (ms).
   */
  async reachAsPredicted(host: string, mac: string, timeoutMs = 5000): Promise<{ got: boolean[]; want: boolean[]; ms: number }> {
    const t0 = Date.now();
    for (;;) {
      const want = this.predicted(mac);
      const got = await this.reach(host);
      if (JSON.stringify(got) === JSON.stringify(want) || Date.now() - t0 > timeoutMs) return { got, want, ms: Date.now() - t0 };
    }
  }

  /** Flows on a switch that mention a MAC (ovs-ofctl, the switch's own view). */
  flowsWith(sw: string, mac: string): number {
    return execFileSync('ovs-ofctl', ['-O', 'OpenFlow13', 'dump-flows', sw], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.includes(mac)).length;
  }

  /**
   * Polls the switch until no flow mentions the MAC; returns when its answer said so (ms since epoch). The dump is
   * run asynchronously: a synchronous one would stall the controller, which runs in this process, while it handles
   * the very change being timed (tens of ms per dump on a busy machine).
   */
  async flowsGone(sw: string, mac: string, timeoutMs = 5000): Promise<number> {
    const t0 = Date.now();
    for (;;) {
      const { stdout } = await execFileAsync('ovs-ofctl', ['-O', 'OpenFlow13', 'dump-flows', sw], { encoding: 'utf8' });
      const now = Date.now();
      if (!stdout.split('\n').some((l) => l.includes(mac))) return now;
      if (now - t0 > timeoutMs) throw new Error(`flows for ${mac} still on ${sw} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  eventsOf<K extends EventType>(type: K, pred: (e: EventOf<K>) => boolean = () => true): Array<EventOf<K> & { t: number }> {
    return this.events.filter((e): e is EventOf<K> & { t: number } => e.type === type && pred(e as unknown as EventOf<K>));
  }
}

export const pct = (l: readonly number[], q: number) => {
  const s = [...l].sort((a, b) => a - b);
  return s.length ? Math.round(s[Math.min(s.length - 1, Math.floor(q * s.length))]) : -1;
};
