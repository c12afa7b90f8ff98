/**
 * Start-up of `acl` as whole processes (spawn to exit), against `node -e 0` (the floor) and, as a peer,
 * `ovs-ofctl --version`. Prints min/median/max of N runs and the load average (the machine is shared).
 * Targets (issue #12): `acl --version` ≤ 150 ms, `acl validate examples/campus/policy.yaml` ≤ 300 ms.
 * Each child's CPU time (user + system, from GNU time's rusage) is printed next to its wall time: under load the
 * wall time is mostly waiting for a core. `acl validate … (oclif)` is the same command with the fast path off.
 * Run: npx tsx bench/cli.bench.ts (after npm run build; BENCH_RUNS=N).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { loadavg } from 'node:os';
import { join } from 'node:path';

const ROOT = new URL('../', import.meta.url).pathname;
const N = Number(process.env.BENCH_RUNS ?? 15);
const acl = join(ROOT, 'bin/run.js');
const cases: Array<[string, string, string[]]> = [
  ['node -e 0', process.execPath, ['-e', '0']],
  ['acl --version', process.execPath, [acl, '--version']],
  ['acl validate examples/campus/policy.yaml', process.execPath, [acl, 'validate', 'examples/campus/policy.yaml']],
  [
    'acl validate examples/campus/policy.yaml (oclif)',
    'env',
    ['ACL_NO_FAST_PATH=1', process.execPath, acl, 'validate', 'examples/campus/policy.yaml'],
  ],
  ['ovs-ofctl --version (peer)', 'ovs-ofctl', ['--version']],
];

console.log(
  `load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}; ${N} runs each`,
);
const TIME = '/usr/bin/time';
const hasTime = existsSync(TIME);
const tmp = mkdtempSync(join(tmpdir(), 'acl-cli-bench-'));
const cpuFile = join(tmp, 'cpu');
const stats = (xs: number[]) => {
  xs.sort((a, b) => a - b);
  return `min ${xs[0].toFixed(0)} ms  median ${xs[xs.length >> 1].toFixed(0)} ms  max ${xs[xs.length - 1].toFixed(0)} ms`;
};
for (const [name, cmd, args] of cases) {
  const times: number[] = [];
  const cpu: number[] = [];
  let failed = '';
  for (let i = 0; i < N; i++) {
    const t = performance.now();
    const r = hasTime
      ? spawnSync(TIME, ['-f', '%U %S', '-o', cpuFile, cmd, ...args], { cwd: ROOT, encoding: 'utf8' })
      : spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8' });
    const ms = performance.now() - t;
    if (r.error || r.status !== 0) {
      failed = r.error?.message ?? r.stderr.slice(0, 200);
      break;
    }
    times.push(ms);
    if (hasTime) {
      const [u, s] = readFileSync(cpuFile, 'utf8').trim().split(/\s+/).slice(-2).map(Number);
      cpu.push((u + s) * 1000);
    }
  }
  if (failed) {
    console.log(`${name.padEnd(52)} not run: ${failed}`);
    continue;
  }
  console.log(`${name.padEnd(52)} wall ${stats(times)}${cpu.length ? `   CPU ${stats(cpu)}` : ''}`);
}
rmSync(tmp, { recursive: true, force: true });
if (!hasTime) console.log('(no /usr/bin/time: CPU time not measured)');
