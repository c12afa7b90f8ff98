/**
 * High availability on etcd, measured (needs root, Open vSwitch and etcd; private etcd on 127.0.0.1:18958):
 *  1. failover: three controller processes share the campus network's five OVS bridges; the master of edge1 is
 *     killed with SIGKILL ten times (restarted in between): time until another node masters it (p50 / max), and
 *     how many of the bridge's flows changed (must be 0).
 *  2. policy commit → every switch confirmed (reconciled by its master, read back), through a 3-node cluster,
 *     against a single controller without etcd on the same bridges.
 *  3. 1,000 simulated switches (in-memory OpenFlow 1.3 switches, one connection per node each): time until all
 *     are mastered and in sync, CPU seconds and RSS per node, with one node and with three.
 *   node --import tsx bench/cluster.bench.ts
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createBridge, deleteBridge, ensureOvs, haveOvs, ofctl, vsctl } from '../test/helpers/ovs.js';
import { haveEtcd, startEtcd, type EtcdServer } from '../test/helpers/etcd.js';
import { copyExample, tempDir, waitFor } from '../test/helpers/tmp.js';
import { agreedMasters, nodeApi, postPolicy, spawnNode, type NodeSpec } from '../test/helpers/cluster.js';
import { FakeSwitch } from '../test/controller/fake-switch.js';

if (!haveOvs() || process.getuid?.() !== 0 || !haveEtcd()) {
  console.log('cluster.bench: skipped (needs root, Open vSwitch and etcd)');
  process.exit(0);
}

const hex = (d: number) => `0x${d.toString(16).padStart(16, '0')}`;
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SPECS: NodeSpec[] = [
  { name: 'b1', of: 18961, api: 18971 },
  { name: 'b2', of: 18962, api: 18972 },
  { name: 'b3', of: 18963, api: 18973 },
];
const BRIDGES: Array<[string, number]> = [
  ['hb-e1', 1],
  ['hb-e2', 2],
  ['hb-core', 3],
  ['hb-hv1', 16],
  ['hb-hv2', 17],
];
const DPIDS = BRIDGES.map(([, d]) => hex(d));

function procStats(pid: number): { cpu: number; rssMiB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const cpu = (Number(stat[11]) + Number(stat[12])) / 100; // utime + stime, clock ticks (100/s)
  const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
  return { cpu, rssMiB: rss };
}

/** Every switch in `dpids` reconciled by its master at or after `since` (ms epoch), at policy version `version`. */
async function confirmed(nodes: readonly NodeSpec[], dpids: readonly string[], since: number, version?: number): Promise<boolean> {
  const sw = await Promise.all(
    nodes.map((n) =>
      nodeApi<Array<{ dpid: string; flowsDesired: number; flowsInstalled?: number; lastSync?: string }>>(n, '/switches').then((r) => ({
        n,
        list: r.body,
      })),
    ),
  );
  const cl = await Promise.all(
    nodes.map((n) =>
      nodeApi(n, '/cluster')
        .then((r) => r.body)
        .catch(() => undefined),
    ),
  );
  const pol = await Promise.all(nodes.map((n) => nodeApi(n, '/policy').then((r) => r.body.version as number)));
  if (version !== undefined && pol.some((v) => v !== version)) return false;
  for (const d of dpids) {
    const master = cl[0]?.switches?.find((s: { dpid: string }) => s.dpid === d)?.master ?? nodes[0].name;
    const e = sw.find((x) => x.n.name === master)?.list.find((s) => s.dpid === d);
    if (!e || e.flowsInstalled !== e.flowsDesired || !e.lastSync || Date.parse(e.lastSync) < since) return false;
  }
  return true;
}

let etcd: EtcdServer | undefined;
const procs: ChildProcess[] = [];
async function cleanup(): Promise<void> {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  for (const [br] of BRIDGES) deleteBridge(br);
  await etcd?.stop();
}

