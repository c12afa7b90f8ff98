/**
 * A whole policy version in monitor mode, through the API: the enforced version stays, the switches get the
 * sampling of allowed connections, a sample the candidate would deny becomes a would-deny entry naming the candidate
 * (user, port, resource, service), what the candidate allows or the enforced policy denies is not logged, the audit
 * log records entering and leaving, and promoting it is one apply. Entering it needs an admin and, with
 * --require-approval, a second admin, exactly like an apply.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Controller } from '../../controller/controller.js';
import { buildApp } from '../../controller/api.js';
import { decide, TABLE } from '../../compiler/index.js';
import type { SwitchSession } from '../../controller/session.js';
import type { MessageOf } from '../../openflow/index.js';
import { copyExample, waitFor } from '../helpers/tmp.js';
import { frame } from '../helpers/frames.js';
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
const MAC = { alice: '02:00:00:00:01:01', bob: '02:00:00:00:01:02', carol: '02:00:00:00:01:03' };
const IP = { alice: '10.0.1.1', bob: '10.0.1.2', carol: '10.0.1.3', web1: '10.0.2.2', db: '10.0.2.10' };
const audit = (dir: string) =>
  readFileSync(join(dir, 'audit.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; name?: string; reason?: string; by?: string; approvedBy?: string });

/** The intranet narrows from employees to managers: bob (employee) would lose it, alice (manager) keeps it. */
const candidateOf = (v1: string) => v1.replace('from: { roles: [employee] }, to: intranet', 'from: { roles: [manager] }, to: intranet');

/** A would-deny sample from edge1's table 4, as the switch sends it. */
function sample(ctl: Controller, who: 'alice' | 'bob' | 'carol', dst: string, dport: number): boolean {
  const sp = ctl.compiled.plan.switches.find((s) => s.name === 'edge1')!;
  const cookie = sp.flows.find((f) => f.tableId === TABLE.monitor)?.cookie;
  if (cookie === undefined) throw new Error('edge1 has no monitor table flow');
  const session = { state: 'ready', dpid: sp.dpid } as unknown as SwitchSession;
  const port = { alice: 1, bob: 2, carol: 4 }[who];
  const data = frame({ src: MAC[who], ipSrc: IP[who], ipDst: dst, proto: 'tcp', dport });
  const m = { type: 'packet_in', cookie, tableId: TABLE.monitor, match: [{ field: 'in_port', value: port }], data };
  return ctl.observe.onPacketIn(session, m as unknown as MessageOf<'packet_in'>);
}

