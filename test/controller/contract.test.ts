/**
 * The API contract (controller/api/contract.ts) against real replies: every GET route of GET_ROUTES is requested
 * on a running controller with a switch connected, a policy applied, a pending change and a deny sample, and its
 * reply, as the client receives it, must pass TypeBox's Value.Check against the schema with unknown properties
 * refused. With reply checking on, a handler whose reply does not match its schema answers 500; error replies carry
 * a stable `code`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendFileSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { InjectOptions } from 'light-my-request';
import { Controller } from '../../controller/controller.js';
import { buildApp } from '../../controller/api.js';
import {
  API_ERROR_CODES,
  DenialsReply,
  ErrorReply,
  GET_ROUTES,
  HealthReply,
  HistoryReply,
  LeasesReply,
  WRITE_ROUTES,
  type GetRoute,
} from '../../controller/api/contract.js';
import { exact } from '../../controller/api/reply.js';
import { copyExample, waitFor } from '../helpers/tmp.js';
import { FakeSwitch } from './fake-switch.js';

const ADMIN = { authorization: 'Bearer admin-secret-1' };
const OTHER = { authorization: 'Bearer other-secret-2' };
const YAML = { 'content-type': 'text/yaml' };

/** A concrete URL for each route pattern (a real switch, version, rule and user of examples/basic). */
const URLS: Record<GetRoute, string> = {
  '/healthz': '/healthz',
  '/readyz': '/readyz',
  '/api/v1/status': '/api/v1/status',
  '/api/v1/switches': '/api/v1/switches',
  '/api/v1/switches/:dpid/flows': '/api/v1/switches/edge1/flows',
  '/api/v1/policy': '/api/v1/policy',
  '/api/v1/policy/history': '/api/v1/policy/history',
  '/api/v1/policy/versions': '/api/v1/policy/versions',
  '/api/v1/policy/versions/:v': '/api/v1/policy/versions/2',
  '/api/v1/policy/diff': '/api/v1/policy/diff?from=1&to=2',
  '/api/v1/pending': '/api/v1/pending',
  '/api/v1/explain': '/api/v1/explain?from=alice&to=payroll-db&service=tcp/5432',
  '/api/v1/matrix': '/api/v1/matrix',
  '/api/v1/directory': '/api/v1/directory',
  '/api/v1/sessions': '/api/v1/sessions',
  '/api/v1/leases': '/api/v1/leases',
  '/api/v1/vouchers': '/api/v1/vouchers',
  '/api/v1/cluster': '/api/v1/cluster',
  '/api/v1/rules/traffic': '/api/v1/rules/traffic',
  '/api/v1/rules/unused': '/api/v1/rules/unused?days=1',
  '/api/v1/rules/:name/traffic': '/api/v1/rules/finance-payroll/traffic',
  '/api/v1/users/:id/traffic': '/api/v1/users/alice/traffic',
  '/api/v1/traffic/matrix': '/api/v1/traffic/matrix',
  '/api/v1/denials': '/api/v1/denials',
  '/api/v1/policy/monitor': '/api/v1/policy/monitor',
  '/api/v1/why': '/api/v1/why?user=bob&resource=payroll-db&service=tcp/5432',
};

