/** `acl lint`'s work, free of oclif: run by the oclif command (cli/commands/lint.ts) and by the fast path (cli/fast.ts). */
import { lintInput, formatFinding, type LintSeverity } from '../../compiler/lint.js';
import { loadOrFail, plain, type CommandIO } from '../output.js';

export type FailOn = LintSeverity | 'never';

export async function lintPolicy(io: CommandIO, policy: string, opts: { failOn: FailOn; quiet: boolean }) {
  const { loaded } = await loadOrFail(io, policy);
  const report = lintInput(loaded);
  const shown = opts.quiet ? report.findings.filter((f) => f.severity !== 'info') : report.findings;
  for (const f of shown) {
    io.log(formatFinding(f));
    if (f.subjects && f.subjects.examples.length)
      io.log(
        `    concerns ${f.subjects.users} user(s), ${f.subjects.servers} server(s): ${f.subjects.examples.join(', ')}${f.subjects.users + f.subjects.servers > f.subjects.examples.length ? ', …' : ''}`,
      );
  }
  io.log(`${policy}: ${report.counts.error} errors, ${report.counts.warning} warnings, ${report.counts.info} notes`);
  const rank: Record<FailOn, number> = { error: 3, warning: 2, info: 1, never: 99 };
  const failed = report.findings.some((f) => rank[f.severity] >= rank[opts.failOn]);
  const out = plain({ ok: !failed, ...report, findings: shown });
  if (failed) {
    if (io.jsonEnabled()) io.logJson(out);
    io.exit(1);
  }
  return out;
}