describe('a policy version in monitor mode (API)', () => {
  let dir: string, ctl: Controller, app: FastifyInstance, sw: FakeSwitch, v1: string;
  beforeAll(async () => {
    dir = copyExample('basic');
    v1 = readFileSync(join(dir, 'policy.yaml'), 'utf8');
    ctl = new Controller({ policyPath: join(dir, 'policy.yaml'), listen: { host: '127.0.0.1', port: 0 } });
    const { port } = await ctl.start();
    app = await buildApp(ctl, { tokens: TOKENS, auditLog: join(dir, 'audit.jsonl') });
    sw = new FakeSwitch({ dpid: 1n });
    await sw.connect(port);
    await waitFor('edge1 synced', () => ctl.switchStatus().find((s) => s.name === 'edge1')?.lastResult);
  });
  afterAll(async () => {
    sw?.close();
    await app?.close();
    await ctl?.stop();
  });

  it('a reader cannot enter monitor mode; an invalid candidate is refused with its line; nothing changes', async () => {
    expect(
      (await app.inject({ method: 'POST', url: '/api/v1/policy/monitor', headers: { ...R, ...YAML }, payload: candidateOf(v1) }))
        .statusCode,
    ).toBe(403);
    const bad = await app.inject({
      method: 'POST',
      url: '/api/v1/policy/monitor',
      headers: { ...A, ...YAML },
      payload: v1.replace('to: intranet', 'to: nowhere'),
    });
    expect(bad.statusCode).toBe(422);
    expect(bad.json().errors.join('\n')).toMatch(/nowhere/);
    expect(ctl.monitorMode.current).toBeUndefined();
    expect(ctl.compiled.input.sampleAllowed).toBeFalsy();
  });

  it('entering: the enforced version stays, the switch gets the sampling flows, the audit log says who', async () => {
    const before = ctl.version;
    const r = await app.inject({ method: 'POST', url: '/api/v1/policy/monitor', headers: { ...A, ...YAML }, payload: candidateOf(v1) });
    expect(r.statusCode, r.body).toBe(200);
    const name: string = r.json().monitor.name;
    expect(name).toMatch(/^candidate for v1 /);
    expect(r.json().monitor.access).toContainEqual(expect.objectContaining({ subject: 'bob', resource: 'intranet', change: 'lose' }));
    expect(ctl.version).toBe(before);
    expect(ctl.loaded.policyText).toBe(v1);
    expect(ctl.compiled.input.sampleAllowed).toBe(true);
    // the fake switch now holds the monitor table's flow
    await waitFor('monitor flow on edge1', () => [...sw.flows.values()].some((f) => f.tableId === TABLE.monitor));
    await waitFor('audited', () => audit(dir).some((e) => e.type === 'policy-monitor-started'));
    expect(audit(dir).find((e) => e.type === 'policy-monitor-started')).toMatchObject({ name, by: 'alice' });
  });

  it('a sample the candidate would deny is a would-deny entry naming it; what it allows, or v1 denies, is not logged', async () => {
    const name = ctl.monitorMode.current!.name;
    expect(sample(ctl, 'bob', IP.web1, 80)).toBe(true);
    expect(sample(ctl, 'alice', IP.web1, 80)).toBe(true); // alice keeps the intranet
    expect(sample(ctl, 'carol', IP.db, 5432)).toBe(true); // v1 denies it: not a would-deny (a reply or a stray)
    const mine = ctl.observe.denials.query({ kind: 'would-deny' }).filter((d) => d.monitor === name);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ user: 'bob', switch: 'edge1', port: 2, resources: ['intranet'], service: 'tcp/80', rule: 'default' });
    expect(mine[0].reason).toContain(name);
    const st = await app.inject({ url: '/api/v1/policy/monitor', headers: R });
    expect(st.statusCode).toBe(200);
    expect(st.json()).toMatchObject({ active: true, monitor: { name, by: 'alice' } });
    expect(st.json().wouldCut).toEqual([expect.objectContaining({ user: 'bob', resources: ['intranet'], services: ['tcp/80'], count: 1 })]);
  });

  it('promote applies the candidate (one apply): version 2, sampling off, audit says promoted; bob is now denied', async () => {
    const r = await app.inject({ method: 'POST', url: '/api/v1/policy/monitor/promote', headers: B });
    expect(r.statusCode, r.body).toBe(200);
    expect(ctl.version).toBe(2);
    expect(ctl.loaded.policyText).toBe(candidateOf(v1));
    expect(ctl.monitorMode.current).toBeUndefined();
    expect(ctl.compiled.input.sampleAllowed).toBeFalsy();
    await waitFor('audited', () => audit(dir).some((e) => e.type === 'policy-monitor-stopped'));
    expect(audit(dir).find((e) => e.type === 'policy-monitor-stopped')).toMatchObject({ reason: 'promoted', by: 'bob' });
    await waitFor('monitor flow gone', () => ![...sw.flows.values()].some((f) => f.tableId === TABLE.monitor));
    expect(decide(ctl.compiled, 'bob', 'intranet', 'tcp/80').decision).toBe('deny');
    expect(decide(ctl.compiled, 'alice', 'intranet', 'tcp/80').decision).toBe('allow');
    expect((await app.inject({ method: 'POST', url: '/api/v1/policy/monitor/promote', headers: B })).statusCode).toBe(404);
  });

  it('leaving without applying: DELETE stops it, the plan is the enforced one again', async () => {
    const plain = ctl.compiled.plan.switches.map((s) => s.flows.map((f) => f.cookie));
    expect((await app.inject({ method: 'POST', url: '/api/v1/policy/monitor', headers: { ...A, ...YAML }, payload: v1 })).statusCode).toBe(
      200,
    );
    const d = await app.inject({ method: 'DELETE', url: '/api/v1/policy/monitor', headers: A });
    expect(d.json()).toMatchObject({ ok: true, stopped: expect.stringMatching(/^candidate for v2 /) });
    expect(ctl.compiled.plan.switches.map((s) => s.flows.map((f) => f.cookie))).toEqual(plain);
    expect((await app.inject({ method: 'DELETE', url: '/api/v1/policy/monitor', headers: A })).json()).toEqual({ ok: true, stopped: null });
  });
});

