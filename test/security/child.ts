/** Starts test/security/sec-child.ts as a child process and reads its memory; stopped by pid. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface Child {
  readonly proc: ChildProcess;
  readonly ofPort: number;
  readonly apiPort: number;
  readonly events: Array<Record<string, unknown> & { type: string }>;
  stderr: string;
  rssMb(): number;
  /** CPU time the child has used so far (user and system, every thread), in ms: /proc/PID/stat, in clock ticks. */
  cpuMs(): number;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

const root = new URL('../../', import.meta.url).pathname;
let ticksPerSecond: number | undefined;

export async function startChild(
  policy: string,
  ofPort: number,
  apiPort: number,
  opts: { options?: object; events?: string[]; nodeArgs?: string[] } = {},
): Promise<Child> {
  const proc = spawn(
    process.execPath,
    [...(opts.nodeArgs ?? []), '--import', 'tsx', 'test/security/sec-child.ts', policy, String(ofPort), String(apiPort)],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ACL_CHILD_OPTS: JSON.stringify(opts.options ?? {}), ACL_CHILD_EVENTS: (opts.events ?? []).join(',') },
    },
  );
  const events: Child['events'] = [];
  let out = '';
  const child = {
    proc,
    ofPort,
    apiPort,
    events,
    stderr: '',
    rssMb() {
      const m = readFileSync(`/proc/${proc.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/);
      return m ? Number(m[1]) / 1024 : NaN;
    },
    cpuMs() {
      ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
      // after the command name (in parentheses, may hold spaces): state is field 3, utime 14, stime 15
      const f = readFileSync(`/proc/${proc.pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return ((Number(f[11]) + Number(f[12])) * 1000) / ticksPerSecond;
    },
    stop(signal: NodeJS.Signals = 'SIGTERM') {
      return new Promise<void>((res) => {
        if (proc.exitCode !== null || proc.signalCode !== null) {
          res();
          return;
        }
        proc.once('exit', () => res());
        proc.kill(signal);
      });
    },
  };
  proc.stderr.on('data', (d) => {
    child.stderr += d;
    if (child.stderr.length > 200_000) child.stderr = child.stderr.slice(-100_000);
  });
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`controller child did not start: ${child.stderr.slice(-2000)}`)), 30_000);
    proc.once('exit', (c) => {
      clearTimeout(t);
      reject(new Error(`controller child exited ${c}: ${child.stderr.slice(-2000)}`));
    });
    proc.stdout.on('data', (d) => {
      out += d;
      let i;
      while ((i = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, i);
        out = out.slice(i + 1);
        if (line.startsWith('READY')) {
          clearTimeout(t);
          resolve();
        } else if (line.startsWith('EVENT ')) events.push(JSON.parse(line.slice(6)));
      }
    });
  });
  return child;
}
