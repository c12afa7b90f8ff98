import { Flags } from '@oclif/core';
import { AclCommand } from '../base.js';
import { answerText, api, type Answer } from '../client.js';
import type { ApplyReply, PendingCreatedReply } from '../../controller/api/contract.js';

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
    let r: Answer;
    try {
      r = await api(flags.controller, 'api/v1/policy/rollback', {
        method: 'POST',
        body: JSON.stringify({ version: flags.to, dryRun: flags['dry-run'] }),
        token: flags.token,
      });
    } catch (e) {
      this.failMessage((e as Error).message);
    }
    if (r.status !== 200 && r.status !== 202) this.failMessage(answerText(r));
    const res = r.body as ApplyReply | PendingCreatedReply;
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