describe('monitor mode under the two-person rule', () => {
  let dir: string, ctl: Controller, app: FastifyInstance, v1: string;
  beforeAll(async () => {
    dir = copyExample('basic');
    v1 = readFileSync(join(dir, 'policy.yaml'), 'utf8');
    ctl = new Controller({ policyPath: join(dir, 'policy.yaml'), listen: { host: '127.0.0.1', port: 0 } });
    await ctl.start();
    app = await buildApp(ctl, { tokens: TOKENS, auditLog: join(dir, 'audit.jsonl'), requireApproval: true, approvalTtlMs: 3600_000 });
  });
  afterAll(async () => {
    await app?.close();
    await ctl?.stop();
  });

  it('entering is a pending change: not monitored until a different admin approves it', async () => {
    const r = await app.inject({ method: 'POST', url: '/api/v1/policy/monitor', headers: { ...A, ...YAML }, payload: candidateOf(v1) });
    expect(r.statusCode, r.body).toBe(202);
    const id: string = r.json().pending.id;
    expect(r.json().pending.kind).toBe('monitor');
    expect(ctl.monitorMode.current).toBeUndefined();
    expect(ctl.compiled.input.sampleAllowed).toBeFalsy();
    expect((await app.inject({ method: 'POST', url: `/api/v1/pending/${id}/approve`, headers: A })).statusCode).toBe(403);
    expect(ctl.monitorMode.current).toBeUndefined();
    const ok = await app.inject({ method: 'POST', url: `/api/v1/pending/${id}/approve`, headers: B });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ctl.monitorMode.current).toMatchObject({ by: 'alice', approvedBy: 'bob' });
    expect(ctl.version).toBe(1);
    expect(ctl.loaded.policyText).toBe(v1);
  });

  it('promoting is an apply: pending again under the two-person rule', async () => {
    const r = await app.inject({ method: 'POST', url: '/api/v1/policy/monitor/promote', headers: A });
    expect(r.statusCode, r.body).toBe(202);
    expect(ctl.version).toBe(1);
    expect(ctl.monitorMode.current).toBeDefined();
  });
});

describe('monitor mode across a controller restart (state file)', () => {
  const started: Array<{ ctl: Controller; app: FastifyInstance }> = [];
  afterAll(async () => {
    for (const s of started) {
      await s.app.close();
      await s.ctl.stop();
    }
  });
  const boot = async (dir: string) => {
    const ctl = new Controller({
      policyPath: join(dir, 'policy.yaml'),
      listen: { host: '127.0.0.1', port: 0 },
      stateFile: join(dir, 'state.json'),
    });
    await ctl.start();
    const app = await buildApp(ctl, { tokens: TOKENS, auditLog: join(dir, 'audit.jsonl') });
    started.push({ ctl, app });
    return { ctl, app };
  };
  const halt = async (s: { ctl: Controller; app: FastifyInstance }) => {
    await s.app.close();
    await s.ctl.stop();
    started.splice(started.indexOf(s), 1);
  };

  it('the monitored version is monitored again after a restart, as it was (who, since, its name); the enforced policy is unchanged', async () => {
    const dir = copyExample('basic');
    const v1 = readFileSync(join(dir, 'policy.yaml'), 'utf8');
    const first = await boot(dir);
    const r = await first.app.inject({
      method: 'POST',
      url: '/api/v1/policy/monitor',
      headers: { ...A, ...YAML },
      payload: candidateOf(v1),
    });
    expect(r.statusCode, r.body).toBe(200);
    const before = first.ctl.monitorMode.current!;
    await halt(first);

    const second = await boot(dir);
    await waitFor('monitor mode restored', () => second.ctl.monitorMode.current);
    expect(second.ctl.monitorMode.current).toMatchObject({
      name: before.name,
      by: 'alice',
      since: before.since,
      textSha256: before.textSha256,
      baseVersion: before.baseVersion,
    });
    expect(second.ctl.version).toBe(before.baseVersion);
    expect(second.ctl.loaded.policyText).toBe(v1);
    await waitFor('sampling of allowed connections on again', () => second.ctl.compiled.input.sampleAllowed === true);
    // stopping is remembered too: the next start monitors nothing
    expect((await second.app.inject({ method: 'DELETE', url: '/api/v1/policy/monitor', headers: A })).statusCode).toBe(200);
    await halt(second);
    const third = await boot(dir);
    await new Promise((res) => setTimeout(res, 300));
    expect(third.ctl.monitorMode.current).toBeUndefined();
    expect(third.ctl.compiled.input.sampleAllowed).toBeFalsy();
    await halt(third);
  });

  it('not when the enforced policy changed while the controller was down: the stop is recorded instead', async () => {
    const dir = copyExample('basic');
    const v1 = readFileSync(join(dir, 'policy.yaml'), 'utf8');
    const first = await boot(dir);
    expect(
      (await first.app.inject({ method: 'POST', url: '/api/v1/policy/monitor', headers: { ...A, ...YAML }, payload: candidateOf(v1) }))
        .statusCode,
    ).toBe(200);
    const name = first.ctl.monitorMode.current!.name;
    await halt(first);
    // someone edits the policy file by hand while the controller is down
    writeFileSync(
      join(dir, 'policy.yaml'),
      v1.replace('default: deny', '  - { name: extra, from: { users: [carol] }, to: intranet }\ndefault: deny'),
    );
    const second = await boot(dir);
    await waitFor('the stop audited', () => audit(dir).some((e) => e.type === 'policy-monitor-stopped' && e.by === 'startup'));
    expect(audit(dir).find((e) => e.type === 'policy-monitor-stopped' && e.by === 'startup')).toMatchObject({ name, reason: 'replaced' });
    expect(second.ctl.monitorMode.current).toBeUndefined();
    expect(second.ctl.compiled.input.sampleAllowed).toBeFalsy();
  });
});
