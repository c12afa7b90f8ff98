/** Policy unit tests: lines like `alice -> payroll-db tcp/5432: allow` (also checked against the flows). */
import type { Compiled } from './compile.js';
import { explain, QueryError } from './query.js';

export interface PolicyTestResult {
  readonly passed: number;
  readonly failures: ReadonlyArray<{ file: string; line: number; message: string }>;
}

const LINE = /^\s*(\S+)\s*->\s*(\S+)\s+(\S+)\s*:\s*(allow|deny)\s*$/i;

export function runPolicyTests(c: Compiled, text: string, file: string): PolicyTestResult {
  let passed = 0;
  const failures: Array<{ file: string; line: number; message: string }> = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) return;
    const m = line.match(LINE);
    if (!m) { failures.push({ file, line: i + 1, message: `cannot read '${line}'; write: user -> resource service: allow|deny` }); return; }
    const [, from, to, service, want] = m;
    try {
      const e = explain(c, from, to, service);
      if (e.decision !== want.toLowerCase()) failures.push({ file, line: i + 1, message: `${from} -> ${to} ${service}: expected ${want}, policy says ${e.decision} (${e.rule === 'default' ? 'default deny' : `rule '${e.rule}'`})` });
      else if (!e.consistent) failures.push({ file, line: i + 1, message: `${from} -> ${to} ${service}: policy says ${e.decision} but the compiled flows disagree` });
      else passed++;
    } catch (err) {
      if (err instanceof QueryError) failures.push({ file, line: i + 1, message: err.message });
      else throw err;
    }
  });
  return { passed, failures };
}
