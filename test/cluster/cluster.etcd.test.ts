/**
 * High availability on a real etcd and real Open vSwitch: three controller processes (nodes n1..n3) share the
 * campus network's five bridges (every bridge connected to all three). Needs root, Open vSwitch and etcd.
 * Creates bridges ha-e1, ha-e2, ha-core, ha-hv1, ha-hv2 and a private etcd on 127.0.0.1:18901; removes them.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeWith, isRoot } from '../helpers/needs.js';
import { createBridge, deleteBridge, ensureOvs, haveOvs, ofctl, vsctl } from '../helpers/ovs.js';
import { haveEtcd, startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { copyExample, waitFor } from '../helpers/tmp.js';
import { SwitchSession, OfpRequestError } from '../../controller/session.js';
import { agreedMasters, nodeApi, postPolicy, spawnNode, type ClusterView, type NodeSpec } from '../helpers/cluster.js';

const ETCD_PORT = 18901;
const SPECS: NodeSpec[] = [
  { name: 'n1', of: 18911, api: 18921 },
  { name: 'n2', of: 18912, api: 18922 },
  { name: 'n3', of: 18913, api: 18923 },
];
const NODES = SPECS.map((s) => s.name);
const spec = (name: string) => SPECS.find((s) => s.name === name)!;
const BRIDGES: Array<[string, number]> = [
  ['ha-e1', 1],
  ['ha-e2', 2],
  ['ha-core', 3],
  ['ha-hv1', 16],
  ['ha-hv2', 17],
];
const hex = (d: number) => `0x${d.toString(16).padStart(16, '0')}`;
const DPIDS = BRIDGES.map(([, d]) => hex(d));

let etcd: EtcdServer;
let dir: string;

/** n3 reaches etcd through a proxy in its own process, so the test can cut it off alone (a network partition). */
const PROXY_PORT = 18905;
let proxy: ChildProcess | undefined;
const cutProxy = () => proxy?.kill('SIGUSR1');
const restoreProxy = () => proxy?.kill('SIGUSR2');
const procs = new Map<string, ChildProcess>();

async function startNode(name: string): Promise<void> {
  const url = name === 'n3' ? `etcd://127.0.0.1:${PROXY_PORT}` : etcd.url;
  procs.set(name, await spawnNode(spec(name), join(dir, 'policy.yaml'), url, join(dir, `state-${name}.json`)));
}
const api = <T = any>(node: string, path: string) => nodeApi<T>(spec(node), path);
const post = (node: string, text: string, base?: number) => postPolicy(spec(node), text, base);
const masters = (nodes: readonly string[]) => agreedMasters(nodes.map(spec), DPIDS);

/** Our flows on a bridge: text without counters → duration. */
function flows(br: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const l of ofctl('dump-flows', br).split('\n')) {
    const m = l.match(/duration=([\d.]+)s, /);
    if (m && l.includes('cookie=0x5ac1'))
      out.set(
        l
          .replace(/duration=[^,]+, /, '')
          .replace(/n_packets=\d+, n_bytes=\d+, /, '')
          .replace(/idle_age=\d+, /, '')
          .trim(),
        Number(m[1]),
      );
  }
  return out;
}

async function inSync(node: string): Promise<boolean> {
  const st = await api<Array<{ dpid: string; flowsDesired: number }>>(node, '/switches');
  for (const [br, d] of BRIDGES) {
    const want = st.body.find((s) => s.dpid === hex(d))?.flowsDesired;
    if (!want || flows(br).size !== want) return false;
  }
  return true;
}

const run = haveOvs() && isRoot;

