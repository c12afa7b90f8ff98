import { Args, Flags } from '@oclif/core';
import { AclCommand } from '../../base.js';
import { api } from '../../client.js';

export default class RulesTraffic extends AclCommand {
  static description = 'Traffic per rule (packets, bytes, last hit); with RULE, its time series.';
  static args = { rule: Args.string({ description: 'one rule' }) };
  static flags = {
    controller: Flags.string({ default: 'http://127.0.0.1:8080', description: 'controller API URL' }),
    token: Flags.string({ description: 'token (default $ACL_ADMIN_TOKEN)' }),
  };

  async run() {
    const { args, flags } = await this.parse(RulesTraffic);
    let r;
    try { r = await api(flags.controller, args.rule ? `api/v1/rules/${encodeURIComponent(args.rule)}/traffic` : 'api/v1/rules/traffic', { token: flags.token }); } catch (e) { this.failMessage((e as Error).message); }
    if (r.status !== 200) this.failMessage(`controller answered ${r.status}: ${r.body?.error ?? ''}`);
    if (args.rule) {
      this.log(`${r.body.rule}: ${r.body.packets} packets, ${r.body.bytes} bytes; last hit ${r.body.lastHit ?? 'never'}`);
      for (const p of r.body.series) this.log(`  ${new Date(p.t).toISOString()} +${p.packets} packets +${p.bytes} bytes`);
    } else for (const x of r.body) this.log(`  ${x.rule.padEnd(28)} ${String(x.packets).padStart(10)} packets ${String(x.bytes).padStart(12)} bytes  last hit ${x.lastHit ?? 'never'}`);
    return r.body;
  }
}
