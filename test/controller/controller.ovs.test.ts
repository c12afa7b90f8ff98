/**
 * Needs root and Open vSwitch (userspace datapath). Creates bridges ctl-e1, ctl-core, ctl-hv1 pointed at the
 * controller and checks with `ovs-ofctl dump-flows` that installed flows equal the plan through connects,
 * policy changes, bridge re-creation, controller restarts and flows deleted behind our back.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createConnection } from 'node:net';
import { Controller } from '../../controller/controller.js';
import { buildApp } from '../../controller/api.js';
import { createBridge, deleteBridge, ensureOvs, haveOvs, ofctl } from '../helpers/ovs.js';
import { copyExample as copyExampleDir, waitFor } from '../helpers/tmp.js';
import { encode } from '../../openflow/index.js';
import { flowText } from '../../compiler/format.js';
import type { FastifyInstance } from 'fastify';
import { describeWith } from '../helpers/needs.js';
import type { ControllerEvent } from '../../controller/events.js';

/** Private copies of examples, removed when the file's tests are done. */
const madeDirs: string[] = [];
const example = (name: string) => {
  const d = copyExampleDir(name);
  madeDirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of madeDirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const BRIDGES = [
  ['ctl-e1', 1],
  ['ctl-core', 2],
  ['ctl-hv1', 16],
] as const;
const run = haveOvs() && process.getuid?.() === 0;

/** cookie → duration (seconds) of our flows on a bridge. */
function installed(bridge: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const l of ofctl('dump-flows', bridge).split('\n')) {
    const m = l.match(/cookie=(0x5ac1[0-9a-f]+), duration=([\d.]+)s/);
    if (m) out.set(m[1], Number(m[2]));
  }
  return out;
}

/** flow text without counters → duration. */
function byText(bridge: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const l of ofctl('dump-flows', bridge).split('\n')) {
    const m = l.match(/duration=([\d.]+)s, /);
    if (m && l.includes('cookie=0x5ac1'))
      out.set(
        l
          .replace(/duration=[^,]+, /, '')
          .replace(/n_packets=\d+, n_bytes=\d+, /, '')
          .trim(),
        Number(m[1]),
      );
  }
  return out;
}

function planned(ctl: Controller, dpid: number): string[] {
  return ctl.compiled.plan.switches
    .find((s) => s.dpid === BigInt(dpid))!
    .flows.map((f) => '0x' + f.cookie.toString(16))
    .sort();
}

async function inSync(ctl: Controller): Promise<boolean> {
  for (const [br, dpid] of BRIDGES) {
    const have = [...installed(br).keys()].sort();
    const want = planned(ctl, dpid);
    if (JSON.stringify(have) !== JSON.stringify(want)) return false;
  }
  return true;
}

