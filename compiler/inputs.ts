/**
 * Parsing and validation of policy.yaml, directory.yaml and topology.yaml into typed models with locations.
 * Every problem is reported at once; a result with errors produces nothing.
 */
import type { SourceLocation } from './model.js';
import { YamlSource, suggest, type Path } from './yaml-source.js';
import { ruleMode, services } from './rule-fields.js';
import { parsePrefix, type Prefix, type Prefix6, type Service } from './addr.js';
import { checkPrefix6 } from './ipv6.js';
import { FIRST_CONTACT_KEYS, UNAUTHENTICATED_ROLE, parseFirstContact, type FirstContactPolicy } from './first-contact.js';
import { parseAuthentication, type AuthPolicy } from './auth.js';
import { parseRuleTime, type RuleTime } from './schedule.js';
import { POLICY_KEYS } from './input-keys.js';
import { fail, finish, type Parsed } from './input-result.js';

export type { Parsed } from './input-result.js';
export { parseDirectoryText } from './inputs-directory.js';
export { parseTopologyText } from './inputs-topology.js';

// ---------- policy ----------

export interface Selector {
  readonly organizations?: readonly string[];
  readonly roles?: readonly string[];
  readonly users?: readonly string[];
  readonly resources?: readonly string[];
  readonly location: SourceLocation;
}

export interface HostRef {
  readonly text: string;
  /** A server name from the topology, or an address/prefix. */
  readonly server?: string;
  readonly prefix?: Prefix;
  readonly prefix6?: Prefix6;
  readonly location: SourceLocation;
}

export interface Resource {
  readonly name: string;
  readonly hosts: readonly HostRef[];
  readonly services: readonly Service[];
  readonly description?: string;
  readonly location: SourceLocation;
}

export interface Rule {
  readonly index: number;
  readonly name: string;
  readonly from: readonly Selector[];
  readonly to: readonly string[];
  readonly action: 'allow' | 'deny';
  /** Restricts the rule to these services; absent = the resource's services (allow) or everything (deny). */
  readonly services?: readonly Service[];
  readonly location: SourceLocation;
  /** A time window or an expiry (`when:`, `until:`, `start:`): the rule applies only while it holds (compiler/schedule.ts). */
  readonly time?: RuleTime;
  /** `monitor`: a deny rule that only logs what it would deny ("would deny"); traffic passes as without it. */
  readonly mode?: 'monitor';
}

export type DirectoryRef =
  | { readonly kind: 'file'; readonly path: string; readonly location: SourceLocation }
  | { readonly kind: 'ldap'; readonly raw: unknown; readonly location: SourceLocation };

export interface Policy {
  readonly file: string;
  readonly version: 1;
  readonly directory: DirectoryRef;
  readonly topology: { readonly path: string; readonly location: SourceLocation };
  readonly resources: readonly Resource[];
  readonly rules: readonly Rule[];
  readonly default: 'deny';
  /** 802.1X / MAC authentication at the edge (compiler/auth.ts); absent = ports admit by topology and discovery. */
  readonly authentication?: AuthPolicy;
  /** The YAML source, for the LDAP block's own validation. */
  readonly source: YamlSource;
  /** DHCP snooping, the unauthenticated state, web sign-in, roaming (compiler/first-contact.ts). */
  readonly firstContact?: FirstContactPolicy;
}

