import { Args, Flags } from '@oclif/core';
import { AclCommand } from '../base.js';
import { answerText, api, type Answer } from '../client.js';
import type { ApplyReply, PendingReply } from '../../controller/api/contract.js';

export default class Approve extends AclCommand {
  static description =
    'Approve (or with --reject, reject) a pending policy change; with no id, list the pending changes. Needs an admin token other than the one that submitted the change.';
  static args = { id: Args.string({ required: false, description: 'pending change id' }) };
  static flags = {
    reject: Flags.boolean({ description: 'reject instead of approving' }),
    controller: Flags.string({ default: 'http://127.0.0.1:8080', description: 'controller API URL' }),
    token: Flags.string({ description: 'admin token (default $ACL_ADMIN_TOKEN)' }),
  };

  async run() {
    const { args, flags } = await this.parse(Approve);
    let r: Answer;
    try {
      r = args.id
        ? await api(flags.controller, `api/v1/pending/${encodeURIComponent(args.id)}/${flags.reject ? 'reject' : 'approve'}`, {
            method: 'POST',
            body: '{}',
            token: flags.token,
          })
        : await api(flags.controller, 'api/v1/pending', { token: flags.token });
    } catch (e) {
      this.failMessage((e as Error).message);
    }
    if (r.status !== 200) this.failMessage(answerText(r));
    if (!args.id)
      for (const p of (r.body as PendingReply).pending)
        this.log(
          `${p.id}  ${p.kind}${p.rollbackTo ? ` to ${p.rollbackTo}` : ''} by ${p.by} at ${p.at}, expires ${p.expiresAt}: ${p.summary}`,
        );
    else this.log(flags.reject ? `rejected ${args.id}` : `approved ${args.id}: now version ${(r.body as ApplyReply).version}`);
    return r.body;
  }
}
