import { Args, Flags } from '@oclif/core';
import { AclCommand } from '../base.js';
import { get } from '../client.js';
import { compile } from '../../compiler/compile.js';
import { diffAccess, diffPlans, type AccessChange } from '../../compiler/query.js';

export default class Diff extends AclCommand {
  static description =
    'Who gains and who loses access between two policies: two files (offline, no controller: for CI and merge requests) or two versions of a running controller (numbers).';
  static examples = [
    '<%= config.bin %> diff main/policy.yaml branch/policy.yaml',
    '<%= config.bin %> diff 3 5 --controller http://127.0.0.1:8080',
  ];
  static args = {
    old: Args.string({ required: true, description: 'old policy file, or a version number' }),
    new: Args.string({ required: true, description: 'new policy file, or a version number' }),
  };
  static flags = {
    controller: Flags.string({ default: 'http://127.0.0.1:8080', description: 'controller API URL (for version numbers)' }),
    token: Flags.string({ description: 'token (default $ACL_ADMIN_TOKEN)' }),
    'fail-on-loss': Flags.boolean({ description: 'exit 1 when anybody loses access (for CI)' }),
  };

  async run() {
    const { args, flags } = await this.parse(Diff);
    let access: AccessChange[];
    let flows: Array<{ switch: string; added: number; removed: number; unchanged: number }>;
    if (/^\d+$/.test(args.old) && /^\d+$/.test(args.new)) {
      const r = await get(flags.controller, '/api/v1/policy/diff', `api/v1/policy/diff?from=${args.old}&to=${args.new}`, flags.token).catch(
        (e: Error) => this.failMessage(e.message),
      );
      access = r.access;
      flows = r.flows;
    } else {
      const at = Date.now();
      const { loaded: a } = await this.load(args.old, at);
      const { loaded: b } = await this.load(args.new, at);
      const ca = compile(a),
        cb = compile(b, { previous: ca });
      access = diffAccess(ca, cb);
      flows = diffPlans(ca.plan, cb.plan).map((d) => ({
        switch: d.switch,
        added: d.added.length,
        removed: d.removed.length,
        unchanged: d.unchanged,
      }));
    }
    const gains = access.filter((x) => x.change === 'gain'),
      losses = access.filter((x) => x.change === 'lose');
    this.log(`${args.old} -> ${args.new}: ${gains.length} gain, ${losses.length} lose`);
    for (const x of gains) this.log(`  + ${x.subject} -> ${x.resource} ${x.service}  (${x.rule})`);
    for (const x of losses) this.log(`  - ${x.subject} -> ${x.resource} ${x.service}  (was ${x.rule})`);
    for (const f of flows)
      if (f.added || f.removed) this.log(`  switch ${f.switch}: +${f.added} -${f.removed} flows (${f.unchanged} unchanged)`);
    const out = { gains: gains.length, losses: losses.length, access, flows };
    if (flags['fail-on-loss'] && losses.length) {
      if (this.jsonEnabled()) this.logJson(this.plain(out));
      this.exit(1);
    }
    return this.plain(out);
  }
}
