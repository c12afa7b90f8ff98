import { Args } from '@oclif/core';
import { AclCommand } from '../base.js';
import { compile } from '../../compiler/compile.js';
import { verify } from '../../compiler/query.js';

export default class Verify extends AclCommand {
  static description =
    "Check, with a flow-table interpreter, that the compiled flows make exactly the policy's decisions and that no table has ambiguous overlaps.";
  static args = { policy: Args.string({ required: true }) };

  async run() {
    const { args } = await this.parse(Verify);
    const { loaded } = await this.load(args.policy);
    const c = compile(loaded);
    const r = verify(c);
    for (const p of r.problems.slice(0, 50)) this.logToStderr(`${p.kind} on ${p.switch}: ${p.message}`);
    this.log(
      r.ok ? `verified: ${r.checked} decisions agree with the policy; no ambiguous overlaps` : `${r.problems.length} problems found`,
    );
    if (!r.ok) {
      if (this.jsonEnabled()) this.logJson(r);
      this.exit(1);
    }
    return r;
  }
}
