/** Small HTTP client for the controller API (used by apply/status). */
import { localAdminToken } from '../controller/security.js';

export async function api(base: string, path: string, init: { method?: string; body?: string; contentType?: string; token?: string } = {}): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = {};
  if (init.body !== undefined) headers['content-type'] = init.contentType ?? 'application/json';
  // --token, else $ACL_ADMIN_TOKEN, else the token file the controller created ($ACL_TOKEN_FILE, ~/.config/sdn-acl/admin-token)
  const token = init.token || process.env.ACL_ADMIN_TOKEN || await localAdminToken();
  if (token) headers.authorization = `Bearer ${token}`;
  let res: Response;
  try {
    res = await fetch(new URL(path, base.endsWith('/') ? base : base + '/'), { method: init.method ?? 'GET', headers, body: init.body });
  } catch (e) {
    throw new Error(`cannot reach the controller at ${base}: ${(e as Error).cause ? String((e as Error & { cause: Error }).cause.message) : (e as Error).message}`, { cause: e });
  }
  const text = await res.text();
  let body: unknown = text;
  try { body = JSON.parse(text); } catch { /* plain text */ }
  return { status: res.status, body };
}
