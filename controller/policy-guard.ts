/**
 * What a policy submitted through the API (POST /api/v1/policy, the console, `acl apply`) may reach.
 *
 * - Files: the directory and topology it names must be regular files under the controller's policy folder or a
 *   root given on the command line (`--allow-root`), after resolving symlinks, within a size and time limit
 *   (io/safe-read.ts). A path outside, a missing file, a FIFO or a device all get one answer that reveals nothing.
 * - Diagnostics about those files keep their file:line:column and code but never quote the file: a message about
 *   a referenced file is replaced by a generic one (the admin can run `acl validate` on the controller's machine).
 * - Secrets and outbound connections: the LDAP url, bind DN, password source (passwordFile/passwordEnv) and CA of a
 *   submitted policy must equal the running configuration or an allowlist from the command line (`--allow-ldap`).
 *   A refused policy is refused before anything is loaded, so neither an apply nor a dry run connects anywhere new.
 */
import { dirname, resolve } from 'node:path';
import type { Diagnostic } from '../compiler/model.js';
import { parsePolicyText, type Policy } from '../compiler/inputs.js';
import { readTextFile, DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT_MS } from '../io/safe-read.js';

/** Settings of an LDAP directory that open a connection or read a secret. */
export const LDAP_SECRET_FIELDS = ['url', 'bindDn', 'passwordFile', 'passwordEnv', 'caFile'] as const;
export type LdapSecretField = (typeof LDAP_SECRET_FIELDS)[number];

/** Extra values a submitted policy may use, per field (from the command line: `--allow-ldap url=ldaps://dir:636`). */
export type LdapAllowlist = Partial<Record<LdapSecretField, readonly string[]>>;

/** Parses `--allow-ldap FIELD=VALUE` options. Throws on an unknown field. */
export function parseLdapAllow(items: readonly string[]): LdapAllowlist {
  const out: Partial<Record<LdapSecretField, string[]>> = {};
  for (const it of items) {
    const i = it.indexOf('=');
    const k = it.slice(0, i) as LdapSecretField;
    if (i < 1 || !LDAP_SECRET_FIELDS.includes(k))
      throw new Error(`--allow-ldap takes FIELD=VALUE with FIELD one of ${LDAP_SECRET_FIELDS.join(', ')} (got '${it}')`);
    (out[k] ??= []).push(it.slice(i + 1));
  }
  return out;
}

export interface PolicyGuardOptions {
  /** The controller's policy file: its folder is always allowed. */
  readonly policyPath: string;
  /** More folders whose files a submitted policy may name. */
  readonly allowRoots?: readonly string[];
  readonly ldapAllow?: LdapAllowlist;
  readonly maxBytes?: number;
  readonly timeoutMs?: number;
}

const FILE_FIELDS: readonly LdapSecretField[] = ['passwordFile', 'caFile'];

/** The secret-bearing LDAP settings of a policy, paths resolved against its folder; undefined for a file directory. */
function ldapSettings(p: Policy | undefined, base: string): Partial<Record<LdapSecretField, string>> | undefined {
  if (!p || p.directory.kind !== 'ldap') return undefined;
  const raw = p.directory.raw;
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return {};
  const o = raw as Record<string, unknown>;
  const out: Partial<Record<LdapSecretField, string>> = {};
  for (const k of LDAP_SECRET_FIELDS) {
    const v = o[k];
    if (v === undefined || v === null) continue;
    const s = typeof v === 'string' ? v : JSON.stringify(v);
    out[k] = FILE_FIELDS.includes(k) && typeof v === 'string' ? resolve(base, v) : s;
  }
  return out;
}

export class PolicyGuard {
  readonly roots: readonly string[];
  constructor(private readonly o: PolicyGuardOptions) {
    this.roots = [dirname(resolve(o.policyPath)), ...(o.allowRoots ?? []).map((r) => resolve(r))];
  }

  /** The reader loadPolicy uses for the files a submitted policy names. */
  readonly readFile = (path: string): Promise<string> =>
    readTextFile(path, {
      roots: this.roots,
      maxBytes: this.o.maxBytes ?? DEFAULT_MAX_BYTES,
      timeoutMs: this.o.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    });

  /**
   * Refusals for LDAP settings the running policy does not have and the allowlist does not name. Runs on the text
   * alone (nothing is read or connected). `running` is the policy the controller runs now.
   */
  checkSecrets(text: string, running: Policy | undefined): Diagnostic[] {
    const base = dirname(resolve(this.o.policyPath));
    const pr = parsePolicyText(text, this.o.policyPath);
    const next = ldapSettings(pr.ok ? pr.value : pr.partial, base);
    if (!next) return [];
    const now = ldapSettings(running, base) ?? {};
    const src = (pr.ok ? pr.value : pr.partial)!.source;
    const out: Diagnostic[] = [];
    for (const k of LDAP_SECRET_FIELDS) {
      const v = next[k];
      if (v === undefined || v === now[k]) continue;
      const allowed = (this.o.ldapAllow?.[k] ?? []).map((a) => (FILE_FIELDS.includes(k) ? resolve(a) : a));
      if (allowed.includes(v)) continue;
      out.push({
        severity: 'error',
        code: 'ldap-not-allowed',
        message: `directory.ldap.${k}: a policy sent through the API cannot ${now[k] === undefined ? 'add' : 'change'} the LDAP ${k === 'url' ? 'server' : k === 'bindDn' ? 'bind DN' : k === 'caFile' ? 'CA' : 'password source'}; it must stay as the running configuration has it`,
        hint: `allow it when starting the controller: --allow-ldap ${k}=VALUE, or change the policy file on the controller's machine and reload (SIGHUP)`,
        location: src.locate(['directory', 'ldap', k]),
      });
    }
    return out;
  }

  /**
   * Diagnostics as the API may show them: those located in a file other than the submitted policy (the directory
   * and topology it names) keep file, line, column and code, but their message is generic and they carry no hint.
   */
  redact(diags: readonly Diagnostic[]): Diagnostic[] {
    const policyFile = this.o.policyPath;
    const isPolicy = (f: string) => f === policyFile || resolve(f) === resolve(policyFile);
    return diags.map((d) => {
      if (!d.location || isPolicy(d.location.file)) return d;
      return {
        severity: d.severity,
        code: d.code,
        location: d.location,
        message: `${d.severity === 'error' ? 'a problem' : 'a warning'} of kind '${d.code}' here (the text is not shown for files read on behalf of the API; run 'acl validate' on the controller's machine to see it)`,
      };
    });
  }
}
