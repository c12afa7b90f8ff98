/**
 * Policy lifecycle through the REST API (app.inject, an in-memory switch): two-person approval, rollback with a
 * byte-identical plan, version history and diff, lint for the editor, and time windows driven by an injected clock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Controller } from '../../controller/controller.js';
import { buildApp } from '../../controller/api.js';
import { ManualClock } from '../../controller/scheduler.js';
import { planHash } from '../../controller/lifecycle-api.js';
import { copyExample, waitFor } from '../helpers/tmp.js';
import { FakeSwitch } from './fake-switch.js';

const A = { authorization: 'Bearer alice-admin-token' };
const B = { authorization: 'Bearer bob-admin-token-2' };
const R = { authorization: 'Bearer reader-token-3' };
const YAML = { 'content-type': 'text/yaml' };
const TOKENS = [
  { name: 'alice', token: 'alice-admin-token', role: 'admin' as const },
  { name: 'bob', token: 'bob-admin-token-2', role: 'admin' as const },
  { name: 'reader', token: 'reader-token-3', role: 'read' as const },
];
const T = (s: string) => Date.parse(s);
const installed = (sw: FakeSwitch) =>
  [...sw.flows.values()]
    .map(
      (f) =>
        `${f.tableId}/${f.priority}/${f.cookie.toString(16)}/${JSON.stringify(f.match, (_, v) => (typeof v === 'bigint' ? v.toString(16) : v))}/${f.hardTimeout}`,
    )
    .sort();
const audit = (dir: string) =>
  readFileSync(join(dir, 'audit.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

describe('two-person approval and rollback', () => {
  let dir: string, ctl: Controller, app: FastifyInstance, sw: FakeSwitch, clock: ManualClock, v1Text: string, v1Flows: string[];
  beforeAll(async () => {
    dir = copyExample('basic');
    v1Text = readFileSync(join(dir, 'policy.yaml'), 'utf8');
    clock = new ManualClock(T('2026-12-25T10:00:00Z'));
    ctl = new Controller({ policyPath: join(dir, 'policy.yaml'), listen: { host: '127.0.0.1', port: 0 }, clock });
    const { port } = await ctl.start();
    app = await buildApp(ctl, { tokens: TOKENS, auditLog: join(dir, 'audit.jsonl'), requireApproval: true, approvalTtlMs: 3600_000 });
    sw = new FakeSwitch({ dpid: 16n });
    await sw.connect(port);
    await waitFor('hv1 synced', () => ctl.switchStatus().find((s) => s.name === 'hv1')?.lastResult);
    v1Flows = installed(sw);
  });
  afterAll(async () => {
    sw?.close();
    await app?.close();
    await ctl?.stop();
  });

  const v2Text = () =>
    v1Text.replace('from: { organizations: [finance] }, to: payroll-db', 'from: { organizations: [corp] }, to: payroll-db');

  it('a change by A is pending with its preview; A cannot approve it; B approves and it applies', async () => {
    const sub = await app.inject({ method: 'POST', url: '/api/v1/policy', headers: { ...A, ...YAML }, payload: v2Text() });
    expect(sub.statusCode).toBe(202);
    const p = sub.json().pending;
    expect(p).toMatchObject({ kind: 'policy', by: 'alice', baseVersion: 1 });
    expect(p.access).toContainEqual(expect.objectContaining({ subject: 'bob', resource: 'payroll-db', change: 'gain' }));
    expect(p.flows.some((f: { added: number }) => f.added > 0)).toBe(true);
    expect(ctl.version).toBe(1); // nothing applied yet
    expect(installed(sw)).toEqual(v1Flows);

    const list = await app.inject({ url: '/api/v1/pending', headers: R });
    expect(list.json().pending.map((x: { id: string }) => x.id)).toEqual([p.id]);

    const own = await app.inject({ method: 'POST', url: `/api/v1/pending/${p.id}/approve`, headers: A });
    expect(own.statusCode).toBe(403);
    expect(own.json().code).toBe('own-change');
    expect((await app.inject({ method: 'POST', url: `/api/v1/pending/${p.id}/approve`, headers: R })).statusCode).toBe(403);
    expect((await app.inject({ method: 'POST', url: `/api/v1/pending/${p.id}/approve`, remoteAddress: '10.1.1.1' })).statusCode).toBe(401);
    expect(ctl.version).toBe(1);

    const ok = await app.inject({ method: 'POST', url: `/api/v1/pending/${p.id}/approve`, headers: B });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().version).toBe(2);
    expect(ctl.loaded.policyText).toBe(v2Text());
    await waitFor('hv1 has the new flows', () => installed(sw).join() !== v1Flows.join());
    const log = await waitFor('audit written', () => {
      const l = audit(dir);
      return l.some((e) => e.type === 'policy-applied') && l.some((e) => e.type === 'policy-approved') ? l : undefined;
    });
    expect(log.map((e) => e.type)).toEqual(
      expect.arrayContaining(['policy-pending', 'approval-refused', 'policy-approved', 'policy-applied']),
    );
    expect(log.find((e) => e.type === 'policy-applied')).toMatchObject({
      version: 2,
      by: 'alice',
      approvedBy: 'bob',
      reason: 'apply',
      text: v2Text(),
    });
    expect((await app.inject({ url: '/api/v1/pending', headers: R })).json().pending).toEqual([]);
  });

  it('history keeps every version with its text and plan hash; diff between two versions', async () => {
    const h = (await app.inject({ url: '/api/v1/policy/versions', headers: R })).json();
    expect(h.versions.map((v: { version: number; reason: string }) => [v.version, v.reason])).toEqual([
      [1, 'load'],
      [2, 'apply'],
    ]);
    expect((await app.inject({ url: '/api/v1/policy/versions/1', headers: R })).json().text).toBe(v1Text);
    const d = (await app.inject({ url: '/api/v1/policy/diff?from=1&to=2', headers: R })).json();
    expect(d.access.filter((x: { change: string }) => x.change === 'gain').map((x: { subject: string }) => x.subject)).toContain('bob');
    expect((await app.inject({ url: '/api/v1/policy/diff?from=1&to=9', headers: R })).statusCode).toBe(404);
  });

  it('rollback to version 1: same preview and approval rule, then the plan is byte-identical to version 1', async () => {
    const v1Hash = (await app.inject({ url: '/api/v1/policy/versions', headers: R })).json().versions[0].planHash;
    const dry = await app.inject({ method: 'POST', url: '/api/v1/policy/rollback', headers: A, payload: { version: 1, dryRun: true } });
    expect(dry.statusCode).toBe(200);
    expect(dry.json().access).toContainEqual(expect.objectContaining({ subject: 'bob', resource: 'payroll-db', change: 'lose' }));
    const sub = await app.inject({ method: 'POST', url: '/api/v1/policy/rollback', headers: A, payload: { version: 1 } });
    expect(sub.statusCode).toBe(202);
    const p = sub.json().pending;
    expect(p).toMatchObject({ kind: 'rollback', rollbackTo: 1, by: 'alice' });
    expect((await app.inject({ method: 'POST', url: `/api/v1/pending/${p.id}/approve`, headers: A })).statusCode).toBe(403);
    const ok = await app.inject({ method: 'POST', url: `/api/v1/pending/${p.id}/approve`, headers: B });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().version).toBe(3);
    expect(ok.json().planHash).toBe(v1Hash);
    expect(planHash(ctl.compiled.plan)).toBe(v1Hash);
    expect(ctl.loaded.policyText).toBe(v1Text);
    await waitFor('hv1 back to version 1 flows', () => installed(sw).join() === v1Flows.join());
    const v3 = (await app.inject({ url: '/api/v1/policy/versions', headers: R })).json().versions.at(-1);
    expect(v3).toMatchObject({ version: 3, reason: 'rollback', rollbackTo: 1, by: 'alice', approvedBy: 'bob', planHash: v1Hash });
  });

  it('pending changes expire (by the controller clock) and cannot be approved after', async () => {
    const sub = await app.inject({ method: 'POST', url: '/api/v1/policy', headers: { ...B, ...YAML }, payload: v2Text() });
    const id = sub.json().pending.id;
    clock.advance(3600_000 + 1);
    expect((await app.inject({ url: '/api/v1/pending', headers: R })).json().pending).toEqual([]);
    const late = await app.inject({ method: 'POST', url: `/api/v1/pending/${id}/approve`, headers: A });
    expect(late.statusCode).toBe(404);
    expect(ctl.version).toBe(3);
    await waitFor('expiry audited', () => audit(dir).some((e) => e.type === 'policy-expired' && e.id === id));
  });

  it('a pending change whose base moved is refused (stale preview), and one can be rejected', async () => {
    const first = (await app.inject({ method: 'POST', url: '/api/v1/policy', headers: { ...A, ...YAML }, payload: v2Text() })).json()
      .pending.id;
    const second = (
      await app.inject({
        method: 'POST',
        url: '/api/v1/policy',
        headers: { ...A, ...YAML },
        payload: v2Text().replace('version: 1', '# again\nversion: 1'),
      })
    ).json().pending.id;
    expect((await app.inject({ method: 'POST', url: `/api/v1/pending/${first}/approve`, headers: B })).statusCode).toBe(200);
    const stale = await app.inject({ method: 'POST', url: `/api/v1/pending/${second}/approve`, headers: B });
    expect(stale.statusCode).toBe(409);
    expect(stale.json().code).toBe('stale');
    const third = (await app.inject({ method: 'POST', url: '/api/v1/policy', headers: { ...A, ...YAML }, payload: v1Text })).json().pending
      .id;
    expect((await app.inject({ method: 'POST', url: `/api/v1/pending/${third}/reject`, headers: A })).statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: `/api/v1/pending/${third}/approve`, headers: B })).statusCode).toBe(404);
  });

  it('lint of an edited text, for the console editor: findings at their lines', async () => {
    const text = v1Text.replace(
      'default: deny',
      '  - { name: contractors-payroll, from: { roles: [contractor] }, to: payroll-db }\ndefault: deny',
    );
    const r = await app.inject({ method: 'POST', url: '/api/v1/policy/lint', headers: R, payload: { text } });
    expect(r.statusCode).toBe(200);
    const line = text.split('\n').findIndex((l) => l.includes('name: contractors-payroll')) + 1;
    expect(r.json().findings).toContainEqual(
      expect.objectContaining({ code: 'rule-shadowed', rule: 'contractors-payroll', location: expect.objectContaining({ line }) }),
    );
  });
});

describe('time windows with an injected clock', () => {
  let dir: string, ctl: Controller, app: FastifyInstance, sw: FakeSwitch, clock: ManualClock;
  beforeAll(async () => {
    dir = copyExample('basic');
    const file = join(dir, 'policy.yaml');
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace(
        'default: deny',
        '  - name: bob-payroll-office-hours\n    from: { users: [bob] }\n    to: payroll-db\n    when: { days: [mon-fri], hours: "08:00-18:30", timezone: Europe/Berlin }\ndefault: deny',
      ),
    );
    clock = new ManualClock(T('2026-12-25T06:59:00Z')); // Friday 07:59 in Berlin
    ctl = new Controller({ policyPath: file, listen: { host: '127.0.0.1', port: 0 }, clock });
    const { port } = await ctl.start();
    app = await buildApp(ctl, { tokens: TOKENS, auditLog: join(dir, 'audit.jsonl') });
    sw = new FakeSwitch({ dpid: 1n, now: () => clock.now() }); // flows age by the controller's clock
    await sw.connect(port);
    await waitFor('edge1 synced', () => ctl.switchStatus().find((s) => s.name === 'edge1')?.lastResult);
  });
  afterAll(async () => {
    sw?.close();
    await app?.close();
    await ctl?.stop();
  });

  const bobToDb = () =>
    [...sw.flows.values()].filter(
      (f) => f.tableId === 2 && f.match.some((m) => m.field === 'tcp_dst' && m.value === 5432) && f.hardTimeout > 0,
    );

  it('the grant appears at the window start with a hard_timeout to its end, and goes at the end', async () => {
    expect(ctl.scheduler?.next).toBe(T('2026-12-25T07:00:00Z'));
    expect(bobToDb()).toEqual([]);
    clock.set(T('2026-12-25T07:00:00Z'));
    await waitFor('grant installed', () => bobToDb().length > 0);
    expect(bobToDb().every((f) => f.hardTimeout === 10.5 * 3600)).toBe(true);
    expect(ctl.version).toBe(2);
    // the refresh 6 h later reads the switch back and sends nothing: its flows still leave at 17:30 (no new version)
    expect(ctl.scheduler?.next).toBe(T('2026-12-25T13:00:00Z'));
    const sent = sw.applied.length;
    clock.set(T('2026-12-25T13:00:00Z'));
    await waitFor('the refresh done (it arms the window end next)', () => ctl.scheduler?.next === T('2026-12-25T17:30:00Z'));
    expect(sw.applied.length).toBe(sent);
    expect(bobToDb().every((f) => f.hardTimeout === 10.5 * 3600)).toBe(true);
    clock.set(T('2026-12-25T17:30:00Z'));
    await waitFor('grant removed', () => bobToDb().length === 0 && ctl.version === 3);
    await waitFor('next wake', () => ctl.scheduler?.next === T('2026-12-25T23:30:00Z')); // the 6 h refresh comes before Monday 08:00 Berlin
    const log = await waitFor('audit written', () => {
      const l = audit(dir).filter((e) => e.type === 'policy-applied');
      return l.length === 2 ? l : undefined;
    });
    expect(log.map((e) => [e.version, e.by, e.reason, e.effectiveAt])).toEqual([
      [2, 'schedule', 'schedule', '2026-12-25T07:00:00.000Z'],
      [3, 'schedule', 'schedule', '2026-12-25T17:30:00.000Z'],
    ]);
    expect(log[0].access).toContainEqual(expect.objectContaining({ subject: 'bob', resource: 'payroll-db', change: 'gain' }));
  });
});