describeWith({ 'Open vSwitch (root)': !!run }, 'controller on real Open vSwitch', () => {
  let ctl: Controller;
  let app: FastifyInstance;
  let port = 0;
  let dir: string;
  const synced: Extract<ControllerEvent, { type: 'switch-synced' }>[] = [];

  beforeAll(async () => {
    ensureOvs();
    dir = example('basic');
    ctl = new Controller({
      policyPath: join(dir, 'policy.yaml'),
      listen: { host: '127.0.0.1', port: 0 },
      auditIntervalMs: 1000,
      session: { handshakeTimeoutMs: 2000 },
    });
    ctl.on('event', (e: ControllerEvent) => {
      if (e.type === 'switch-synced') synced.push(e);
    });
    ({ port } = await ctl.start());
    app = await buildApp(ctl, { adminToken: 'admin-secret', auditLog: join(dir, 'audit.jsonl') });
    for (const [br, dpid] of BRIDGES) createBridge(br, { controller: `tcp:127.0.0.1:${port}`, dpid: dpid.toString(16).padStart(16, '0') });
  });

  afterAll(async () => {
    for (const [br] of BRIDGES) deleteBridge(br);
    deleteBridge('ctl-unknown');
    await app?.close();
    await ctl?.stop();
  });

  it('installs exactly the plan on connect (dump-flows equals the plan)', async () => {
    await waitFor('all bridges in sync', () => inSync(ctl), 15_000);
    // Spot-check the text of one flow: the ACL flow for finance → payroll-db.
    const dump = ofctl('dump-flows', 'ctl-e1');
    expect(dump).toMatch(/table=2, .*priority=200,tcp,metadata=0x[0-9a-f]+\/0xffffffff,tp_dst=5432 actions=goto_table:3/);
    expect(dump).toMatch(/priority=0 actions=meter:1,CONTROLLER:128/);
    // the status reports the newest read-back (a reconcile may still be confirming when the dump already agrees)
    await waitFor('status in sync', () => ctl.switchStatus().every((s) => s.connected && s.flowsInstalled === s.flowsDesired), 10_000);
    // each switch's install on connect went in one bundle (the status's lastResult is the newest read-back: the 1 s
    // audit that finds nothing to do replaces it, so the sync events are what say how the flows were installed)
    for (const [br, dpid] of BRIDGES) {
      const first = synced.find((e) => e.dpid === `0x${dpid.toString(16).padStart(16, '0')}` && e.added > 0);
      expect(first, br).toMatchObject({ atomic: true, errors: [] });
    }
  });

  it('applies a policy change through the API: dry run shows the diff and changes nothing; apply enforces it', async () => {
    const before = new Map(BRIDGES.map(([br]) => [br, installed(br)]));
    const fullBefore = byText('ctl-hv1');
    const text = readFileSync(join(dir, 'policy.yaml'), 'utf8').replace(/ {2}- \{ name: staff-intranet.*\n/, '');
    const unauth = await app.inject({ method: 'POST', url: '/api/v1/policy', payload: text, headers: { 'content-type': 'text/yaml' } });
    expect(unauth.statusCode).toBe(401);
    const auth = { authorization: 'Bearer admin-secret', 'content-type': 'text/yaml' };
    const dry = await app.inject({ method: 'POST', url: '/api/v1/policy?dryRun=true', payload: text, headers: auth });
    expect(dry.statusCode).toBe(200);
    const d = dry.json();
    expect(d.access.filter((a: { change: string }) => a.change === 'lose').map((a: { subject: string }) => a.subject)).toEqual(
      expect.arrayContaining(['bob', 'alice']),
    );
    expect(d.access.every((a: { change: string; resource: string }) => a.change === 'lose' && a.resource === 'intranet')).toBe(true);
    expect([...installed('ctl-e1').keys()].sort()).toEqual([...before.get('ctl-e1')!.keys()].sort());
    const t0 = Date.now();
    const applied = await app.inject({ method: 'POST', url: '/api/v1/policy', payload: text, headers: auth });
    expect(applied.statusCode).toBe(200);
    expect(applied.json().version).toBe(2);
    expect(await inSync(ctl)).toBe(true);
    expect(Date.now() - t0).toBeLessThan(5000);
    const e = await app.inject({ url: '/api/v1/explain?from=bob&to=intranet&service=tcp/80' });
    expect(e.json().decision).toBe('deny');
    // flows the change did not touch were not re-added: their durations kept counting
    const hvBefore = fullBefore;
    const hvAfter = byText('ctl-hv1');
    const kept = [...hvAfter].filter(([t]) => hvBefore.has(t));
    expect(kept.length).toBeGreaterThan(10);
    for (const [t, dur] of kept) expect(dur, t).toBeGreaterThanOrEqual(hvBefore.get(t)!);
    expect(readFileSync(join(dir, 'audit.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('an invalid policy is rejected with its errors and nothing changes', async () => {
    const before = installed('ctl-hv1');
    const r = await app.inject({
      method: 'POST',
      url: '/api/v1/policy',
      payload: 'version: 1\ndirectory: directory.yaml\ntopology: topology.yaml\nrules:\n  - { from: { roles: [employee] }, to: nowhere }\n',
      headers: { authorization: 'Bearer admin-secret', 'content-type': 'text/yaml' },
    });
    expect(r.statusCode).toBe(422);
    expect(r.json().errors[0]).toMatch(/policy\.yaml:5:\d+: error unknown-resource/);
    expect([...installed('ctl-hv1').keys()].sort()).toEqual([...before.keys()].sort());
    expect(ctl.version).toBe(2);
  });

  it('repairs a flow deleted behind our back', async () => {
    const victim = [...installed('ctl-hv1').keys()][3];
    ofctl('del-flows', 'ctl-hv1', `cookie=${victim}/-1`);
    expect(installed('ctl-hv1').has(victim)).toBe(false);
    await waitFor('repair', () => installed('ctl-hv1').has(victim), 10_000);
  });

  it('leaves flows that are not ours alone', async () => {
    ofctl('add-flow', 'ctl-core', 'table=5,priority=1,cookie=0x1234,actions=drop');
    await ctl.syncAll();
    expect(ofctl('dump-flows', 'ctl-core')).toMatch(/cookie=0x1234/);
  });

  it('reinstalls everything when a bridge is deleted and re-created', async () => {
    deleteBridge('ctl-hv1');
    createBridge('ctl-hv1', { controller: `tcp:127.0.0.1:${port}`, dpid: (16).toString(16).padStart(16, '0') });
    await waitFor('hv1 back in sync', () => inSync(ctl), 15_000);
  });

  it('holds an unknown switch fail-closed and reports it', async () => {
    createBridge('ctl-unknown', { controller: `tcp:127.0.0.1:${port}`, dpid: '00000000000000ee' });
    await waitFor('unknown switch reported', () => ctl.switchStatus().find((s) => !s.known));
    expect(installed('ctl-unknown').size).toBe(0);
    const st = await app.inject({ url: '/api/v1/status' });
    expect(st.json().alerts.some((a: { type: string }) => a.type === 'unknown-switch')).toBe(true);
    deleteBridge('ctl-unknown');
  });

  it('a peer sending garbage, a lying length or nothing at all is dropped without disturbing the switches', async () => {
    const peers = [
      Buffer.from('GET / HTTP/1.1\r\n\r\n'),
      Buffer.from('0400000300000001', 'hex'),
      Buffer.concat([encode({ type: 'hello', xid: 1, versions: [4] }), Buffer.from('0406000800000002', 'hex')]),
    ];
    const closed = await Promise.all(
      peers.map(
        (bytes) =>
          new Promise<boolean>((resolve) => {
            const s = createConnection(port, '127.0.0.1', () => s.write(bytes));
            s.on('data', () => undefined);
            s.on('close', () => resolve(true));
            setTimeout(() => {
              s.destroy();
              resolve(false);
            }, 5000);
          }),
      ),
    );
    expect(closed).toEqual([true, true, true]);
    // an old switch that only speaks OpenFlow 1.0 gets a clear refusal
    const refused = await new Promise<string>((resolve) => {
      const s = createConnection(port, '127.0.0.1', () => s.write(Buffer.from('0100000800000001', 'hex')));
      let got = Buffer.alloc(0);
      s.on('data', (d) => {
        got = Buffer.concat([got, d]);
      });
      s.on('close', () => resolve(got.toString('latin1')));
    });
    expect(refused).toMatch(/OpenFlow 1\.3 required/);
    expect(await inSync(ctl)).toBe(true);
    expect(ctl.switchStatus().filter((s) => s.connected && s.known)).toHaveLength(3);
  });
});

describeWith({ 'Open vSwitch (root)': !!run }, 'controller restart on real Open vSwitch', () => {
  const children: ChildProcess[] = [];
  const start = (policy: string, ofPort: number) =>
    new Promise<{ child: ChildProcess; api: number }>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', new URL('../helpers/controller-child.ts', import.meta.url).pathname, policy, String(ofPort), '0', '0'],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      children.push(child);
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        const m = out.match(/READY (\d+) (\d+)/);
        if (m) resolve({ child, api: Number(m[2]) });
      });
      child.on('exit', (code) => reject(new Error(`controller exited ${code}`)));
    });

  afterAll(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    deleteBridge('ctl-r1');
  });

  it('flows stay while the controller is down, and a restart re-adds nothing (durations keep counting)', async () => {
    ensureOvs();
    const dir = example('basic');
    // a fixed free port so the bridge reconnects to the restarted controller
    const ofPort = 20000 + (process.pid % 20000);
    const first = await start(join(dir, 'policy.yaml'), ofPort);
    createBridge('ctl-r1', { controller: `tcp:127.0.0.1:${ofPort}`, dpid: (16).toString(16).padStart(16, '0') });
    await waitFor('flows installed', () => installed('ctl-r1').size > 20, 15_000);
    const before = installed('ctl-r1');
    first.child.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 1500));
    expect(installed('ctl-r1')).toHaveProperty('size', before.size); // fail-mode secure keeps flows
    const second = await start(join(dir, 'policy.yaml'), ofPort);
    const res = await waitFor(
      'reconnected and synced',
      async () => {
        const r = await fetch(`http://127.0.0.1:${second.api}/api/v1/switches`);
        const sw = (await r.json()) as Array<{ name: string; lastResult?: { added: number; removed: number; changed: number } }>;
        return sw.find((s) => s.name === 'hv1' && s.lastResult)?.lastResult;
      },
      20_000,
    );
    expect(res).toMatchObject({ added: 0, removed: 0, changed: 0 });
    const after = installed('ctl-r1');
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    for (const [c, d] of after) expect(d).toBeGreaterThanOrEqual(before.get(c)! + 1);
    second.child.kill('SIGTERM');
  });
});

void flowText;
