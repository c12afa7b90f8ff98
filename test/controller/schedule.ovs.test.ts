/**
 * Time windows on a real Open vSwitch (bridge lc-edge1, userspace datapath): with an injected clock the grant
 * appears in dump-flows at the window start and goes at its end; and with the real clock, the hard_timeout the
 * flows carry removes them on the switch after the controller was stopped before the boundary (fail-mode secure
 * keeps every other flow).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Controller } from '../../controller/controller.js';
import { ManualClock } from '../../controller/scheduler.js';
import { copyExample, waitFor } from '../helpers/tmp.js';
import { createBridge, deleteBridge, dumpFlows, ensureOvs, haveOvs } from '../helpers/ovs.js';
import { describeWith, isRoot } from '../helpers/needs.js';

const BR = 'lc-edge1';
const grantOf = (flows: string[]) => flows.filter((l) => l.includes('tp_dst=5432') && l.includes('hard_timeout='));

describeWith({ 'Open vSwitch': haveOvs(), root: isRoot }, 'time windows on Open vSwitch', () => {
  beforeAll(() => ensureOvs());
  afterAll(() => deleteBridge(BR));

  const policyWith = (dir: string, timed: string) => {
    const file = join(dir, 'policy.yaml');
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace(
        'default: deny',
        `  - name: bob-payroll\n    from: { users: [bob] }\n    to: payroll-db\n    ${timed}\ndefault: deny`,
      ),
    );
    return file;
  };

  it('with an injected clock: the grant appears at the window start and disappears at its end (dump-flows)', async () => {
    const dir = copyExample('basic');
    const clock = new ManualClock(Date.parse('2026-12-25T06:59:00Z'));
    const ctl = new Controller({
      policyPath: policyWith(dir, 'when: { days: [mon-fri], hours: "08:00-18:30", timezone: Europe/Berlin }'),
      listen: { host: '127.0.0.1', port: 0 },
      clock,
    });
    const { port } = await ctl.start();
    try {
      createBridge(BR, { controller: `tcp:127.0.0.1:${port}`, dpid: '0000000000000001' });
      await waitFor(
        'edge1 synced',
        () =>
          ctl.switchStatus().find((s) => s.name === 'edge1')?.flowsInstalled ===
          ctl.switchStatus().find((s) => s.name === 'edge1')?.flowsDesired,
        20_000,
      );
      expect(grantOf(dumpFlows(BR))).toEqual([]);
      clock.set(Date.parse('2026-12-25T07:00:00Z'));
      const on = await waitFor(
        'grant on the switch',
        () => {
          const g = grantOf(dumpFlows(BR));
          return g.length ? g : undefined;
        },
        20_000,
      );
      expect(on.every((l) => l.includes('hard_timeout=37800'))).toBe(true); // 10.5 h to 18:30 Berlin
      clock.set(Date.parse('2026-12-25T13:00:00Z')); // refresh: re-armed
      await waitFor(
        're-armed',
        () => {
          const g = grantOf(dumpFlows(BR));
          return g.length && g.every((l) => l.includes('hard_timeout=16200'));
        },
        20_000,
      );
      await waitFor('next is the end', () => ctl.scheduler?.next === Date.parse('2026-12-25T17:30:00Z'));
      clock.set(Date.parse('2026-12-25T17:30:00Z'));
      await waitFor('grant gone', () => grantOf(dumpFlows(BR)).length === 0, 20_000);
    } finally {
      await ctl.stop();
      deleteBridge(BR);
    }
  }, 90_000);

  it('the hard_timeout removes the grant on the switch when the controller is gone before the boundary', async () => {
    const dir = copyExample('basic');
    const until = new Date(Date.now() + 12_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const ctl = new Controller({ policyPath: policyWith(dir, `until: ${until}`), listen: { host: '127.0.0.1', port: 0 } });
    const { port } = await ctl.start();
    createBridge(BR, { controller: `tcp:127.0.0.1:${port}`, dpid: '0000000000000001' });
    try {
      const on = await waitFor(
        'grant on the switch',
        () => {
          const g = grantOf(dumpFlows(BR));
          return g.length ? g : undefined;
        },
        10_000,
      );
      const t = Number(on[0].match(/hard_timeout=(\d+)/)![1]);
      expect(t).toBeGreaterThan(0);
      expect(t).toBeLessThanOrEqual(12);
      const permanent = dumpFlows(BR).filter((l) => !l.includes('hard_timeout='));
      await ctl.stop(); // the controller is gone; the switch (fail-mode secure) keeps its flows
      expect(grantOf(dumpFlows(BR)).length).toBe(on.length);
      await waitFor('grant expired on the switch', () => grantOf(dumpFlows(BR)).length === 0, 25_000, 250);
      expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(until) - 1000);
      // flows without a timeout stay; those of bob's class (his time-bound grant's class) all went at the boundary
      expect(dumpFlows(BR).filter((l) => !l.includes('hard_timeout='))).toEqual(permanent);
      expect(dumpFlows(BR).filter((l) => l.includes('hard_timeout='))).toEqual([]);
    } finally {
      await ctl.stop().catch(() => undefined);
      deleteBridge(BR);
    }
  }, 60_000);
});
