/**
 * Observability at scale:
 *  1. deny-log ingest: N (default 10,000,000) sampled packets (real frames: known users and unknown devices,
 *     scans over ports and hosts, garbage) decoded, attributed and aggregated on one core; packets/s and RSS.
 *  2. traffic per rule: 50,000 flows installed on one real OVS bridge (ob-bench, userspace datapath) by the
 *     controller, then their counters read (multipart FLOW) and attributed to rules/resources/classes/devices.
 *     Needs root and Open vSwitch (skipped otherwise).
 *   node --import tsx --expose-gc bench/observe.bench.ts [N] [--ingest-only]
 * (--ingest-only: part 1 only, no OVS. RSS is also sampled every 1,000,000 samples to show it stays flat.)
 */
import { createServer, type Socket } from 'node:net';
import { spawnSync } from 'node:child_process';
import { compile } from '../compiler/compile.js';
import { parsePolicyText } from '../compiler/inputs.js';
import type { Directory, Topology } from '../compiler/model.js';
import { DenialLog } from '../controller/denials.js';
import { TrafficStats } from '../controller/stats.js';
import { SwitchSession } from '../controller/session.js';
import { readFlows, reconcile, installMeter } from '../controller/reconcile.js';
import { frame } from '../test/helpers/frames.js';
import { createBridge, deleteBridge, ensureOvs, haveOvs, vsctl } from '../test/helpers/ovs.js';

const args = process.argv.slice(2);
const ingestOnly = args.includes('--ingest-only');
const N = Number(args.find((a) => !a.startsWith('--')) ?? 10_000_000);
const mac = (i: number) =>
  `02:00:${((i >> 24) & 255).toString(16).padStart(2, '0')}:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
const ip = (i: number, net = 10) => `${net}.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

/** A site with `users` users on one switch, 20 roles, 100 resources. */
function site(users: number, sw = 'ob-bench') {
  const roles = Array.from({ length: 20 }, (_, i) => `role${i}`);
  const dir: Directory = {
    organizations: [{ name: 'corp' }],
    users: Array.from({ length: users }, (_, i) => ({
      id: `u${i}`,
      name: `User ${i}`,
      organization: 'corp',
      roles: [roles[i % 20]],
      devices: [{ mac: mac(i + 1), ip: ip(i + 1) }],
    })),
    source: 'bench',
  };
  const topo: Topology = {
    switches: [{ name: sw, dpid: 0xbe2cn, kind: 'edge' }],
    links: [],
    hosts: dir.users.map((u, i) => ({ mac: u.devices[0].mac, switch: sw, port: 1 + (i % 4000) })),
    servers: [],
  };
  const yaml = `version: 1\ndirectory: d\ntopology: t\nresources:\n${Array.from({ length: 100 }, (_, r) => `  res${r}: { hosts: [192.168.${r}.0/24], services: [tcp/${1000 + r}, tcp/443, icmp] }`).join('\n')}\nrules:\n${Array.from({ length: 100 }, (_, r) => `  - { name: rule${r}, from: { roles: [${roles[r % 20]}] }, to: res${r} }`).join('\n')}\n  - { name: no-telnet, from: { organizations: [corp] }, to: res0, services: [tcp/23], action: deny }\n`;
  const p = parsePolicyText(yaml, 'bench.yaml');
  if (!p.ok) throw new Error(JSON.stringify(p.diagnostics));
  return compile({ policy: p.value, directory: dir, topology: topo });
}

