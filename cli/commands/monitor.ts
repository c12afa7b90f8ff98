import { Flags } from '@oclif/core';
import { AclCommand } from '../base.js';
import { get, write } from '../client.js';

export default class Monitor extends AclCommand {
  static description =
    'Show the policy version in monitor mode (acl apply --monitor) and what it would have cut: would-deny traffic by user, destination and rule. --stop leaves monitor mode without applying; promote with acl apply.';
  static examples = ['<%= config.bin %> monitor --since 2h', '<%= config.bin %> monitor --stop'];
  static flags = {
    controller: Flags.string({ default: 'http://127.0.0.1:8080', description: 'controller API URL' }),
    token: Flags.string({ description: 'token (default $ACL_ADMIN_TOKEN)' }),
    since: Flags.string({ default: '6h', description: 'what it would have cut since (ISO time or 15m, 2h, 7d)' }),
    stop: Flags.boolean({ description: 'leave monitor mode (admin); the running policy is unchanged' }),
  };

  async run() {
    const { flags } = await this.parse(Monitor);
    if (flags.stop) {
      const s = await write(flags.controller, 'DELETE /api/v1/policy/monitor', 'api/v1/policy/monitor', undefined, flags.token).catch(
        (e: Error) => this.failMessage(e.message),
      );
      this.log(s.stopped ? `stopped monitoring ${s.stopped}` : 'no policy version was in monitor mode');
      return s;
    }
    const q = new URLSearchParams({ since: flags.since });
    const r = await get(flags.controller, '/api/v1/policy/monitor', `api/v1/policy/monitor?${q}`, flags.token).catch((e: Error) =>
      this.failMessage(e.message),
    );
    if (r.monitoredRules.length) this.log(`monitored rules (mode: monitor): ${r.monitoredRules.join(', ')}`);
    if (!r.monitor) {
      this.log('no policy version in monitor mode');
      return r;
    }
    const m = r.monitor;
    this.log(`monitoring ${m.name} since ${m.since}, by ${m.by}${m.approvedBy ? `, approved by ${m.approvedBy}` : ''}`);
    this.log(`would have cut since ${r.since}: ${r.wouldCut.length ? '' : 'nothing seen'}`);
    for (const w of r.wouldCut)
      this.log(
        `  ${w.user ?? 'unknown'} -> ${w.dst ?? '?'} [${w.resources.join(',')}] ${w.services.join(',')} rule ${w.rule} ×${w.count} (last ${w.lastSeen})`,
      );
    return r;
  }
}