async function failoverAndCommit(): Promise<void> {
  etcd = await startEtcd(18958);
  const dir = copyExample('campus');
  const policy = join(dir, 'policy.yaml');
  const text = readFileSync(policy, 'utf8');
  const node = new Map<string, ChildProcess>();
  const start = async (s: NodeSpec) => {
    const p = await spawnNode(s, policy, etcd!.url, join(dir, `state-${s.name}.json`));
    node.set(s.name, p);
    procs.push(p);
  };
  await Promise.all(SPECS.map(start));
  for (const [br, d] of BRIDGES) {
    createBridge(br, { dpid: d.toString(16).padStart(16, '0') });
    vsctl('set-controller', br, ...SPECS.map((s) => `tcp:127.0.0.1:${s.of}`));
  }
  await waitFor('cluster settled', () => agreedMasters(SPECS, DPIDS), 30_000, 200);
  await waitFor('in sync', () => confirmed(SPECS, DPIDS, 0), 30_000, 200);

  const times: number[] = [];
  let changed = 0;
  for (let i = 0; i < 10; i++) {
    const m = await waitFor('agreed', () => agreedMasters(SPECS, DPIDS), 20_000, 100);
    const victim = m.get(DPIDS[0])!;
    await sleep(1000);
    const before = ofctl('dump-flows', 'hb-e1', '--no-stats')
      .split('\n')
      .filter((l) => l.includes('cookie=0x5ac1'))
      .sort()
      .join('\n');
    const t0 = performance.now();
    node.get(victim)!.kill('SIGKILL');
    const alive = SPECS.filter((s) => s.name !== victim);
    try {
      await waitFor(
        'takeover',
        async () => {
          const x = await agreedMasters(alive, [DPIDS[0]]);
          return x?.get(DPIDS[0]);
        },
        20_000,
        20,
      );
    } catch (e) {
      for (const s of alive) console.log(s.name, JSON.stringify((await nodeApi(s, '/cluster')).body));
      throw e;
    }
    times.push(performance.now() - t0);
    console.log(`  kill ${i + 1}: ${victim} -> ${times[times.length - 1].toFixed(0)} ms`);
    await sleep(1000);
    const after = ofctl('dump-flows', 'hb-e1', '--no-stats')
      .split('\n')
      .filter((l) => l.includes('cookie=0x5ac1'))
      .sort()
      .join('\n');
    if (after !== before) changed++;
    await start(SPECS.find((s) => s.name === victim)!);
  }
  console.log(
    `failover of edge1's master (10 kills, 3 nodes, lease 2 s): p50 ${pct(times, 0.5).toFixed(0)} ms, max ${Math.max(...times).toFixed(0)} ms; kills after which edge1's flows differed: ${changed}`,
  );

  // Commit → all confirmed, through the cluster.
  const commitTimes: number[] = [];
  await waitFor('agreed', () => agreedMasters(SPECS, DPIDS), 20_000, 100);
  for (let i = 0; i < 5; i++) {
    const body = i % 2 === 0 ? text.replace(/ {2}- \{ name: admins-ssh.*\n/, '') : text;
    const t0 = Date.now();
    const r = await postPolicy(SPECS[i % 3], body);
    if (r.status !== 200) throw new Error(`apply failed: ${JSON.stringify(r.body)}`);
    await waitFor('all confirmed', () => confirmed(SPECS, DPIDS, t0, r.body.version as number), 20_000, 5);
    commitTimes.push(Date.now() - t0);
  }
  for (const p of node.values()) p.kill('SIGKILL');
  await sleep(500);

  // The same on a single controller without etcd.
  const single = spawn(
    process.execPath,
    ['--import', 'tsx', new URL('../test/helpers/controller-child.ts', import.meta.url).pathname, policy, '18964', '18974', '0'],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ACL_ADMIN_TOKEN: 'cluster-admin' } },
  );
  procs.push(single);
  await new Promise<void>((res) =>
    single.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('READY')) res();
    }),
  );
  for (const [br] of BRIDGES) vsctl('set-controller', br, 'tcp:127.0.0.1:18964');
  const one: NodeSpec = { name: 'single', of: 18964, api: 18974 };
  await waitFor('single in sync', () => confirmed([one], DPIDS, 0), 30_000, 100);
  const singleTimes: number[] = [];
  for (let i = 0; i < 5; i++) {
    const body = i % 2 === 0 ? text.replace(/ {2}- \{ name: admins-ssh.*\n/, '') : text;
    const t0 = Date.now();
    const r = await postPolicy(one, body);
    if (r.status !== 200) {
      console.log(`single-node apply answered ${r.status}: ${JSON.stringify(r.body).slice(0, 200)}`);
      break;
    }
    await waitFor('all confirmed', () => confirmed([one], DPIDS, t0), 20_000, 5);
    singleTimes.push(Date.now() - t0);
  }
  single.kill('SIGKILL');
  console.log(
    `policy commit -> all 5 switches confirmed: 3-node cluster p50 ${pct(commitTimes, 0.5)} ms (max ${Math.max(...commitTimes)}), single controller p50 ${singleTimes.length ? pct(singleTimes, 0.5) : '-'} ms (max ${singleTimes.length ? Math.max(...singleTimes) : '-'})`,
  );
  for (const [br] of BRIDGES) deleteBridge(br);
  await etcd.stop();
  etcd = undefined;
}

