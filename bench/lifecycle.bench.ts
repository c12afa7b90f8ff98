/**
 * Policy lifecycle speed. (1) Lint of the generated enterprise (10,000 users, 300 roles, 40 organizations, 2,000
 * resources, 500 rules, 200 switches; the generator of bench/compiler.bench.ts): the lint analysis on the compiled
 * model, lintInput (the class model without switch tables, and lint), and `acl lint` as a whole process on the
 * same kind of enterprise written as YAML files (a second draw of the generator). Target < 1 s. (2) A time boundary reaching 100 switches:
 * a controller with an injected clock and 100 in-memory OpenFlow switches (test/controller/fake-switch.ts over TCP
 * on loopback) — from the clock reaching the window start to every switch reconciled. Target < 1 s.
 *   node --import tsx bench/lifecycle.bench.ts
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile } from '../compiler/index.js';
import { lint, lintInput } from '../compiler/lint.js';
import { Controller } from '../controller/controller.js';
import { ManualClock } from '../controller/scheduler.js';
import { FakeSwitch } from '../test/controller/fake-switch.js';
import { enterprise, enterpriseFiles } from './enterprise.js';

const ms = (t0: number) => (performance.now() - t0).toFixed(0);

// ---- (1) lint ----
{
  const input = enterprise();
  let t0 = performance.now();
  const c = compile(input);
  const compileMs = ms(t0);
  const runs: number[] = [],
    cpu: number[] = [];
  let report = lint(c); // the first run also builds the positional YAML document the findings' lines come from
  for (let i = 0; i < 3; i++) {
    t0 = performance.now();
    const u0 = process.cpuUsage();
    report = lint(c);
    const u = process.cpuUsage(u0);
    runs.push(performance.now() - t0);
    cpu.push((u.user + u.system) / 1000);
  }
  t0 = performance.now();
  lintInput(input);
  const totalMs = ms(t0);
  runs.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  const os = await import('node:os');
  console.log(
    `lint enterprise (10,000 users, 500 rules): analysis median ${runs[1].toFixed(0)} ms wall, ${cpu[1].toFixed(0)} ms CPU (target < 1000; load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores), compile ${compileMs} ms, lintInput (class model + lint, no switch tables) ${totalMs} ms; findings ${report.counts.warning} warnings, ${report.counts.info} notes`,
  );
}

// ---- (1b) `acl lint` as a whole process on the same enterprise written as YAML files (what an admin waits for) ----
{
  const { spawnSync } = await import('node:child_process');
  const dir = mkdtempSync(join(tmpdir(), 'lc-lint-'));
  const file = enterpriseFiles(dir);
  const acl = new URL('../bin/run.js', import.meta.url).pathname;
  const walls: number[] = [];
  let last = '';
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [acl, 'lint', file], { encoding: 'utf8', maxBuffer: 64 << 20 });
    walls.push(performance.now() - t0);
    last = r.stdout.trim().split('\n').pop() ?? r.stderr;
  }
  walls.sort((a, b) => a - b);
  const os = await import('node:os');
  console.log(
    `acl lint (whole process, enterprise as YAML files): median ${walls[1].toFixed(0)} ms, min ${walls[0].toFixed(0)} ms (target < 1000; load average ${os.loadavg()[0].toFixed(1)}); ${last}`,
  );
  rmSync(dir, { recursive: true, force: true });
}

// ---- (2) a time boundary reaching 100 switches ----
{
  const N = 100;
  const dir = mkdtempSync(join(tmpdir(), 'lc-bench-'));
  const hex = (n: number) => n.toString(16).padStart(2, '0');
  const sw = Array.from({ length: N }, (_, i) => `  - { name: lc${String(i).padStart(3, '0')}, dpid: ${0x1c00 + i} }`);
  const hosts: string[] = [],
    users: string[] = [];
  for (let i = 0; i < N; i++)
    for (let p = 1; p <= 2; p++) {
      const k = i * 2 + p - 1,
        m = `02:1c:00:00:${hex(k >> 8)}:${hex(k & 255)}`;
      hosts.push(`  - { mac: "${m}", switch: lc${String(i).padStart(3, '0')}, port: ${p} }`);
      users.push(
        `  - { id: u${k}, organization: ${k % 2 ? 'ops' : 'eng'}, roles: [employee], devices: [{ mac: "${m}", ip: 10.1.${k >> 8}.${(k & 255) + 1} }] }`,
      );
    }
  writeFileSync(
    join(dir, 'topology.yaml'),
    `switches:\n${sw.join('\n')}\n  - { name: lccore, dpid: ${0x1cff}, kind: core }\nlinks: [${Array.from({ length: N }, (_, i) => `[lc${String(i).padStart(3, '0')}:48, lccore:${i + 1}]`).join(', ')}]\nhosts:\n${hosts.join('\n')}\nservers:\n  - { name: db, switch: lccore, port: 200, mac: "02:1c:ff:00:00:01", ip: 10.9.0.10 }\n`,
  );
  writeFileSync(join(dir, 'directory.yaml'), `organizations: [ops, eng]\nusers:\n${users.join('\n')}\n`);
  writeFileSync(
    join(dir, 'policy.yaml'),
    `version: 1\ndirectory: directory.yaml\ntopology: topology.yaml\nresources:\n  db: { hosts: [db], services: [tcp/5432, icmp] }\nrules:\n  - { name: eng-db, from: { organizations: [eng] }, to: db }\n  - name: ops-db-office\n    from: { organizations: [ops] }\n    to: db\n    when: { days: [mon-fri], hours: "08:00-18:30", timezone: Europe/Berlin }\n`,
  );
  const clock = new ManualClock(Date.parse('2026-12-25T06:59:00Z'));
  const ctl = new Controller({ policyPath: join(dir, 'policy.yaml'), listen: { host: '127.0.0.1', port: 0 }, clock, useBundles: false });
  const { port } = await ctl.start();
  const fakes = Array.from({ length: N }, (_, i) => new FakeSwitch({ dpid: BigInt(0x1c00 + i) }));
  await Promise.all(fakes.map((f) => f.connect(port)));
  for (let i = 0; i < 200 && ctl.switchStatus().filter((s) => s.lastResult).length < N; i++)
    await new Promise((res) => setTimeout(res, 50));
  const timed = () => fakes.filter((f) => [...f.flows.values()].some((x) => x.hardTimeout > 0)).length;
  const samples: number[] = [],
    cpus: number[] = [];
  for (const [open, close] of [
    ['2026-12-25T07:00:00Z', '2026-12-25T17:30:00Z'],
    ['2026-12-28T07:00:00Z', '2026-12-28T17:30:00Z'],
    ['2026-12-29T07:00:00Z', '2026-12-29T17:30:00Z'],
  ]) {
    for (const t of [open, close]) {
      const t0 = performance.now(),
        u0 = process.cpuUsage();
      clock.set(Date.parse(t));
      await ctl.applyAt(Date.parse(t)); // waits behind the scheduler's own apply; resolves when every switch is reconciled
      samples.push(performance.now() - t0);
      const u = process.cpuUsage(u0);
      cpus.push((u.user + u.system) / 1000);
      const want = t === open ? N : 0;
      if (timed() !== want) throw new Error(`at ${t}: ${timed()} switches with the timed grant, expected ${want}`);
    }
  }
  samples.sort((a, b) => a - b);
  cpus.sort((a, b) => a - b);
  const os = await import('node:os');
  console.log(
    `time boundary on ${N} in-memory switches (grant on at window start / off at its end, every switch reconciled): median ${samples[Math.floor(samples.length / 2)].toFixed(0)} ms, worst ${samples.at(-1)!.toFixed(0)} ms wall; CPU of the controller process (switches included) median ${cpus[Math.floor(cpus.length / 2)].toFixed(0)} ms (target < 1000; load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores)`,
  );
  for (const f of fakes) f.close();
  await ctl.stop();
  rmSync(dir, { recursive: true, force: true });
}