// ---------- 1. deny-log ingest ----------
{
  const c = site(2000);
  const pool: Buffer[] = [];
  for (let i = 0; i < 4096; i++) {
    const k = i % 8;
    if (k === 7) {
      pool.push(Buffer.alloc(9 + (i % 30), i));
      continue;
    } // garbage
    const src = k === 6 ? mac(0x7000000 + i) : mac(1 + (i % 2000)); // unknown device or a user
    pool.push(
      frame({
        src,
        ipSrc: ip(1 + (i % 2000)),
        ipDst: k < 3 ? `192.168.${i % 100}.${1 + (i % 200)}` : `172.16.${i % 256}.${(i >> 8) % 256}`,
        proto: k === 5 ? 'udp' : 'tcp',
        dport: 1,
      }),
    );
  }
  const log = new DenialLog({ maxEntries: 5000 });
  const meta = { switch: 'ob-bench', port: 1, source: 'policy' as const };
  const metaD = { switch: 'ob-bench', port: 9, source: 'discovery' as const };
  // warm up
  for (let i = 0; i < 100_000; i++) log.ingest(c, pool[i & 4095], meta);
  (globalThis as { gc?: () => void }).gc?.();
  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const rssAt: string[] = [];
  let rssMax = rss0;
  for (let i = 0; i < N; i++) {
    if (i > 0 && i % 1_000_000 === 0) {
      const m = process.memoryUsage().rss;
      rssMax = Math.max(rssMax, m);
      rssAt.push(`${i / 1e6}M: ${(m / 2 ** 20).toFixed(0)}`);
    }
    const b = pool[i & 4095];
    if (b.length > 40) b.writeUInt16BE((i >>> 12) & 0xffff, 36); // destination port: scans over ports
    log.ingest(c, b, (i & 4095) % 8 === 6 ? metaD : meta);
  }
  const s = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  (globalThis as { gc?: () => void }).gc?.();
  const rss = process.memoryUsage().rss;
  console.log(
    `deny-log ingest: ${N.toLocaleString('en-US')} samples in ${s.toFixed(2)} s wall = ${Math.round(N / s).toLocaleString('en-US')} samples/s; ${cpuS.toFixed(2)} s of CPU = ${Math.round(N / cpuS).toLocaleString('en-US')} samples per CPU-second on one core (target >= 20,000; load average ${(await import('node:os')).loadavg()[0].toFixed(1)} on ${(await import('node:os')).cpus().length} cores)`,
  );
  console.log(
    `  entries held ${log.size} (bound 5,000); undecodable ${log.counters.decodeErrors.toLocaleString('en-US')}; RSS ${(rss0 / 2 ** 20).toFixed(0)} MiB before, ${(rss / 2 ** 20).toFixed(0)} MiB after ${N.toLocaleString('en-US')} samples (peak sampled ${(rssMax / 2 ** 20).toFixed(0)} MiB)`,
  );
  if (rssAt.length) console.log(`  RSS (MiB) every million samples: ${rssAt.join(', ')}`);
}

// ---------- 2. traffic per rule on a real OVS bridge ----------
if (ingestOnly) console.log('traffic per rule: skipped (--ingest-only)');
else if (!haveOvs() || process.getuid?.() !== 0) console.log('traffic per rule: skipped (needs root and Open vSwitch)');
else {
  const BR = 'ob-bench';
  const c = site(24_000, BR);
  const plan = c.plan.switches[0];
  let server: ReturnType<typeof createServer> | undefined;
  let session: SwitchSession | undefined;
  try {
    ensureOvs();
    createBridge(BR, { dpid: '000000000000be2c' });
    const ready = new Promise<SwitchSession>((resolve) => {
      server = createServer((sock: Socket) => {
        const s = new SwitchSession(sock);
        s.on('ready', () => resolve(s));
      });
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    vsctl('set-controller', BR, `tcp:127.0.0.1:${(server!.address() as { port: number }).port}`);
    session = await ready;
    await installMeter(session, 100, 50);
    const r = await reconcile(session, plan, { useBundle: true, installed: [], verify: false });
    if (r.errors.length) throw new Error(r.errors.join('; '));
    const ts = new TrafficStats(
      () => c,
      () => [{ switch: BR, plan, read: () => readFlows(session!) }],
      { intervalMs: 0 },
    );
    await ts.poll(); // first read: attribution tables built
    const times: number[] = [];
    let flows = 0;
    for (let i = 0; i < 5; i++) {
      const p = await ts.poll();
      times.push(p.ms);
      flows = p.flows;
    }
    times.sort((a, b) => a - b);
    const tr = performance.now();
    const raw = await readFlows(session);
    const readS = (performance.now() - tr) / 1000;
    const ta = performance.now();
    ts.attribute(c, BR, plan, raw, Date.now());
    const attrS = (performance.now() - ta) / 1000;
    console.log(`  of which: read (multipart FLOW, ${raw.length} flows) ${readS.toFixed(3)} s, attribute ${attrS.toFixed(3)} s`);
    const tp = performance.now();
    const peer = spawnSync('ovs-ofctl', ['-O', 'OpenFlow13', 'dump-flows', BR], { maxBuffer: 1 << 30 });
    const peerS = (performance.now() - tp) / 1000;
    console.log(
      `  peer: ovs-ofctl dump-flows of the same bridge (read + print, no attribution) ${peerS.toFixed(3)} s (${peer.stdout.toString().split('\n').length - 2} flows)`,
    );
    const t1 = performance.now();
    const fresh = new TrafficStats(
      () => c,
      () => [{ switch: BR, plan, read: () => readFlows(session!) }],
      { intervalMs: 0 },
    );
    const cold = await fresh.poll();
    console.log(
      `traffic per rule: ${flows.toLocaleString('en-US')} flows on one OVS bridge read and attributed in ${(times[2] / 1000).toFixed(3)} s (median of 5; best ${(times[0] / 1000).toFixed(3)} s; first poll with attribution tables built ${(cold.ms / 1000).toFixed(3)} s, wall ${((performance.now() - t1) / 1000).toFixed(3)} s) (target < 1 s)`,
    );
  } finally {
    session?.close('bench done');
    server?.close();
    deleteBridge(BR);
  }
}
