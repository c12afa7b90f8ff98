import { Args, Flags } from '@oclif/core';
import { AclCommand } from '../base.js';
import { lintInput, formatFinding, type LintSeverity } from '../../compiler/lint.js';

export default class Lint extends AclCommand {
  static description =
    'Find rules that do nothing or contradict each other: shadowed, redundant, allow/deny conflicts, rules matching nobody, unused declarations, unreached resources, grants to everyone.';
  static examples = ['<%= config.bin %> lint examples/campus/policy.yaml', '<%= config.bin %> lint policy.yaml --fail-on warning --json'];
  static args = { policy: Args.string({ required: true, description: 'policy YAML file' }) };
  static flags = {
    'fail-on': Flags.string({
      options: ['error', 'warning', 'info', 'never'],
      default: 'error',
      description: 'exit 1 when a finding of this severity or worse is found (for CI)',
    }),
    quiet: Flags.boolean({ description: 'leave out informational findings' }),
  };

  async run() {
    const { args, flags } = await this.parse(Lint);
    const { loaded } = await this.load(args.policy);
    const report = lintInput(loaded);
    const shown = flags.quiet ? report.findings.filter((f) => f.severity !== 'info') : report.findings;
    for (const f of shown) {
      this.log(formatFinding(f));
      if (f.subjects && f.subjects.examples.length)
        this.log(
          `    concerns ${f.subjects.users} user(s), ${f.subjects.servers} server(s): ${f.subjects.examples.join(', ')}${f.subjects.users + f.subjects.servers > f.subjects.examples.length ? ', …' : ''}`,
        );
    }
    this.log(`${args.policy}: ${report.counts.error} errors, ${report.counts.warning} warnings, ${report.counts.info} notes`);
    const rank: Record<LintSeverity | 'never', number> = { error: 3, warning: 2, info: 1, never: 99 };
    const limit = rank[flags['fail-on'] as LintSeverity | 'never'];
    const failed = report.findings.some((f) => rank[f.severity] >= limit);
    const out = { ok: !failed, ...report, findings: shown };
    if (failed) {
      if (this.jsonEnabled()) this.logJson(this.plain(out));
      this.exit(1);
    }
    return this.plain(out);
  }
}
