/** Needs root and Open vSwitch. A flow mod the switch refuses inside a bundle must leave the switch untouched. */
import { afterAll, expect, it } from 'vitest';
import { join } from 'node:path';
import { Controller } from '../../controller/controller.js';
import { reconcile } from '../../controller/reconcile.js';
import { COOKIE_TAG, type SwitchPlan } from '../../compiler/model.js';
import { createBridge, deleteBridge, ensureOvs, haveOvs, ofctl } from '../helpers/ovs.js';
import { copyExample, waitFor } from '../helpers/tmp.js';
import { describeWith } from '../helpers/needs.js';

describeWith({ 'Open vSwitch (root)': !(!haveOvs() || process.getuid?.() !== 0) }, 'bundle with a refused flow mod', () => {
  let ctl: Controller;
  afterAll(async () => {
    deleteBridge('ctl-refuse');
    await ctl?.stop();
  });

  it('is discarded whole: the good flows of the same change are not installed', async () => {
    ensureOvs();
    ctl = new Controller({ policyPath: join(copyExample('basic'), 'policy.yaml'), listen: { host: '127.0.0.1', port: 0 } });
    const { port } = await ctl.start();
    createBridge('ctl-refuse', { controller: `tcp:127.0.0.1:${port}`, dpid: '0000000000000010' });
    const session = await waitFor('session', () => [...ctl.sessions.values()].find((s) => s.state === 'ready'), 15_000);
    await waitFor('first sync', () => ctl.switchStatus().find((s) => s.name === 'hv1')?.lastSync, 15_000);
    const before = ofctl('dump-flows', 'ctl-refuse')
      .split('\n')
      .filter((l) => l.includes('cookie=0x5ac1')).length;
    const plan: SwitchPlan = {
      name: 'hv1',
      dpid: 16n,
      kind: 'hypervisor',
      flows: [
        { tableId: 5, priority: 7, cookie: COOKIE_TAG | 0x77n, match: [], instructions: [], origin: 'good' },
        // refused by OVS: tcp_dst without its ip_proto/eth_type prerequisites
        { tableId: 5, priority: 8, cookie: COOKIE_TAG | 0x78n, match: [{ field: 'tcp_dst', value: 80 }], instructions: [], origin: 'bad' },
      ],
    };
    const r = await reconcile(session, plan);
    expect(r.atomic).toBe(false);
    expect(r.errors.join(' ')).toMatch(/BAD_PREREQ/);
    expect(r.errors.join(' ')).toMatch(/bundle discarded/);
    const dump = ofctl('dump-flows', 'ctl-refuse');
    expect(dump).not.toMatch(/cookie=0x5ac1000000000077/);
    expect(dump.split('\n').filter((l) => l.includes('cookie=0x5ac1')).length).toBe(before);
  });
});
