/**
 * Needs root and Open vSwitch. Table budgets against a real switch: bridge st-bud (dpid 1 = edge1 of the basic
 * example) gets an OVS Flow_Table limit on table 2 one flow short of the plan; the controller reads it from
 * TABLE_FEATURES at connect and refuses the plan before sending a single flow mod (report: table, flows, budget,
 * what costs most). With a limit of exactly the plan's size, the switch reconnects and the plan installs.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Controller } from '../../controller/controller.js';
import { createBridge, deleteBridge, ensureOvs, haveOvs, ofctl, vsctl } from '../helpers/ovs.js';
import { copyExample, waitFor } from '../helpers/tmp.js';
import { describeWith } from '../helpers/needs.js';

const BR = 'st-bud';
const run = haveOvs() && process.getuid?.() === 0;

describeWith({ 'Open vSwitch (root)': !!run }, 'table budgets on a real Open vSwitch', () => {
  let ctl: Controller;
  let port = 0;
  let dir = '';
  const events: Array<{ type: string; [k: string]: unknown }> = [];

  beforeAll(async () => {
    ensureOvs();
    dir = copyExample('basic');
    ctl = new Controller({
      policyPath: join(dir, 'policy.yaml'),
      listen: { host: '127.0.0.1', port: 0 },
      auditIntervalMs: 1000,
      session: { handshakeTimeoutMs: 5000 },
    });
    ctl.on('event', (e: { type: string }) => events.push(e));
    ({ port } = await ctl.start());
  });

  afterAll(async () => {
    deleteBridge(BR);
    await ctl?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const ours = () =>
    ofctl('dump-flows', BR)
      .split('\n')
      .filter((l) => l.includes('cookie=0x5ac1')).length;
  const limit = (n: number) =>
    vsctl(
      '--',
      '--id=@ft',
      'create',
      'Flow_Table',
      `flow_limit=${n}`,
      'overflow_policy=refuse',
      '--',
      'set',
      'Bridge',
      BR,
      'flow_tables:2=@ft',
    );

  it("a plan over the switch's reported budget is refused before anything is sent; a budget just enough installs", async () => {
    const plan = ctl.compiled.plan.switches.find((s) => s.name === 'edge1')!;
    const need = plan.flows.filter((f) => f.tableId === 2).length;
    createBridge(BR, { dpid: '0000000000000001' });
    limit(need - 1);
    vsctl('set-controller', BR, `tcp:127.0.0.1:${port}`);
    const refused = await waitFor('budget refusal', () => events.find((e) => e.type === 'budget-refused' && e.switch === 'edge1'), 15_000);
    const report = refused.report as {
      tables: Array<{ table: number; flows: number; budget?: number; over: boolean; top: Array<{ origin: string; flows: number }> }>;
    };
    const t2 = report.tables.find((t) => t.table === 2)!;
    expect(t2).toMatchObject({ flows: need, budget: need - 1, over: true });
    expect(t2.top.length).toBeGreaterThan(0);
    expect(t2.top[0].flows).toBeGreaterThanOrEqual(t2.top[t2.top.length - 1].flows);
    const s = [...ctl.sessions.values()].find((x) => x.dpid === 1n)!;
    expect(s.tableMax?.[2]).toBe(need - 1);
    expect(s.desc?.hwDesc).toBe('Open vSwitch');
    await new Promise((r) => setTimeout(r, 1500)); // an audit round later: still nothing of ours on the switch
    expect(ours()).toBe(0);
    // an alert, raised once: the audit round that refused again did not repeat it
    expect(events.filter((e) => e.type === 'budget-refused')).toHaveLength(1);
    expect(ctl.alerts.filter((a) => a.type === 'budget-refused')).toHaveLength(1);
    expect(
      ctl
        .switchStatus()
        .find((x) => x.name === 'edge1')
        ?.errors.join(' '),
    ).toMatch(/does not fit its tables: table 2 \(policy\) needs \d+ flows, budget \d+/);

    // exactly enough: reconnect (the switch's tables are read at connect) and everything installs
    vsctl('del-controller', BR);
    limit(need);
    vsctl('set-controller', BR, `tcp:127.0.0.1:${port}`);
    await waitFor('plan installed', () => ours() === plan.flows.length, 20_000);
    expect(
      ofctl('dump-flows', BR, 'table=2')
        .split('\n')
        .filter((l) => l.includes('cookie=0x5ac1')).length,
    ).toBe(need);
  }, 60_000);
});
