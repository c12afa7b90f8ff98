import { Flags } from '@oclif/core';
import { AclCommand } from '../../base.js';
import { get } from '../../client.js';

export default class RulesUnused extends AclCommand {
  static description = 'Rules that carried no traffic in the last N days (the first step of cleaning a policy).';
  static flags = {
    controller: Flags.string({ default: 'http://127.0.0.1:8080', description: 'controller API URL' }),
    token: Flags.string({ description: 'token (default $ACL_ADMIN_TOKEN)' }),
    days: Flags.integer({ default: 30, description: 'no hit for this many days' }),
  };

  async run() {
    const { flags } = await this.parse(RulesUnused);
    const r = await get(flags.controller, '/api/v1/rules/unused', `api/v1/rules/unused?days=${flags.days}`, flags.token).catch((e: Error) =>
      this.failMessage(e.message),
    );
    this.log(`rules without traffic in the last ${r.days} days (counters kept since ${r.trackedSince}):`);
    for (const x of r.rules) this.log(`  ${x.rule}  last hit ${x.lastHit ?? 'never'}`);
    if (!r.rules.length) this.log('  none');
    return r;
  }
}
