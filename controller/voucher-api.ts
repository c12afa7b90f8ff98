/**
 * Guest vouchers over the API (admin scope only): POST /api/v1/vouchers makes one and answers its code once,
 * GET /api/v1/vouchers lists them (never a code: only hashes are kept), DELETE /api/v1/vouchers/:id revokes one
 * and ends the guest sessions it admitted. Every change is an event (and an audit line).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Controller } from './controller.js';
import { parseDurationMs } from '../compiler/first-contact.js';

const CREATE = {
  type: 'object',
  additionalProperties: false,
  required: ['validFor'],
  properties: {
    validFor: { type: 'string', minLength: 1, maxLength: 16 },
    sessionTime: { type: 'string', minLength: 1, maxLength: 16 },
    uses: { type: 'integer', minimum: 1, maximum: 10_000 },
    note: { type: 'string', maxLength: 200 },
  },
} as const;
const ID = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.:-]+$' } },
} as const;

export function registerVoucherRoutes(
  r: FastifyInstance,
  ctl: Controller,
  send: (reply: FastifyReply, v: unknown) => unknown,
  who: (req: FastifyRequest) => { name: string } | undefined,
): void {
  const store = ctl.edge.vouchers;
  r.get('/vouchers', async (_req, reply) => send(reply, { vouchers: store.list() }));
  r.post<{ Body: { validFor: string; sessionTime?: string; uses?: number; note?: string } }>(
    '/vouchers',
    { schema: { body: CREATE } },
    async (req, reply) => {
      const validMs = parseDurationMs(req.body.validFor);
      const sessionMs = req.body.sessionTime !== undefined ? parseDurationMs(req.body.sessionTime) : undefined;
      if (validMs === undefined || (req.body.sessionTime !== undefined && sessionMs === undefined))
        return reply.code(400).send({ error: 'validFor and sessionTime are durations such as 8h, 30m or 2d' });
      const by = who(req)?.name ?? 'unknown';
      const c = store.create({ validMs, sessionMs, uses: req.body.uses, note: req.body.note, by });
      if (!c.ok) return reply.code(400).send({ error: c.message });
      ctl.event('voucher-created', { voucher: c.voucher.id, expires: c.voucher.expires, uses: c.voucher.uses, by });
      await ctl.saveState();
      reply.code(201);
      return send(reply, { voucher: c.voucher, code: c.code });
    },
  );
  r.delete<{ Params: { id: string } }>('/vouchers/:id', { schema: { params: ID } }, async (req, reply) => {
    const v = store.revoke(req.params.id);
    if (!v) return reply.code(404).send({ error: `no voucher '${req.params.id}'` });
    const by = who(req)?.name ?? 'unknown';
    // the guests it admitted leave with it
    const ended = ctl.edge.sessions.removeWhere((s) => s.deviceGroup === 'guest' && v.usedBy.includes(s.mac), 'admin', by);
    await ctl.edge.settled();
    ctl.event('voucher-revoked', { voucher: v.id, by, sessionsEnded: ended });
    await ctl.saveState();
    return send(reply, { revoked: store.view(v), sessionsEnded: ended });
  });
}
