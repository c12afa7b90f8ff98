import { Flags } from '@oclif/core';
import { AclCommand } from '../base.js';
import { get } from '../client.js';

export default class History extends AclCommand {
  static description =
    'Policy versions of a running controller: when, by whom (and who approved), why (apply, rollback, schedule), summary and plan hash.';
  static flags = {
    controller: Flags.string({ default: 'http://127.0.0.1:8080', description: 'controller API URL' }),
    token: Flags.string({ description: 'token (default $ACL_ADMIN_TOKEN)' }),
  };

  async run() {
    const { flags } = await this.parse(History);
    const r = await get(flags.controller, '/api/v1/policy/versions', 'api/v1/policy/versions', flags.token).catch((e: Error) =>
      this.failMessage(e.message),
    );
    for (const v of r.versions)
      this.log(
        `${String(v.version).padStart(4)}  ${v.at}  ${v.reason.padEnd(8)} by ${v.by}${v.approvedBy ? ` approved by ${v.approvedBy}` : ''}${v.rollbackTo ? ` (rollback to ${v.rollbackTo})` : ''}  plan ${v.planHash.slice(0, 12)}  ${v.summary ?? ''}`,
      );
    return r;
  }
}
