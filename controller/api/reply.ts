/**
 * How the API answers: values in wire form (bigint → "0x…" hex, bytes → hex), serialized by the route's reply
 * schema from contract.ts (fast-json-stringify), error replies with a stable `code`, and, when checking is on
 * (tests: ACL_CHECK_REPLIES=1), every reply checked against its schema before it is sent.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { Value } from '@sinclair/typebox/value';
import type { TSchema } from '@sinclair/typebox';
import { ErrorReply, type ApiErrorCode } from './contract.js';

/** The value as JSON would carry it: bigint as "0x…", Uint8Array/Buffer as hex, toJSON honoured, undefined kept (skipped by serializers). */
export function toWire(v: unknown): unknown {
  if (typeof v === 'bigint') return '0x' + v.toString(16);
  if (v === null || typeof v !== 'object') return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
  if (Array.isArray(v)) return v.map(toWire);
  const j = (v as { toJSON?: () => unknown }).toJSON;
  if (typeof j === 'function') return toWire(j.call(v));
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) out[k] = toWire((v as Record<string, unknown>)[k]);
  return out;
}

/** What a route handler needs of a reply to answer (any FastifyReply, typed or not). */
export interface Replier {
  code(status: number): Replier;
  send(payload?: unknown): unknown;
}

/**
 * Sends a value in wire form; the route's reply schema (if any) serializes it. Returns the reply: an async handler
 * returns it (`return send(…)`), so fastify waits for this send; a handler that resolves to undefined while the
 * checking hook is still at work makes fastify send again, and a mismatch then answers an empty 500.
 */
export const send = <R extends Replier>(reply: R, v: unknown): R => {
  reply.send(toWire(v));
  return reply;
};

const DEFAULT_CODES: Record<number, ApiErrorCode> = {
  400: 'bad-request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not-found',
  409: 'conflict',
  413: 'payload-too-large',
  415: 'unsupported-media-type',
  421: 'bad-host',
  422: 'invalid-policy',
  503: 'cluster-unavailable',
};
/** The code an error reply gets when the route did not name a more specific one. */
export const defaultErrorCode = (status: number): ApiErrorCode => DEFAULT_CODES[status] ?? (status >= 500 ? 'internal' : 'bad-request');

/** An error reply: `{ error, code, ...extra }` with the HTTP status. */
export function fail(reply: Replier, status: number, code: ApiErrorCode, error: string, extra: { errors?: readonly string[] } = {}): void {
  reply.code(status).send({ error, code, ...extra });
}

/** A copy of a schema in which every object without an explicit `additionalProperties` refuses unknown ones. */
export function exact<T extends TSchema>(s: T): T {
  const walk = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(walk);
    if (x === null || typeof x !== 'object') return x;
    const o = x as Record<string | symbol, unknown>;
    const out: Record<string | symbol, unknown> = {};
    for (const k of Reflect.ownKeys(o)) out[k] = walk(o[k]);
    if (o.type === 'object' && o.properties && o.additionalProperties === undefined && o.patternProperties === undefined)
      out.additionalProperties = false;
    return out;
  };
  return walk(s) as T;
}

const exactCache = new WeakMap<object, TSchema>();
const exactOf = (s: TSchema) => {
  let e = exactCache.get(s);
  if (!e) {
    e = exact(s);
    exactCache.set(s, e);
  }
  return e;
};

/** The route's reply schema for a status: exact status, then "2xx"-style, then "default". */
function replySchema(reply: FastifyReply, status: number): TSchema | undefined {
  const r = (reply.routeOptions.schema as { response?: Record<string, TSchema> } | undefined)?.response;
  if (!r) return undefined;
  return r[status] ?? r[`${String(status)[0]}xx`] ?? r.default;
}

/**
 * Error replies get their default `code`; with `check`, a reply that does not match its schema (a field missing,
 * a wrong type, a field the schema does not declare and the serializer would drop) becomes a 500 naming the difference.
 */
export function installReplyHooks(app: FastifyInstance, check: boolean): void {
  app.addHook('preSerialization', async (_req, reply, payload) => {
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return check ? verify(reply, payload) : payload;
    let p = payload as Record<string, unknown>;
    if (reply.statusCode >= 400 && typeof p.error === 'string' && p.code === undefined)
      p = { ...p, code: defaultErrorCode(reply.statusCode) };
    return check ? verify(reply, p) : p;
  });
}

function verify(reply: FastifyReply, payload: unknown): unknown {
  const isError = reply.statusCode >= 400 && payload !== null && typeof payload === 'object' && 'error' in payload;
  const schema = replySchema(reply, reply.statusCode) ?? (isError ? ErrorReply : undefined);
  if (!schema) return payload;
  const s = exactOf(schema);
  if (Value.Check(s, payload)) return payload;
  const errs = [...Value.Errors(s, payload)].slice(0, 5).map((e) => `${e.path || '/'}: ${e.message}`);
  const route = `${reply.request.method} ${reply.routeOptions.url}`;
  throw Object.assign(new Error(`reply of ${route} (${reply.statusCode}) does not match its schema: ${errs.join('; ')}`), {
    statusCode: 500,
    replyMismatch: true,
  });
}
