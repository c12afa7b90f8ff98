/**
 * Install N (default 50,000) flows on one OVS bridge (ctl-bench, userspace datapath) three ways, in the same run:
 *   ovs-ofctl add-flows, ovs-ofctl --bundle add-flows, and through the controller (session + reconcile).
 * Needs root and Open vSwitch. Prints flows/s for each and the controller's ratio to the ovs-ofctl peers.
 *   node --import tsx bench/controller.bench.ts [N]
 */
import { createServer, type Socket } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { SwitchSession } from '../controller/session.js';
import { reconcile } from '../controller/reconcile.js';
import { COOKIE_TAG, type PlannedFlow, type SwitchPlan } from '../compiler/model.js';
import { createBridge, deleteBridge, ensureOvs, haveOvs, vsctl } from '../test/helpers/ovs.js';

const N = Number(process.argv[2] ?? 50_000);
const BR = 'ctl-bench';
const ROUNDS = 3;
if (!haveOvs() || process.getuid?.() !== 0) {
  console.log('controller.bench: skipped (needs root and Open vSwitch)');
  process.exit(0);
}

const ip = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
const flows: PlannedFlow[] = Array.from({ length: N }, (_, i) => ({
  tableId: 0,
  priority: 100,
  cookie: COOKIE_TAG | BigInt(i + 1),
  match: [
    { field: 'eth_type', value: 0x0800 },
    { field: 'ipv4_src', value: ip(i) },
  ],
  instructions: [{ type: 'goto_table', tableId: 1 }],
  origin: 'bench',
}));
const plan: SwitchPlan = { name: BR, dpid: 0xbe1cn, kind: 'edge', flows };
const dir = mkdtempSync(join(tmpdir(), 'acl-bench-'));
const file = join(dir, 'flows.txt');
writeFileSync(
  file,
  flows.map((f, i) => `table=0,priority=100,cookie=0x${f.cookie.toString(16)},ip,nw_src=${ip(i)},actions=goto_table:1`).join('\n') + '\n',
);

const ofctl = (...args: string[]) => {
  const r = spawnSync('ovs-ofctl', ['-O', 'OpenFlow13', ...args], { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`ovs-ofctl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const count = () => Number(ofctl('dump-aggregate', BR).match(/flow_count=(\d+)/)?.[1] ?? -1);
const clear = () => {
  ofctl('del-flows', BR);
  if (count() !== 0) throw new Error('flows left after del-flows');
};
const timeIt = (f: () => void) => {
  const t0 = performance.now();
  f();
  return (performance.now() - t0) / 1000;
};
const rate = (s: number) => Math.round(N / s);

let server: ReturnType<typeof createServer> | undefined;
let session: SwitchSession | undefined;
try {
  ensureOvs();
  createBridge(BR, { dpid: '000000000000be1c' });
  const results: Record<string, number> = {};
  for (let round = 0; round < ROUNDS; round++) {
    clear();
    results['ovs-ofctl add-flows'] = Math.min(
      results['ovs-ofctl add-flows'] ?? Infinity,
      timeIt(() => ofctl('add-flows', BR, file)),
    );
    if (count() !== N) throw new Error(`add-flows installed ${count()} flows`);
    clear();
    results['ovs-ofctl --bundle add-flows'] = Math.min(
      results['ovs-ofctl --bundle add-flows'] ?? Infinity,
      timeIt(() => ofctl('--bundle', 'add-flows', BR, file)),
    );
    if (count() !== N) throw new Error(`--bundle add-flows installed ${count()} flows`);
  }
  clear();

  // the controller: a session to the same bridge
  const ready = new Promise<SwitchSession>((resolve) => {
    server = createServer((sock: Socket) => {
      const s = new SwitchSession(sock);
      s.on('ready', () => resolve(s));
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  const port = (server!.address() as { port: number }).port;
  vsctl('set-controller', BR, `tcp:127.0.0.1:${port}`);
  session = await ready;

  const ctl = async (label: string, opts: Parameters<typeof reconcile>[2]) => {
    let best = Infinity;
    for (let round = 0; round < ROUNDS; round++) {
      clear();
      const t0 = performance.now();
      const r = await reconcile(session!, plan, opts);
      const s = (performance.now() - t0) / 1000;
      if (r.errors.length || r.added !== N) throw new Error(`${label}: ${r.errors.join('; ') || `added ${r.added}`}`);
      if (count() !== N) throw new Error(`${label}: switch has ${count()} flows`);
      best = Math.min(best, s);
    }
    results[label] = best;
  };
  await ctl('controller, plain flow mods → barrier', { useBundle: false, installed: [], verify: false });
  await ctl('controller, bundle → commit → barrier', { useBundle: true, installed: [], verify: false });
  await ctl('controller, full reconcile (read, diff, bundle, barrier, read-back)', { useBundle: true });
  // an in-sync re-run: read + diff only
  const t0 = performance.now();
  const again = await reconcile(session, plan, { useBundle: true });
  const resync = (performance.now() - t0) / 1000;
  if (again.added + again.removed + again.changed !== 0) throw new Error('re-run was not a no-op');

  console.log(`install ${N} flows on one OVS bridge (best of ${ROUNDS}), userspace datapath`);
  for (const [k, s] of Object.entries(results))
    console.log(`  ${k.padEnd(72)} ${s.toFixed(3)} s  ${rate(s).toLocaleString('en-US').padStart(9)} flows/s`);
  console.log(`  ${'controller, re-sync with nothing to change (read + diff)'.padEnd(72)} ${resync.toFixed(3)} s`);
  const plain = results['controller, plain flow mods → barrier'] / results['ovs-ofctl add-flows'];
  const bundle = results['controller, bundle → commit → barrier'] / results['ovs-ofctl --bundle add-flows'];
  console.log(
    `  rate vs peer: plain ${(1 / plain).toFixed(2)}x ovs-ofctl add-flows; bundle ${(1 / bundle).toFixed(2)}x ovs-ofctl --bundle add-flows (target >= 0.9x)`,
  );
} finally {
  session?.close('bench done');
  server?.close();
  deleteBridge(BR);
  rmSync(dir, { recursive: true, force: true });
}