describe('API contract: real replies match their schemas', () => {
  let dir: string;
  let ctl: Controller;
  let app: FastifyInstance;
  let loose: FastifyInstance;
  let sw: FakeSwitch;

  beforeAll(async () => {
    dir = copyExample('basic');
    ctl = new Controller({ policyPath: join(dir, 'policy.yaml'), listen: { host: '127.0.0.1', port: 0 } });
    const { port } = await ctl.start();
    const tokens = [
      { name: 'ann', token: 'admin-secret-1', role: 'admin' as const },
      { name: 'ben', token: 'other-secret-2', role: 'admin' as const },
    ];
    app = await buildApp(ctl, { tokens, auditLog: join(dir, 'audit.jsonl'), requireApproval: true, checkReplies: true });
    // the same routes without the reply check: what the serializer alone makes of the values
    loose = await buildApp(ctl, { tokens, checkReplies: false });
    // a test-only route whose handler breaks the contract (registered before the app is ready)
    app.get('/test/broken', { schema: { response: { 200: HealthReply } } }, async () => ({ ok: true, extra: 'not in the schema' }));
    app.get('/test/wrong-type', { schema: { response: { 200: HealthReply } } }, async () => ({ ok: 'yes' }));
    sw = new FakeSwitch({ dpid: 1n });
    await sw.connect(port);
    await waitFor('edge1 synced', () => ctl.switchStatus().find((s) => s.name === 'edge1')?.lastResult);
    // version 2 through the two-person rule (ann submits, ben approves), then one more pending change
    const text = readFileSync(join(dir, 'policy.yaml'), 'utf8');
    const sub = await app.inject({ method: 'POST', url: '/api/v1/policy', payload: text + '# v2\n', headers: { ...YAML, ...ADMIN } });
    expect(sub.statusCode, sub.body).toBe(202);
    const ok = await app.inject({ method: 'POST', url: `/api/v1/pending/${sub.json().pending.id}/approve`, headers: OTHER });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(
      (await app.inject({ method: 'POST', url: '/api/v1/policy', payload: text + '# v3\n', headers: { ...YAML, ...ADMIN } })).statusCode,
    ).toBe(202);
    // a guest voucher, so the list is not empty
    const v = await app.inject({ method: 'POST', url: '/api/v1/vouchers', payload: { validFor: '2h', note: 'contract' }, headers: ADMIN });
    expect(v.statusCode, v.body).toBe(201);
  });
  afterAll(async () => {
    sw?.close();
    await app?.close();
    await loose?.close();
    await ctl?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('every GET route answers 200 with a reply its schema accepts exactly (checked and unchecked app)', async () => {
    const checked: string[] = [];
    for (const [route, schema] of Object.entries(GET_ROUTES) as Array<[GetRoute, (typeof GET_ROUTES)[GetRoute]]>) {
      if (route === '/api/v1/cluster') continue; // not in cluster mode: 404 (below); the cluster tests run it with checking on
      for (const a of [app, loose]) {
        const r = await a.inject({ url: URLS[route], headers: ADMIN });
        expect(r.statusCode, `${route}: ${r.body}`).toBe(200);
        const body: unknown = r.json();
        const errors = [...Value.Errors(exact(schema), body)].map((e) => `${e.path}: ${e.message}`);
        expect(errors, route).toEqual([]);
      }
      checked.push(route);
    }
    expect(checked.length).toBe(Object.keys(GET_ROUTES).length - 1);
    // the replies are not trivially empty: the data set above shows up in them
    expect((await app.inject({ url: '/api/v1/policy/versions', headers: ADMIN })).json().versions.length).toBe(2);
    expect((await app.inject({ url: '/api/v1/pending', headers: ADMIN })).json().pending.length).toBe(1);
    expect((await app.inject({ url: '/api/v1/vouchers', headers: ADMIN })).json().vouchers).toEqual([
      expect.objectContaining({ note: 'contract', state: 'valid' }),
    ]);
    expect((await app.inject({ url: '/api/v1/switches/edge1/flows', headers: ADMIN })).json().installed.length).toBeGreaterThan(0);
  });

  it('a reply that does not match its schema is a 500 naming the difference (extra field, wrong type)', async () => {
    const extra = await app.inject({ url: '/test/broken' });
    expect(extra.statusCode).toBe(500);
    expect(extra.json()).toMatchObject({ code: 'internal', error: expect.stringMatching(/\/extra: Unexpected property/) });
    const wrong = await app.inject({ url: '/test/wrong-type' });
    expect(wrong.statusCode).toBe(500);
    expect(wrong.json().error).toMatch(/\/ok: Expected/);
  });

  it('error replies carry a stable code from the contract', async () => {
    const cases: Array<[InjectOptions, number, string]> = [
      [{ url: '/api/v1/cluster', headers: ADMIN }, 404, 'not-cluster'],
      [{ url: '/api/v1/switches/nope/flows', headers: ADMIN }, 404, 'not-found'],
      [{ url: '/api/v1/explain?from=alice', headers: ADMIN }, 400, 'bad-request'],
      [{ method: 'POST', url: '/api/v1/policy', payload: 'x: 1\n', headers: YAML }, 401, 'unauthorized'],
      [{ method: 'POST', url: '/api/v1/directory/confirm-shrink', headers: ADMIN }, 409, 'not-ldap'],
      [{ method: 'DELETE', url: '/api/v1/policy', headers: ADMIN }, 404, 'not-found'],
      [{ method: 'POST', url: '/api/v1/pending/nope/approve', headers: OTHER }, 404, 'not-found'],
      [{ method: 'DELETE', url: '/api/v1/vouchers/nope', headers: ADMIN }, 404, 'not-found'],
      [{ method: 'POST', url: '/api/v1/vouchers', payload: { validFor: 'forever' }, headers: ADMIN }, 400, 'bad-request'],
    ];
    for (const [req, status, code] of cases) {
      const r = await app.inject(req);
      expect(r.statusCode, r.body).toBe(status);
      expect(Value.Check(exact(ErrorReply), r.json()), r.body).toBe(true);
      expect(r.json().code).toBe(code);
    }
    // the submitter cannot approve their own change
    const pending = (await app.inject({ url: '/api/v1/pending', headers: ADMIN })).json().pending[0].id;
    const own = await app.inject({ method: 'POST', url: `/api/v1/pending/${pending}/approve`, headers: ADMIN });
    expect([own.statusCode, own.json().code]).toEqual([403, 'own-change']);
  });

  it("a refused change answers with its route's `refused` schema: the diagnostics (422, 409) or an error reply", async () => {
    const refused = exact(WRITE_ROUTES['POST /api/v1/policy'].refused);
    const cases: Array<[InjectOptions, number]> = [
      // not a policy: 422 with the diagnostics (through the two-person rule's preview)
      [{ method: 'POST', url: '/api/v1/policy', payload: 'x: 1\n', headers: { ...YAML, ...ADMIN } }, 422],
      // based on a version that is no longer running: 409 with the conflict as a diagnostic
      [{ method: 'POST', url: '/api/v1/policy?dryRun=true&baseVersion=1', payload: 'x: 1\n', headers: { ...YAML, ...ADMIN } }, 409],
      [{ method: 'POST', url: '/api/v1/policy/monitor', payload: 'x: 1\n', headers: { ...YAML, ...ADMIN } }, 422],
    ];
    for (const [req, status] of cases) {
      for (const a of [app, loose]) {
        const r = await a.inject(req);
        expect(r.statusCode, r.body).toBe(status);
        const body: unknown = r.json();
        expect([...Value.Errors(refused, body)].map((e) => `${e.path}: ${e.message}`)).toEqual([]);
        expect(body).toMatchObject({
          ok: false,
          diagnostics: expect.arrayContaining([expect.objectContaining({ severity: 'error' })]),
          errors: expect.arrayContaining([expect.any(String)]),
        });
      }
    }
    // an error reply is the other half of the refusal, and a body with neither shape is not a refusal
    const unauth = await app.inject({ method: 'POST', url: '/api/v1/policy', payload: 'x: 1\n', headers: YAML });
    expect(Value.Check(refused, unauth.json())).toBe(true);
    expect(Value.Check(refused, { ok: false, diagnostics: [], access: [], flows: [], dryRun: false })).toBe(false); // no errors
    expect(Value.Check(refused, { ok: true, diagnostics: [], access: [], flows: [], dryRun: false, errors: [] })).toBe(false);
  });

  it('the denials counters have fixed keys: an unknown one is dropped by the serializer and refused by the reply check', async () => {
    const counters = ctl.observe.denials.counters;
    const before = (await loose.inject({ url: '/api/v1/denials', headers: ADMIN })).json().counters;
    expect(Object.keys(before).sort()).toEqual(['byCode', 'decodeErrors', 'ignored', 'samples']);
    Object.assign(counters, { extra: 1 });
    Object.assign(counters.byCode, { 'short-ethernet': 2, 'no-such-code': 3 });
    try {
      const r = await loose.inject({ url: '/api/v1/denials', headers: ADMIN });
      expect(r.statusCode).toBe(200);
      expect(r.json().counters).toEqual({ ...before, byCode: { ...before.byCode, 'short-ethernet': 2 } });
      const checked = await app.inject({ url: '/api/v1/denials', headers: ADMIN });

      expect(checked.statusCode).toBe(500);
      expect(checked.json().error).toMatch(/\/counters\/extra: Unexpected property/);
      expect(Value.Check(exact(DenialsReply), { total: 0, denials: [], counters: { ...before, byCode: { 'no-such-code': 1 } } })).toBe(
        false,
      );
    } finally {
      Reflect.deleteProperty(counters, 'extra');
      Reflect.deleteProperty(counters.byCode, 'no-such-code');
      Reflect.deleteProperty(counters.byCode, 'short-ethernet');
    }
  });

  it('the leases counters have fixed keys: an unknown one is dropped by the serializer and refused by the reply check', async () => {
    const dhcp = ctl.firstContact.snooper.counters;
    const ipv6 = ctl.firstContact.ipv6.snooper.counters;
    const before = (await loose.inject({ url: '/api/v1/leases', headers: ADMIN })).json().dhcp;
    Object.assign(dhcp, { 'rogue-server': 2, 'client-offer': 1, 'no-such-reason': 3 });
    Object.assign(ipv6, { learned: 4, 'no-such-verdict': 5 });
    try {
      const r = await loose.inject({ url: '/api/v1/leases', headers: ADMIN });
      expect(r.statusCode).toBe(200);
      expect(r.json().dhcp).toEqual({
        ...before,
        counters: { ...before.counters, 'rogue-server': 2 },
        ipv6Counters: { ...before.ipv6Counters, learned: 4 },
      });
      const checked = await app.inject({ url: '/api/v1/leases', headers: ADMIN });
      expect(checked.statusCode).toBe(500);
      expect(checked.json().error).toMatch(/\/dhcp\/counters\/client-offer: Unexpected property/);
      expect(checked.json().error).toMatch(/\/dhcp\/ipv6Counters\/no-such-verdict: Unexpected property/);
    } finally {
      for (const k of ['rogue-server', 'client-offer', 'no-such-reason']) Reflect.deleteProperty(dhcp, k);
      for (const k of ['learned', 'no-such-verdict']) Reflect.deleteProperty(ipv6, k);
    }
    // the sign-in counters likewise (no sign-in page here: checked against the schema alone)
    const reply = { leases: [], dhcp: { counters: {}, ackToFlowsMs: { n: 0 } } };
    const signinToFlowsMs = { n: 0 };
    expect(Value.Check(exact(LeasesReply), { ...reply, signin: { counters: { accepted: 1 }, signinToFlowsMs } })).toBe(true);
    expect(Value.Check(exact(LeasesReply), { ...reply, signin: { counters: { 'no-such-outcome': 1 }, signinToFlowsMs } })).toBe(false);
  });

  it('history: audit entries keep their payload; a line that is not JSON or not an audited event is listed as unreadable', async () => {
    const log = join(dir, 'audit.jsonl');
    const entry = { type: 'voucher-revoked', at: '2026-01-01T00:00:00.000Z', voucher: 'v1', by: 'ann', sessionsEnded: 0 };
    appendFileSync(
      log,
      [
        JSON.stringify(entry),
        'not json',
        JSON.stringify({ type: 'switch-up', at: '2026-01-01T00:00:00.000Z', by: 'x', dpid: '0x1' }), // not an audited event
        JSON.stringify({ type: 'voucher-revoked', at: '2026-01-01T00:00:00.000Z', voucher: 'v2' }), // no `by`
      ].join('\n') + '\n',
    );
    // the app with the audit log, its replies checked
    {
      const r = await app.inject({ url: '/api/v1/policy/history', headers: ADMIN });
      expect(r.statusCode, r.body).toBe(200);
      const h = r.json();
      expect(Value.Check(exact(HistoryReply), h)).toBe(true);
      expect(h.slice(-4)).toEqual([
        entry,
        { corrupt: 'not json' },
        { corrupt: expect.stringContaining('"switch-up"') },
        { corrupt: expect.stringContaining('"v2"') },
      ]);
      expect(h.some((e: { type?: string }) => e.type === 'policy-applied')).toBe(true);
    }
    // the envelope is fixed: an unknown event type or an extra key beside `corrupt` is refused
    expect(Value.Check(exact(HistoryReply), [{ ...entry, type: 'no-such-event' }])).toBe(false);
    expect(Value.Check(exact(HistoryReply), [{ corrupt: 'x', extra: 1 }])).toBe(false);
  });

  it('exact() refuses unknown properties at every depth and leaves declared open objects open', () => {
    const s = Type.Object({ a: Type.Object({ b: Type.String() }), c: Type.Object({}, { additionalProperties: true }) });
    expect(Value.Check(exact(s), { a: { b: 'x' }, c: { z: 1 } })).toBe(true);
    expect(Value.Check(exact(s), { a: { b: 'x', y: 1 }, c: {} })).toBe(false);
    expect(Value.Check(s, { a: { b: 'x', y: 1 }, c: {} })).toBe(true);
    expect(API_ERROR_CODES).toContain('internal');
  });
});