export function parsePolicyText(text: string, file: string): Parsed<Policy> {
  const src = new YamlSource(file, text);
  if (src.value === undefined) return fail(src);
  const top = src.object([], src.value, POLICY_KEYS.top, 'the policy');
  if (!top) return fail(src);

  if (top.version !== 1)
    src.error(
      ['version'],
      'bad-version',
      `version must be 1 (found ${JSON.stringify(top.version) ?? 'nothing'})`,
      "add 'version: 1' at the top",
    );
  if (top.default !== undefined && top.default !== 'deny')
    src.error(['default'], 'bad-default', "default must be 'deny' (anything not allowed is denied)");
  const directory = parseDirectoryRef(src, top.directory);
  const topology =
    typeof top.topology === 'string'
      ? { path: top.topology, location: src.where(['topology']) }
      : (src.error(['topology'], 'missing-field', "topology is required: a file such as 'topology.yaml'"), undefined);
  const resources = parseResources(src, top.resources);
  const resourceNames = new Set(resources.map((r) => r.name));
  const ruleNames = new Map<string, number>();
  const rules: Rule[] = src.list(['rules'], top.rules, 'rules').flatMap((rv, i) => parseRule(src, i, rv, resourceNames, ruleNames) ?? []);

  const authentication = top.authentication === undefined ? undefined : parseAuthentication(src, top.authentication);
  const firstContact = parseFirstContact(src, top, resourceNames);
  if (firstContact.unauthenticated?.to.length) {
    // the unauthenticated state is a rule like any other, for the built-in role
    const location = firstContact.unauthenticated.location;
    if (ruleNames.has('unauthenticated'))
      src.error(['unauthenticated'], 'duplicate-name', "a rule is already named 'unauthenticated': rename it", undefined, true);
    rules.push({
      index: rules.length,
      name: 'unauthenticated',
      from: [{ roles: [UNAUTHENTICATED_ROLE], location }],
      to: firstContact.unauthenticated.to,
      action: 'allow',
      location,
    });
  }
  if (!directory || !topology) return fail(src);
  return finish(src, {
    file,
    version: 1,
    directory,
    topology,
    resources,
    rules,
    default: 'deny',
    ...(authentication ? { authentication } : {}),
    source: src,
    ...(FIRST_CONTACT_KEYS.some((k) => top[k] !== undefined) ? { firstContact } : {}),
  });
}

/** `directory:`, a file name or an `ldap:` block (checked by directory/ldap.ts when loaded). */
function parseDirectoryRef(src: YamlSource, v: unknown): DirectoryRef | undefined {
  if (typeof v === 'string') return { kind: 'file', path: v, location: src.where(['directory']) };
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const d = src.object(['directory'], v, ['ldap'], 'directory');
    if (d && d.ldap !== undefined) return { kind: 'ldap', raw: d.ldap, location: src.where(['directory', 'ldap']) };
    if (d) src.error(['directory'], 'missing-field', "directory needs a file name or an 'ldap:' block");
    return undefined;
  }
  src.error(['directory'], 'missing-field', "directory is required: a file such as 'directory.yaml', or an 'ldap:' block");
  return undefined;
}

/** `resources:`, a mapping of name to hosts and services. */
function parseResources(src: YamlSource, rv: unknown): Resource[] {
  const resources: Resource[] = [];
  if (rv !== undefined && (rv === null || typeof rv !== 'object' || Array.isArray(rv))) {
    src.error(['resources'], 'type', 'resources must be a mapping of name: { hosts, services }');
    return resources;
  }
  for (const [name, body] of Object.entries((rv ?? {}) as Record<string, unknown>)) {
    const p = ['resources', name];
    src.visible(p, name, 'resource name', true);
    const o = src.object(p, body, POLICY_KEYS.resource, `resource '${name}'`);
    if (!o) continue;
    const hosts = src.strings([...p, 'hosts'], o.hosts, 'hosts').map((h, i) => hostRef(src, [...p, 'hosts', i], h));
    if (!hosts.length)
      src.error(p, 'missing-field', `resource '${name}' needs at least one host`, 'hosts: [server-name, 10.0.2.10, 10.0.2.0/28]');
    const svc = services(src, [...p, 'services'], o.services ?? 'any');
    resources.push({
      name,
      hosts,
      services: svc,
      description: typeof o.description === 'string' ? o.description : undefined,
      location: src.where(p, true),
    });
  }
  return resources;
}

