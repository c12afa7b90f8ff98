/**
 * Login storm: N (default 5,000) simulated supplicants (EAP-MD5 at the EAPOL level) log in through the controller
 * against a real FreeRADIUS (private config, loopback). The switch is the in-memory OpenFlow switch of the tests
 * (TCP, real codec, barrier answered after the flow mods are applied); it and the supplicants run in a worker
 * thread of their own (bench/login-peer.ts), as other machines would, so the numbers are the controller's own:
 * RADIUS round trips, recompiles, reconciles. Prints the time for all logins, Access-Accept -> flows confirmed
 * by barrier (p50/p99), how busy the controller's thread was, and the process's CPU time and peak RSS.
 *   node --import tsx bench/login.bench.ts [N]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Controller } from '../controller/controller.js';
import { Worker } from 'node:worker_threads';
import { performance as performanceHooks } from 'node:perf_hooks';
import { haveFreeradius, startFreeRadius } from '../test/helpers/freeradius.js';
import { tempDir } from '../test/helpers/tmp.js';
import { macOf } from './login-names.js';

const N = Number(process.argv[2] ?? 5000);
const PORTS = 100;
if (!haveFreeradius) {
  console.log('login.bench: skipped (needs root, freeradius, openssl)');
  process.exit(0);
}

const ipOf = (i: number) => `10.1.${(i >> 8) & 255}.${i & 255}`;

const fr = await startFreeRadius({
  port: Number(process.env.BENCH_RADIUS_PORT ?? 18490),
  innerPort: Number(process.env.BENCH_RADIUS_PORT ?? 18490) + 1,
  users: Array.from({ length: N }, (_, i) => ({ name: `u${i}`, password: `pw${i}` })),
});
const dir = tempDir('acl-login-bench-');
writeFileSync(join(dir, 'radius.secret'), fr.secret);
writeFileSync(
  join(dir, 'directory.yaml'),
  `organizations: [{ name: corp, children: [{ name: finance }, { name: sales }] }]\nroles: [employee]\nusers:\n${Array.from({ length: N }, (_, i) => `  - { id: u${i}, organization: ${i % 2 ? 'finance' : 'sales'}, roles: [employee], devices: [{ mac: "${macOf(i)}", ip: ${ipOf(i)} }] }`).join('\n')}\n`,
);
writeFileSync(
  join(dir, 'topology.yaml'),
  `switches:\n  - { name: edge1, dpid: 1 }\n  - { name: hv1, dpid: 16, kind: hypervisor }\nlinks: [[edge1:200, hv1:9]]\nservers:\n  - { name: db, switch: hv1, port: 1, mac: "02:00:00:00:10:01", ip: 10.0.2.10 }\n  - { name: web, switch: hv1, port: 2, mac: "02:00:00:00:10:02", ip: 10.0.2.2 }\n`,
);
writeFileSync(
  join(dir, 'policy.yaml'),
  `version: 1
directory: directory.yaml
topology: topology.yaml
resources:
  db: { hosts: [db], services: [tcp/5432] }
  web: { hosts: [web], services: [tcp/443] }
rules:
  - { name: finance-db, from: { organizations: [finance] }, to: db }
  - { name: staff-web, from: { roles: [employee] }, to: web }
authentication:
  radius:
    servers: [{ host: 127.0.0.1, port: ${fr.port}, secretFile: radius.secret }]
    timeout: 3000
    retries: 2
  ports: [{ switch: edge1, ports: ["1-${PORTS}"], auth: dot1x }]
  eapolRate: 2000
`,
);

const ctl = new Controller({ policyPath: join(dir, 'policy.yaml'), listen: { host: '127.0.0.1', port: 0 }, auditIntervalMs: 0 });
ctl.edge.radiusBindAddress = '127.0.0.1';
const { port } = await ctl.start();
// the switch and the supplicants run in a worker thread (bench/login-peer.ts): other machines in a real network
// (a worker does not inherit tsx's loader: it registers it, then imports the TypeScript peer)
const peer = new Worker(
  `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((t) => t.tsImport(${JSON.stringify(new URL('./login-peer.ts', import.meta.url).href)}, ${JSON.stringify(import.meta.url)}))`,
  { eval: true, workerData: { port, n: N, ports: PORTS } },
);
const fromPeer = (key: string) =>
  new Promise<Record<string, number>>((resolve) => {
    const on = (m: Record<string, number>) => {
      if (key in m) {
        peer.off('message', on);
        resolve(m);
      }
    };
    peer.on('message', on);
  });
await fromPeer('connected');
for (let i = 0; i < 200 && !ctl.switchStatus().find((s) => s.name === 'edge1')?.lastResult; i++)
  await new Promise((r) => setTimeout(r, 50));

/** CPU time of this (the controller's) thread alone, from Linux's per-thread accounting (s; undefined elsewhere). */
const threadCpu = (): number | undefined => {
  try {
    const f = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const [utime, stime] = f
      .slice(f.lastIndexOf(')') + 2)
      .split(' ')
      .slice(11, 13)
      .map(Number);
    return (utime + stime) / 100; // clock ticks (USER_HZ 100)
  } catch {
    return undefined;
  }
};
const cpu0 = process.cpuUsage();
const tcpu0 = threadCpu();
const elu0 = performanceHooks.eventLoopUtilization();
let peakRss = 0;
const rssTimer = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss()); // rss() only: memoryUsage() walks the heap (~1 ms of the controller thread per call)
}, 100);
const t0 = performance.now();
peer.postMessage({ go: true });
await Promise.race([fromPeer('allDone'), new Promise((r) => setTimeout(r, 120_000).unref())]);
const wall = (performance.now() - t0) / 1000;
await ctl.edge.settled();
const ended = fromPeer('done');
peer.postMessage({ finish: true });
const { done, failed, flows } = await ended;
clearInterval(rssTimer);
const cpu = process.cpuUsage(cpu0);
const elu = performanceHooks.eventLoopUtilization(elu0);
const tcpu1 = threadCpu();
const lat = [...ctl.edge.auth.stats.acceptToFlowsMs].sort((a, b) => a - b);
const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? NaN;
console.log(`login storm: ${N} supplicants (EAP-MD5, ${PORTS} ports x ${N / PORTS}), real FreeRADIUS ${fr.port}`);
console.log(
  `  ${done} succeeded, ${failed} failed, ${N - done - failed} unfinished in ${wall.toFixed(1)} s (target: all within 60 s) -> ${(done / wall).toFixed(0)} logins/s`,
);
console.log(`  sessions ${ctl.edge.sessions.size}; classify flows for logged-in devices on the switch: ${flows}`);
console.log(
  `  Access-Accept -> flows confirmed (barrier): p50 ${q(0.5).toFixed(1)} ms, p99 ${q(0.99).toFixed(1)} ms, max ${lat.at(-1)?.toFixed(1)} ms (target p99 < 100 ms)`,
);
console.log(
  `  edge recompile+sync runs: ${ctl.edge.runs} (compile ${ctl.edge.phases.compileMs.toFixed(0)} ms, sync ${ctl.edge.phases.syncMs.toFixed(0)} ms in total); RADIUS: sent ${ctl.edge.radius()?.stats.sent}, retransmits ${ctl.edge.radius()?.stats.retransmits}, timeouts ${ctl.edge.radius()?.stats.timeouts}`,
);
console.log(
  `  controller thread busy ${(elu.active / 1000).toFixed(1)} s of ${(elu.idle / 1000 + elu.active / 1000).toFixed(1)} s (event loop ${(elu.utilization * 100).toFixed(0)}% used)` +
    (tcpu0 !== undefined && tcpu1 !== undefined
      ? `; its CPU time ${(tcpu1 - tcpu0).toFixed(1)} s (${(((tcpu1 - tcpu0) * 1000) / N).toFixed(2)} ms per login; busy minus CPU = waiting for a core)`
      : ''),
);
console.log(
  `  process CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s (${(((cpu.user + cpu.system) / 1e6 / wall) * 100).toFixed(0)}% of one core), peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB (controller thread + peer thread: switch and supplicants)`,
);
await peer.terminate();
await ctl.stop();
await fr.stop();
process.exit(0);
