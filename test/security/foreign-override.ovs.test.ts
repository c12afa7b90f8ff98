/**
 * Issue #11 item 9: a foreign flow that can override our decisions (priority 65535, actions=NORMAL, added with
 * ovs-ofctl on a non-exclusive real OVS bridge) is reported: an alert, the switch status in the API (not in sync),
 * the console's alerts list (status.alerts) and the metric acl_foreign_override_flows{switch}. It is left in place
 * (the switch is shared); once it is removed the report clears.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Controller } from '../../controller/controller.js';
import { buildApp } from '../../controller/api.js';
import { createBridge, deleteBridge, ensureOvs, haveOvs, ofctl } from '../helpers/ovs.js';
import { describeWith } from '../helpers/needs.js';
import { copyExample, waitFor } from '../helpers/tmp.js';

const OF = 18240;
const BR = 'so-fo';
const run = haveOvs() && process.getuid?.() === 0;

describeWith({ 'Open vSwitch (root)': run }, 'foreign flows that override the policy (real OVS)', () => {
  let ctl: Controller;
  let app: FastifyInstance;
  const TOKEN = 'so-admin-token-0123456789';
  beforeAll(async () => {
    ensureOvs();
    const dir = copyExample('basic');
    ctl = new Controller({ policyPath: join(dir, 'policy.yaml'), listen: { host: '127.0.0.1', port: OF }, auditIntervalMs: 500 });
    await ctl.start();
    app = await buildApp(ctl, { adminToken: TOKEN });
    createBridge(BR, { controller: `tcp:127.0.0.1:${OF}`, dpid: (16).toString(16).padStart(16, '0') });
    await waitFor(
      'hv1 synced',
      () => ctl.switchStatus().find((s) => s.name === 'hv1' && s.connected && s.flowsInstalled === s.flowsDesired),
      20_000,
    );
  }, 40_000);
  afterAll(async () => {
    deleteBridge(BR);
    await app?.close();
    await ctl?.stop();
  });

  const get = async (url: string) => await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${TOKEN}` } });

  it('priority=65535 actions=NORMAL is reported as an alert, in the switch status, status.alerts and the metric', async () => {
    expect((await get('/metrics')).body).toMatch(/^acl_foreign_override_flows\{switch="hv1"\} 0$/m);
    ofctl('add-flow', BR, 'priority=65535,actions=NORMAL');
    await waitFor('alert', () => ctl.alerts.find((a) => a.type === 'foreign-override' && a.switch === 'hv1'), 10_000);
    const sw = (await get('/api/v1/switches')).json<
      Array<{ name?: string; errors: string[]; foreignOverrides?: Array<{ priority: number; text: string }> }>
    >();
    const hv1 = sw.find((s) => s.name === 'hv1')!;
    expect(hv1.foreignOverrides).toHaveLength(1);
    expect(hv1.foreignOverrides![0]).toMatchObject({ priority: 65535, text: expect.stringMatching(/NORMAL/) });
    expect(hv1.errors.join('\n')).toMatch(/foreign flow\(s\) can override the policy/);
    const st = (await get('/api/v1/status')).json<{ switches: { inSync: number; connected: number }; alerts: Array<{ type: string }> }>();
    expect(st.switches.inSync).toBe(st.switches.connected - 1);
    expect(st.alerts.some((a) => a.type === 'foreign-override')).toBe(true);
    expect((await get('/metrics')).body).toMatch(/^acl_foreign_override_flows\{switch="hv1"\} 1$/m);
    // the shared switch keeps the foreign flow (not ours to remove), and ours are intact
    expect(ofctl('dump-flows', BR)).toMatch(/priority=65535 actions=NORMAL/);
    expect(ctl.alerts.filter((a) => a.type === 'foreign-override')).toHaveLength(1); // once, not every audit
  }, 30_000);

  it('a foreign drop or a low-priority flow is not an override; removing the override clears the report', async () => {
    ofctl('add-flow', BR, 'priority=65534,ip,nw_dst=10.9.9.9,actions=drop');
    ofctl('del-flows', BR, '--strict', 'priority=65535');
    await waitFor('cleared', async () => /^acl_foreign_override_flows\{switch="hv1"\} 0$/m.test((await get('/metrics')).body), 10_000);
    const hv1 = (await get('/api/v1/switches')).json<Array<{ name?: string; errors: string[] }>>().find((s) => s.name === 'hv1')!;
    expect(hv1.errors).toEqual([]);
  }, 30_000);
});
