/** Policy unit tests: lines like `alice -> payroll-db tcp/5432: allow` (also checked against the flows). */
import type { Compiled } from './compiled.js';
import { explain, QueryError } from './query.js';
import { parseTimeArg } from './schedule.js';

export interface PolicyTestResult {
  readonly passed: number;
  readonly failures: ReadonlyArray<{ file: string; line: number; message: string }>;
}

const LINE = /^\s*(\S+)\s*->\s*(\S+)\s+(\S+)(?:\s+@\s*(\S+))?\s*:\s*(allow|deny)\s*$/i;

/**
 * Runs the expectations. A line may name an instant (`alice -> vpn tcp/443 @ 2026-12-25T10:00Z: deny`) for rules
 * with time windows: `compileAt` then gives the policy as compiled at that instant.
 */
export function runPolicyTests(c: Compiled, text: string, file: string, compileAt?: (at: number) => Compiled): PolicyTestResult {
  const atCache = new Map<number, Compiled>();
  let passed = 0;
  const failures: Array<{ file: string; line: number; message: string }> = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) return;
    const m = line.match(LINE);
    if (!m) {
      failures.push({
        file,
        line: i + 1,
        message: `cannot read '${line}'; write: user -> resource service [@ 2026-12-25T10:00Z]: allow|deny`,
      });
      return;
    }
    const [, from, to, service, when, want] = m;
    let cc = c;
    if (when !== undefined) {
      const at = parseTimeArg(when);
      if (at === undefined) {
        failures.push({ file, line: i + 1, message: `'${when}' is not an ISO 8601 time with a zone (e.g. 2026-12-25T10:00Z)` });
        return;
      }
      if (!compileAt) {
        failures.push({ file, line: i + 1, message: 'this runner cannot evaluate at a time' });
        return;
      }
      cc = atCache.get(at) ?? atCache.set(at, compileAt(at)).get(at)!;
    }
    try {
      const e = explain(cc, from, to, service);
      if (e.decision !== want.toLowerCase())
        failures.push({
          file,
          line: i + 1,
          message: `${from} -> ${to} ${service}: expected ${want}, policy says ${e.decision} (${e.rule === 'default' ? 'default deny' : `rule '${e.rule}'`})`,
        });
      else if (!e.consistent)
        failures.push({
          file,
          line: i + 1,
          message: `${from} -> ${to} ${service}: policy says ${e.decision} but the compiled flows disagree`,
        });
      else passed++;
    } catch (err) {
      if (err instanceof QueryError) failures.push({ file, line: i + 1, message: err.message });
      else throw err;
    }
  });
  return { passed, failures };
}
