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

  it('lists a MAC held after a two-ports conflict; only an admin releases it, the release is audited and the MAC may log in again', async () => {
    const mac = '02:00:00:00:0e:77';
    const events: string[] = [];
    // the same MAC admitted at edge1:5, then edge1:6, then back at 5: on two ports at once → held (deny-both)
    const auth = ctl.edge.auth;
    const ev = (t: string) => events.push(t);
    expect(auth.sightings.admit(mac, 'edge1', 5, 'deny-both', ev)).toBe(false);
    expect(auth.sightings.admit(mac, 'edge1', 6, 'deny-both', ev)).toBe(false);
    expect(auth.sightings.admit(mac, 'edge1', 5, 'deny-both', ev)).toBe(true);
    expect(events).toEqual(['mac-conflict']);
    // held: refused on every port
    expect(auth.sightings.admit(mac, 'edge1', 6, 'deny-both', ev)).toBe(true);
    const list = await app.inject({ method: 'GET', url: '/api/v1/sessions', headers: READ });
    expect(list.json().holds).toEqual([{ mac, until: expect.any(String), source: ['dot1x'] }]);
    expect(Date.parse(list.json().holds[0].until)).toBeGreaterThan(Date.now());
    const url = `/api/v1/sessions/holds/${mac.toUpperCase().replace(/:/g, '-')}`;
    expect((await app.inject({ method: 'DELETE', url, headers: READ })).statusCode).toBe(403);
    expect((await app.inject({ method: 'DELETE', url })).statusCode).toBe(401);
    expect((await app.inject({ method: 'DELETE', url: '/api/v1/sessions/holds/not-a-mac', headers: ADMIN })).statusCode).toBe(400);
    expect((await app.inject({ method: 'DELETE', url: '/api/v1/sessions/holds/02:00:00:00:0e:78', headers: ADMIN })).statusCode).toBe(404);
    expect(auth.sightings.held(mac)).toBe(true);
    const rel = await app.inject({ method: 'DELETE', url, headers: ADMIN });
    expect(rel.statusCode).toBe(200);
    expect(rel.json()).toEqual({ released: { mac, until: expect.any(String), source: ['dot1x'] }, by: 'admin' });
    expect((await app.inject({ method: 'GET', url: '/api/v1/sessions', headers: READ })).json().holds).toEqual([]);
    // released: a login is admitted again, as a first sighting (not a conflict)
    expect(auth.sightings.admit(mac, 'edge1', 6, 'deny-both', ev)).toBe(false);
    expect(events).toEqual(['mac-conflict']);
    // a second release finds nothing to release
    expect((await app.inject({ method: 'DELETE', url, headers: ADMIN })).statusCode).toBe(404);
    await waitFor('audit', () => readFileSync(join(dir, 'audit.jsonl'), 'utf8').includes('mac-hold-released'));
    const line = readFileSync(join(dir, 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .find((l) => l.type === 'mac-hold-released');
    expect(line).toMatchObject({ mac, by: 'admin', source: ['dot1x'] });
  });
});
