/**
 * HTTP-level defences of the API (issue #11 item 3): who may call it and from where.
 *
 * - Host: a request whose Host header names neither this machine (localhost, an IP literal) nor a configured API
 *   host name (--api-host) is refused with 421: a web page that rebinds its own DNS name to 127.0.0.1 cannot read
 *   or change anything.
 * - Origin: a browser request from another origin (Origin present and not this API's own origin or a configured
 *   host) is refused with 403, reads included.
 * - Content type: a request that changes something must send application/yaml, application/x-yaml, text/yaml or
 *   application/json (or no body); text/plain, forms and multipart (the "simple" types a page may send anywhere
 *   without asking) are refused with 415.
 * - Tokens: there is no tokenless admin any more. `ensureAdminTokenFile` creates a random admin token in a 0600
 *   file on first start; the CLI reads it from there (see cli/client.ts). Token comparison is constant-time,
 *   the `Bearer` scheme is case-insensitive.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, open, readFile, stat } from 'node:fs/promises';
import { isIP } from 'node:net';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** Content types a mutation may carry. */
export const MUTATION_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'application/json'] as const;

/** Constant-time comparison (both sides hashed first, so neither the content nor the length leaks through timing). */
export function tokenEquals(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest(),
    y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y) && a.length === b.length;
}

/** The token of an `Authorization: Bearer …` header; the scheme is case-insensitive (RFC 7235). */
export function bearerToken(header: string | undefined): string | undefined {
  const m = header?.match(/^\s*bearer\s+(\S+)\s*$/i);
  return m ? m[1] : undefined;
}

/** Host name of a Host header or URL authority ("[::1]:8080" → "::1"), lower-cased; undefined if malformed. */
export function hostName(authority: string): string | undefined {
  const a = authority.trim().toLowerCase();
  const m = a.match(/^\[([0-9a-f:.]+)\](?::\d{1,5})?$/) ?? a.match(/^([^:[\]\s/@]+)(?::\d{1,5})?$/);
  return m ? m[1].replace(/\.$/, '') : undefined;
}

export interface HostPolicy {
  /** Extra DNS names this API is reached by (--api-host). localhost and IP literals are always accepted. */
  readonly names?: readonly string[];
}

/** True when a Host header may reach this API: localhost, an IP literal (DNS rebinding needs a name), or a configured name. */
export function hostAllowed(host: string | undefined, p: HostPolicy = {}): boolean {
  if (host === undefined) return true; // HTTP/1.0 clients; browsers always send Host
  const h = hostName(host);
  if (!h) return false;
  if (h === 'localhost' || isIP(h)) return true;
  return (p.names ?? []).some((n) => n.toLowerCase().replace(/\.$/, '') === h);
}

/** True when a browser Origin may talk to this API: this API's own origin (same host:port as Host) or a configured name. */
export function originAllowed(origin: string, host: string | undefined, p: HostPolicy = {}): boolean {
  let u: URL;
  try {
    u = new URL(origin);
  } catch {
    return false;
  } // includes "null" (sandboxed frames, file: pages)
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return false;
  if (host !== undefined && u.host.toLowerCase() === host.trim().toLowerCase()) return true;
  const h = hostName(u.host);
  return !!h && (p.names ?? []).some((n) => n.toLowerCase().replace(/\.$/, '') === h);
}

/** True when a mutation's content type is one the API accepts (no body at all is fine too). */
export function mutationTypeAllowed(contentType: string | undefined, hasBody: boolean): boolean {
  if (contentType === undefined || contentType.trim() === '') return !hasBody;
  const t = contentType.split(';')[0].trim().toLowerCase();
  return (MUTATION_TYPES as readonly string[]).includes(t);
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Installs the Host, Origin and content-type checks as the first hook of every request. */
export function installRequestGuards(app: FastifyInstance, p: HostPolicy = {}): void {
  app.addHook('onRequest', async (req: FastifyRequest, reply) => {
    const host = req.headers.host;
    if (!hostAllowed(host, p)) {
      return reply.code(421).type('application/json').send({
        error: 'this API does not answer to that host name (start the controller with --api-host NAME to allow it)',
        code: 'bad-host',
      });
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !originAllowed(origin, host, p)) {
      return reply.code(403).type('application/json').send({ error: 'cross-origin requests are refused', code: 'bad-origin' });
    }
    if (!SAFE_METHODS.has(req.method)) {
      const len = Number(req.headers['content-length'] ?? 0);
      const hasBody = len > 0 || req.headers['transfer-encoding'] !== undefined;
      if (!mutationTypeAllowed(req.headers['content-type'], hasBody)) {
        return reply
          .code(415)
          .type('application/json')
          .send({ error: `changes are sent as ${MUTATION_TYPES.join(', ')}`, code: 'unsupported-media-type' });
      }
    }
  });
}

/** Where the admin token lives by default: $ACL_TOKEN_FILE, else $XDG_CONFIG_HOME/sdn-acl/admin-token (~/.config/…). */
export function defaultTokenFile(env: NodeJS.ProcessEnv = process.env): string {
  if (env.ACL_TOKEN_FILE) return env.ACL_TOKEN_FILE;
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'sdn-acl', 'admin-token');
}

/**
 * The admin token file: read it when it exists, else create it with a random token (mode 0600, folder 0700,
 * exclusive create so a planted file or symlink is never written through). Returns the text and whether it was made,
 * and a warning when an existing file is readable by others.
 */
export async function ensureAdminTokenFile(path: string): Promise<{ text: string; created: boolean; warning?: string }> {
  try {
    const text = await readFile(path, 'utf8');
    const st = await stat(path);
    const warning =
      st.mode & 0o077 ? `token file ${path} is readable by other users (mode ${(st.mode & 0o777).toString(8)}): chmod 600 it` : undefined;
    return { text, created: false, warning };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const token = randomBytes(32).toString('base64url');
  const fh = await open(path, 'wx', 0o600);
  try {
    await fh.writeFile(`${token}\n`);
  } finally {
    await fh.close();
  }
  return { text: `${token}\n`, created: true };
}

/** The admin token a local CLI uses when none is given: the first admin token of the default token file, if readable. */
export async function localAdminToken(env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(defaultTokenFile(env), 'utf8');
  } catch {
    return undefined;
  }
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean);
  if (lines.length === 1 && !/\s/.test(lines[0])) return lines[0];
  for (const l of lines) {
    const [, token, role = 'admin'] = l.split(/\s+/);
    if (token && role === 'admin') return token;
  }
  return undefined;
}
