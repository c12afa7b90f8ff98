/** The `directory: { ldap: … }` block: validation with locations, defaults for inetOrgPerson/groupOfNames. */
import type { Diagnostic, SourceLocation } from '../compiler/model.js';

export interface LdapConfig {
  readonly url: string;
  readonly startTls: boolean;
  readonly caFile?: string;
  readonly bindDn?: string;
  readonly passwordEnv?: string;
  readonly passwordFile?: string;
  readonly baseDn: string;
  readonly timeoutMs: number;
  readonly pollIntervalMs: number;
  /** 'auto': the server pushes changes (RFC 4533 syncrepl) when it offers that, else polling; 'push': always try push; 'poll': only poll. */
  readonly sync: 'auto' | 'push' | 'poll';
  /** A shrink of the user count beyond this fraction is held until confirmed. */
  readonly maxShrink: number;
  readonly pageSize: number;
  readonly users: {
    readonly base: string;
    readonly filter: string;
    readonly id: string;
    readonly name: string;
    /** 'dn': the entry's nearest ou= in its DN; or the name of an attribute holding the organization. */
    readonly organization: string;
    /** Attributes whose values are also roles (e.g. title, employeeType). */
    readonly roleAttributes: readonly string[];
    readonly mac: string;
    readonly ip: string;
    /** An attribute holding "mac=…,ip=…" values (alternative to mac/ip attributes). */
    readonly deviceAttribute?: string;
  };
  readonly groups: { readonly base: string; readonly filter: string; readonly name: string };
  /** Name of an organization standing for the users base itself (parent of top-level OUs), if any. */
  readonly rootOrganization?: string;
}

const KEYS = [
  'url',
  'startTls',
  'caFile',
  'bindDn',
  'passwordEnv',
  'passwordFile',
  'baseDn',
  'timeout',
  'pollInterval',
  'sync',
  'maxShrink',
  'pageSize',
  'users',
  'groups',
  'rootOrganization',
];
const USER_KEYS = ['base', 'filter', 'id', 'name', 'organization', 'roleAttributes', 'mac', 'ip', 'deviceAttribute'];
const GROUP_KEYS = ['base', 'filter', 'name'];

export function parseDuration(v: unknown): number | undefined {
  if (typeof v === 'number' && v >= 0) return v * 1000;
  if (typeof v !== 'string') return undefined;
  const m = v.trim().match(/^(\d+(?:\.\d+)?)\s*(ms|s|m)?$/);
  if (!m) return undefined;
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
}

type Locate = (path: readonly (string | number)[]) => SourceLocation | undefined;

