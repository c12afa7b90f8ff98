/**
 * One policy change enforced on 100 OVS bridges (fan000..fan099, plus fancore as the core): time from the
 * POST /api/v1/policy request to its reply, which comes after every switch confirmed (bundle commit, barrier,
 * read-back). Needs root and Open vSwitch. Target: under 1 s.
 *   node --import tsx bench/fanout.bench.ts
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Controller } from '../controller/controller.js';
import { buildApp } from '../controller/api.js';
import { ensureOvs, haveOvs, vsctl } from '../test/helpers/ovs.js';

const N = 100;
if (!haveOvs() || process.getuid?.() !== 0) {
  console.log('fanout.bench: skipped (needs root and Open vSwitch)');
  process.exit(0);
}

function generate(dir: string): void {
  const hex = (n: number) => n.toString(16).padStart(2, '0');
  const sw = Array.from({ length: N }, (_, i) => `  - { name: fan${String(i).padStart(3, '0')}, dpid: ${0xfa00 + i} }`);
  const hosts: string[] = [];
  const users: string[] = [];
  for (let i = 0; i < N; i++)
    for (let p = 1; p <= 2; p++) {
      const k = i * 2 + p - 1;
      const mac = `02:fa:00:00:${hex(k >> 8)}:${hex(k & 255)}`;
      hosts.push(`  - { mac: "${mac}", switch: fan${String(i).padStart(3, '0')}, port: ${p} }`);
      users.push(
        `  - { id: u${k}, name: User ${k}, organization: ${k % 3 === 0 ? 'finance' : 'eng'}, roles: [${k % 7 === 0 ? 'contractor' : 'employee'}], devices: [{ mac: "${mac}", ip: 10.1.${k >> 8}.${(k & 255) + 1} }] }`,
      );
    }
  writeFileSync(
    `${dir}/topology.yaml`,
    `switches:\n${sw.join('\n')}\n  - { name: core, dpid: ${0xfb00}, kind: core }\nlinks:\n${Array.from({ length: N }, (_, i) => `  - [fan${String(i).padStart(3, '0')}:10, core:${i + 1}]`).join('\n')}\nhosts:\n${hosts.join('\n')}\nservers:\n  - { name: db, switch: fan000, port: 3, mac: "02:fa:ff:00:00:01", ip: 10.0.9.10 }\n`,
  );
  writeFileSync(`${dir}/directory.yaml`, `organizations:\n  - { name: finance }\n  - { name: eng }\nusers:\n${users.join('\n')}\n`);
  writeFileSync(
    `${dir}/policy.yaml`,
    `version: 1\ndirectory: directory.yaml\ntopology: topology.yaml\nresources:\n  payroll-db: { hosts: [db], services: [tcp/5432] }\n  intranet: { hosts: [10.0.200.0/24], services: [tcp/80, tcp/443] }\nrules:\n  - { name: finance-payroll, from: { organizations: [finance] }, to: payroll-db }\n  - { name: staff-intranet, from: { roles: [employee] }, to: intranet }\n  - { name: no-contractors, from: { roles: [contractor] }, to: payroll-db, action: deny }\ndefault: deny\n`,
  );
}

const bridges = [
  ...Array.from({ length: N }, (_, i) => [`fan${String(i).padStart(3, '0')}`, 0xfa00 + i] as const),
  ['fancore', 0xfb00] as const,
];
const delBridges = () => spawnSync('ovs-vsctl', ['--timeout=60', ...bridges.flatMap(([b]) => ['--', '--if-exists', 'del-br', b])]);
const dir = mkdtempSync(join(tmpdir(), 'acl-fanout-'));
const ctl = new Controller({ policyPath: join(dir, 'policy.yaml'), listen: { host: '127.0.0.1', port: 0 }, auditIntervalMs: 0 });
let app: Awaited<ReturnType<typeof buildApp>> | undefined;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
try {
  ensureOvs();
  generate(dir);
  const { port } = await ctl.start();
  app = await buildApp(ctl, { adminToken: 'bench-token-123' });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  delBridges();
  const t0 = performance.now();
  vsctl(
    ...bridges.flatMap(([b, dpid]) => [
      '--',
      'add-br',
      b,
      '--',
      'set',
      'bridge',
      b,
      'datapath_type=netdev',
      'protocols=OpenFlow13',
      'fail-mode=secure',
      `other-config:datapath-id=${dpid.toString(16).padStart(16, '0')}`,
    ]),
  );
  vsctl(...bridges.flatMap(([b]) => ['--', 'set-controller', b, `tcp:127.0.0.1:${port}`]));
  const end = Date.now() + 120_000;
  const allSynced = () => {
    const st = ctl.switchStatus();
    return (
      st.length === bridges.length &&
      st.every((s) => s.connected && s.lastResult && s.flowsInstalled === s.flowsDesired && !s.errors.length)
    );
  };
  while (!allSynced()) {
    if (Date.now() > end) throw new Error('bridges did not all connect and sync within 120 s');
    await sleep(50);
  }
  const connect = (performance.now() - t0) / 1000;
  const flows = ctl.switchStatus().reduce((n, s) => n + s.flowsDesired, 0);
  console.log(`${bridges.length} bridges created, connected and given ${flows} flows in ${connect.toFixed(2)} s`);

  const original = readFileSync(join(dir, 'policy.yaml'), 'utf8');
  const without = original.replace(/ {2}- \{ name: staff-intranet.*\n/, '');
  const times: number[] = [];
  for (const [i, text] of [without, original, without, original, without, original].entries()) {
    const t = performance.now();
    const r = await fetch(`${base}/api/v1/policy`, {
      method: 'POST',
      headers: { authorization: 'Bearer bench-token-123', 'content-type': 'text/yaml' },
      body: text,
    });
    const ms = performance.now() - t;
    const body = (await r.json()) as {
      ok: boolean;
      results?: Array<{ switch: string; errors: string[]; added: number; removed: number; atomic: boolean }>;
    };
    if (r.status !== 200 || !body.ok) throw new Error(`POST failed: ${r.status} ${JSON.stringify(body).slice(0, 300)}`);
    const res = body.results ?? [];
    const bad = res.filter((x) => x.errors.length);
    if (res.length !== bridges.length || bad.length)
      throw new Error(`${res.length} switches confirmed, errors: ${JSON.stringify(bad.slice(0, 3))}`);
    const changed = res.filter((x) => x.added + x.removed > 0).length;
    times.push(ms);
    console.log(
      `  change ${i + 1} (${i % 2 ? 'add' : 'remove'} rule staff-intranet): ${changed} switches changed, all ${res.length} confirmed (${res.filter((x) => x.added + x.removed > 0 && x.atomic).length} in atomic bundles) in ${ms.toFixed(0)} ms`,
    );
  }
  // independent check on two bridges: ovs-ofctl sees exactly the plan's flow count in our cookie space
  for (const [b, dpid] of [bridges[0], bridges[N - 1]]) {
    const out = spawnSync('ovs-ofctl', ['-O', 'OpenFlow13', 'dump-flows', b, 'cookie=0x5ac1000000000000/0xffff000000000000'], {
      encoding: 'utf8',
    }).stdout;
    const have = out.split('\n').filter((l) => l.includes('cookie=0x5ac1')).length;
    const want = ctl.planFor(BigInt(dpid))!.flows.length;
    if (have !== want) throw new Error(`${b}: ovs-ofctl shows ${have} flows, plan has ${want}`);
  }
  const sorted = [...times].sort((a, b) => a - b);
  console.log(
    `one policy change on ${bridges.length} OVS bridges, POST -> all barriers confirmed and read back: median ${sorted[Math.floor(sorted.length / 2)].toFixed(0)} ms, best ${sorted[0].toFixed(0)} ms, worst ${sorted[sorted.length - 1].toFixed(0)} ms (target < 1000 ms)`,
  );
} finally {
  await app?.close();
  await ctl.stop();
  delBridges();
  rmSync(dir, { recursive: true, force: true });
}
