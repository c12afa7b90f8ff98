import { Args } from '@oclif/core';
import { AclCommand } from '../base.js';
import { validatePolicy } from '../run/validate.js';

export default class Validate extends AclCommand {
  static description = 'Check a policy, its directory and topology; report every problem with file:line:column.';
  static examples = ['<%= config.bin %> validate examples/campus/policy.yaml'];
  static args = { policy: Args.string({ required: true, description: 'policy YAML file' }) };

  async run() {
    const { args } = await this.parse(Validate);
    this.policyFile = args.policy;
    return validatePolicy(this.io, args.policy);
  }
}
