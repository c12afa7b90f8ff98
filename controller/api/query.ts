/** Questions about the compiled policy: GET /explain (one flow along its path) and /matrix (who may reach what). Read scope. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Controller } from '../controller.js';
import { accessMatrix, explain } from '../../compiler/query.js';
import type { Auth } from './auth.js';
import { ExplainQuery, ExplainReply, MatrixReply } from './contract.js';
import { send } from './reply.js';

export interface QueryRoutesOptions {
  readonly ctl: Controller;
  readonly auth: Auth;
}

export const queryRoutes: FastifyPluginAsyncTypebox<QueryRoutesOptions> = async (r, { ctl, auth }) => {
  r.addHook('preHandler', auth.requireRead);
  r.get('/explain', { schema: { querystring: ExplainQuery, response: { 200: ExplainReply } } }, async (req, reply) =>
    send(reply, explain(ctl.compiled, req.query.from, req.query.to, req.query.service)),
  );
  r.get('/matrix', { schema: { response: { 200: MatrixReply } } }, async (_req, reply) => send(reply, accessMatrix(ctl.compiled)));
};
