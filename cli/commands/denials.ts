import { Flags } from '@oclif/core';
import { AclCommand } from '../base.js';
import { get } from '../client.js';

export default class Denials extends AclCommand {
  static description =
    'Show the deny log of a running controller: who was blocked where, from what, by which rule (aggregated: a scan is one line).';
  static flags = {
    controller: Flags.string({ default: 'http://127.0.0.1:8080', description: 'controller API URL' }),
    token: Flags.string({ description: 'token (default $ACL_ADMIN_TOKEN)' }),
    user: Flags.string({ description: 'only this user (id, MAC or address)' }),
    resource: Flags.string({ description: 'only traffic to this resource (or address)' }),
    since: Flags.string({ description: 'only entries seen since (ISO time or 15m, 2h, 7d)' }),
    rule: Flags.string({ description: 'only entries decided by this rule (default, unclassified, or a deny rule)' }),
    'would-deny': Flags.boolean({ description: 'only what a monitored policy would deny' }),
    limit: Flags.integer({ default: 100 }),
  };

  async run() {
    const { flags } = await this.parse(Denials);
    const q = new URLSearchParams();
    for (const k of ['user', 'resource', 'since', 'rule'] as const) if (flags[k]) q.set(k, flags[k]);
    if (flags['would-deny']) q.set('kind', 'would-deny');
    q.set('limit', String(flags.limit));
    const r = await get(flags.controller, '/api/v1/denials', `api/v1/denials?${q}`, flags.token).catch((e: Error) =>
      this.failMessage(e.message),
    );
    for (const d of r.denials) {
      const who = d.user
        ? `${d.user}${d.organization ? ` (${d.organization}${d.roles?.length ? '; ' + d.roles.join(',') : ''})` : ''}`
        : `unknown device ${d.mac}`;
      const what = `${d.dst ?? '?'}${d.resources.length ? ` [${d.resources.join(',')}]` : ''} ${d.distinctServices > 1 ? `${d.distinctServices} services (${d.services.slice(0, 5).join(',')}${d.distinctServices > 5 ? ',…' : ''})` : d.service}`;
      this.log(
        `${d.lastSeen} ${d.kind === 'would-deny' ? 'WOULD DENY' : 'denied'} ${who} at ${d.switch}:${d.port} → ${what} rule ${d.rule} ×${d.count} (since ${d.firstSeen})`,
      );
    }
    if (!r.denials.length) this.log('no denials match');
    return r;
  }
}