async function manySwitches(nodeCount: number, port: number): Promise<void> {
  const N = Number(process.env.ACL_BENCH_SWITCHES ?? 1000);
  etcd = await startEtcd(port);
  const dir = tempDir('acl-cluster-bench-');
  const sw = Array.from({ length: N }, (_, i) => `  - { name: s${i}, dpid: ${0x10000 + i} }`).join('\n');
  writeFileSync(
    join(dir, 'topology.yaml'),
    `switches:\n${sw}\nlinks: []\nhosts: []\nservers:\n  - { name: db, switch: s0, port: 1, mac: "02:00:00:00:99:01", ip: 10.9.0.1 }\n`,
  );
  writeFileSync(
    join(dir, 'directory.yaml'),
    'organizations:\n  - { name: it }\nusers:\n  - { id: a, name: A, organization: it, roles: [admin], devices: [{ mac: "02:00:00:00:00:01", ip: 10.0.0.1 }] }\n',
  );
  writeFileSync(
    join(dir, 'policy.yaml'),
    'version: 1\ndirectory: directory.yaml\ntopology: topology.yaml\nresources:\n  db: { hosts: [db], services: [tcp/5432] }\nrules:\n  - { name: it-db, from: { organizations: [it] }, to: db }\ndefault: deny\n',
  );
  const specs = Array.from({ length: nodeCount }, (_, i): NodeSpec => ({ name: `m${i + 1}`, of: port + 10 + i, api: port + 20 + i }));
  const ps = await Promise.all(specs.map((s) => spawnNode(s, join(dir, 'policy.yaml'), etcd!.url, join(dir, `state-${s.name}.json`))));
  procs.push(...ps);
  const base = ps.map((p) => procStats(p.pid!));
  const dpids = Array.from({ length: N }, (_, i) => hex(0x10000 + i));
  const fakes: FakeSwitch[] = [];
  const t0 = Date.now();
  for (let i = 0; i < N; i++)
    for (const s of specs) {
      const f = new FakeSwitch({ dpid: BigInt(0x10000 + i) });
      fakes.push(f);
      await f.connect(s.of);
    }
  try {
    await waitFor(`${N} switches mastered by ${nodeCount} node(s)`, () => agreedMasters(specs, dpids), 300_000, 500);
  } catch (e) {
    const v = (await nodeApi(specs[0], '/cluster')).body as { switches: Array<{ master?: string; localRole?: string }> };
    console.log(
      `after 300 s: ${v.switches.filter((x) => x.master).length} of ${N} claimed, ${v.switches.filter((x) => x.localRole === 'master').length} confirmed by the switch on ${specs[0].name}`,
    );
    throw e;
  }
  await waitFor('all in sync', () => confirmed(specs, dpids, 0), 300_000, 500);
  const ms = Date.now() - t0;
  const per = ps.map((p, i) => {
    const s = procStats(p.pid!);
    return `${specs[i].name}: ${(s.cpu - base[i].cpu).toFixed(1)} s CPU, ${s.rssMiB.toFixed(0)} MiB RSS`;
  });
  console.log(
    `${N} simulated switches on ${nodeCount} node(s): all mastered and in sync in ${(ms / 1000).toFixed(1)} s; ${per.join('; ')}`,
  );
  for (const f of fakes) f.close?.();
  for (const p of ps) p.kill('SIGKILL');
  await etcd.stop();
  etcd = undefined;
}

try {
  ensureOvs();
  if (!process.env.ACL_BENCH_ONLY_SWITCHES) await failoverAndCommit();
  await manySwitches(1, 18930);
  if (!process.env.ACL_BENCH_ONE_NODE) await manySwitches(3, 18930);
} finally {
  await cleanup();
}
process.exit(0);
