/**
 * Hostile input to the lifecycle routes and to time conditions: forged and own tokens on approval, expired and
 * made-up pending ids, rollback to versions that do not exist, huge or malformed when/until values, bad zones.
 * Every refusal leaves the applied policy (and version) as it was.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Controller } from '../../controller/controller.js';
import { buildApp } from '../../controller/api.js';
import { ManualClock } from '../../controller/scheduler.js';
import { copyExample } from '../helpers/tmp.js';

const A = { authorization: 'Bearer alice-admin-token' };
const B = { authorization: 'Bearer bob-admin-token-2' };
const YAML = { 'content-type': 'text/yaml' };
const TOKENS = [
  { name: 'alice', token: 'alice-admin-token', role: 'admin' as const },
  { name: 'bob', token: 'bob-admin-token-2', role: 'admin' as const },
];

describe('lifecycle routes under hostile input', () => {
  let dir: string, ctl: Controller, app: FastifyInstance, clock: ManualClock, text: string;
  beforeAll(async () => {
    dir = copyExample('basic');
    text = readFileSync(join(dir, 'policy.yaml'), 'utf8');
    clock = new ManualClock(Date.parse('2026-12-25T10:00:00Z'));
    ctl = new Controller({ policyPath: join(dir, 'policy.yaml'), listen: { host: '127.0.0.1', port: 0 }, clock });
    await ctl.start();
    app = await buildApp(ctl, { tokens: TOKENS, requireApproval: true, approvalTtlMs: 60_000 });
  });
  afterAll(async () => {
    await app?.close();
    await ctl?.stop();
  });
  const unchanged = () => {
    expect(ctl.version).toBe(1);
    expect(ctl.loaded.policyText).toBe(text);
  };
  const changed = () => text.replace('roles: [employee] }, to: intranet', 'roles: [employee, contractor] }, to: intranet');

  it('approval with a forged token, a near-miss token, a token in the query, or none: 401, nothing applied', async () => {
    const id = (await app.inject({ method: 'POST', url: '/api/v1/policy', headers: { ...A, ...YAML }, payload: changed() })).json().pending
      .id;
    for (const headers of [
      { authorization: 'Bearer bob-admin-token-3' },
      { authorization: 'Bearer bob-admin-token-2 ' + 'x'.repeat(10) },
      { authorization: 'Basic Ym9iOmJvYg==' },
      {},
    ]) {
      const r = await app.inject({ method: 'POST', url: `/api/v1/pending/${id}/approve`, headers, remoteAddress: '10.0.0.9' });
      expect([401, 403]).toContain(r.statusCode);
    }
    expect(
      (await app.inject({ method: 'POST', url: `/api/v1/pending/${id}/approve?token=bob-admin-token-2`, remoteAddress: '10.0.0.9' }))
        .statusCode,
    ).toBe(401);
    unchanged();
    // the submitter, whatever the route or case of the id
    expect((await app.inject({ method: 'POST', url: `/api/v1/pending/${id}/approve`, headers: A })).statusCode).toBe(403);
    expect((await app.inject({ method: 'POST', url: `/api/v1/pending/${id.toUpperCase()}x/approve`, headers: B })).statusCode).toBe(404);
    unchanged();
    expect((await app.inject({ method: 'POST', url: `/api/v1/pending/${id}/reject`, headers: B })).statusCode).toBe(200);
  });

  it('made-up, oversized and path-like pending ids are refused by the schema or not found', async () => {
    for (const id of ['..%2F..%2Fetc', 'x'.repeat(65), '%00', 'a b', '<script>']) {
      const r = await app.inject({ method: 'POST', url: `/api/v1/pending/${id}/approve`, headers: B });
      expect([400, 404]).toContain(r.statusCode);
    }
    unchanged();
  });

  it('an expired pending change cannot be approved', async () => {
    const id = (await app.inject({ method: 'POST', url: '/api/v1/policy', headers: { ...A, ...YAML }, payload: changed() })).json().pending
      .id;
    clock.advance(60_001);
    const r = await app.inject({ method: 'POST', url: `/api/v1/pending/${id}/approve`, headers: B });
    expect(r.statusCode).toBe(404);
    unchanged();
  });

  it('rollback to a version that does not exist, with a bad body, or by a non-admin', async () => {
    for (const payload of [{ version: 99 }, { version: -1 }, { version: 1e12 }, { version: '1; rm -rf /' }, {}, { version: 1.5 }]) {
      const r = await app.inject({ method: 'POST', url: '/api/v1/policy/rollback', headers: A, payload });
      expect([400, 404]).toContain(r.statusCode);
    }
    expect(
      (await app.inject({ method: 'POST', url: '/api/v1/policy/rollback', payload: { version: 1 }, remoteAddress: '10.0.0.9' })).statusCode,
    ).toBe(401);
    expect((await app.inject({ url: '/api/v1/policy/diff?from=1&to=1e99', headers: A })).statusCode).toBe(400);
    unchanged();
  });

  it('huge or malformed when/until values and bad time zones are 422 with their line, nothing pending', async () => {
    const bad = [
      `until: "${'2'.repeat(20_000)}"`,
      'until: 2026-12-24T18:00:00',
      'until: 99999-12-24T18:00:00Z',
      'until: [1, 2, 3]',
      'when: { timezone: "Europe/Berlin\\u0000" }',
      'when: { timezone: Mars/Olympus_Mons }',
      `when: { timezone: "${'A/'.repeat(5000)}" }`,
      `when: { hours: "${'0'.repeat(20000)}" }`,
      `when: { days: [${Array(2000).fill('mon').join(',')}] }`,
      'when: { hours: "18:00-18:00" }',
      'when: { days: { mon: true } }',
      'start: 2027-01-01T00:00:00Z\n    until: 2026-01-01T00:00:00Z',
    ];
    for (const extra of bad) {
      const p = text.replace(
        'default: deny',
        `  - name: timed\n    from: { users: [alice] }\n    to: intranet\n    ${extra}\ndefault: deny`,
      );
      // what the hostile value costs, in CPU time of this process (the controller runs in it), not wall time: other
      // processes on a loaded machine do not count
      const c0 = process.cpuUsage();
      const r = await app.inject({ method: 'POST', url: '/api/v1/policy', headers: { ...A, ...YAML }, payload: p });
      const cpu = process.cpuUsage(c0);
      expect((cpu.user + cpu.system) / 1000, extra.slice(0, 60)).toBeLessThan(5000);
      expect(r.statusCode, extra.slice(0, 60)).toBe(422);
      const errs = r.json().diagnostics.filter((d: { severity: string }) => d.severity === 'error');
      expect(errs.length).toBeGreaterThan(0);
      expect(errs.every((d: { location?: { line: number } }) => (d.location?.line ?? 0) >= 10)).toBe(true);
      expect(JSON.stringify(r.json()).length).toBeLessThan(20_000); // the huge value is not echoed back
    }
    expect((await app.inject({ url: '/api/v1/pending', headers: A })).json().pending).toEqual([]);
    unchanged();
  });

  it('lint of a huge or broken text is refused or reported, never applied', async () => {
    expect(
      (await app.inject({ method: 'POST', url: '/api/v1/policy/lint', headers: A, payload: { text: 'x'.repeat(5 * 1024 * 1024) } }))
        .statusCode,
    ).toBeGreaterThanOrEqual(400);
    expect((await app.inject({ method: 'POST', url: '/api/v1/policy/lint', headers: A, payload: { text: '{{{' } })).statusCode).toBe(422);
    unchanged();
  });
});
