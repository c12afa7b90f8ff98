import { Args, Flags } from '@oclif/core';
import { AclCommand } from '../base.js';
import { compile } from '../../compiler/compile.js';
import { formatHex, formatOvsFlows, planJson } from '../../compiler/format.js';
import { checkBudgets, formatBudgetReport } from '../../compiler/budget.js';

export default class Compile extends AclCommand {
  static description = 'Compile a policy to per-switch OpenFlow 1.3 flows.';
  static examples = [
    '<%= config.bin %> compile examples/campus/policy.yaml --switch hv1',
    '<%= config.bin %> compile policy.yaml --switch edge1 --format hex | head -1 | xargs ovs-ofctl ofp-print',
  ];
  static args = { policy: Args.string({ required: true, description: 'policy YAML file' }) };
  static flags = {
    switch: Flags.string({ char: 's', description: 'only this switch (name)' }),
    format: Flags.string({
      char: 'f',
      options: ['ovs', 'json', 'hex'],
      default: 'ovs',
      description: 'ovs: ovs-ofctl add-flows text; json; hex: one FLOW_MOD per line',
    }),
    budget: Flags.boolean({
      description:
        "check every switch's plan against its table budget (topology `tables:`); print the per-table report, exit 1 when a plan does not fit",
    }),
  };

  async run() {
    const { args, flags } = await this.parse(Compile);
    const { loaded } = await this.load(args.policy);
    const c = compile(loaded);
    const switches = flags.switch ? c.plan.switches.filter((s) => s.name === flags.switch) : c.plan.switches;
    if (flags.switch && !switches.length)
      this.failMessage(`no switch '${flags.switch}' in the topology (switches: ${c.plan.switches.map((s) => s.name).join(', ')})`);
    if (flags.budget) {
      const report = checkBudgets(switches, (p) => c.input.topology.switches.find((x) => x.name === p.name)?.tables);
      if (!this.jsonEnabled()) this.log(formatBudgetReport(report));
      if (!report.ok) {
        if (this.jsonEnabled()) process.stdout.write(JSON.stringify({ ok: false, budget: report }) + '\n');
        this.exit(1);
      }
      return { ok: true, budget: report };
    }
    if (!this.jsonEnabled()) {
      for (const s of switches) {
        // time-bound flows with the hard_timeout left now (the instant compiled for), as the controller would send them
        if (flags.format === 'hex') process.stdout.write(formatHex(s, c.input.at));
        else if (flags.format === 'json') this.log(JSON.stringify(planJson(s), null, 2));
        else process.stdout.write(formatOvsFlows(s, { at: c.input.at }) + '\n');
      }
      this.logToStderr(
        `${c.stats.flows} flows for ${c.stats.users} users in ${c.stats.classes} classes (naive users × resources × switches: ${c.stats.naive})`,
      );
    }
    return { stats: c.stats, switches: switches.map((s) => planJson(s)) };
  }
}
