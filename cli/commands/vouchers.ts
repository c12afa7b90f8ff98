import { Flags } from '@oclif/core';
import { AclCommand } from '../base.js';
import { answerText, api, type Answer } from '../client.js';

/** A voucher as GET/POST /api/v1/vouchers show it (not yet in controller/api/contract.ts). */
interface VoucherView {
  id: string;
  state: string;
  uses: number;
  usedBy: string[];
  expires: string;
  sessionMs: number;
  createdBy: string;
  note?: string;
}

export default class Vouchers extends AclCommand {
  static description =
    'Guest vouchers of a running controller (admin): list them; --create makes one (its code is shown once) for the role `guest`; --revoke ID revokes one and ends the guest sessions it admitted.';
  static examples = [
    'acl vouchers',
    'acl vouchers --create --valid 8h --uses 1 --note "visitor for Dana"',
    'acl vouchers --create --valid 2d --uses 30 --session 8h',
    'acl vouchers --revoke v-0123456789ab',
  ];
  static flags = {
    controller: Flags.string({ default: 'http://127.0.0.1:8080', description: 'controller API URL' }),
    token: Flags.string({ description: 'admin token (default $ACL_ADMIN_TOKEN, else the token file the controller created)' }),
    create: Flags.boolean({ description: 'make a voucher' }),
    valid: Flags.string({ default: '8h', description: 'with --create: how long the code can be redeemed (8h, 30m, 2d)' }),
    uses: Flags.integer({ default: 1, description: 'with --create: how many devices it admits' }),
    session: Flags.string({ description: 'with --create: how long an admitted device stays (default: the validity, at most a day)' }),
    note: Flags.string({ description: 'with --create: a note for admins (who it is for)' }),
    revoke: Flags.string({ description: 'revoke the voucher with this id' }),
  };

  async run() {
    const { flags } = await this.parse(Vouchers);
    let r: Answer;
    try {
      if (flags.create) {
        r = await api(flags.controller, 'api/v1/vouchers', {
          method: 'POST',
          token: flags.token,
          body: JSON.stringify({
            validFor: flags.valid,
            uses: flags.uses,
            ...(flags.session ? { sessionTime: flags.session } : {}),
            ...(flags.note ? { note: flags.note } : {}),
          }),
        });
      } else if (flags.revoke)
        r = await api(flags.controller, `api/v1/vouchers/${encodeURIComponent(flags.revoke)}`, { method: 'DELETE', token: flags.token });
      else r = await api(flags.controller, 'api/v1/vouchers', { token: flags.token });
    } catch (e) {
      this.failMessage((e as Error).message);
    }
    if (r.status !== 200 && r.status !== 201) this.failMessage(answerText(r));
    if (flags.create) {
      const created = r.body as { voucher: VoucherView; code: string };
      const v = created.voucher;
      this.log(`voucher ${v.id}: code ${created.code}`);
      this.log(
        `  valid until ${v.expires} for ${v.uses} device(s); each stays ${Math.round(v.sessionMs / 60_000)} min. The code is not shown again.`,
      );
      return r.body;
    }
    if (flags.revoke) {
      const x = r.body as { revoked: VoucherView; sessionsEnded: number };
      this.log(`revoked ${x.revoked.id}; ended ${x.sessionsEnded} guest session(s)`);
      return r.body;
    }
    const list = (r.body as { vouchers: VoucherView[] }).vouchers;
    if (!list.length) this.log('no vouchers');
    else {
      this.log(`${'ID'.padEnd(16)} ${'STATE'.padEnd(8)} ${'USED'.padEnd(7)} ${'EXPIRES'.padEnd(24)} ${'BY'.padEnd(12)} NOTE`);
      for (const v of list)
        this.log(
          `${String(v.id).padEnd(16)} ${String(v.state).padEnd(8)} ${`${v.usedBy.length}/${v.uses}`.padEnd(7)} ${String(v.expires).padEnd(24)} ${String(v.createdBy).padEnd(12)} ${v.note ?? ''}`,
        );
    }
    return r.body;
  }
}
