import { Args, Flags } from '@oclif/core';
import { AclCommand } from '../base.js';
import { get, write } from '../client.js';

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
    const failed = (e: Error) => this.failMessage(e.message);
    if (!args.id) {
      const r = await get(flags.controller, '/api/v1/pending', 'api/v1/pending', flags.token).catch(failed);
      for (const p of r.pending)
        this.log(
          `${p.id}  ${p.kind}${p.rollbackTo ? ` to ${p.rollbackTo}` : ''} by ${p.by} at ${p.at}, expires ${p.expiresAt}: ${p.summary}`,
        );
      return r;
    }
    const path = (what: string) => `api/v1/pending/${encodeURIComponent(args.id ?? '')}/${what}`;
    if (flags.reject) {
      const r = await write(flags.controller, 'POST /api/v1/pending/:id/reject', path('reject'), undefined, flags.token).catch(failed);
      this.log(`rejected ${args.id}`);
      return r;
    }
    const r = await write(flags.controller, 'POST /api/v1/pending/:id/approve', path('approve'), undefined, flags.token).catch(failed);
    this.log(`approved ${args.id}: now version ${r.version}`);
    return r;
  }
}
