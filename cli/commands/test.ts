import { Args } from '@oclif/core';
import { readTextFile } from '../../io/safe-read.js';
import { terminalSafe } from '../terminal.js';
import { AclCommand } from '../base.js';
import { compile } from '../../compiler/compile.js';
import { runPolicyTests } from '../../compiler/policy-tests.js';

export default class Test extends AclCommand {
  static description = 'Check a file of expectations (`alice -> payroll-db tcp/5432: allow`) against a policy.';
  static examples = ['<%= config.bin %> test examples/campus/policy.yaml examples/campus/access.tests'];
  static args = { policy: Args.string({ required: true }), tests: Args.string({ required: true, description: 'expectations file' }) };

  async run() {
    const { args } = await this.parse(Test);
    const { loaded } = await this.load(args.policy);
    const c = compile(loaded);
    let text: string;
    try {
      text = await readTextFile(args.tests);
    } catch (e) {
      this.failMessage(`cannot read ${args.tests}: ${(e as Error).message}`);
    }
    const r = runPolicyTests(c, text, args.tests, (at) => compile({ ...loaded, at }));
    for (const f of r.failures) this.logToStderr(terminalSafe(`${f.file}:${f.line}: ${f.message}`));
    this.log(`${r.passed} passed, ${r.failures.length} failed`);
    if (r.failures.length) {
      if (this.jsonEnabled()) this.logJson(r);
      this.exit(1);
    }
    return r;
  }
}
