/**
 * IPv6 cost: the generated enterprise (10,000 users, 2,000 servers/resources, 200 switches) compiled with v4-only,
 * v6-only and dual-stack devices (users and servers), `ovs` profile: compile time and flows (total and per table).
 * Target (issue #15): dual-stack at most 2.2x the flows and time of v4-only. Each configuration is compiled once to
 * warm up, then timed as the median of 3 runs; the ratio is taken on process CPU time (wall time on a shared, loaded
 * machine mostly measures the other processes). Run: `npm run bench -- ipv6`.
 */
import { compile } from '../compiler/index.js';
import { parseIpv6 } from '../compiler/addr.js';
import type { Directory, Topology } from '../compiler/model.js';
import { loadavg } from 'node:os';
import { enterprise } from './enterprise.js';

const e = enterprise();
const v6of = (n: number, net: number) => `2001:db8:${net.toString(16)}:${((n >> 16) & 0xffff).toString(16)}::${(n & 0xffff).toString(16)}`;

function variant(kind: 'v4' | 'v6' | 'dual'): { directory: Directory; topology: Topology } {
  if (kind === 'v4') return e;
  const users = e.directory.users.map((u, i) => ({
    ...u,
    devices: u.devices.map((d) => ({ mac: d.mac, ...(kind === 'dual' ? { ip: d.ip } : {}), ipv6: [v6of(i + 1, 10)] })),
  }));
  // servers keep their IPv4 address (the topology requires one) and gain an IPv6 one; a v6-only policy reaches them over IPv6 only
  const servers = e.topology.servers.map((s, i) => ({ ...s, ipv6: [v6of(i + 1, 172)] }));
  return { directory: { ...e.directory, users }, topology: { ...e.topology, servers } };
}

const rows: Array<{ kind: string; ms: number; cpu: number; flows: number; per: string }> = [];
const median = (l: number[]) => l.sort((a, b) => a - b)[1];
for (const kind of ['v4', 'v6', 'dual'] as const) {
  const v = variant(kind);
  let policy = e.policy;
  if (kind === 'v6') {
    // resources by IPv6 address only: the servers' IPv6 addresses as hosts (no IPv4 destination)
    policy = {
      ...policy,
      resources: policy.resources.map((r) => ({
        ...r,
        hosts: r.hosts.map((h) => {
          const s = v.topology.servers.find((x) => x.name === h.server)!;
          const a = s.ipv6![0];
          return { text: a, prefix6: { addr: parseIpv6(a)!, len: 128 }, location: h.location };
        }),
      })),
    };
  }
  compile({ policy, directory: v.directory, topology: v.topology }); // warm-up
  const times: number[] = [];
  const cpus: number[] = [];
  let flows = 0,
    per = '';
  for (let i = 0; i < 3; i++) {
    (globalThis as { gc?: () => void }).gc?.();
    const t0 = performance.now();
    const u0 = process.cpuUsage();
    const c = compile({ policy, directory: v.directory, topology: v.topology });
    const u = process.cpuUsage(u0);
    times.push(performance.now() - t0);
    cpus.push((u.user + u.system) / 1000);
    flows = c.stats.flows;
    const m = new Map<number, number>();
    for (const sp of c.plan.switches) for (const f of sp.flows) m.set(f.tableId, (m.get(f.tableId) ?? 0) + 1);
    per = [...m]
      .sort((a, b) => a[0] - b[0])
      .map(([t, n]) => `t${t}=${n}`)
      .join(' ');
  }
  rows.push({ kind, ms: median(times), cpu: median(cpus), flows, per });
}
console.log(
  `enterprise: ${e.directory.users.length} users, ${e.policy.resources.length} resources, ${e.policy.rules.length} rules, ${e.topology.switches.length} switches, ovs profile`,
);
for (const r of rows)
  console.log(
    `  ${r.kind.padEnd(5)} compile ${r.ms.toFixed(0).padStart(6)} ms wall, ${r.cpu.toFixed(0).padStart(6)} ms CPU (medians of 3)  flows ${String(r.flows).padStart(8)}  (${r.per})`,
  );
const base = rows[0];
for (const r of rows.slice(1))
  console.log(
    `  ${r.kind}: ${(r.flows / base.flows).toFixed(2)}x the flows, ${(r.cpu / base.cpu).toFixed(2)}x the compile CPU time (${(r.ms / base.ms).toFixed(2)}x wall) of v4-only`,
  );
const dual = rows[2];
// CPU time, not wall time: on a shared machine the wall time mostly measures the other processes
console.log(
  `  target dual-stack <= 2.2x: flows ${dual.flows / base.flows <= 2.2 ? 'met' : 'NOT met'}, CPU time ${dual.cpu / base.cpu <= 2.2 ? 'met' : 'NOT met'}  (load average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')})`,
);
