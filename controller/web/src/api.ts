/**
 * The controller's REST API, typed by its contract (controller/api/contract.ts): `get` and `change` name a route of
 * the contract's route tables and return that route's reply type, so a change to a reply schema breaks the pages that
 * read it. Only types come from the contract (`import type`): no schema code reaches the browser bundle.
 */
import { state } from './state.js';
import type {
  ApplyReply,
  ErrorReply,
  GetReply,
  GetRoute,
  PendingCreatedReply,
  WriteBody,
  WriteReply,
  WriteRoute,
} from '../../api/contract.js';

/** A failed reply: the contract's error body, and, for a refused policy change, its diagnostics (ApplyReply on 422). */
export type ApiError = Partial<ErrorReply> & Partial<Pick<ApplyReply, 'diagnostics'>>;

export type ApiResult<T> =
  | { readonly ok: true; readonly status: number; readonly body: T }
  | { readonly ok: false; readonly status: number; readonly body: ApiError };

/** The `:name` parameters of a route pattern ("/api/v1/rules/:name/traffic" → "name"). */
type ParamsOf<R extends string> = R extends `${string}:${infer P}/${infer Rest}`
  ? P | ParamsOf<`/${Rest}`>
  : R extends `${string}:${infer P}`
    ? P
    : never;
type Query = Readonly<Record<string, string | number | boolean | undefined>>;
/** Where to send a request: the route's parameters (required when it has any) and a query. */
type At<R extends string> = { readonly query?: Query } & ([ParamsOf<R>] extends [never]
  ? { readonly params?: undefined }
  : { readonly params: Readonly<Record<ParamsOf<R>, string | number>> });
type AtArg<R extends string> = [ParamsOf<R>] extends [never] ? [at?: At<R>] : [at: At<R>];

/** The URL of a route pattern with its parameters filled in (encoded) and the query appended. */
export function urlOf(
  pattern: string,
  at: { readonly params?: Readonly<Record<string, string | number>>; readonly query?: Query } = {},
): string {
  const path = pattern.replace(/:(\w+)/g, (_m, k: string) => {
    const v = at.params?.[k];
    if (v === undefined) throw new Error(`${pattern}: no value for :${k}`);
    return encodeURIComponent(String(v));
  });
  return path + query(at.query ?? {});
}

/** GET a route of the contract's GET_ROUTES: `get('/api/v1/rules/:name/traffic', { params: { name } })`. */
export function get<R extends GetRoute>(route: R, ...[at]: AtArg<R>): Promise<ApiResult<GetReply<R>>> {
  return request<GetReply<R>>('GET', urlOf(route, at));
}

/**
 * A change through a route of the contract's WRITE_ROUTES ("POST /api/v1/policy/lint"), with the route's request body
 * (a string goes as YAML, an object as JSON; undefined for a route without a body).
 */
export function change<R extends WriteRoute>(route: R, body: WriteBody<R>, ...[at]: AtArg<R>): Promise<ApiResult<WriteReply<R>>> {
  const space = route.indexOf(' ');
  return request<WriteReply<R>>(route.slice(0, space), urlOf(route.slice(space + 1), at), body);
}

/** One request; replies that are not JSON, and a controller that cannot be reached, become an error. */
async function request<T>(method: string, url: string, json?: unknown): Promise<ApiResult<T>> {
  const headers: Record<string, string> = {};
  if (state.token) headers.authorization = `Bearer ${state.token}`;
  let body: string | undefined;
  if (typeof json === 'string') {
    headers['content-type'] = 'text/yaml';
    body = json;
  } else if (json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(json);
  }
  let r: Response;
  try {
    r = await fetch(url, { method, headers, body });
  } catch (e) {
    return { ok: false, status: 0, body: { error: `the controller cannot be reached: ${(e as Error).message}` } };
  }
  const text = await r.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { ok: false, status: r.status, body: { error: text.slice(0, 300) || `HTTP ${r.status}` } };
  }
  if (r.ok) return { ok: true, status: r.status, body: parsed as T };
  const err = (parsed && typeof parsed === 'object' ? parsed : {}) as ApiError;
  return { ok: false, status: r.status, body: err };
}

/** The reply of a dry run (policy or rollback): never pending, since the two-person rule holds only real changes. */
export function dryRunReply(r: ApiResult<ApplyReply | PendingCreatedReply>): ApiResult<ApplyReply> {
  if (!r.ok) return r;
  const b = r.body;
  return 'pending' in b
    ? { ok: false, status: r.status, body: { error: 'unexpected answer: the dry run was held for approval' } }
    : { ...r, body: b };
}

/** The error text of a failed reply. */
export function errorText(r: { readonly status: number; readonly body: ApiError }): string {
  return r.body.error ?? r.body.errors?.join('; ') ?? `HTTP ${r.status}`;
}

/** `?a=1&b=x` from the defined, non-empty entries ('' when there are none). */
export function query(q: Query): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}
