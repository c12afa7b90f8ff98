/** The controller's REST API, typed: every reply is either the route's body or an error body. */
import { state } from './state.js';
import type { ApiError } from './types.js';

export type ApiResult<T> =
  | { readonly ok: true; readonly status: number; readonly body: T }
  | { readonly ok: false; readonly status: number; readonly body: ApiError };

/** A request to /api/v1/PATH. JSON bodies are sent as JSON; strings as YAML. Replies that are not JSON become an error. */
export async function api<T>(path: string, init: { method?: string; json?: unknown; yaml?: string } = {}): Promise<ApiResult<T>> {
  const headers: Record<string, string> = {};
  if (state.token) headers.authorization = `Bearer ${state.token}`;
  let body: string | undefined;
  if (init.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(init.json);
  } else if (init.yaml !== undefined) {
    headers['content-type'] = 'text/yaml';
    body = init.yaml;
  }
  let r: Response;
  try {
    r = await fetch(`/api/v1/${path}`, { method: init.method ?? (body === undefined ? 'GET' : 'POST'), headers, body });
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

/** The error text of a failed reply. */
export function errorText(r: { readonly status: number; readonly body: ApiError }): string {
  return r.body.error ?? r.body.errors?.join('; ') ?? `HTTP ${r.status}`;
}

/** `a=1&b=x` from the defined, non-empty entries. */
export function query(q: Record<string, string | number | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}
