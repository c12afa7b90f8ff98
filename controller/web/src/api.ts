/**
 * The controller's REST API, typed by its contract (controller/api/contract.ts): `get` and `change` name a route of
 * the contract's route tables and return that route's reply type, or its refusal type (an error reply; for a policy
 * change, the refused change with its diagnostics), so a change to a reply schema breaks the pages that read it.
 * Bodies get their type in one place, `contractBody()`. Only types come from the contract (`import type`): no schema
 * code reaches the browser bundle.
 */
import { state } from './state.js';
import type {
  ApplyRefusedReply,
  ApplyReply,
  Diagnostic,
  ErrorReply,
  GetReply,
  GetRoute,
  LintInvalidReply,
  PendingCreatedReply,
  WriteBody,
  WriteRefusal,
  WriteReply,
  WriteRoute,
} from '../../api/contract.js';

/** No answer of the controller's: it cannot be reached, the body is not JSON (a proxy's page), or not the one expected. */
export interface NoAnswer {
  readonly error: string;
}

/** A reply of success (2xx) typed `T`, or, `ok: false`, a refusal typed `F` (any other status) or no answer at all. */
export type ApiResult<T, F = ErrorReply> =
  | { readonly ok: true; readonly status: number; readonly body: T }
  | { readonly ok: false; readonly status: number; readonly body: F | NoAnswer };

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

/**
 * GET a route of the contract's GET_ROUTES: `get('/api/v1/rules/:name/traffic', { params: { name } })`; refused with
 * an error reply.
 */
export function get<R extends GetRoute>(route: R, ...[at]: AtArg<R>): Promise<ApiResult<GetReply<R>>> {
  return request<GetReply<R>, ErrorReply>('GET', urlOf(route, at));
}

/**
 * A change through a route of the contract's WRITE_ROUTES ("POST /api/v1/policy/lint"), with the route's request body
 * (a string goes as YAML, an object as JSON; undefined for a route without a body); refused as the route's `refused`
 * schema says (an error reply if it has none).
 */
export function change<R extends WriteRoute>(
  route: R,
  body: WriteBody<R>,
  ...[at]: AtArg<R>
): Promise<ApiResult<WriteReply<R>, WriteRefusal<R>>> {
  const space = route.indexOf(' ');
  return request<WriteReply<R>, WriteRefusal<R>>(route.slice(0, space), urlOf(route.slice(space + 1), at), body);
}

/**
 * The one place a reply body gets its type from the contract (as `contractBody()` in cli/client.ts does for the CLI).
 * The controller serializes every reply with its route's schema for that status (fast-json-stringify; with
 * ACL_CHECK_REPLIES, the tests' setting, it also checks each one exactly), and those schemas are the ones `T` comes
 * from (`get` and `change` tie it to the route), so the body is taken as typed rather than checked again here: a check
 * would put the schemas and TypeBox's checker in the browser bundle. The live events (events.ts) come through here
 * too, typed by controller/events.ts.
 */
export function contractBody<T>(body: unknown): T {
  return body as T;
}

/**
 * One request. A reply that is not JSON, a refusal that is none of the contract's (no `error` or `errors`: a proxy's
 * page), and a controller that cannot be reached are NoAnswer.
 */
async function request<T, F>(method: string, url: string, json?: unknown): Promise<ApiResult<T, F>> {
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
    return { ok: false, status: 0, body: { error: `the controller cannot be reached: ${e instanceof Error ? e.message : String(e)}` } };
  }
  const text = await r.text();
  let parsed: unknown; // undefined: not JSON
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (r.ok && parsed !== undefined) return { ok: true, status: r.status, body: contractBody<T>(parsed) };
  if (!r.ok && isRefusal(parsed)) return { ok: false, status: r.status, body: contractBody<F>(parsed) };
  return { ok: false, status: r.status, body: { error: text.slice(0, 300) || `HTTP ${r.status}` } };
}

/** Does the body look like one of the contract's refusals (a message in `error`, or diagnostics as text in `errors`)? */
const isRefusal = (b: unknown): b is object =>
  b !== null &&
  typeof b === 'object' &&
  !Array.isArray(b) &&
  (('error' in b && typeof b.error === 'string') || ('errors' in b && Array.isArray(b.errors)));

/** The reply of a dry run (policy or rollback): never pending, since the two-person rule holds only real changes. */
export function dryRunReply<F>(r: ApiResult<ApplyReply | PendingCreatedReply, F>): ApiResult<ApplyReply, F> {
  if (!r.ok) return r;
  const b = r.body;
  return 'pending' in b
    ? { ok: false, status: r.status, body: { error: 'unexpected answer: the dry run was held for approval' } }
    : { ...r, body: b };
}

/** Every refusal of the contract's routes (an error reply, a refused policy change, an invalid policy to lint), or no answer. */
export type Refusal = ErrorReply | ApplyRefusedReply | LintInvalidReply | NoAnswer;

/** The error text of a failed reply: the error reply's message, else the refusal's diagnostics as text. */
export function errorText(r: { readonly status: number; readonly body: Refusal }): string {
  const b = r.body;
  const text = 'error' in b ? b.error : b.errors.join('; ');
  return text || `HTTP ${r.status}`;
}

/** The diagnostics of a refused policy change (none for an error reply or no answer). */
export function diagnosticsOf(body: Refusal): readonly Diagnostic[] {
  return 'diagnostics' in body ? body.diagnostics : [];
}

/** `?a=1&b=x` from the defined, non-empty entries ('' when there are none). */
export function query(q: Query): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}
