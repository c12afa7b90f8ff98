/**
 * End to end on Mininet (needs root, Open vSwitch, Debian mininet, slapd): the campus network with real hosts
 * sending real packets through OVS, identities from a private slapd, the controller in this process.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Controller } from '../../controller/controller.js';
import { buildApp } from '../../controller/api.js';
import { decide } from '../../compiler/query.js';
import { ensureOvs } from '../helpers/ovs.js';
import { Slapd, freePort, haveSlapd } from '../helpers/slapd.js';
import { copyExample, waitFor } from '../helpers/tmp.js';
import { MininetLab, haveMininet, type Probe } from './harness.js';
import { describeWith } from '../helpers/needs.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const SERVICES = ['tcp/22', 'tcp/80', 'tcp/443', 'tcp/5432', 'tcp/8080', 'icmp'];
/** Changes need the admin token (there is no tokenless admin); the CLI takes it from $ACL_ADMIN_TOKEN. */
const ADMIN_TOKEN = 'campus-mininet-admin';

describeWith({ 'Mininet, slapd (root)': !(!haveMininet() || !haveSlapd()) }, 'campus network on Mininet', () => {
  let slapd: Slapd;
  let ctl: Controller;
  let app: FastifyInstance;
  let lab: MininetLab;
  let dir: string;
  let ofPort: number;
  let apiUrl: string;
  const users = () => lab.hosts.filter((h) => h.kind === 'user');
  const servers = () => lab.hosts.filter((h) => h.kind === 'server');

  const newController = async () => {
    const c = new Controller({
      policyPath: join(dir, 'policy-ldap.yaml'),
      listen: { host: '127.0.0.1', port: ofPort },
      auditIntervalMs: 5000,
      stateFile: join(dir, 'state.json'),
    });
    await c.start();
    return c;
  };

  beforeAll(async () => {
    ensureOvs();
    if (!existsSync(join(ROOT, 'dist/cli/commands/apply.js'))) execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'pipe' });
    slapd = new Slapd({ ldif: readFileSync(join(ROOT, 'examples/campus/campus.ldif'), 'utf8') });
    await slapd.start();
    dir = copyExample('campus');
    const policy = readFileSync(join(dir, 'policy-ldap.yaml'), 'utf8')
      .replace('ldap://127.0.0.1:3389', slapd.url)
      .replace('pollInterval: 2s', 'pollInterval: 500ms');
    writeFileSync(join(dir, 'policy-ldap.yaml'), policy);
    process.env.ACL_LDAP_PASSWORD = slapd.rootPassword;
    ofPort = await freePort();
    ctl = await newController();
    app = await buildApp(ctl, { adminToken: ADMIN_TOKEN, auditLog: join(dir, 'audit.jsonl') });
    await app.listen({ host: '127.0.0.1', port: 0 });
    apiUrl = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    lab = new MininetLab();
    await lab.start(ctl.loaded, ofPort);
    await waitFor('all switches synced', () => ctl.switchStatus().filter((s) => s.connected && s.lastSync).length === 5, 30_000);
    await lab.call({ op: 'warmup' });
    await waitFor('tom and irene learned', () => ctl.bindings.size === 2, 15_000);
    await waitFor('learned hosts installed', async () => (await ctl.syncAll()).every((r) => r.added + r.removed + r.changed === 0), 15_000);
  }, 180_000);

  afterAll(async () => {
    await lab?.stop();
    await app?.close();
    await ctl?.stop();
    await slapd?.destroy();
  }, 120_000);

  /** What the policy says (checked against examples/campus/access.tests by the unit tests). */
  const expected = (p: Probe) => decide(ctl.compiled, p.from, lab.host(p.to).ip, p.service).decision === 'allow';

  it('1. the measured reachability matrix equals the expected matrix, both directions', async () => {
    const probes: Probe[] = [];
    for (const u of users()) for (const s of servers()) for (const svc of SERVICES) probes.push({ from: u.id, to: s.id, service: svc });
    for (const a of servers())
      for (const b of servers()) if (a !== b) for (const svc of SERVICES) probes.push({ from: a.id, to: b.id, service: svc });
    const got = await lab.probe(probes);
    const mismatches = probes.map((p, i) => ({ ...p, got: got[i], want: expected(p) })).filter((x) => x.got !== x.want);
    expect(mismatches).toEqual([]);
    expect(got.filter(Boolean).length).toBeGreaterThan(40);
    // the hand-written matrix for single-server resources agrees with the packets
    const map: Record<string, string> = { 'payroll-db': 'payroll-db', intranet: 'intranet-web', git: 'git', build: 'build' };
    const lines = readFileSync(join(ROOT, 'examples/campus/access.tests'), 'utf8')
      .split('\n')
      .map((l) => l.match(/^(\w+) -> ([\w-]+) (\S+): (allow|deny)$/))
      .filter((m): m is RegExpMatchArray => !!m && !!map[m[2]] && lab.hosts.some((h) => h.id === m[1]));
    const fromFile = await lab.probe(lines.map((m) => ({ from: m[1], to: map[m[2]], service: m[3] })));
    expect(lines.filter((m, i) => fromFile[i] !== (m[4] === 'allow')).map((m) => m[0])).toEqual([]);
    // denied means denied in both directions: no server can open a connection to a user
    const back: Probe[] = [];
    for (const s of servers())
      for (const u of users()) for (const svc of ['tcp/22', 'tcp/80']) back.push({ from: s.id, to: u.id, service: svc });
    expect((await lab.probe(back)).filter(Boolean)).toEqual([]);
  }, 300_000);

  it("2. moving a user to another group in LDAP changes access within 3 s, and nobody else's", async () => {
    const sample: Probe[] = [];
    for (const u of ['alice', 'carl', 'sam', 'cathy'])
      for (const svc of ['tcp/80', 'tcp/5432'])
        sample.push({ from: u, to: svc === 'tcp/80' ? 'intranet-web' : 'payroll-db', service: svc });
    const before = await lab.probe(sample);
    expect(await lab.probe([{ from: 'tom', to: 'intranet-web', service: 'tcp/80' }])).toEqual([false]);
    const ldif = `dn: cn=employee,ou=groups,dc=campus,dc=example\nchangetype: modify\nadd: member\nmember: uid=tom,ou=sales,ou=people,dc=campus,dc=example\n`;
    const t0 = Date.now();
    const r = spawnSync('ldapmodify', ['-x', '-H', slapd.url, '-D', slapd.rootDn, '-w', slapd.rootPassword], {
      input: ldif,
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    await waitFor(
      'tom reaches the intranet',
      async () => (await lab.probe([{ from: 'tom', to: 'intranet-web', service: 'tcp/80' }], 0.5))[0],
      10_000,
      50,
    );
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(await lab.probe(sample)).toEqual(before);
  }, 60_000);

  it('3. acl apply --dry-run prints exactly who gains and who loses; apply enforces it', async () => {
    const text = readFileSync(join(dir, 'policy-ldap.yaml'), 'utf8')
      .replace(/ {2}- \{ name: contractors-git.*\n/, '')
      .replace(/^rules:\n/m, 'rules:\n  - { name: sales-build, from: { organizations: [sales], roles: [employee] }, to: build }\n');
    const policyFile = join(dir, 'next-policy.yaml');
    writeFileSync(policyFile, text);
    // the controller runs in this process: the CLI must run asynchronously
    const cli = (...args: string[]) =>
      new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        const c = spawn(process.execPath, [join(ROOT, 'bin/run.js'), ...args], {
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { ...process.env, ACL_ADMIN_TOKEN: ADMIN_TOKEN },
        });
        let stdout = '',
          stderr = '';
        c.stdout.on('data', (d) => {
          stdout += d;
        });
        c.stderr.on('data', (d) => {
          stderr += d;
        });
        c.on('close', (status) => resolve({ status, stdout, stderr }));
      });
    const dry = await cli('apply', policyFile, '--controller', apiUrl, '--dry-run');
    expect(dry.status, dry.stderr).toBe(0);
    const changes = dry.stdout
      .split('\n')
      .filter((l) => /^\s+[+-] /.test(l))
      .map((l) => l.trim().replace(/\s+\(.*\)$/, ''))
      .sort();
    expect(changes).toEqual(
      ['+ sam -> build tcp/8080', '+ sara -> build tcp/8080', '+ tom -> build tcp/8080', '- cathy -> git tcp/443'].sort(),
    );
    expect(
      await lab.probe([
        { from: 'sam', to: 'build', service: 'tcp/8080' },
        { from: 'cathy', to: 'git', service: 'tcp/443' },
      ]),
    ).toEqual([false, true]);
    const applied = await cli('apply', policyFile, '--controller', apiUrl, '--json');
    expect(applied.status, applied.stderr).toBe(0);
    expect(JSON.parse(applied.stdout).version).toBe(2);
    expect(
      await lab.probe([
        { from: 'sam', to: 'build', service: 'tcp/8080' },
        { from: 'cathy', to: 'git', service: 'tcp/443' },
        { from: 'alice', to: 'payroll-db', service: 'tcp/5432' },
      ]),
    ).toEqual([true, false, true]);
  }, 60_000);

  it('4. with the controller down, allowed traffic keeps flowing and nothing new is allowed; a restart changes no flow', async () => {
    await app.close();
    await ctl.stop();
    const allowed: Probe[] = [
      { from: 'alice', to: 'payroll-db', service: 'tcp/5432' },
      { from: 'tom', to: 'intranet-web', service: 'tcp/80' },
      { from: 'intranet-web', to: 'payroll-db', service: 'tcp/5432' },
    ];
    expect(await lab.probe(allowed)).toEqual([true, true, true]);
    // a device nobody knows, plugged in while the controller is down, gets nowhere
    await lab.call({ op: 'spoof', host: 'carl', mac: '02:00:00:00:99:01', ip: '10.0.1.99' });
    expect(
      await lab.probe([
        { from: 'carl', to: 'intranet-web', service: 'tcp/80', src: '10.0.1.99' },
        { from: 'carl', to: 'intranet-web', service: 'icmp', src: '10.0.1.99' },
      ]),
    ).toEqual([false, false]);
    await lab.call({ op: 'unspoof', host: 'carl' });
    ctl = await newController();
    app = await buildApp(ctl, {});
    await waitFor('switches back', () => ctl.switchStatus().filter((s) => s.connected && s.lastResult).length === 5, 30_000);
    const results = ctl.switchStatus().map((s) => s.lastResult!);
    expect(results.map((r) => r.added + r.removed + r.changed)).toEqual([0, 0, 0, 0, 0]);
    expect(await lab.probe(allowed)).toEqual([true, true, true]);
  }, 90_000);

  it("5. a spoofed source (another user's IP, or MAC, from the wrong port) and an unknown device are denied", async () => {
    // carl (contractor, edge1:3) pretends to be alice (finance) to reach payroll
    await lab.call({ op: 'spoof', host: 'carl', ip: '10.0.1.1' });
    expect(await lab.probe([{ from: 'carl', to: 'payroll-db', service: 'tcp/5432', src: '10.0.1.1' }])).toEqual([false]);
    await lab.call({ op: 'unspoof', host: 'carl' });
    await lab.call({ op: 'spoof', host: 'carl', mac: '02:00:00:00:01:01', ip: '10.0.1.1' });
    expect(await lab.probe([{ from: 'carl', to: 'payroll-db', service: 'tcp/5432', src: '10.0.1.1' }])).toEqual([false]);
    await lab.call({ op: 'unspoof', host: 'carl' });
    await waitFor('wrong-port alert', () => ctl.alerts.some((a) => a.type === 'device-wrong-port' && a.mac === '02:00:00:00:01:01'), 5000);
    await lab.call({ op: 'spoof', host: 'sam', mac: '02:00:00:00:99:02', ip: '10.0.1.98' });
    expect(await lab.probe([{ from: 'sam', to: 'intranet-web', service: 'tcp/80', src: '10.0.1.98' }])).toEqual([false]);
    await lab.call({ op: 'unspoof', host: 'sam' });
    // alice herself still works
    expect(await lab.probe([{ from: 'alice', to: 'payroll-db', service: 'tcp/5432' }])).toEqual([true]);
  }, 60_000);

  it('5b. replies pass, but a server cannot open a connection from its service port (a bare SYN is no reply)', async () => {
    expect(
      await lab.probe([
        { from: 'alice', to: 'payroll-db', service: 'tcpsyn/5432', sport: 40100 }, // control: alice may open it; the answer comes back
        { from: 'payroll-db', to: 'alice', service: 'tcpsyn/22', sport: 5432 }, // the database "answers" first: dropped
        { from: 'intranet-web', to: 'bob', service: 'tcpsyn/443', sport: 80 }, // same for the intranet server
      ]),
    ).toEqual([true, false, false]);
  }, 60_000);

  it('6. acl explain agrees with what the packets did', async () => {
    const sample: Probe[] = [];
    for (const u of ['alice', 'carl', 'bob', 'cathy', 'erin', 'tom', 'ivan'])
      for (const s of ['payroll-db', 'git', 'build', 'intranet-web'])
        for (const svc of ['tcp/22', 'tcp/443', 'tcp/5432', 'tcp/8080']) sample.push({ from: u, to: s, service: svc });
    const got = await lab.probe(sample);
    const disagreements = [];
    for (let i = 0; i < sample.length; i++) {
      const r = await app.inject({
        url: `/api/v1/explain?from=${sample[i].from}&to=${lab.host(sample[i].to).ip}&service=${sample[i].service}`,
      });
      const e = r.json();
      if ((e.decision === 'allow') !== got[i] || !e.consistent) disagreements.push({ ...sample[i], explain: e.decision, packets: got[i] });
    }
    expect(disagreements).toEqual([]);
  }, 120_000);
});
