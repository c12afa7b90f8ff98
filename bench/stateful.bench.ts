/**
 * Stateful replies: what conntrack costs. (1) The generated enterprise (10,000 users, 2,000 resources, 200
 * switches) compiled for each switch profile: compile time and flows (total and per table). (2) TCP throughput
 * with iperf3 between two network namespaces through an Open vSwitch userspace bridge (st-bn) loaded with the
 * same small policy compiled for `ovs` (conntrack) and for `ovs-stateless` — the Mininet hosts of the other tests
 * are namespaces on such bridges too. Needs root, OVS and iperf3 for (2); skips it with a note otherwise.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile, formatOvsFlows, parseDirectoryText, parsePolicyText, parseTopologyText } from '../compiler/index.js';
import { enterprise } from './enterprise.js';

const e = enterprise();
console.log(
  `enterprise: ${e.directory.users.length} users, ${e.policy.resources.length} resources, ${e.policy.rules.length} rules, ${e.topology.switches.length} switches`,
);
const rows: Array<[string, number, number, string]> = [];
for (const profile of ['ovs-stateless', 'ovs', 'openflow13'] as const) {
  const topology = { ...e.topology, switches: e.topology.switches.map((s) => ({ ...s, profile })) };
  compile({ policy: e.policy, directory: e.directory, topology }); // warm-up
  const t0 = performance.now();
  const c = compile({ policy: e.policy, directory: e.directory, topology });
  const ms = performance.now() - t0;
  const per = new Map<number, number>();
  for (const sp of c.plan.switches) for (const f of sp.flows) per.set(f.tableId, (per.get(f.tableId) ?? 0) + 1);
  rows.push([
    profile,
    ms,
    c.stats.flows,
    [...per]
      .sort((a, b) => a[0] - b[0])
      .map(([t, n]) => `t${t}=${n}`)
      .join(' '),
  ]);
}
for (const [p, ms, flows, per] of rows)
  console.log(`  ${p.padEnd(14)} compile ${ms.toFixed(0).padStart(5)} ms  flows ${String(flows).padStart(8)}  (${per})`);
const base = rows[0][2];
for (const [p, , flows] of rows.slice(1))
  console.log(`  ${p}: ${(flows / base).toFixed(3)}x the flows of ovs-stateless (${flows - base >= 0 ? '+' : ''}${flows - base})`);

// ---------- throughput through OVS with and without conntrack ----------
const haveAll = process.getuid?.() === 0 && spawnSync('which', ['iperf3']).status === 0 && spawnSync('which', ['ovs-vsctl']).status === 0;
if (!haveAll) {
  console.log('throughput: skipped (needs root, Open vSwitch and iperf3)');
  process.exit(0);
}
const BR = 'st-bn',
  NS = ['st-bc', 'st-bs'],
  IPS = ['10.78.0.1', '10.78.0.2'],
  MACS = ['02:78:00:00:00:01', '02:78:00:00:00:02'];
const dir = mkdtempSync(join(tmpdir(), 'st-bench-'));
const sh = (cmd: string, ...args: string[]) => execFileSync(cmd, args, { encoding: 'utf8', timeout: 60_000 });
const ofctl = (...a: string[]) => sh('ovs-ofctl', '-O', 'OpenFlow13', ...a);
const plan = (profile: string) => {
  const p = parsePolicyText(
    `version: 1\ndirectory: d\ntopology: t\nresources:\n  svc: { hosts: [srv], services: [tcp/5201] }\nrules:\n  - { name: a, from: { users: [alice] }, to: svc }\n`,
    'p',
  );
  const d = parseDirectoryText(`users:\n  - { id: alice, name: A, devices: [{ mac: "${MACS[0]}", ip: ${IPS[0]} }] }\n`, 'd');
  const t = parseTopologyText(
    `switches: [{ name: b, dpid: 0x5ac3, profile: ${profile} }]\nhosts: [{ mac: "${MACS[0]}", switch: b, port: 1 }]\nservers: [{ name: srv, switch: b, port: 2, mac: "${MACS[1]}", ip: ${IPS[1]} }]\n`,
    't',
  );
  if (!p.ok || !d.ok || !t.ok) throw new Error('bench policy');
  return compile({ policy: p.value, directory: d.value, topology: t.value }).plan.switches[0];
};
let server: ReturnType<typeof spawn> | undefined;
try {
  sh(
    'ovs-vsctl',
    '--',
    '--if-exists',
    'del-br',
    BR,
    '--',
    'add-br',
    BR,
    '--',
    'set',
    'bridge',
    BR,
    'datapath_type=netdev',
    'protocols=OpenFlow13',
    'fail-mode=secure',
  );
  NS.forEach((n, i) => {
    spawnSync('ip', ['netns', 'del', n]);
    sh('ip', 'netns', 'add', n);
    sh('ip', 'link', 'add', `${n}0`, 'type', 'veth', 'peer', 'name', `${n}1`);
    sh('ip', 'link', 'set', `${n}1`, 'netns', n);
    sh('ip', 'link', 'set', `${n}0`, 'up');
    sh('ovs-vsctl', 'add-port', BR, `${n}0`, '--', 'set', 'interface', `${n}0`, `ofport_request=${i + 1}`);
    for (const c of [
      ['ip', 'link', 'set', `${n}1`, 'address', MACS[i]],
      ['ip', 'addr', 'add', `${IPS[i]}/24`, 'dev', `${n}1`],
      ['ip', 'link', 'set', `${n}1`, 'up'],
      ['ip', 'link', 'set', 'lo', 'up'],
      ['ethtool', '-K', `${n}1`, 'tx', 'off'],
    ])
      sh('ip', 'netns', 'exec', n, ...c);
  });
  ofctl('add-meter', BR, 'meter=1,pktps,band=type=drop,rate=100');
  ofctl('add-meter', BR, 'meter=2,pktps,band=type=drop,rate=50');
  server = spawn('ip', ['netns', 'exec', NS[1], 'iperf3', '-s', '-p', '5201'], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 1000));
  const results: Array<[string, number, number]> = [];
  for (const profile of ['ovs-stateless', 'ovs', 'ovs-stateless', 'ovs']) {
    const sp = plan(profile);
    writeFileSync(join(dir, 'f.txt'), formatOvsFlows(sp) + '\n');
    ofctl('replace-flows', BR, join(dir, 'f.txt'));
    sh('ovs-appctl', 'dpctl/flush-conntrack');
    const out = JSON.parse(sh('ip', 'netns', 'exec', NS[0], 'iperf3', '-c', IPS[1], '-p', '5201', '-t', '3', '-J'));
    results.push([profile, out.end.sum_received.bits_per_second / 1e6, sp.flows.length]);
  }
  for (const p of ['ovs-stateless', 'ovs']) {
    const xs = results.filter((x) => x[0] === p).map((x) => x[1]);
    console.log(
      `throughput ${p.padEnd(14)} ${xs.map((x) => x.toFixed(0)).join(', ')} Mbit/s (best ${Math.max(...xs).toFixed(0)}), ${results.find((x) => x[0] === p)![2]} flows`,
    );
  }
  const best = (p: string) => Math.max(...results.filter((x) => x[0] === p).map((x) => x[1]));
  console.log(
    `conntrack costs ${((1 - best('ovs') / best('ovs-stateless')) * 100).toFixed(1)}% of TCP throughput here (userspace datapath, 2 shared cores: noisy)`,
  );
} finally {
  if (server?.pid) {
    try {
      process.kill(server.pid, 'SIGTERM');
    } catch {
      /* gone */
    }
  }
  spawnSync('ovs-vsctl', ['--if-exists', 'del-br', BR]);
  for (const n of NS) {
    spawnSync('ip', ['link', 'del', `${n}0`]);
    spawnSync('ip', ['netns', 'del', n]);
  }
  rmSync(dir, { recursive: true, force: true });
}