describeWith({ 'Open vSwitch (root)': run, etcd: haveEtcd() }, 'three controllers sharing switches through etcd', () => {
  beforeAll(async () => {
    ensureOvs();
    etcd = await startEtcd(ETCD_PORT);
    proxy = spawn(
      process.execPath,
      ['--import', 'tsx', new URL('../helpers/tcp-proxy.ts', import.meta.url).pathname, String(PROXY_PORT), String(ETCD_PORT)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((r) =>
      proxy!.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('READY')) r();
      }),
    );
    dir = copyExample('campus');
    await Promise.all(NODES.map((n) => startNode(n)));
    for (const [br, d] of BRIDGES) {
      createBridge(br, { dpid: d.toString(16).padStart(16, '0') });
      vsctl('set-controller', br, ...SPECS.map((n) => `tcp:127.0.0.1:${n.of}`));
    }
  }, 90_000);

  afterAll(async () => {
    for (const [br] of BRIDGES) deleteBridge(br);
    deleteBridge('ha-stale');
    for (const p of procs.values()) {
      if (p.exitCode === null && p.signalCode === null) {
        p.kill('SIGCONT');
        p.kill('SIGKILL');
      }
    }
    proxy?.kill('SIGTERM');
    await etcd?.stop();
  });

  it('spreads the switches over the nodes; each master installs exactly its plan', async () => {
    const m = await waitFor('every switch mastered and agreed', () => masters(NODES), 20_000, 200);
    expect(new Set(m.values()).size).toBeGreaterThanOrEqual(2);
    await waitFor('bridges in sync', () => inSync('n1'), 20_000, 200);
    // Only a switch's master wrote: the other nodes' connections are slaves.
    const views = await Promise.all(NODES.map((n) => api<ClusterView>(n, '/cluster')));
    for (const v of views)
      for (const s of v.body.switches) if (s.master !== v.body.node) expect(s.localRole, `${v.body.node} ${s.dpid}`).not.toBe('master');
  }, 60_000);

  it('a policy change through a non-master node reaches every switch; concurrent changes: exactly one wins', async () => {
    const text = readFileSync(join(dir, 'policy.yaml'), 'utf8');
    await waitFor(
      'every node healthy',
      async () => (await Promise.all(NODES.map((n) => api<ClusterView>(n, '/cluster')))).every((v) => v.body.healthy),
      20_000,
      100,
    );
    const before = (await api(NODES[0], '/policy')).body.version as number;
    const less = text.replace(/ {2}- \{ name: platform-build.*\n/, '');
    const r = await post('n3', less);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.version).toBe(before + 1);
    for (const n of NODES)
      await waitFor(`${n} at version ${before + 1}`, async () => (await api(n, '/policy')).body.version === before + 1, 10_000);
    await waitFor('bridges in sync after the change', () => inSync('n1'), 10_000, 200);
    const e = await api('n2', '/explain?from=frank&to=build&service=tcp/22');
    expect(e.body.decision ?? e.body.error).toBeDefined();

    // Two admins at once on two nodes, both editing the version they looked at: exactly one gets through.
    const a = text.replace(/ {2}- \{ name: admins-ssh.*\n/, '');
    const b = text.replace(/ {2}- \{ name: build-to-git.*\n/, '');
    const [ra, rb] = await Promise.all([post('n1', a, before + 1), post('n2', b, before + 1)]);
    expect([ra.status, rb.status].sort()).toEqual([200, 409]);
    const loser = ra.status === 409 ? ra : rb;
    expect(JSON.stringify(loser.body)).toMatch(/changed meanwhile|conflict/);
    for (const n of NODES)
      await waitFor(`${n} at version ${before + 2}`, async () => (await api(n, '/policy')).body.version === before + 2, 10_000);
    // restore the full policy for the next tests
    const back = await post('n1', text);
    expect(back.status).toBe(200);
    for (const n of NODES) await waitFor(`${n} restored`, async () => (await api(n, '/policy')).body.version === before + 3, 10_000);
    await waitFor('bridges in sync after restore', () => inSync('n1'), 10_000, 200);
  }, 60_000);

  it('kill -9 of a master: its switches get a new master within 3 s, with zero flow changes', async () => {
    const m = await waitFor('agreed masters', () => masters(NODES), 10_000, 100);
    const victim = [...m.values()].sort(
      (x, y) => [...m.values()].filter((v) => v === y).length - [...m.values()].filter((v) => v === x).length,
    )[0];
    const taken = [...m].filter(([, n]) => n === victim).map(([d]) => d);
    expect(taken.length).toBeGreaterThan(0);
    const before = new Map(BRIDGES.map(([br]) => [br, flows(br)]));
    const t0 = performance.now();
    procs.get(victim)!.kill('SIGKILL');
    const alive = NODES.filter((n) => n !== victim);
    const after = await waitFor(
      'new masters',
      async () => {
        const x = await masters(alive);
        return x && taken.every((d) => alive.includes(x.get(d) as never)) ? x : undefined;
      },
      10_000,
      50,
    );
    const takeover = performance.now() - t0;
    console.log(`failover: ${taken.length} switch(es) of ${victim} taken over in ${takeover.toFixed(0)} ms`);
    expect(takeover).toBeLessThan(3000);
    expect(after.size).toBe(BRIDGES.length);
    await new Promise((r) => setTimeout(r, 1500)); // the new master's reconcile and read-back
    for (const [br] of BRIDGES) {
      const now = flows(br);
      expect([...now.keys()].sort(), br).toEqual([...before.get(br)!.keys()].sort());
      for (const [t, dur] of now) expect(dur, `${br}: ${t}`).toBeGreaterThanOrEqual(before.get(br)!.get(t)!);
    }
    // The node comes back: it rejoins and takes its share again, without churn.
    const snap = new Map(BRIDGES.map(([br]) => [br, flows(br)]));
    await startNode(victim);
    await waitFor(
      'victim masters its switches again',
      async () => {
        const x = await masters(NODES);
        return x && [...x.values()].includes(victim) ? x : undefined;
      },
      15_000,
      100,
    );
    await new Promise((r) => setTimeout(r, 1500));
    for (const [br] of BRIDGES) {
      const now = flows(br);
      expect([...now.keys()].sort(), br).toEqual([...snap.get(br)!.keys()].sort());
      for (const [t, dur] of now) expect(dur, `${br}: ${t}`).toBeGreaterThanOrEqual(snap.get(br)!.get(t)!);
    }
  }, 60_000);

  it('a frozen master that wakes up after losing its lease writes nothing; a stale generation is refused by the switch', async () => {
    const m = await waitFor('agreed masters', () => masters(NODES), 10_000, 100);
    const frozen = [...m.values()][0];
    const its = [...m].filter(([, n]) => n === frozen).map(([d]) => d);
    const oldGen = BigInt((await api<ClusterView>(frozen, '/cluster')).body.switches.find((s) => s.dpid === its[0])!.generationId!);
    procs.get(frozen)!.kill('SIGSTOP');
    const alive = NODES.filter((n) => n !== frozen);
    await waitFor(
      'takeover from the frozen node',
      async () => {
        const x = await masters(alive);
        return x && its.every((d) => alive.includes(x.get(d) as never)) ? x : undefined;
      },
      10_000,
      50,
    );
    await new Promise((r) => setTimeout(r, 1000));
    // While it sleeps, the policy changes: on wake-up the frozen node must not push its stale plan.
    const text = readFileSync(join(dir, 'policy.yaml'), 'utf8');
    const r = await post(alive[0], text.replace(/ {2}- \{ name: admins-ssh.*\n/, ''));
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    await waitFor('in sync with the change', () => inSync(alive[0]), 10_000, 200);
    const snap = new Map(BRIDGES.map(([br]) => [br, flows(br)]));
    procs.get(frozen)!.kill('SIGCONT');
    await new Promise((r2) => setTimeout(r2, 2500));
    for (const [br] of BRIDGES) {
      const now = flows(br);
      expect([...now.keys()].sort(), br).toEqual([...snap.get(br)!.keys()].sort());
      for (const [t, dur] of now) expect(dur, `${br}: ${t}`).toBeGreaterThanOrEqual(snap.get(br)!.get(t)!);
    }
    // The switch itself refuses a master with an older generation id (OFPRRFC_STALE).
    const [br, d] = BRIDGES.find(([, dd]) => hex(dd) === its[0])!;
    let server: Server | undefined;
    const session = await new Promise<SwitchSession>((resolve) => {
      server = createServer((sock) => {
        const s = new SwitchSession(sock, { handshakeTimeoutMs: 3000 });
        s.once('ready', () => resolve(s));
      });
      server.listen(18906, '127.0.0.1', () =>
        vsctl('set-controller', br, ...SPECS.map((n) => `tcp:127.0.0.1:${n.of}`), 'tcp:127.0.0.1:18906'),
      );
    });
    expect(session.dpid).toBe(BigInt(d));
    const err = await session.request({ type: 'role_request', xid: session.xid(), role: 'master', generationId: oldGen }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OfpRequestError);
    expect((err as OfpRequestError).reply.errType).toBe(11); // OFPET_ROLE_REQUEST_FAILED
    expect((err as OfpRequestError).reply.code).toBe(0); // OFPRRFC_STALE
    session.close('test done');
    server!.close();
    vsctl('set-controller', br, ...SPECS.map((n) => `tcp:127.0.0.1:${n.of}`));
  }, 60_000);

  it('a node cut off from etcd stops writing, the others take over; it rejoins without churn', async () => {
    // n3 must master something first, or "the others take over" would hold before the cut has any effect
    await waitFor(
      'agreed masters, n3 among them',
      async () => {
        const x = await masters(NODES);
        return x && [...x.values()].includes('n3') ? x : undefined;
      },
      15_000,
      100,
    );
    await waitFor('in sync', () => inSync('n1'), 10_000, 200);
    const t0 = performance.now();
    cutProxy();
    const others = ['n1', 'n2'];
    await waitFor('n1 and n2 master every switch', () => masters(others), 10_000, 50);
    console.log(`partition: n3 cut off, its switches moved in ${(performance.now() - t0).toFixed(0)} ms`);
    expect((await api<ClusterView>('n3', '/cluster')).body.healthy).toBe(false);
    // a change while n3 is cut off reaches every switch through the others; n3 writes nothing meanwhile
    const text = readFileSync(join(dir, 'policy.yaml'), 'utf8');
    const r = await post('n1', text.replace(/ {2}- \{ name: build-to-git.*\n/, ''));
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    await waitFor('in sync with the change', () => inSync('n1'), 10_000, 200);
    const snap = new Map(BRIDGES.map(([br]) => [br, flows(br)]));
    restoreProxy();
    await waitFor(
      'n3 back and masters again',
      async () => {
        const x = await masters(NODES);
        return x && [...x.values()].includes('n3') ? x : undefined;
      },
      20_000,
      100,
    );
    await new Promise((res) => setTimeout(res, 1500));
    for (const [br] of BRIDGES) {
      const now = flows(br);
      expect([...now.keys()].sort(), br).toEqual([...snap.get(br)!.keys()].sort());
      for (const [t, dur] of now) expect(dur, `${br}: ${t}`).toBeGreaterThanOrEqual(snap.get(br)!.get(t)!);
    }
    const back = await post('n3', text);
    expect(back.status, JSON.stringify(back.body)).toBe(200);
    await waitFor('in sync after restore', () => inSync('n1'), 10_000, 200);
  }, 60_000);

  it('etcd down: every node keeps enforcing, changes are refused with a clear error; etcd back: changes work again', async () => {
    await waitFor('agreed masters', () => masters(NODES), 15_000, 100);
    await waitFor('in sync', () => inSync('n1'), 10_000, 200);
    const snap = new Map(BRIDGES.map(([br]) => [br, flows(br)]));
    await etcd.stop();
    await new Promise((r) => setTimeout(r, 3000));
    const text = readFileSync(join(dir, 'policy.yaml'), 'utf8');
    const r = await post('n2', text);
    expect(r.status).toBe(503);
    expect(JSON.stringify(r.body)).toMatch(/cluster unavailable/);
    for (const [br] of BRIDGES) expect([...flows(br).keys()].sort(), br).toEqual([...snap.get(br)!.keys()].sort());
    await etcd.start();
    await waitFor('masters again after etcd returns', () => masters(NODES), 20_000, 200);
    const ok = await waitFor(
      'a change accepted again',
      async () => {
        const x = await post('n2', text);
        return x.status === 200 ? x : undefined;
      },
      15_000,
      500,
    );
    expect(ok.status).toBe(200);
    for (const [br] of BRIDGES) expect([...flows(br).keys()].sort(), br).toEqual([...snap.get(br)!.keys()].sort());
  }, 90_000);
});
