import { Args, Flags } from '@oclif/core';
import { AclCommand } from '../base.js';
import { get } from '../client.js';

export default class Why extends AclCommand {
  static description =
    'Why is USER blocked from RESOURCE on SERVICE? The decision, recent denials for the pair and the smallest policy changes that would allow it (stated, not applied).';
  static args = {
    user: Args.string({ required: true, description: 'user id, device MAC or address' }),
    resource: Args.string({ required: true, description: 'resource, server or address' }),
    service: Args.string({ required: true, description: 'tcp/N, udp/N, icmp' }),
  };
  static flags = {
    controller: Flags.string({ default: 'http://127.0.0.1:8080', description: 'controller API URL' }),
    token: Flags.string({ description: 'token (default $ACL_ADMIN_TOKEN)' }),
  };

  async run() {
    const { args, flags } = await this.parse(Why);
    const q = new URLSearchParams({ user: args.user, resource: args.resource, service: args.service });
    const w = await get(flags.controller, '/api/v1/why', `api/v1/why?${q}`, flags.token).catch((e: Error) => this.failMessage(e.message));
    this.log(`${w.decision.toUpperCase()}: ${w.reason}${w.rule ? ` (rule ${w.rule})` : ''}`);
    if (w.denials.length) {
      this.log('recent denials:');
      for (const d of w.denials)
        this.log(
          `  ${d.lastSeen} at ${d.switch}:${d.port} ${d.service}${d.distinctServices > 1 ? ` (+${d.distinctServices - 1})` : ''} ×${d.count} rule ${d.rule}`,
        );
    } else if (w.decision === 'deny') this.log('no recent denials seen for this pair');
    if (w.suggestions.length) {
      this.log('smallest changes that would allow it (not applied):');
      for (const s of w.suggestions) this.log(`  - ${s.text}${s.alsoAffects ? ` — also affects ${s.alsoAffects}` : ''}`);
    }
    return w;
  }
}
