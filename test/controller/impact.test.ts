/**
 * `POST /policy?dryRun=true` lists, beside who gains and who loses, the connections seen recently that the change
 * would cut (allow-flow counters of the user's class to the resource) or open (denials in the deny log). The
 * observations go through the controller's own paths: flow statistics attributed by cookie, a denied frame decoded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Controller } from '../../controller/controller.js';
import { buildApp } from '../../controller/api.js';
import { attributeFlow } from '../../compiler/observe.js';
import type { FlowStats } from '../../openflow/index.js';
import { copyExample } from '../helpers/tmp.js';
import { frame } from '../helpers/frames.js';

const H = { authorization: 'Bearer impact-admin-token', 'content-type': 'text/yaml' };

describe('dry run: impact on traffic seen recently', () => {
  let dir: string, ctl: Controller, app: FastifyInstance;
  beforeAll(async () => {
    dir = copyExample('basic');
    ctl = new Controller({ policyPath: join(dir, 'policy.yaml'), listen: { host: '127.0.0.1', port: 0 } });
    await ctl.start();
    app = await buildApp(ctl, { adminToken: 'impact-admin-token' });
  });
  afterAll(async () => {
    await app?.close();
    await ctl?.stop();
  });

  it('a change that moves payroll from finance to platform: alice (traffic seen) would be cut, bob (denied, in the deny log) would be let in; the unseen intranet loss of bob is not listed', async () => {
    const c = ctl.compiled;
    // alice's class sent 12 packets through the finance-payroll allow flow on hv1
    const hv1 = c.plan.switches.find((s) => s.name === 'hv1')!;
    const aliceClass = c.subjects.find((s) => s.id === 'alice')!.classId;
    const allow = hv1.flows.find((f) => {
      const a = attributeFlow(c, f);
      return a.role === 'allow' && a.classId === aliceClass && a.rules.includes('finance-payroll');
    });
    expect(allow).toBeDefined();
    const stats: FlowStats = {
      ...allow!,
      durationSec: 0,
      durationNsec: 0,
      idleTimeout: 0,
      hardTimeout: 0,
      flags: {},
      packetCount: 12n,
      byteCount: 1500n,
    };
    ctl.observe.traffic.attribute(c, hv1.name, hv1, [stats], Date.now());
    // bob (platform) tried payroll-db tcp/5432 and was denied by default
    const d = ctl.observe.denials.ingest(
      c,
      frame({ src: '02:00:00:00:01:02', ipSrc: '10.0.1.2', ipDst: '10.0.2.10', proto: 'tcp', dport: 5432 }),
      { switch: 'edge1', port: 2, source: 'policy' },
    );
    expect(d).toMatchObject({ user: 'bob', rule: 'default' });

    const v1 = readFileSync(join(dir, 'policy.yaml'), 'utf8');
    // payroll moves from finance to platform; the intranet narrows from employees to managers (bob loses it, unseen)
    const v2 = v1
      .replace('from: { organizations: [finance] }, to: payroll-db', 'from: { organizations: [platform] }, to: payroll-db')
      .replace('from: { roles: [employee] }, to: intranet', 'from: { roles: [manager] }, to: intranet');
    expect(v2).not.toBe(v1);
    const r = await app.inject({ method: 'POST', url: '/api/v1/policy?dryRun=true', headers: H, payload: v2 });
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(body.access).toContainEqual(expect.objectContaining({ subject: 'alice', resource: 'payroll-db', change: 'lose' }));
    expect(body.access).toContainEqual(expect.objectContaining({ subject: 'bob', resource: 'payroll-db', change: 'gain' }));
    // only what was actually seen: alice's loss (counters), bob's gain (deny log); other gains/losses are not listed
    expect(body.seen.cut.map((x: { subject: string; resource: string; evidence: string }) => [x.subject, x.resource, x.evidence])).toEqual([
      ['alice', 'payroll-db', 'counters'],
    ]);
    expect(body.seen.open.map((x: { subject: string; resource: string; denied: number }) => [x.subject, x.resource, x.denied])).toEqual([
      ['bob', 'payroll-db', 1],
    ]);
    expect(body.access).toContainEqual(expect.objectContaining({ subject: 'bob', resource: 'intranet', change: 'lose' }));
    expect(ctl.version).toBe(1); // a dry run applies nothing
  });
});
