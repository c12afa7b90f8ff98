import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];
const removeAll = () => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
};
process.on('exit', removeAll);
// vitest ends its worker processes without an 'exit' event: remove them when the test file is done (this hook is
// registered when the file imports this module, so it runs after the file's own afterAll hooks)
if (process.env.VITEST) {
  try {
    const { afterAll } = await import('vitest');
    afterAll(removeAll);
  } catch {
    // not inside a test file (a child process that inherited the environment): the 'exit' handler does it
  }
}

/** A temp directory removed when the test file (or the process) ends. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** A private copy of an example folder (tests that apply policies rewrite the policy file); removed at the end. */
export function copyExample(name: string): string {
  const dir = tempDir(`acl-${name}-`);
  cpSync(new URL(`../../examples/${name}`, import.meta.url).pathname, dir, { recursive: true });
  return dir;
}

export async function waitFor<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 10_000, everyMs = 100): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