/** Validates and fills defaults. Errors carry the location of the offending key. */
export function readLdapConfig(raw: unknown, locate: Locate): { config?: LdapConfig; diagnostics: Diagnostic[] } {
  const diags: Diagnostic[] = [];
  const err = (path: (string | number)[], code: string, message: string, hint?: string) =>
    diags.push({
      severity: 'error',
      code,
      message: `directory.ldap${path.length ? '.' + path.join('.') : ''}: ${message}`,
      location: locate(path),
      hint,
    });
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    err([], 'type', 'the ldap block must be a mapping with at least url and baseDn');
    return { diagnostics: diags };
  }
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!KEYS.includes(k)) err([k], 'unknown-field', `unknown field '${k}'`, `known fields: ${KEYS.join(', ')}`);
  if ('password' in o || 'bindPassword' in o)
    err(
      ['password' in o ? 'password' : 'bindPassword'],
      'inline-password',
      'passwords never go inline in a policy',
      'use passwordEnv: VARIABLE or passwordFile: path',
    );
  const url = typeof o.url === 'string' ? o.url : '';
  if (!/^ldaps?:\/\/[^/\s]+\/?$/.test(url))
    err(['url'], 'bad-url', `url must be ldap://host[:port] or ldaps://host[:port] (found '${String(o.url ?? '')}')`);
  const baseDn = typeof o.baseDn === 'string' ? o.baseDn : '';
  if (!/^[a-zA-Z]+=/.test(baseDn)) err(['baseDn'], 'missing-field', 'baseDn is required, e.g. dc=example,dc=org');
  if (o.bindDn !== undefined && typeof o.bindDn !== 'string') err(['bindDn'], 'type', 'bindDn must be a DN');
  if (o.bindDn && !o.passwordEnv && !o.passwordFile) err(['bindDn'], 'missing-field', 'a bindDn needs passwordEnv or passwordFile');
  if (o.startTls !== undefined && typeof o.startTls !== 'boolean') err(['startTls'], 'type', 'startTls must be true or false');
  if (o.startTls && url.startsWith('ldaps:')) err(['startTls'], 'conflict', 'startTls is for ldap:// URLs; ldaps:// is already encrypted');
  const timeoutMs = o.timeout === undefined ? 10_000 : parseDuration(o.timeout);
  if (timeoutMs === undefined) err(['timeout'], 'bad-duration', `'${String(o.timeout)}' is not a duration like 10s or 500ms`);
  const pollIntervalMs = o.pollInterval === undefined ? 5_000 : parseDuration(o.pollInterval);
  if (pollIntervalMs === undefined || pollIntervalMs < 100)
    err(['pollInterval'], 'bad-duration', `'${String(o.pollInterval)}' is not a duration of at least 100ms`);
  if (o.sync !== undefined && !['auto', 'push', 'poll'].includes(o.sync as string))
    err(
      ['sync'],
      'bad-value',
      `sync is auto, push or poll (found '${String(o.sync)}')`,
      'auto (default): the server pushes changes when it supports RFC 4533 content synchronization, else polling',
    );
  const maxShrink = o.maxShrink === undefined ? 0.2 : o.maxShrink;
  if (typeof maxShrink !== 'number' || maxShrink < 0 || maxShrink > 1)
    err(['maxShrink'], 'bad-value', 'maxShrink is a fraction between 0 and 1 (default 0.2)');
  const u = (o.users ?? {}) as Record<string, unknown>;
  if (typeof u !== 'object') err(['users'], 'type', 'users must be a mapping');
  else
    for (const k of Object.keys(u))
      if (!USER_KEYS.includes(k)) err(['users', k], 'unknown-field', `unknown field '${k}'`, `known fields: ${USER_KEYS.join(', ')}`);
  const g = (o.groups ?? {}) as Record<string, unknown>;
  if (typeof g !== 'object') err(['groups'], 'type', 'groups must be a mapping');
  else for (const k of Object.keys(g)) if (!GROUP_KEYS.includes(k)) err(['groups', k], 'unknown-field', `unknown field '${k}'`);
  const str = (v: unknown, d: string) => (typeof v === 'string' && v ? v : d);
  const rel = (v: unknown, d: string) => {
    const s = str(v, d);
    return s.toLowerCase().endsWith(baseDn.toLowerCase()) ? s : `${s},${baseDn}`;
  };
  if (diags.length) return { diagnostics: diags };
  return {
    diagnostics: diags,
    config: {
      url,
      baseDn,
      startTls: !!o.startTls,
      caFile: o.caFile as string | undefined,
      bindDn: o.bindDn as string | undefined,
      passwordEnv: o.passwordEnv as string | undefined,
      passwordFile: o.passwordFile as string | undefined,
      timeoutMs: timeoutMs!,
      pollIntervalMs: pollIntervalMs!,
      sync: (o.sync as LdapConfig['sync'] | undefined) ?? 'auto',
      maxShrink: maxShrink as number,
      pageSize: typeof o.pageSize === 'number' ? o.pageSize : 500,
      rootOrganization: typeof o.rootOrganization === 'string' ? o.rootOrganization : undefined,
      users: {
        base: rel(u.base, 'ou=people'),
        filter: str(u.filter, '(objectClass=inetOrgPerson)'),
        id: str(u.id, 'uid'),
        name: str(u.name, 'cn'),
        organization: str(u.organization, 'dn'),
        roleAttributes: Array.isArray(u.roleAttributes) ? u.roleAttributes.map(String) : [],
        mac: str(u.mac, 'macAddress'),
        ip: str(u.ip, 'ipHostNumber'),
        deviceAttribute: typeof u.deviceAttribute === 'string' ? u.deviceAttribute : undefined,
      },
      groups: {
        base: rel(g.base, 'ou=groups'),
        filter: str(g.filter, '(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=posixGroup))'),
        name: str(g.name, 'cn'),
      },
    },
  };
}

/** RFC 4515: escape a value for use inside an LDAP search filter. */
export function escapeFilterValue(v: string): string {
  let out = '';
  for (const ch of Buffer.from(v, 'utf8')) {
    const c = String.fromCharCode(ch);
    out += ch < 0x20 || ch > 0x7e || c === '*' || c === '(' || c === ')' || c === '\\' ? '\\' + ch.toString(16).padStart(2, '0') : c;
  }
  return out;
}
