import { Args, Flags } from '@oclif/core';
import { AclCommand } from '../../base.js';
import { get } from '../../client.js';

export default class RulesTraffic extends AclCommand {
  static description = 'Traffic per rule (packets, bytes, last hit); with RULE, its time series.';
  static args = { rule: Args.string({ description: 'one rule' }) };
  static flags = {
    controller: Flags.string({ default: 'http://127.0.0.1:8080', description: 'controller API URL' }),
    token: Flags.string({ description: 'token (default $ACL_ADMIN_TOKEN)' }),
  };

  async run() {
    const { args, flags } = await this.parse(RulesTraffic);
    if (args.rule) {
      const t = await get(
        flags.controller,
        '/api/v1/rules/:name/traffic',
        `api/v1/rules/${encodeURIComponent(args.rule)}/traffic`,
        flags.token,
      ).catch((e: Error) => this.failMessage(e.message));
      this.log(`${t.rule}: ${t.packets} packets, ${t.bytes} bytes; last hit ${t.lastHit ?? 'never'}`);
      for (const p of t.series) this.log(`  ${new Date(p.t).toISOString()} +${p.packets} packets +${p.bytes} bytes`);
      return t;
    }
    const all = await get(flags.controller, '/api/v1/rules/traffic', 'api/v1/rules/traffic', flags.token).catch((e: Error) =>
      this.failMessage(e.message),
    );
    for (const x of all)
      this.log(
        `  ${x.rule.padEnd(28)} ${String(x.packets).padStart(10)} packets ${String(x.bytes).padStart(12)} bytes  last hit ${x.lastHit ?? 'never'}`,
      );
    return all;
  }
}
