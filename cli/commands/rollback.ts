import { Flags } from '@oclif/core';
import { AclCommand } from '../base.js';
import { write } from '../client.js';

export default class Rollback extends AclCommand {
  static description =
    'Go back to an earlier policy version of a running controller: shows who gains and loses, then applies it as a new version (or leaves it pending approval when the controller requires two people).';
  static examples = ['<%= config.bin %> rollback --to 1 --dry-run', '<%= config.bin %> rollback --to 1'];
  static flags = {
    to: Flags.integer({ required: true, description: 'version to go back to (see acl history)' }),
    controller: Flags.string({ default: 'http://127.0.0.1:8080', description: 'controller API URL' }),
    token: Flags.string({ description: 'admin token (default $ACL_ADMIN_TOKEN)' }),
    'dry-run': Flags.boolean({ description: 'only show what would change' }),
  };

  async run() {
    const { flags } = await this.parse(Rollback);
    const body = { version: flags.to, dryRun: flags['dry-run'] };
    const res = await write(flags.controller, 'POST /api/v1/policy/rollback', 'api/v1/policy/rollback', body, flags.token).catch(
      (e: Error) => this.failMessage(e.message),
    );
    const access = 'pending' in res ? res.pending.access : res.access;
    for (const a of access) this.log(`  ${a.change === 'gain' ? '+' : '-'} ${a.subject} -> ${a.resource} ${a.service}`);
    if ('pending' in res)
      this.log(
        `rollback to version ${flags.to} is pending approval by another admin: id ${res.pending.id} (expires ${res.pending.expiresAt})`,
      );
    else if (flags['dry-run']) this.log(`rollback to version ${flags.to} would change ${access.length} access entries`);
    else this.log(`rolled back to version ${flags.to}: now version ${res.version}`);
    return res;
  }
}
