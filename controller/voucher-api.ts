/**
 * Guest vouchers over the API (admin scope only): POST /api/v1/vouchers makes one and answers its code once,
 * GET /api/v1/vouchers lists them (never a code: only hashes are kept), DELETE /api/v1/vouchers/:id revokes one
 * and ends the guest sessions it admitted. Every change is an event (and an audit line).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Controller } from './controller.js';
import { parseDurationMs } from '../compiler/first-contact.js';
import {
  VoucherCreateBody,
  VoucherCreatedReply,
  VoucherParams,
  VoucherRevokedReply,
  VouchersReply,
  type VoucherCreateBody as CreateBody,
  type VoucherParams as Params,
} from './api/contract.js';
import { fail } from './api/reply.js';

export function registerVoucherRoutes(
  r: FastifyInstance,
  ctl: Controller,
  send: (reply: FastifyReply, v: unknown) => unknown,
  who: (req: FastifyRequest) => { name: string } | undefined,
): void {
  const store = ctl.edge.vouchers;
  r.get('/vouchers', { schema: { response: { 200: VouchersReply } } }, async (_req, reply) => send(reply, { vouchers: store.list() }));
  r.post<{ Body: CreateBody }>(
    '/vouchers',
    { schema: { body: VoucherCreateBody, response: { 201: VoucherCreatedReply } } },
    async (req, reply) => {
      const validMs = parseDurationMs(req.body.validFor);
      const sessionMs = req.body.sessionTime !== undefined ? parseDurationMs(req.body.sessionTime) : undefined;
      if (validMs === undefined || (req.body.sessionTime !== undefined && sessionMs === undefined))
        return fail(reply, 400, 'bad-request', 'validFor and sessionTime are durations such as 8h, 30m or 2d');
      const by = who(req)?.name ?? 'unknown';
      const c = store.create({ validMs, sessionMs, uses: req.body.uses, note: req.body.note, by });
      if (!c.ok) return fail(reply, 400, 'bad-request', c.message);
      ctl.event('voucher-created', { voucher: c.voucher.id, expires: c.voucher.expires, uses: c.voucher.uses, by });
      await ctl.saveState();
      reply.code(201);
      return send(reply, { voucher: c.voucher, code: c.code });
    },
  );
  r.delete<{ Params: Params }>(
    '/vouchers/:id',
    { schema: { params: VoucherParams, response: { 200: VoucherRevokedReply } } },
    async (req, reply) => {
      const v = store.revoke(req.params.id);
      if (!v) return fail(reply, 404, 'not-found', `no voucher '${req.params.id}'`);
      const by = who(req)?.name ?? 'unknown';
      // the guests it admitted leave with it
      const ended = ctl.edge.sessions.removeWhere((s) => s.deviceGroup === 'guest' && v.usedBy.includes(s.mac), 'admin', by);
      await ctl.edge.settled();
      ctl.event('voucher-revoked', { voucher: v.id, by, sessionsEnded: ended });
      await ctl.saveState();
      return send(reply, { revoked: store.view(v), sessionsEnded: ended });
    },
  );
}
