import { Args } from '@oclif/core';
import { AclCommand } from '../base.js';
import { compile } from '../../compiler/compile.js';
import { lintInput, formatFinding } from '../../compiler/lint.js';

export default class Validate extends AclCommand {
  static description = 'Check a policy, its directory and topology; report every problem with file:line:column.';
  static examples = ['<%= config.bin %> validate examples/campus/policy.yaml'];
  static args = { policy: Args.string({ required: true, description: 'policy YAML file' }) };

  async run() {
    const { args } = await this.parse(Validate);
    const { loaded, warnings } = await this.load(args.policy);
    const c = compile(loaded);
    // lint findings as warnings (informational notes only with `acl lint`)
    const lintWarnings = lintInput(loaded).findings.filter((f) => f.severity !== 'info');
    if (!this.jsonEnabled()) for (const f of lintWarnings) this.logToStderr(formatFinding(f));
    this.log(
      `${args.policy}: valid — ${loaded.policy.rules.length} rules, ${loaded.policy.resources.length} resources, ${c.stats.users} users, ${c.stats.servers} servers, ${c.stats.classes} classes, ${c.stats.flows} flows on ${c.plan.switches.length} switches`,
    );
    return { ok: true, warnings, lint: this.plain(lintWarnings), stats: c.stats };
  }
}
