/**
 * Monitor mode and the dry-run impact on real packets (Mininet, root, Open vSwitch, through the real controller and
 * its API): the basic example with a monitored deny rule applied over the API.
 *  - `mode: monitor` lets through what it would deny; that traffic is logged as "would deny" with user, port,
 *    resource, service and the monitored rule (GET /api/v1/denials and the /events stream), and the monitored
 *    rule's own traffic counter counts it (and only it); promoting it (one apply, `mode: enforce`) denies.
 *  - `acl apply --dry-run --json`: after real connections, a change that cuts one lists it under `seen.cut`
 *    (counters), a change that opens a denied one lists it under `seen.open` (deny log); unseen changes are not listed.
 * Switch names carry this test's prefix (wa*), OpenFlow and API ports come from its range (26500-26599).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Controller } from '../../controller/controller.js';
import type { Denial } from '../../controller/api/contract.js';
import { startObservingController } from '../helpers/observing-controller.js';
import { TABLE } from '../../compiler/pipeline.js';
import { ensureOvs } from '../helpers/ovs.js';
import { waitFor } from '../helpers/tmp.js';
import { haveMininet, type MininetLab } from './harness.js';
import { basicWithSwitches, startLab } from './basic-lab.js';
import { describeWith } from '../helpers/needs.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const OF_PORT = 26500;
const API_PORT = 26501;
const ADMIN = 'wa-admin-token-0123456789abcdef';
const WEB1 = '10.0.2.2';
/** bob is the only user in organization platform; the rule is about his web traffic to the intranet (web1). */
const WATCH = (mode: 'monitor' | 'enforce') =>
  `  - { name: watch-platform-web, from: { organizations: [platform] }, to: intranet, services: [tcp/80], action: deny, mode: ${mode} }\n`;

interface Seen {
  subject: string;
  resource: string;
  service: string;
  evidence: string;
  denied?: number;
  userLastSeen?: string;
}
interface DryRun {
  dryRun: boolean;
  access: Array<{ subject: string; resource: string; service: string; change: 'gain' | 'lose' }>;
  seen: { since: string; cut: Seen[]; open: Seen[] };
}

