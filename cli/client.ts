/**
 * Small HTTP client for the controller API, typed by the API contract (controller/api/contract.ts): `get()` returns
 * the reply type of the route it asks for, `write()` takes the body type of a change route and returns its reply type,
 * and `change()` also returns a refusal typed by the route's `refused` schema (`acl apply` reads a refused change's
 * diagnostics from it). `api()` is the raw request under them.
 */
import { localAdminToken } from '../controller/security.js';
import type { GetReply, GetRoute, WriteBody, WriteRefusal, WriteReply, WriteRoute } from '../controller/api/contract.js';

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

/**
 * The error part of any answer, read field by field (error replies carry `error`, `code` and maybe `errors`; see
 * docs/error-codes.md): also for a body that is not the controller's (a proxy's page), so nothing is assumed.
 */
export function errorOf(body: unknown): { error?: string; code?: string; errors?: string[] } {
  if (body === null || typeof body !== 'object') return {};
  const b: { error?: unknown; code?: unknown; errors?: unknown } = body;
  return {
    ...(typeof b.error === 'string' ? { error: b.error } : {}),
    ...(typeof b.code === 'string' ? { code: b.code } : {}),
    ...(Array.isArray(b.errors) ? { errors: b.errors.filter((x): x is string => typeof x === 'string') } : {}),
  };
}

/**
 * The one place a reply body gets its type from the contract. The controller serializes every reply with its route's
 * schema for that status (fast-json-stringify; with ACL_CHECK_REPLIES, the tests' setting, it also checks each one
 * exactly), and those schemas are the ones the type comes from, so the body is taken as typed rather than checked
 * again here: a check in the CLI would load the schemas and TypeBox's checker, about 0.2 s more per command.
 */
function contractBody<T>(a: Answer): T {
  return a.body as T;
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
  return contractBody<GetReply<R>>(a);
}

/** The answer of a change route: its reply of success (2xx), or, `ok: false`, its refusal (any other status). */
export type Change<R extends WriteRoute> =
  | { readonly ok: true; readonly status: number; readonly body: WriteReply<R> }
  | { readonly ok: false; readonly status: number; readonly body: WriteRefusal<R> };

/**
 * A change through one route of the contract's WRITE_ROUTES ("POST /api/v1/policy"): `path` is the URL with its
 * parameters filled in (and a query), `body` the route's request body (sent as JSON). A body that is not a JSON
 * object (not the controller's answer) throws an ApiError.
 */
export async function change<R extends WriteRoute>(
  base: string,
  route: R,
  path: string,
  body: WriteBody<R>,
  token?: string,
): Promise<Change<R>> {
  const method = route.slice(0, route.indexOf(' '));
  const a = await api(base, path.replace(/^\//, ''), { method, token, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  if (a.body === null || typeof a.body !== 'object') throw new ApiError(a);
  if (a.status >= 200 && a.status <= 299) return { ok: true, status: a.status, body: contractBody<WriteReply<R>>(a) };
  return { ok: false, status: a.status, body: contractBody<WriteRefusal<R>>(a) };
}

/** change() for a caller that only wants success: anything but a 2xx throws an ApiError. */
export async function write<R extends WriteRoute>(
  base: string,
  route: R,
  path: string,
  body: WriteBody<R>,
  token?: string,
): Promise<WriteReply<R>> {
  const c = await change(base, route, path, body, token);
  if (!c.ok) throw new ApiError(c);
  return c.body;
}
