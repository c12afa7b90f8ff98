/** Questions about the compiled policy: GET /explain (one flow along its path) and /matrix (who may reach what). Read scope. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Controller } from '../controller.js';
import { accessMatrix, explain, type AccessMatrix } from '../../compiler/query.js';
import type { Compiled } from '../../compiler/compiled.js';
import { prefix6Text, prefixText } from '../../compiler/addr.js';
import type { Auth } from './auth.js';
import { ExplainQuery, ExplainReply, MatrixReply } from './contract.js';
import { send } from './reply.js';

/** The access matrix with each resource's IPv4 and IPv6 addresses and prefixes (hosts resolved), as compiled. */
export function withAddresses<M extends AccessMatrix>(c: Compiled, m: M): M {
  const addresses = (name: string) => [
    ...(c.resourcePrefixes.get(name) ?? []).map(prefixText),
    ...(c.resourcePrefixes6?.get(name) ?? []).map(prefix6Text),
  ];
  return { ...m, resources: m.resources.map((x) => ({ ...x, addresses: addresses(x.name) })) };
}

export interface QueryRoutesOptions {
  readonly ctl: Controller;
  readonly auth: Auth;
}

export const queryRoutes: FastifyPluginAsyncTypebox<QueryRoutesOptions> = async (r, { ctl, auth }) => {
  r.addHook('preHandler', auth.requireRead);
  r.get('/explain', { schema: { querystring: ExplainQuery, response: { 200: ExplainReply } } }, async (req, reply) =>
    send(reply, explain(ctl.compiled, req.query.from, req.query.to, req.query.service)),
  );
  r.get('/matrix', { schema: { response: { 200: MatrixReply } } }, async (_req, reply) =>
    send(reply, withAddresses(ctl.compiled, accessMatrix(ctl.compiled))),
  );
};
