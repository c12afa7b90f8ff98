import { Flags } from '@oclif/core';
import { AclCommand } from '../base.js';
import { get, write } from '../client.js';

export default class Sessions extends AclCommand {
  static description =
    'List the live edge sessions of a running controller (802.1X, MAB, web sign-in): user, MAC, switch:port, method, since, expires, the MACs held after being seen on two ports at once, and the addresses the edge learned (DHCP, DHCPv6, ND/DAD) per MAC and port. --end ID ends a session, --release MAC lets a held MAC log in again (admin).';
  static examples = ['acl sessions', 'acl sessions --json', 'acl sessions --end Xb3k9aQ1zP0m', 'acl sessions --release 02:00:00:00:0e:77'];
  static flags = {
    controller: Flags.string({ default: 'http://127.0.0.1:8080', description: 'controller API URL' }),
    token: Flags.string({ description: 'token (default $ACL_ADMIN_TOKEN, else the token file the controller created)' }),
    end: Flags.string({ description: 'end the session with this id (needs an admin token)' }),
    release: Flags.string({
      description: 'release the hold on this MAC (seen on two ports at once) so it may log in again (needs an admin token)',
    }),
  };

  async run() {
    const { flags } = await this.parse(Sessions);
    if (flags.end) {
      const path = `api/v1/sessions/${encodeURIComponent(flags.end)}`;
      const r = await write(flags.controller, 'DELETE /api/v1/sessions/:id', path, undefined, flags.token).catch((e: Error) =>
        this.failMessage(e.message),
      );
      const { ended } = r;
      this.log(`ended session ${ended.id} (${ended.user ?? ended.deviceGroup} ${ended.mac} on ${ended.switch}:${ended.port})`);
      return r;
    }
    if (flags.release) {
      const path = `api/v1/sessions/holds/${encodeURIComponent(flags.release)}`;
      const r = await write(flags.controller, 'DELETE /api/v1/sessions/holds/:mac', path, undefined, flags.token).catch((e: Error) =>
        this.failMessage(e.message),
      );
      const { released } = r;
      this.log(`released ${released.mac} (held by ${released.source.join(' and ')} until ${released.until}): it may log in again`);
      return r;
    }
    const r = await get(flags.controller, '/api/v1/sessions', 'api/v1/sessions', flags.token).catch((e: Error) =>
      this.failMessage(e.message),
    );
    const list = r.sessions;
    if (!list.length) this.log('no sessions');
    else {
      this.log(
        `${'ID'.padEnd(14)} ${'USER'.padEnd(16)} ${'MAC'.padEnd(17)} ${'SWITCH:PORT'.padEnd(14)} ${'METHOD'.padEnd(6)} ${'SINCE'.padEnd(24)} EXPIRES`,
      );
      for (const s of list) {
        this.log(
          `${String(s.id).padEnd(14)} ${String(s.user ?? `[${s.deviceGroup}]`).padEnd(16)} ${String(s.mac).padEnd(17)} ${`${s.switch}:${s.port}`.padEnd(14)} ${String(s.method).padEnd(6)} ${String(s.since).padEnd(24)} ${s.expires ?? '-'}${s.active ? '' : `  (inactive: ${s.inactiveReason})`}`,
        );
      }
    }
    for (const h of r.holds ?? [])
      this.log(`held ${h.mac}: seen on two ports at once, admitted nowhere until ${h.until} (acl sessions --release ${h.mac})`);
    for (const x of r.radius) this.log(`radius ${x.server} ${x.up ? 'up' : 'DOWN'}`);
    // the addresses the edge learned (DHCP, DHCPv6, ND/DAD), per MAC and port
    const leases = (await get(flags.controller, '/api/v1/leases', 'api/v1/leases', flags.token).catch(() => undefined))?.leases ?? [];
    if (leases.length) {
      this.log(`\n${'MAC'.padEnd(17)} ${'ADDRESS'.padEnd(39)} ${'SOURCE'.padEnd(6)} ${'SWITCH:PORT'.padEnd(14)} EXPIRES`);
      for (const l of [...leases].sort((a, b) => (a.mac < b.mac ? -1 : a.mac > b.mac ? 1 : a.ip < b.ip ? -1 : 1)))
        this.log(`${l.mac.padEnd(17)} ${l.ip.padEnd(39)} ${l.source.padEnd(6)} ${`${l.switch}:${l.port}`.padEnd(14)} ${l.expires ?? '-'}`);
    }
    return { ...r, leases };
  }
}
