/** Guest vouchers through the REST API: admin only; the code is answered once and never listed; revoking ends the guests it admitted. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Controller } from '../../controller/controller.js';
import { buildApp } from '../../controller/api.js';
import { copyExample, waitFor } from '../helpers/tmp.js';

const ADMIN = { authorization: 'Bearer admin-secret-1' };
const READ = { authorization: 'Bearer read-secret-1' };

describe('vouchers API', () => {
  let ctl: Controller, app: FastifyInstance, dir: string;
  beforeAll(async () => {
    dir = copyExample('basic');
    ctl = new Controller({
      policyPath: join(dir, 'policy.yaml'),
      listen: { host: '127.0.0.1', port: 0 },
      stateFile: join(dir, 'state.json'),
    });
    await ctl.start();
    app = await buildApp(ctl, { adminToken: 'admin-secret-1', readToken: 'read-secret-1', auditLog: join(dir, 'audit.jsonl') });
  });
  afterAll(async () => {
    await app?.close();
    await ctl?.stop();
  });

  it('creates (admin only, validated), lists without codes, redeems, revokes and ends the guest session', async () => {
    const body = { validFor: '2h', uses: 2, note: 'visitor' };
    expect((await app.inject({ method: 'POST', url: '/api/v1/vouchers', headers: READ, payload: body })).statusCode).toBe(403);
    expect((await app.inject({ method: 'POST', url: '/api/v1/vouchers', payload: body })).statusCode).toBe(401);
    for (const bad of [
      {},
      { validFor: 'forever' },
      { validFor: '10s' },
      { validFor: '2h', uses: 0 },
      { validFor: '2h', note: 'x'.repeat(300) },
    ]) {
      expect((await app.inject({ method: 'POST', url: '/api/v1/vouchers', headers: ADMIN, payload: bad })).statusCode).toBe(400);
    }
    const c = await app.inject({ method: 'POST', url: '/api/v1/vouchers', headers: ADMIN, payload: body });
    expect(c.statusCode).toBe(201);
    const { voucher, code } = c.json();
    expect(code).toMatch(/^[A-Z2-9]{4}(-[A-Z2-9]{4}){3}$/);
    expect(voucher).toMatchObject({ uses: 2, usedBy: [], state: 'valid', note: 'visitor', createdBy: expect.any(String) });
    expect((await app.inject({ method: 'GET', url: '/api/v1/vouchers', headers: READ })).statusCode).toBe(403);
    const list = await app.inject({ method: 'GET', url: '/api/v1/vouchers', headers: ADMIN });
    expect(list.json().vouchers.map((v: { id: string }) => v.id)).toEqual([voucher.id]);
    expect(list.body).not.toContain(code.replace(/-/g, ''));
    expect(list.body).not.toContain(code);
    // a guest redeems it (as the sign-in page does), gets a session; revoking ends it
    const r = ctl.edge.vouchers.redeem(code, '02:00:00:00:0c:01');
    expect(r.ok).toBe(true);
    const s = ctl.edge.sessions.add(
      { mac: '02:00:00:00:0c:01', switch: 'edge1', port: 7, method: 'web', deviceGroup: 'guest' },
      `voucher:${voucher.id}`,
    );
    expect(s.ok).toBe(true);
    expect((await app.inject({ method: 'DELETE', url: '/api/v1/vouchers/nope', headers: ADMIN })).statusCode).toBe(404);
    const del = await app.inject({ method: 'DELETE', url: `/api/v1/vouchers/${voucher.id}`, headers: ADMIN });
    expect(del.statusCode).toBe(200);
    expect(del.json()).toMatchObject({ revoked: { id: voucher.id, state: 'revoked' }, sessionsEnded: 1 });
    expect(ctl.edge.sessions.size).toBe(0);
    expect(ctl.edge.vouchers.redeem(code, '02:00:00:00:0c:02').ok).toBe(false);
    await waitFor(
      'audit',
      () => {
        try {
          return readFileSync(join(dir, 'audit.jsonl'), 'utf8').includes('voucher-revoked');
        } catch {
          return false;
        }
      },
      3000,
    );
    const audit = readFileSync(join(dir, 'audit.jsonl'), 'utf8');
    expect(audit).toContain('voucher-created');
    expect(audit).not.toContain(code);
  });
});
