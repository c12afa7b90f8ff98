import { Flags } from '@oclif/core';
import { AclCommand } from '../base.js';
import { get, write } from '../client.js';
import type { Voucher } from '../../controller/api/contract.js';

const minutes = (ms: number) => Math.round(ms / 60_000);
const row = (v: Voucher) =>
  `${v.id.padEnd(16)} ${v.state.padEnd(8)} ${`${v.usedBy.length}/${v.uses}`.padEnd(7)} ${v.expires.padEnd(24)} ${v.createdBy.padEnd(12)} ${v.note ?? ''}`;

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
    const failed = (e: Error) => this.failMessage(e.message);
    if (flags.create) {
      const created = await write(
        flags.controller,
        'POST /api/v1/vouchers',
        'api/v1/vouchers',
        {
          validFor: flags.valid,
          uses: flags.uses,
          ...(flags.session ? { sessionTime: flags.session } : {}),
          ...(flags.note ? { note: flags.note } : {}),
        },
        flags.token,
      ).catch(failed);
      const v = created.voucher;
      this.log(`voucher ${v.id}: code ${created.code}`);
      this.log(`  valid until ${v.expires} for ${v.uses} device(s); each stays ${minutes(v.sessionMs)} min. The code is not shown again.`);
      return created;
    }
    if (flags.revoke) {
      const path = `api/v1/vouchers/${encodeURIComponent(flags.revoke)}`;
      const x = await write(flags.controller, 'DELETE /api/v1/vouchers/:id', path, undefined, flags.token).catch(failed);
      this.log(`revoked ${x.revoked.id}; ended ${x.sessionsEnded} guest session(s)`);
      return x;
    }
    const r = await get(flags.controller, '/api/v1/vouchers', 'api/v1/vouchers', flags.token).catch(failed);
    if (!r.vouchers.length) this.log('no vouchers');
    else {
      this.log(`${'ID'.padEnd(16)} ${'STATE'.padEnd(8)} ${'USED'.padEnd(7)} ${'EXPIRES'.padEnd(24)} ${'BY'.padEnd(12)} NOTE`);
      for (const v of r.vouchers) this.log(row(v));
    }
    return r;
  }
}
