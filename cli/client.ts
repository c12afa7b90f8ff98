/**
 * Small HTTP client for the controller API, typed by the API contract (controller/api/contract.ts): `get()` returns
 * the reply type of the route it asks for, `write()` takes the body type of a change route and returns its reply type;
 * `api()` is the raw request, left for `acl apply`, which reads a refused change's diagnostics (422) and conflict
 * (409) through the contract's types after checking the status.
 */
import { localAdminToken } from '../controller/security.js';
import type { ErrorReply, GetReply, GetRoute, WriteBody, WriteReply, WriteRoute } from '../controller/api/contract.js';

export interface Answer<T = unknown> {
  readonly status: number;
  readonly body: T;
}
export interface RequestInit {
  readonly method?: string;
  readonly body?: string;
  readonly contentType?: string;
  readonly token?: string;
}

export async function api(base: string, path: string, init: RequestInit = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (init.body !== undefined) headers['content-type'] = init.contentType ?? 'application/json';
  // --token, else $ACL_ADMIN_TOKEN, else the token file the controller created ($ACL_TOKEN_FILE, ~/.config/sdn-acl/admin-token)
  const token = init.token || process.env.ACL_ADMIN_TOKEN || (await localAdminToken());
  if (token) headers.authorization = `Bearer ${token}`;
  let res: Response;
  try {
    res = await fetch(new URL(path, base.endsWith('/') ? base : base + '/'), { method: init.method ?? 'GET', headers, body: init.body });
  } catch (e) {
    const err = e as Error & { cause?: Error };
    throw new Error(`cannot reach the controller at ${base}: ${err.cause ? String(err.cause.message) : err.message}`, { cause: e });
  }
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* plain text */
  }
  return { status: res.status, body };
}

/** The error part of a reply (error replies carry `error`, `code` and maybe `errors`; see docs/error-codes.md). */
export function errorOf(body: unknown): Partial<ErrorReply> {
  if (body === null || typeof body !== 'object') return {};
  const b = body as Record<string, unknown>;
  return {
    ...(typeof b.error === 'string' ? { error: b.error } : {}),
    ...(typeof b.code === 'string' ? { code: b.code as ErrorReply['code'] } : {}),
    ...(Array.isArray(b.errors) ? { errors: b.errors.filter((x): x is string => typeof x === 'string') } : {}),
  };
}

/** "controller answered 404: no switch 'x' in the topology" */
export function answerText(a: Answer): string {
  return `controller answered ${a.status}: ${errorOf(a.body).error ?? (typeof a.body === 'string' ? a.body : JSON.stringify(a.body))}`;
}

/** A reply other than the one asked for (status, the error's code and message). */
export class ApiError extends Error {
  readonly status: number;
  readonly code?: string;
  constructor(readonly answer: Answer) {
    super(answerText(answer));
    this.status = answer.status;
    this.code = errorOf(answer.body).code;
  }
}

/**
 * GET one route of the contract (`route` names it, `path` is the URL with its parameters filled in and a query);
 * anything but 200 throws an ApiError.
 */
export async function get<R extends GetRoute>(base: string, _route: R, path: string, token?: string): Promise<GetReply<R>> {
  const a = await api(base, path.replace(/^\//, ''), { token });
  if (a.status !== 200) throw new ApiError(a);
  return a.body as GetReply<R>;
}

/**
 * A change through one route of the contract's WRITE_ROUTES ("POST /api/v1/vouchers"): `path` is the URL with its
 * parameters filled in, `body` the route's request body (sent as JSON). Anything but a 2xx throws an ApiError.
 */
export async function write<R extends WriteRoute>(
  base: string,
  route: R,
  path: string,
  body: WriteBody<R>,
  token?: string,
): Promise<WriteReply<R>> {
  const method = route.slice(0, route.indexOf(' '));
  const a = await api(base, path.replace(/^\//, ''), { method, token, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  if (a.status < 200 || a.status > 299) throw new ApiError(a);
  return a.body as WriteReply<R>;
}
