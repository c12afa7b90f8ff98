/** Which real parts this machine has (no test-runner imports: benchmarks use these too). */
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

export const isRoot = process.getuid?.() === 0;

/** True when `cmd` is on the PATH (or is an existing absolute path). */
export function haveCommand(cmd: string): boolean {
  if (cmd.startsWith('/')) return existsSync(cmd);
  return spawnSync('sh', ['-c', `command -v ${JSON.stringify(cmd)}`], { stdio: 'ignore' }).status === 0;
}
