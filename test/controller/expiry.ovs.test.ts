/**
 * On a real Open vSwitch (bridge e5-expiry, userspace datapath): a plan compiled an hour before its grant's end and
 * installed only now (the switch connects late, a printer logs in later still) carries the hard_timeout left until
 * the end, not the hour; a read-back finds the switch in sync (its duration counts); and with the controller stopped
 * before the end, the switch drops the grant at the end by itself while every other flow stays (fail-mode secure).
 * The controller's clock is a test clock (controller/test-clock.ts) that runs at the real clock's speed, so its
 * instants and the switch's timers agree.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Controller } from '../../controller/controller.js';
import { FileClock } from '../../controller/test-clock.js';
import { copyExample, waitFor } from '../helpers/tmp.js';
import { createBridge, deleteBridge, dumpFlows, ensureOvs, haveOvs } from '../helpers/ovs.js';
import { describeWith, isRoot } from '../helpers/needs.js';

const BR = 'e5-expiry';
const PORT = 26510;
const timeoutOf = (l: string) => Number(l.match(/hard_timeout=(\d+)/)?.[1] ?? 0);
const timed = () => dumpFlows(BR).filter((l) => timeoutOf(l) > 0);
const iso = (t: number) => new Date(t).toISOString().replace(/\.\d+Z$/, 'Z');

describeWith({ 'Open vSwitch': haveOvs(), root: isRoot }, 'time-bound flows installed after the compile, on Open vSwitch', () => {
  beforeAll(() => ensureOvs());
  afterAll(() => deleteBridge(BR));

  it('carry the time left to the end and leave the switch at the end when the controller is gone', async () => {
    const dir = copyExample('basic');
    const end = Math.ceil((Date.now() + 25_000) / 1000) * 1000; // the grants' end, a few seconds away
    const file = join(dir, 'policy.yaml');
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace(
        'default: deny',
        [
          `  - { name: bob-db, from: { users: [bob] }, to: payroll-db, until: ${iso(end)} }`,
          `  - { name: printers-db, from: { roles: [printers] }, to: payroll-db, until: ${iso(end)} }`,
          'default: deny',
        ].join('\n'),
      ),
    );
    const d = join(dir, 'directory.yaml');
    writeFileSync(d, `roles: [printers]\n${readFileSync(d, 'utf8')}`);
    // the controller compiles its plan an hour before the end ...
    const clockFile = join(dir, 'clock');
    writeFileSync(clockFile, iso(Date.now() - 3600_000), { mode: 0o600 });
    const clock = new FileClock(clockFile);
    const ctl = new Controller({ policyPath: file, listen: { host: '127.0.0.1', port: PORT }, clock });
    try {
      await ctl.start();
      const compiledAt = ctl.compiled.input.at!;
      expect(end - compiledAt).toBeGreaterThan(3600_000);
      // ... and an hour passes before any switch is there (the plan stays: no boundary in between)
      writeFileSync(clockFile, iso(Date.now()));
      await waitFor('the clock moved on', () => Math.abs(clock.now() - Date.now()) < 1500);
      expect(ctl.compiled.input.at).toBe(compiledAt);

      createBridge(BR, { controller: `tcp:127.0.0.1:${PORT}`, dpid: '0000000000000001' });
      const status = () => ctl.switchStatus().find((s) => s.name === 'edge1');
      await waitFor('edge1 synced', () => status()?.connected && status()?.flowsInstalled === status()?.flowsDesired, 20_000);
      const bob = timed();
      expect(bob.length).toBeGreaterThan(0);
      // the time left, not the hour and more counted from the compile
      for (const l of bob) expect(timeoutOf(l)).toBeLessThanOrEqual(Math.ceil((end - compiledAt - 3600_000) / 1000) + 1);

      // a printer logs in later still: its class's flows come with what is left then
      const r = ctl.edge.sessions.add({ mac: '02:00:00:00:0e:01', switch: 'edge1', port: 7, method: 'mab', deviceGroup: 'printers' });
      if (!r.ok) throw new Error(r.message);
      const sentAt = clock.now();
      await ctl.edge.settled();
      const all = timed();
      expect(all.length).toBeGreaterThan(bob.length);
      for (const l of all) expect(timeoutOf(l)).toBeLessThanOrEqual(Math.ceil((end - sentAt) / 1000) + 1);

      // a read-back sends nothing: the switch's duration of each flow counts against its hard_timeout
      expect((await ctl.syncAll()).map((x) => x.added + x.changed + x.removed)).toEqual([0]);

      const permanent = dumpFlows(BR).filter((l) => timeoutOf(l) === 0);
      await ctl.stop(); // gone before the end; the switch keeps its flows
      expect(Date.now()).toBeLessThan(end);
      expect(timed().length).toBe(all.length);
      await waitFor('the grants left the switch', () => timed().length === 0, 60_000, 200);
      expect(Date.now()).toBeGreaterThanOrEqual(end - 1000);
      expect(dumpFlows(BR).filter((l) => timeoutOf(l) === 0)).toEqual(permanent);
    } finally {
      await ctl.stop().catch(() => undefined);
      clock.close();
      deleteBridge(BR);
    }
  }, 120_000);
});
