/**
 * Another tool's flows that use fields and actions our codec does not model (conntrack, resubmit) must not make a
 * switch unmanageable: with `exclusive` they are removed (sent back byte for byte in a delete), otherwise kept.
 * Needs root and Open vSwitch; creates bridges ctl-ff-e1 and ctl-ff-hv1 and removes them.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { join } from 'node:path';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Controller } from '../../controller/controller.js';
import { createBridge, deleteBridge, ensureOvs, haveOvs, ofctl } from '../helpers/ovs.js';
import { copyExample, waitFor } from '../helpers/tmp.js';
import { describeWith } from '../helpers/needs.js';

const run = haveOvs() && process.getuid?.() === 0;
const FOREIGN = [
  'table=0,priority=5,ct_state=-trk,ip,actions=ct(table=1)',
  'table=2,priority=0,actions=resubmit(,3)', // same table, priority and (empty) match as our default deny
];

const cookies = (br: string) =>
  ofctl('dump-flows', br)
    .split('\n')
    .filter((l) => l.includes('cookie='))
    .map((l) => /cookie=(0x[0-9a-f]+)/.exec(l)![1]);

describeWith({ 'Open vSwitch (root)': !!run }, 'foreign flows with fields we do not model', () => {
  let ctl: Controller;
  let dir = '';
  beforeAll(async () => {
    ensureOvs();
    dir = copyExample('basic');
    // hv1 is exclusive through topology.yaml (`exclusive: true`), as an admin would write it
    const topo = join(dir, 'topology.yaml');
    writeFileSync(
      topo,
      readFileSync(topo, 'utf8').replace(
        '{ name: hv1, dpid: 16, kind: hypervisor }',
        '{ name: hv1, dpid: 16, kind: hypervisor, exclusive: true }',
      ),
    );
    ctl = new Controller({ policyPath: join(dir, 'policy.yaml'), listen: { host: '127.0.0.1', port: 0 }, auditIntervalMs: 1000 });
    const { port } = await ctl.start();
    // (OVS flushes a bridge's flows when its first controller is set, so the other tool's flows come after)
    for (const [br, dpid] of [
      ['ctl-ff-e1', 1],
      ['ctl-ff-hv1', 16],
    ] as const)
      createBridge(br, { dpid: dpid.toString(16).padStart(16, '0'), controller: `tcp:127.0.0.1:${port}` });
    await waitFor('both bridges synced', () => ctl.switchStatus().filter((x) => x.connected && x.lastSync).length === 2, 15_000);
    for (const br of ['ctl-ff-e1', 'ctl-ff-hv1']) for (const f of FOREIGN) ofctl('add-flow', br, f);
  });
  afterAll(async () => {
    deleteBridge('ctl-ff-e1');
    deleteBridge('ctl-ff-hv1');
    await ctl?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Flows that are not ours (our own flows carry ct_state too since the stateful pipeline). */
  const foreign = (br: string) =>
    ofctl('dump-flows', br)
      .split('\n')
      .filter((l) => l.includes('cookie=') && !l.includes('cookie=0x5ac1'))
      .join('\n');

  it('a repair pass on an exclusive switch deletes them (the conntrack match sent back byte for byte); elsewhere they stay beside ours', async () => {
    const want = (dpid: number) =>
      ctl.compiled.plan.switches
        .find((s) => s.dpid === BigInt(dpid))!
        .flows.map((f) => '0x' + f.cookie.toString(16))
        .sort();
    expect(foreign('ctl-ff-hv1')).toMatch(/ct_state=-trk/);
    const results = await ctl.syncAll(); // the periodic repair pass, now
    expect(results.map((r) => r.errors)).toEqual([[], []]);
    expect(JSON.stringify(cookies('ctl-ff-hv1').sort())).toBe(JSON.stringify(want(16)));
    // elsewhere the conntrack flow stays; the empty-match flow was the same OpenFlow flow as our default deny
    // (same table, priority and match), so it replaced ours and ours is put back
    const e1 = cookies('ctl-ff-e1');
    expect(e1.filter((x) => x === '0x0')).toHaveLength(1);
    expect(JSON.stringify(e1.filter((x) => x !== '0x0').sort())).toBe(JSON.stringify(want(1)));
    expect(foreign('ctl-ff-e1')).toMatch(/ct_state=-trk/);
    const hv = ctl.switchStatus().find((s) => s.name === 'hv1')!;
    expect(hv.errors).toEqual([]);
    expect(foreign('ctl-ff-hv1')).not.toMatch(/ct_state|resubmit/);
    // a later repair pass is quiet: nothing foreign left, nothing of ours missing
    const again = await ctl.syncAll();
    expect(again.filter((r) => r.switch === 'hv1').map((r) => [r.added, r.removed, r.changed, r.errors])).toEqual([[0, 0, 0, []]]);
  });
});
