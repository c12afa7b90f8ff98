import { Args, Flags } from '@oclif/core';
import { AclCommand } from '../base.js';
import { lintPolicy, type FailOn } from '../run/lint.js';

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
    this.policyFile = args.policy;
    return lintPolicy(this.io, args.policy, { failOn: flags['fail-on'] as FailOn, quiet: flags.quiet });
  }
}
