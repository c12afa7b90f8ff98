/**
 * The "seen/cut" report of a dry run with nested resources: traffic to an address inside both a /16 and a /28 is one
 * connection (one destination class), so it is listed once, under the most specific resource the user loses, and not
 * at all when a more specific allow still covers the lost service after the change.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Controller } from '../../controller/controller.js';
import { buildApp } from '../../controller/api.js';
import { attributeFlow } from '../../compiler/observe.js';
import type { FlowStats } from '../../openflow/index.js';
import { copyExample } from '../helpers/tmp.js';

const H = { authorization: 'Bearer nested-admin-token', 'content-type': 'text/yaml' };
const CAMPUS = '  campus:     { hosts: [10.0.0.0/16], services: [tcp/443] }\n';
const CAMPUS_RULE = '  - { name: staff-campus,    from: { roles: [employee] }, to: campus }\n';

describe('dry run: seen/cut with nested prefixes', () => {
  let dir: string, ctl: Controller, app: FastifyInstance, v1: string;
  beforeAll(async () => {
    dir = copyExample('basic');
    const p = join(dir, 'policy.yaml');
    // a /16 "campus" resource around the /28 intranet, reachable by every employee on tcp/443
    v1 = readFileSync(p, 'utf8').replace('rules:\n', `${CAMPUS}rules:\n${CAMPUS_RULE}`);
    writeFileSync(p, v1);
    ctl = new Controller({ policyPath: p, listen: { host: '127.0.0.1', port: 0 } });
    await ctl.start();
    app = await buildApp(ctl, { adminToken: 'nested-admin-token' });
    // alice's class sent traffic to web1 (10.0.2.2: in campus and intranet, one destination class)
    const c = ctl.compiled;
    const edge = c.plan.switches.find((s) => s.name === 'edge1')!;
    const aliceClass = c.subjectById.get('alice')!.classId;
    const allow = edge.flows.find((f) => {
      const a = attributeFlow(c, f);
      return a.role === 'allow' && a.classId === aliceClass && [...a.resources].sort().join() === 'campus,intranet';
    });
    expect(allow).toBeDefined();
    const stats: FlowStats = {
      ...allow!,
      durationSec: 0,
      durationNsec: 0,
      idleTimeout: 0,
      hardTimeout: 0,
      flags: {},
      packetCount: 7n,
      byteCount: 700n,
    };
    ctl.observe.traffic.attribute(c, edge.name, edge, [stats], Date.now());
    // the old per-resource cells credit both resources: the case the report must not double count
    expect(ctl.observe.traffic.cells.has(`${aliceClass}|campus`)).toBe(true);
    expect(ctl.observe.traffic.cells.has(`${aliceClass}|intranet`)).toBe(true);
  });
  afterAll(async () => {
    await app?.close();
    await ctl?.stop();
  });

  const cuts = async (text: string) => {
    const r = await app.inject({ method: 'POST', url: '/api/v1/policy?dryRun=true', headers: H, payload: text });
    expect(r.statusCode).toBe(200);
    const body = r.json();
    return {
      access: body.access as Array<{ subject: string; resource: string; change: string }>,
      cut: (body.seen.cut as Array<{ subject: string; resource: string }>).map((x) => `${x.subject}:${x.resource}`),
    };
  };

  it('losing the /16 while the /28 still allows tcp/443 cuts nothing of that traffic', async () => {
    const r = await cuts(v1.replace(CAMPUS_RULE, ''));
    expect(r.access).toContainEqual(expect.objectContaining({ subject: 'alice', resource: 'campus', change: 'lose' }));
    expect(r.cut).toEqual([]);
  });

  it('losing both lists the connection once, under the most specific resource', async () => {
    const r = await cuts(v1.replace(CAMPUS_RULE, '').replace(/ {2}- \{ name: staff-intranet.*\n/, ''));
    expect(r.access).toContainEqual(expect.objectContaining({ subject: 'alice', resource: 'campus', change: 'lose' }));
    expect(r.access).toContainEqual(expect.objectContaining({ subject: 'alice', resource: 'intranet', change: 'lose' }));
    expect(r.cut).toEqual(['alice:intranet']);
  });

  it('losing only the /28 while the /16 still allows tcp/443: still a cut (the /28 also gave tcp/80 and icmp)', async () => {
    const r = await cuts(v1.replace(/ {2}- \{ name: staff-intranet.*\n/, ''));
    expect(r.cut).toEqual(['alice:intranet']);
  });
});
