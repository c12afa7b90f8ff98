/** Bearer-token auth for the API: who is asking (a named token), and the read/admin guards the route plugins use. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { bearerToken, tokenEquals } from '../security.js';
import { fail } from './reply.js';

export interface ApiToken {
  readonly name: string;
  readonly token: string;
  readonly role: 'admin' | 'read';
}
export interface Caller {
  readonly name: string;
  readonly role: 'admin' | 'read';
}

export interface Auth {
  /** Who is asking: a named token (there is no tokenless admin, not even on loopback). */
  readonly who: (req: FastifyRequest) => Caller | undefined;
  readonly requireAdmin: (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
  readonly requireRead: (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
}

function bearer(req: FastifyRequest): string | undefined {
  const t = bearerToken(req.headers.authorization);
  if (t) return t;
  // EventSource cannot send headers: the event stream (read-only) also accepts ?token=
  const q = (req.query as { token?: unknown } | undefined)?.token;
  if (req.method === 'GET' && req.url.startsWith('/api/v1/events') && typeof q === 'string') return q;
  return undefined;
}

export function makeAuth(tokens: readonly ApiToken[]): Auth {
  const hasAdmin = tokens.some((t) => t.role === 'admin');
  const hasRead = tokens.some((t) => t.role === 'read');
  const who = (req: FastifyRequest): Caller | undefined => {
    const t = bearer(req);
    if (t) for (const k of tokens) if (tokenEquals(t, k.token)) return { name: k.name, role: k.role };
    return undefined;
  };
  const requireAdmin = async (req: FastifyRequest, reply: FastifyReply) => {
    const w = who(req);
    if (w?.role === 'admin') return;
    if (w) return fail(reply, 403, 'read-only', `token '${w.name}' is read-only; this change needs an admin token`);
    if (hasAdmin) return fail(reply, 401, 'unauthorized', 'this change needs the admin token (Authorization: Bearer …)');
    return fail(reply, 401, 'no-admin-token', 'no admin token is configured: this controller accepts no changes');
  };
  const requireRead = async (req: FastifyRequest, reply: FastifyReply) => {
    if (hasRead && !who(req)) return fail(reply, 401, 'unauthorized', 'this API needs a token (Authorization: Bearer …)');
  };
  return { who, requireAdmin, requireRead };
}