describeWith({ 'Mininet (root)': haveMininet() }, 'monitor mode and dry-run impact on real packets (Mininet)', () => {
  let ctl: Controller;
  let app: FastifyInstance;
  let lab: MininetLab;
  let dir: string;
  let base: string;
  const api = `http://127.0.0.1:${API_PORT}`;
  const auth = { authorization: `Bearer ${ADMIN}` };
  const events: Array<{ type: string; data: { denial?: Denial } }> = [];
  const stream = new AbortController();

  const get = async (path: string) => {
    const r = await fetch(api + path, { headers: auth });
    expect(r.status, path).toBe(200);
    return r.json();
  };
  const apply = async (text: string) => {
    const r = await fetch(api + '/api/v1/policy', { method: 'POST', headers: { ...auth, 'content-type': 'text/yaml' }, body: text });
    const body = await r.json();
    expect(r.status, JSON.stringify(body)).toBe(200);
    return body as { version: number; results: Array<{ errors: string[] }> };
  };
  /** Counters reach OVS flows about every 500 ms: wait, then read every switch. */
  const poll = async () => {
    await new Promise((res) => setTimeout(res, 1200));
    const r = await fetch(api + '/api/v1/stats/poll', { method: 'POST', headers: auth });
    expect(r.status).toBe(200);
    expect(((await r.json()) as { switches: number }).switches).toBe(3);
  };
  const ruleHits = async (rule: string) => ((await get(`/api/v1/rules/${rule}/traffic`)) as { packets: number }).packets;
  const policyWith = (rules: string) => base.replace('default: deny', `${rules}default: deny`);

  beforeAll(async () => {
    ensureOvs();
    if (!existsSync(join(ROOT, 'dist/cli/commands/apply.js'))) execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'pipe' });
    // this test's own switch names and dpids (interfaces waedge-eth1, ...), not the other Mininet tests'
    dir = basicWithSwitches('wa', [161, 162, 163]);
    base = readFileSync(join(dir, 'policy.yaml'), 'utf8');
    ({ ctl, app } = await startObservingController(dir, { of: OF_PORT, api: API_PORT }, { adminToken: ADMIN }));
    expect(ctl.loaded.topology.switches.map((s) => s.name).sort()).toEqual(['wacore', 'waedge', 'wahv']);
    // the live event stream, read from the start
    const res = await fetch(api + '/api/v1/events', { headers: auth, signal: stream.signal });
    expect(res.status).toBe(200);
    void (async () => {
      const dec = new TextDecoder();
      let buf = '';
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          buf += dec.decode(chunk, { stream: true });
          let at: number;
          while ((at = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, at);
            buf = buf.slice(at + 2);
            const type = /^event: (.+)$/m.exec(block)?.[1];
            const data = /^data: (.+)$/m.exec(block)?.[1];
            if (type && data) events.push({ type, data: JSON.parse(data) });
          }
        }
      } catch {
        /* aborted at the end */
      }
    })();
    lab = await startLab(ctl, OF_PORT);
  }, 240_000);

  afterAll(async () => {
    stream.abort();
    await lab?.stop();
    await app?.close();
    await ctl?.stop();
  }, 60_000);

  it('a monitored deny lets traffic through, logs it as "would deny" (API and events) and counts it on its own rule only', async () => {
    const applied = await apply(policyWith(WATCH('monitor')));
    expect(applied.results.flatMap((r) => r.errors)).toEqual([]);
    // the monitor path is on the real switch: table 4 samples to the controller
    expect(execFileSync('ovs-ofctl', ['-O', 'OpenFlow13', 'dump-flows', 'waedge', `table=${TABLE.monitor}`], { encoding: 'utf8' })).toMatch(
      /CONTROLLER/,
    );
    await poll(); // baseline
    const watch0 = await ruleHits('watch-platform-web');
    const staff0 = await ruleHits('staff-intranet');
    // traffic the monitored rule does not cover: counted on staff-intranet, not on the monitored rule
    expect(await lab.probe([{ from: 'bob', to: 'web1', service: 'tcp/443' }])).toEqual([true]);
    await poll();
    expect(await ruleHits('staff-intranet')).toBeGreaterThan(staff0);
    expect(await ruleHits('watch-platform-web')).toBe(watch0);
    // what it would deny still passes
    expect(await lab.probe([{ from: 'bob', to: 'web1', service: 'tcp/80' }])).toEqual([true]);
    const entry = await waitFor<Denial | undefined>('would-deny entry', async () =>
      ((await get(`/api/v1/denials?kind=would-deny&user=bob&dst=${WEB1}`)).denials as Denial[]).find((d) => d.service === 'tcp/80'),
    );
    expect(entry).toMatchObject({
      kind: 'would-deny',
      user: 'bob',
      name: 'Bob Berg',
      organization: 'platform',
      switch: 'waedge',
      port: 2,
      dst: WEB1,
      service: 'tcp/80',
      proto: 'tcp',
      rule: 'watch-platform-web',
    });
    expect(entry.resources).toContain('intranet');
    // logged where it entered the network only (not again on wahv's link port), and only tcp/80
    const wouldDeny = (await get('/api/v1/denials?kind=would-deny')).denials as Denial[];
    expect(wouldDeny.every((d) => d.user === 'bob' && d.switch === 'waedge' && d.rule === 'watch-platform-web')).toBe(true);
    expect(wouldDeny.flatMap((d) => d.services)).toEqual(['tcp/80']);
    // and it was not denied
    expect(((await get(`/api/v1/denials?kind=deny&user=bob&dst=${WEB1}`)).denials as Denial[]).filter((d) => d.proto === 'tcp')).toEqual(
      [],
    );
    // the event stream carried the same entry
    const ev = await waitFor('denial event', () =>
      events.find((e) => e.type === 'denial' && e.data.denial?.kind === 'would-deny' && e.data.denial.rule === 'watch-platform-web'),
    );
    expect(ev.data.denial).toMatchObject({ user: 'bob', switch: 'waedge', port: 2, dst: WEB1, service: 'tcp/80' });
    // the monitored rule's own counter: the packets it would have denied (SYN, ACK, data... on waedge and wahv)
    await poll();
    const t = (await get('/api/v1/rules/watch-platform-web/traffic')) as { packets: number; lastHit: string | null; series: unknown[] };
    expect(t.packets - watch0).toBeGreaterThanOrEqual(3);
    expect(t.lastHit).not.toBeNull();
    expect(t.series.length).toBeGreaterThan(0);
    const all = (await get('/api/v1/rules/traffic')) as Array<{ rule: string; packets: number }>;
    expect(all.find((r) => r.rule === 'watch-platform-web')?.packets).toBe(t.packets);
    const metrics = await (await fetch(api + '/metrics', { headers: auth })).text();
    expect(metrics).toMatch(/acl_rule_packets_total\{rule="watch-platform-web"\} [1-9]/);
    expect(((await get('/api/v1/rules/unused?days=1')).rules as Array<{ rule: string }>).map((r) => r.rule)).not.toContain(
      'watch-platform-web',
    );
  }, 120_000);

  it('promoting the rule (one apply, mode: enforce) denies it on real packets; the rest still passes', async () => {
    const applied = await apply(policyWith(WATCH('enforce')));
    expect(applied.results.flatMap((r) => r.errors)).toEqual([]);
    expect(
      execFileSync('ovs-ofctl', ['-O', 'OpenFlow13', 'dump-flows', 'waedge', `table=${TABLE.monitor}`], { encoding: 'utf8' }),
    ).not.toMatch(/CONTROLLER/);
    expect(await lab.probe([{ from: 'bob', to: 'web1', service: 'tcp/80' }], 1)).toEqual([false]);
    expect(await lab.probe([{ from: 'bob', to: 'web1', service: 'tcp/443' }])).toEqual([true]);
    const entry = await waitFor<Denial | undefined>('deny entry', async () =>
      ((await get(`/api/v1/denials?kind=deny&user=bob&dst=${WEB1}`)).denials as Denial[]).find((d) => d.service === 'tcp/80'),
    );
    expect(entry).toMatchObject({ kind: 'deny', user: 'bob', switch: 'waedge', port: 2, service: 'tcp/80', rule: 'watch-platform-web' });
    expect(events.some((e) => e.type === 'denial' && e.data.denial?.kind === 'deny' && e.data.denial.rule === 'watch-platform-web')).toBe(
      true,
    );
  }, 120_000);

  it('acl apply --dry-run --json lists the real connections a change would cut or open, and nothing unseen', async () => {
    const version = ((await get('/api/v1/policy')) as { version: number }).version;
    // real traffic under the running policy: bob uses web1 over https; bob is denied payroll-db
    expect(
      await lab.probe(
        [
          { from: 'bob', to: 'web1', service: 'tcp/443' },
          { from: 'bob', to: 'payroll-db', service: 'tcp/5432' },
        ],
        1,
      ),
    ).toEqual([true, false]);
    await waitFor('bob denied payroll-db', async () =>
      ((await get('/api/v1/denials?kind=deny&user=bob&resource=payroll-db')).denials as Denial[]).some((d) => d.service === 'tcp/5432'),
    );
    await poll();
    const cli = (file: string) =>
      new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        const c = spawn(process.execPath, [join(ROOT, 'bin/run.js'), 'apply', file, '--controller', api, '--dry-run', '--json'], {
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { ...process.env, ACL_ADMIN_TOKEN: ADMIN },
        });
        let stdout = '',
          stderr = '';
        c.stdout.on('data', (d) => (stdout += d));
        c.stderr.on('data', (d) => (stderr += d));
        c.on('close', (status) => resolve({ status, stdout, stderr }));
      });
    const dryRun = async (name: string, text: string): Promise<DryRun> => {
      const f = join(dir, name);
      writeFileSync(f, text);
      const r = await cli(f);
      expect(r.status, r.stderr + r.stdout).toBe(0);
      const out = JSON.parse(r.stdout) as DryRun;
      expect(out.dryRun).toBe(true);
      return out;
    };

    // 1. staff-intranet removed: alice and bob lose the intranet; only bob was seen using it
    const cut = await dryRun('cut.yaml', policyWith(WATCH('enforce')).replace(/\n {2}- \{ name: staff-intranet.*\n/, '\n'));
    expect(cut.access.filter((a) => a.change === 'lose').map((a) => a.subject)).toEqual(expect.arrayContaining(['alice', 'bob']));
    expect(cut.seen.cut).toEqual([expect.objectContaining({ subject: 'bob', resource: 'intranet', evidence: 'counters' })]);
    expect(cut.seen.cut[0].userLastSeen).toBeDefined();
    expect(cut.seen.open).toEqual([]);

    // 2. payroll opened to platform, and ssh to the intranet for employees: bob was denied payroll-db (seen), nobody
    //    tried ssh (not listed)
    const opened = await dryRun(
      'open.yaml',
      policyWith(WATCH('enforce'))
        .replace('from: { organizations: [finance] }, to: payroll-db', 'from: { organizations: [finance, platform] }, to: payroll-db')
        .replace('services: [tcp/80, tcp/443, icmp]', 'services: [tcp/80, tcp/443, icmp, tcp/22]'),
    );
    const gains = opened.access.filter((a) => a.change === 'gain');
    expect(gains).toEqual(
      expect.arrayContaining([expect.objectContaining({ subject: 'bob', resource: 'payroll-db', service: 'tcp/5432' })]),
    );
    expect(gains.some((a) => a.service === 'tcp/22')).toBe(true);
    expect(opened.seen.open).toEqual([
      expect.objectContaining({ subject: 'bob', resource: 'payroll-db', service: 'tcp/5432', evidence: 'deny-log' }),
    ]);
    expect(opened.seen.open[0].denied).toBeGreaterThanOrEqual(1);
    expect(opened.seen.cut).toEqual([]);

    // a dry run changes nothing
    expect(((await get('/api/v1/policy')) as { version: number }).version).toBe(version);
    expect(await lab.probe([{ from: 'bob', to: 'payroll-db', service: 'tcp/5432' }], 1)).toEqual([false]);
  }, 180_000);
});