/** One of a resource's hosts: an IPv4 or IPv6 address or prefix, or else the name of a server in the topology. */
function hostRef(src: YamlSource, at: Path, h: string): HostRef {
  const location = src.where(at);
  const pr = parsePrefix(h);
  if (pr && 'error' in pr) {
    src.error(at, 'bad-address', pr.error);
    return { text: h, location };
  }
  if (pr) return { text: h, prefix: pr, location };
  if (h.includes(':')) {
    const p6 = checkPrefix6(h);
    if ('error' in p6) {
      src.error(at, 'bad-address', p6.error);
      return { text: h, location };
    }
    return { text: h, prefix6: p6, location };
  }
  return { text: h, server: h, location };
}

/** Entry `i` of `rules:`; undefined (with an error) when it is not a mapping. */
function parseRule(
  src: YamlSource,
  i: number,
  rv: unknown,
  resourceNames: ReadonlySet<string>,
  ruleNames: Map<string, number>,
): Rule | undefined {
  const p = ['rules', i];
  const o = src.object(p, rv, POLICY_KEYS.rule, 'a rule');
  if (!o) return undefined;
  const name = typeof o.name === 'string' && o.name.trim() ? o.name.trim() : `rule-${i + 1}`;
  src.visible([...p, 'name'], name, 'rule name');
  if (ruleNames.has(name))
    src.error([...p, 'name'], 'duplicate-name', `rule name '${name}' is used twice (first at rules[${ruleNames.get(name)}])`);
  ruleNames.set(name, i);
  const action = o.action === undefined ? 'allow' : o.action;
  if (action !== 'allow' && action !== 'deny')
    src.error([...p, 'action'], 'bad-action', `action must be allow or deny (found '${String(action)}')`);
  const fromList = Array.isArray(o.from) ? o.from : o.from === undefined ? [] : [o.from];
  if (!fromList.length) src.error(p, 'missing-field', `rule '${name}' needs 'from'`, 'from: { organizations: [finance] }');
  const from = fromList.map((sv, j) => parseSelector(src, Array.isArray(o.from) ? [...p, 'from', j] : [...p, 'from'], sv, resourceNames));
  const to = src.strings([...p, 'to'], o.to, 'to');
  if (!to.length) src.error(p, 'missing-field', `rule '${name}' needs 'to' (a resource name)`);
  to.forEach((r, k) => {
    if (!resourceNames.has(r))
      src.error(
        Array.isArray(o.to) ? [...p, 'to', k] : [...p, 'to'],
        'unknown-resource',
        `unknown resource '${r}'`,
        suggest(r, resourceNames),
      );
  });
  const svc = o.services !== undefined ? services(src, [...p, 'services'], o.services) : undefined;
  const time = parseRuleTime(src, p, o);
  return {
    index: i,
    name,
    from,
    to,
    action: action as 'allow' | 'deny',
    services: svc,
    location: src.where(p),
    ...(time ? { time } : {}),
    ...ruleMode(src, p, o.mode, action),
  };
}

/** One selector of a rule's `from:` (organizations, roles, users, resources); the resources it names must exist. */
function parseSelector(src: YamlSource, sp: Path, sv: unknown, resourceNames: ReadonlySet<string>): Selector {
  const so = src.object(sp, sv, POLICY_KEYS.selector, 'a selector');
  const sel = {
    organizations: so?.organizations !== undefined ? src.strings([...sp, 'organizations'], so.organizations, 'organizations') : undefined,
    roles: so?.roles !== undefined ? src.strings([...sp, 'roles'], so.roles, 'roles') : undefined,
    users: so?.users !== undefined ? src.strings([...sp, 'users'], so.users, 'users') : undefined,
    resources: so?.resources !== undefined ? src.strings([...sp, 'resources'], so.resources, 'resources') : undefined,
    location: src.where(sp),
  };
  if (so && !POLICY_KEYS.selector.some((k) => so[k] !== undefined))
    src.error(sp, 'empty-selector', 'a selector needs organizations, roles, users or resources');
  (sel.resources ?? []).forEach((r, k) => {
    if (!resourceNames.has(r)) src.error([...sp, 'resources', k], 'unknown-resource', `unknown resource '${r}'`, suggest(r, resourceNames));
  });
  return sel;
}
