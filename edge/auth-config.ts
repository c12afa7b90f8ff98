/**
 * Turns the policy's `authentication:` block into a RADIUS client: secrets are read from a file (inside the
 * policy's folder) or an environment variable, never from the policy text.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import type { AuthPolicy } from '../compiler/auth.js';
import { RadiusClient, type RadiusServer } from './radius.js';

export class AuthConfigError extends Error {}

/** The shared secret of one server; throws AuthConfigError with a message for the admin (never the secret). */
export function readSecret(
  ref: { secretFile?: string; secretEnv?: string; host: string; port: number },
  policyPath: string,
  env: NodeJS.ProcessEnv = process.env,
): Buffer {
  if (ref.secretEnv) {
    const v = env[ref.secretEnv];
    if (!v) throw new AuthConfigError(`RADIUS server ${ref.host}:${ref.port}: environment variable ${ref.secretEnv} is not set`);
    return Buffer.from(v.trim(), 'utf8');
  }
  const base = realpathSync(dirname(resolve(policyPath)));
  const file = resolve(base, ref.secretFile!);
  let real: string;
  try {
    real = realpathSync(file);
  } catch {
    throw new AuthConfigError(`RADIUS server ${ref.host}:${ref.port}: secret file not found`);
  }
  const rel = relative(base, real);
  if (rel.startsWith('..') || isAbsolute(rel))
    throw new AuthConfigError(`RADIUS server ${ref.host}:${ref.port}: the secret file must be inside the policy's folder`);
  const text = readFileSync(real, 'utf8').trim();
  if (!text) throw new AuthConfigError(`RADIUS server ${ref.host}:${ref.port}: the secret file is empty`);
  if (text.length > 256) throw new AuthConfigError(`RADIUS server ${ref.host}:${ref.port}: the secret file is longer than 256 characters`);
  return Buffer.from(text, 'utf8');
}

export function radiusClientFor(
  a: AuthPolicy,
  policyPath: string,
  opts: { bindAddress?: string; env?: NodeJS.ProcessEnv } = {},
): RadiusClient {
  const servers: RadiusServer[] = a.servers.map((s) => ({
    host: s.host,
    port: s.port,
    secret: readSecret(s, policyPath, opts.env),
    name: `${s.host}:${s.port}`,
  }));
  return new RadiusClient({ servers, timeoutMs: a.timeoutMs, retries: a.retries, deadTimeMs: a.deadTimeMs, bindAddress: opts.bindAddress });
}
