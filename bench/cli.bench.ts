/**
 * Start-up of `acl` as whole processes (spawn to exit), against `node -e 0` (the floor) and, as a peer,
 * `ovs-ofctl --version`. Prints min/median/max of N runs and the load average (the machine is shared).
 * Targets (issue #12): `acl --version` ≤ 150 ms, `acl validate examples/campus/policy.yaml` ≤ 300 ms.
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';

const ROOT = new URL('../', import.meta.url).pathname;
const N = Number(process.env.BENCH_RUNS ?? 15);
const acl = join(ROOT, 'bin/run.js');
const cases: Array<[string, string, string[]]> = [
  ['node -e 0', process.execPath, ['-e', '0']],
  ['acl --version', process.execPath, [acl, '--version']],
  ['acl validate examples/campus/policy.yaml', process.execPath, [acl, 'validate', 'examples/campus/policy.yaml']],
  ['ovs-ofctl --version (peer)', 'ovs-ofctl', ['--version']],
];

console.log(
  `load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}; ${N} runs each`,
);
for (const [name, cmd, args] of cases) {
  const times: number[] = [];
  let failed = '';
  for (let i = 0; i < N; i++) {
    const t = performance.now();
    const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8' });
    const ms = performance.now() - t;
    if (r.error || r.status !== 0) {
      failed = r.error?.message ?? r.stderr.slice(0, 200);
      break;
    }
    times.push(ms);
  }
  if (failed) {
    console.log(`${name.padEnd(44)} not run: ${failed}`);
    continue;
  }
  times.sort((a, b) => a - b);
  console.log(
    `${name.padEnd(44)} min ${times[0].toFixed(0)} ms  median ${times[times.length >> 1].toFixed(0)} ms  max ${times[times.length - 1].toFixed(0)} ms`,
  );
}
