import { Args, Flags } from '@oclif/core';
import { AclCommand } from '../base.js';
import { compile } from '../../compiler/compile.js';
import { explain, QueryError } from '../../compiler/query.js';
import { parseTimeArg } from '../../compiler/schedule.js';

export default class Explain extends AclCommand {
  static description =
    'Explain whether a user (or IP) may reach a resource (or IP) on a service, which rule decided, and the flows on each switch of the path.';
  static examples = ['<%= config.bin %> explain examples/campus/policy.yaml --from alice --to payroll-db --service tcp/5432'];
  static args = { policy: Args.string({ required: true }) };
  static flags = {
    from: Flags.string({ required: true, description: 'user id, server name or IP' }),
    to: Flags.string({ required: true, description: 'resource, server or IP' }),
    service: Flags.string({ required: true, description: 'tcp/N, udp/N, icmp or any' }),
    at: Flags.string({ description: 'evaluate time-windowed rules at this ISO 8601 time (default now), e.g. 2026-12-25T10:00Z' }),
  };

  async run() {
    const { args, flags } = await this.parse(Explain);
    const at = flags.at === undefined ? Date.now() : parseTimeArg(flags.at);
    if (at === undefined) this.failMessage(`--at '${flags.at}' is not an ISO 8601 time with a zone (e.g. 2026-12-25T10:00Z)`, 2);
    const { loaded } = await this.load(args.policy, at);
    const c = compile(loaded);
    let e;
    try {
      e = explain(c, flags.from, flags.to, flags.service);
    } catch (err) {
      if (err instanceof QueryError) this.failMessage(err.message, 2);
      throw err;
    }
    this.log(`${e.decision.toUpperCase()}: ${e.from} -> ${e.to} (${e.ip}) ${e.service}`);
    if (flags.at) this.log(`  at ${new Date(at).toISOString()}`);
    this.log(`  decided by: ${e.rule === 'default' ? 'default deny' : `rule '${e.rule}'`} — ${e.reason}`);
    if (e.wouldDeny)
      this.log(`  would deny (monitor): rule '${e.wouldDeny.rule}' — ${e.wouldDeny.reason}; traffic passes, samples go to the deny log`);
    for (const hop of e.path) {
      this.log(`  ${hop.switch} (in_port ${hop.inPort}): ${hop.verdict}`);
      for (const f of hop.flows) this.log(`    table=${f.table} priority=${f.priority} cookie=${f.cookie} ${f.match}  [${f.origin}]`);
    }
    if (!e.path.length) this.log('  (the source device is not attached to any switch yet, so no flows apply)');
    if (!e.consistent) this.logToStderr('  WARNING: the flow tables do not agree with the policy for this pair; run `acl verify`.');
    return e;
  }
}
