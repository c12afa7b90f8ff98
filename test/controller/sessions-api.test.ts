/** Sessions through the REST API: list, end (admin only), metrics, audit lines, events. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Controller } from '../../controller/controller.js';
import { buildApp } from '../../controller/api.js';
import { copyExample, waitFor } from '../helpers/tmp.js';
import { FakeSwitch } from './fake-switch.js';

const ADMIN = { authorization: 'Bearer admin-secret-1' };
const READ = { authorization: 'Bearer read-secret-1' };

describe('sessions API', () => {
  let ctl: Controller, app: FastifyInstance, sw: FakeSwitch, dir: string;
  beforeAll(async () => {
    dir = copyExample('basic');
    ctl = new Controller({ policyPath: join(dir, 'policy.yaml'), listen: { host: '127.0.0.1', port: 0 } });
    const { port } = await ctl.start();
    app = await buildApp(ctl, { adminToken: 'admin-secret-1', readToken: 'read-secret-1', auditLog: join(dir, 'audit.jsonl') });
    sw = new FakeSwitch({ dpid: 1n });
    await sw.connect(port);
    await waitFor('synced', () => ctl.switchStatus().find((s) => s.name === 'edge1')?.lastResult);
  });
  afterAll(async () => {
    sw?.close();
    await app?.close();
    await ctl?.stop();
  });

  it('lists sessions, ends one only with an admin token, counts them in metrics and writes the audit log', async () => {
    const r = ctl.edge.sessions.add(
      { mac: '02:00:00:00:0e:01', switch: 'edge1', port: 5, method: 'dot1x', user: 'bob', ip: '10.0.1.50' },
      'radius:test',
    );
    if (!r.ok) throw new Error(r.message);
    await ctl.edge.settled();
    const list = await app.inject({ method: 'GET', url: '/api/v1/sessions', headers: READ });
    expect(list.statusCode).toBe(200);
    expect(list.json().sessions).toEqual([
      expect.objectContaining({
        id: r.session.id,
        user: 'bob',
        mac: '02:00:00:00:0e:01',
        switch: 'edge1',
        port: 5,
        method: 'dot1x',
        active: true,
      }),
    ]);
    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/acl_sessions\{method="dot1x"\} 1/);
    expect((await app.inject({ method: 'DELETE', url: `/api/v1/sessions/${r.session.id}`, headers: READ })).statusCode).toBe(403);
    expect((await app.inject({ method: 'DELETE', url: '/api/v1/sessions/nope', headers: ADMIN })).statusCode).toBe(404);
    expect((await app.inject({ method: 'DELETE', url: '/api/v1/sessions/..%2F..', headers: ADMIN })).statusCode).toBe(400);
    const del = await app.inject({ method: 'DELETE', url: `/api/v1/sessions/${r.session.id}`, headers: ADMIN });
    expect(del.statusCode).toBe(200);
    expect(ctl.edge.sessions.size).toBe(0);
    // flows gone by the time the DELETE answers
    expect([...sw.flows.values()].some((f) => f.match.some((m) => m.field === 'eth_src' && m.value === '02:00:00:00:0e:01'))).toBe(false);
    await waitFor(
      'audit',
      () => {
        try {
          return readFileSync(join(dir, 'audit.jsonl'), 'utf8').includes('session-ended');
        } catch {
          return false;
        }
      },
      3000,
    );
    const lines = readFileSync(join(dir, 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.type.startsWith('session-')).map((l) => [l.type, l.by, l.reason])).toEqual([
      ['session-started', 'radius:test', undefined],
      ['session-ended', 'admin', 'admin'],
    ]);
  });
});
