/**
 * Parsing and validation of policy.yaml, directory.yaml and topology.yaml into typed models with locations.
 * Every problem is reported at once; a result with errors produces nothing.
 */
import type { Binding, Diagnostic, Directory, Link, Organization, Server, SourceLocation, SwitchDef, Topology, User } from './model.js';
import { YamlSource, suggest, type Path } from './yaml-source.js';
import { ruleMode, services } from './rule-fields.js';
import { PROFILE_NAMES, isProfileName } from './profile.js';
import { normalizeMac, parseIpv4, parsePrefix, type Prefix, type Prefix6, type Service } from './addr.js';
import { checkIpv6, checkPrefix6, ipv6Canonical } from './ipv6.js';
import {
  BUILTIN_ROLES,
  FIRST_CONTACT_KEYS,
  UNAUTHENTICATED_ROLE,
  checkFirstContact,
  parseFirstContact,
  type FirstContactPolicy,
} from './first-contact.js';
import { checkAuthentication, parseAuthentication, type AuthPolicy } from './auth.js';
import { parseRuleTime, RULE_TIME_KEYS, type RuleTime } from './schedule.js';

/**
 * A parse result. On failure, `partial` (when present) is what could be read despite the errors, so that checks
 * across files still run and every mistake is reported at once; it must never be compiled.
 */
export type Parsed<T> = { ok: true; value: T; warnings: Diagnostic[] } | { ok: false; diagnostics: Diagnostic[]; partial?: T };

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

const POLICY_KEYS = [
  'version',
  'directory',
  'topology',
  'resources',
  'rules',
  'default',
  'description',
  'authentication',
  ...FIRST_CONTACT_KEYS,
];
const RESOURCE_KEYS = ['hosts', 'services', 'description'];
const RULE_KEYS = ['name', 'from', 'to', 'action', 'mode', 'services', 'description', ...RULE_TIME_KEYS];
const SELECTOR_KEYS = ['organizations', 'roles', 'users', 'resources'];

function finish<T>(src: YamlSource, value: T | undefined): Parsed<T> {
  const errors = src.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length || value === undefined) return { ok: false, diagnostics: src.diagnostics, partial: value };
  return { ok: true, value, warnings: src.diagnostics };
}

function fail(src: YamlSource): { ok: false; diagnostics: Diagnostic[] } {
  return { ok: false, diagnostics: src.diagnostics };
}

export function parsePolicyText(text: string, file: string): Parsed<Policy> {
  const src = new YamlSource(file, text);
  if (src.value === undefined) return fail(src);
  const top = src.object([], src.value, POLICY_KEYS, 'the policy');
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

  let directory: DirectoryRef | undefined;
  if (typeof top.directory === 'string') directory = { kind: 'file', path: top.directory, location: src.where(['directory']) };
  else if (top.directory && typeof top.directory === 'object' && !Array.isArray(top.directory)) {
    const d = src.object(['directory'], top.directory, ['ldap'], 'directory');
    if (d && d.ldap !== undefined) directory = { kind: 'ldap', raw: d.ldap, location: src.where(['directory', 'ldap']) };
    else if (d) src.error(['directory'], 'missing-field', "directory needs a file name or an 'ldap:' block");
  } else src.error(['directory'], 'missing-field', "directory is required: a file such as 'directory.yaml', or an 'ldap:' block");

  const topology =
    typeof top.topology === 'string'
      ? { path: top.topology, location: src.where(['topology']) }
      : (src.error(['topology'], 'missing-field', "topology is required: a file such as 'topology.yaml'"), undefined);

  const resources: Resource[] = [];
  const rv = top.resources;
  if (rv !== undefined && (rv === null || typeof rv !== 'object' || Array.isArray(rv)))
    src.error(['resources'], 'type', 'resources must be a mapping of name: { hosts, services }');
  else
    for (const [name, body] of Object.entries((rv ?? {}) as Record<string, unknown>)) {
      const p = ['resources', name];
      src.visible(p, name, 'resource name', true);
      const o = src.object(p, body, RESOURCE_KEYS, `resource '${name}'`);
      if (!o) continue;
      const hosts: HostRef[] = src.strings([...p, 'hosts'], o.hosts, 'hosts').map((h, i) => {
        const location = src.where([...p, 'hosts', i]);
        const pr = parsePrefix(h);
        if (pr && 'error' in pr) {
          src.error([...p, 'hosts', i], 'bad-address', pr.error);
          return { text: h, location };
        }
        if (pr) return { text: h, prefix: pr, location };
        if (h.includes(':')) {
          const p6 = checkPrefix6(h);
          if ('error' in p6) {
            src.error([...p, 'hosts', i], 'bad-address', p6.error);
            return { text: h, location };
          }
          return { text: h, prefix6: p6, location };
        }
        return { text: h, server: h, location };
      });
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
  const resourceNames = new Set(resources.map((r) => r.name));

  const rules: Rule[] = [];
  const ruleNames = new Map<string, number>();
  src.list(['rules'], top.rules, 'rules').forEach((rv2, i) => {
    const p = ['rules', i];
    const o = src.object(p, rv2, RULE_KEYS, 'a rule');
    if (!o) return;
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
    const from: Selector[] = fromList.map((sv, j) => {
      const sp: Path = Array.isArray(o.from) ? [...p, 'from', j] : [...p, 'from'];
      const so = src.object(sp, sv, SELECTOR_KEYS, 'a selector');
      const sel = {
        organizations:
          so?.organizations !== undefined ? src.strings([...sp, 'organizations'], so.organizations, 'organizations') : undefined,
        roles: so?.roles !== undefined ? src.strings([...sp, 'roles'], so.roles, 'roles') : undefined,
        users: so?.users !== undefined ? src.strings([...sp, 'users'], so.users, 'users') : undefined,
        resources: so?.resources !== undefined ? src.strings([...sp, 'resources'], so.resources, 'resources') : undefined,
        location: src.where(sp),
      };
      if (so && !SELECTOR_KEYS.some((k) => so[k] !== undefined))
        src.error(sp, 'empty-selector', 'a selector needs organizations, roles, users or resources');
      (sel.resources ?? []).forEach((r, k) => {
        if (!resourceNames.has(r))
          src.error([...sp, 'resources', k], 'unknown-resource', `unknown resource '${r}'`, suggest(r, resourceNames));
      });
      return sel;
    });
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
    rules.push({
      index: i,
      name,
      from,
      to,
      action: action as 'allow' | 'deny',
      services: svc,
      location: src.where(p),
      ...(time ? { time } : {}),
      ...ruleMode(src, p, o.mode, action),
    });
  });

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

/**
 * `ipv6:` of a device, host or server: one address or a list, each checked with the reference parser; canonical
 * texts. An IPv6 address written under `ip:` is taken as one of them.
 */
function ipv6List(src: YamlSource, path: Path, v: unknown, fromIp?: string): string[] | undefined {
  const out: string[] = [];
  if (fromIp !== undefined) {
    const r = checkIpv6(fromIp);
    if (!('error' in r)) out.push(ipv6Canonical(r.addr));
  }
  if (v === undefined) return out.length ? out : undefined;
  const list = Array.isArray(v) ? v : [v];
  if (!list.length) {
    src.error(path, 'bad-address', 'ipv6 needs at least one address (or leave it out)');
    return undefined;
  }
  if (list.length > 16) {
    src.error(path, 'bad-address', `at most 16 IPv6 addresses per device (found ${list.length})`);
    return undefined;
  }
  let ok = true;
  list.forEach((x, i) => {
    const at: Path = Array.isArray(v) ? [...path, i] : path;
    if (typeof x !== 'string') {
      src.error(at, 'bad-address', `'${String(x)}' is not an IPv6 address`, 'write it as 2001:db8::10');
      ok = false;
      return;
    }
    const r = checkIpv6(x);
    if ('error' in r) {
      src.error(at, 'bad-address', r.error, 'write it as 2001:db8::10');
      ok = false;
      return;
    }
    if (r.addr === 0n || r.addr >> 120n === 0xffn) {
      src.error(at, 'bad-address', `'${x}' cannot be a device's own address (unspecified or multicast)`);
      ok = false;
      return;
    }
    const c = ipv6Canonical(r.addr);
    if (!out.includes(c)) out.push(c);
  });
  return ok ? out : undefined;
}

/** An IPv4 address under `ip:`, or an IPv6 one (which joins `ipv6:`); undefined + error otherwise. */
function ipField(v: unknown): { v4?: string; v6?: string; bad?: true } {
  const t = String(v).trim();
  if (parseIpv4(t) !== undefined) return { v4: t };
  if (t.includes(':') && !('error' in checkIpv6(t))) return { v6: t };
  return { bad: true };
}

// ---------- directory ----------

export function parseDirectoryText(text: string, file: string): Parsed<Directory> {
  const src = new YamlSource(file, text);
  if (src.value === undefined) return fail(src);
  const top = src.object([], src.value, ['organizations', 'users', 'roles'], 'the directory');
  if (!top) return fail(src);
  const organizations: Organization[] = [];
  const orgNames = new Set<string>();
  const walk = (list: unknown, path: Path, parent: string | undefined) => {
    src.list(path, list, 'organizations').forEach((ov, i) => {
      const p = [...path, i];
      if (typeof ov === 'string') ov = { name: ov };
      const o = src.object(p, ov, ['name', 'children', 'description'], 'an organization');
      if (!o) return;
      const name = src.string([...p, 'name'], o.name, 'organization name');
      if (!name) return;
      if (orgNames.has(name)) src.error([...p, 'name'], 'duplicate-name', `organization '${name}' is defined twice`);
      orgNames.add(name);
      organizations.push({ name, parent, location: src.where(p) });
      walk(o.children, [...p, 'children'], name);
    });
  };
  walk(top.organizations, ['organizations'], undefined);

  const users: User[] = [];
  const ids = new Set<string>();
  const macOwner = new Map<string, string>();
  const ipOwner = new Map<string, string>();
  src.list(['users'], top.users, 'users').forEach((uv, i) => {
    const p = ['users', i];
    const o = src.object(p, uv, ['id', 'name', 'organization', 'roles', 'devices', 'email'], 'a user');
    if (!o) return;
    const id = src.string([...p, 'id'], o.id, 'user id');
    if (!id) return;
    if (ids.has(id)) src.error([...p, 'id'], 'duplicate-name', `user id '${id}' is used twice`);
    ids.add(id);
    const organization = o.organization === undefined ? undefined : src.string([...p, 'organization'], o.organization, 'organization');
    if (organization && !orgNames.has(organization))
      src.error([...p, 'organization'], 'unknown-organization', `unknown organization '${organization}'`, suggest(organization, orgNames));
    const roles = src.strings([...p, 'roles'], o.roles, 'roles');
    const devices = src.list([...p, 'devices'], o.devices, 'devices').flatMap((dv, j) => {
      const dp = [...p, 'devices', j];
      const d = src.object(dp, dv, ['mac', 'ip', 'ipv6', 'name'], 'a device');
      if (!d) return [];
      const mac = typeof d.mac === 'string' ? normalizeMac(d.mac) : undefined;
      if (!mac) {
        src.error([...dp, 'mac'], 'bad-mac', `'${String(d.mac ?? '')}' is not a MAC address`, 'write it as 02:00:00:00:01:01');
        return [];
      }
      const prevMac = macOwner.get(mac);
      if (prevMac) src.error([...dp, 'mac'], 'device-conflict', `device ${mac} is already bound to user '${prevMac}'`);
      macOwner.set(mac, id);
      let ip: string | undefined;
      let v6FromIp: string | undefined;
      if (d.ip !== undefined) {
        const f = ipField(d.ip);
        if (f.bad) {
          src.error(
            [...dp, 'ip'],
            'bad-address',
            `'${String(d.ip)}' is not an IPv4 address`,
            'IPv6 addresses go under ipv6: [2001:db8::10]',
          );
          return [];
        }
        ip = f.v4;
        v6FromIp = f.v6;
        if (ip !== undefined) {
          const prevIp = ipOwner.get(ip);
          if (prevIp) src.error([...dp, 'ip'], 'device-conflict', `address ${ip} is already bound to user '${prevIp}'`);
          ipOwner.set(ip, id);
        }
      }
      const ipv6 = ipv6List(src, [...dp, 'ipv6'], d.ipv6, v6FromIp);
      if (d.ipv6 !== undefined && !ipv6) return [];
      for (const a of ipv6 ?? []) {
        if (a.startsWith('fe80:')) continue; // link-local addresses are only unique per link
        const prev = ipOwner.get(a);
        if (prev) src.error([...dp, 'ipv6'], 'device-conflict', `address ${a} is already bound to user '${prev}'`);
        ipOwner.set(a, id);
      }
      return [{ mac, ...(ip !== undefined ? { ip } : {}), ...(ipv6 ? { ipv6 } : {}) }];
    });
    users.push({ id, name: typeof o.name === 'string' ? o.name : id, organization, roles, devices, location: src.where(p) });
  });
  const declared = top.roles !== undefined ? src.strings(['roles'], top.roles, 'roles') : undefined;
  return finish(src, { organizations, users, ...(declared ? { roles: declared } : {}), source: `file:${file}` });
}

// ---------- topology ----------

export function parseTopologyText(text: string, file: string): Parsed<Topology> {
  const src = new YamlSource(file, text);
  if (src.value === undefined) return fail(src);
  const top = src.object([], src.value, ['switches', 'links', 'hosts', 'servers', 'routers', 'dhcpv6'], 'the topology');
  if (!top) return fail(src);
  const switches: SwitchDef[] = [];
  const byName = new Set<string>();
  const dpids = new Map<bigint, string>();
  src.list(['switches'], top.switches, 'switches').forEach((sv, i) => {
    const p = ['switches', i];
    const o = src.object(p, sv, ['name', 'dpid', 'kind', 'exclusive', 'profile', 'tables', 'conntrack_zone', 'description'], 'a switch');
    if (!o) return;
    const name = src.string([...p, 'name'], o.name, 'switch name');
    if (!name) return;
    if (byName.has(name)) src.error([...p, 'name'], 'duplicate-name', `switch '${name}' is defined twice`);
    byName.add(name);
    let dpid: bigint | undefined;
    try {
      if (typeof o.dpid === 'number' && Number.isInteger(o.dpid) && o.dpid >= 0) dpid = BigInt(o.dpid);
      else if (typeof o.dpid === 'string' && /^(0x[0-9a-f]{1,16}|\d+|([0-9a-f]{2}:){7}[0-9a-f]{2})$/i.test(o.dpid))
        dpid = BigInt(o.dpid.includes(':') ? '0x' + o.dpid.replace(/:/g, '') : o.dpid);
    } catch {
      /* reported below */
    }
    if (dpid === undefined || dpid > 0xffffffffffffffffn) {
      src.error([...p, 'dpid'], 'bad-dpid', `switch '${name}' needs a dpid (a number, or hex like 0x10)`);
      return;
    }
    if (dpids.has(dpid)) src.error([...p, 'dpid'], 'duplicate-dpid', `dpid ${dpid} is also used by switch '${dpids.get(dpid)}'`);
    dpids.set(dpid, name);
    const kind = o.kind ?? 'edge';
    if (kind !== 'edge' && kind !== 'core' && kind !== 'hypervisor')
      src.error([...p, 'kind'], 'bad-kind', `kind must be edge, core or hypervisor (found '${String(kind)}')`);
    if (o.exclusive !== undefined && typeof o.exclusive !== 'boolean')
      src.error([...p, 'exclusive'], 'type', `exclusive must be true or false (found '${String(o.exclusive)}')`);
    if (o.profile !== undefined && !isProfileName(o.profile))
      src.error(
        [...p, 'profile'],
        'bad-profile',
        `profile must be one of ${PROFILE_NAMES.join(', ')} (found '${String(o.profile)}')`,
        suggest(String(o.profile), PROFILE_NAMES),
      );
    let tables: Record<number, number> | undefined;
    if (o.tables !== undefined) {
      if (!o.tables || typeof o.tables !== 'object' || Array.isArray(o.tables))
        src.error([...p, 'tables'], 'type', 'tables is a map of table number to the most flows it holds, e.g. { 0: 2000, 2: 4000 }');
      else {
        tables = {};
        for (const [k, v] of Object.entries(o.tables as Record<string, unknown>)) {
          if (!/^\d{1,3}$/.test(k) || Number(k) > 254) {
            src.error([...p, 'tables', k], 'bad-table', `'${k}' is not a table number (0..254)`);
            continue;
          }
          if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) {
            src.error(
              [...p, 'tables', k],
              'bad-budget',
              `table ${k}: the budget must be a whole number of flows (0..4294967295), found '${String(v)}'`,
            );
            continue;
          }
          tables[Number(k)] = v;
        }
      }
    }
    const zone = o.conntrack_zone;
    if (zone !== undefined && (typeof zone !== 'number' || !Number.isInteger(zone) || zone < 1 || zone > 65535))
      src.error([...p, 'conntrack_zone'], 'bad-zone', `conntrack_zone must be a whole number in 1..65535 (found '${String(zone)}')`);
    switches.push({
      name,
      dpid,
      kind: kind as SwitchDef['kind'],
      ...(o.exclusive === true ? { exclusive: true } : {}),
      ...(isProfileName(o.profile) ? { profile: o.profile } : {}),
      ...(tables ? { tables } : {}),
      ...(typeof zone === 'number' ? { ctZone: zone } : {}),
      location: src.where(p),
    });
  });
  const portRef = (path: Path, v: unknown) => {
    const m = typeof v === 'string' ? v.match(/^([^:\s]+):(\d+)$/) : null;
    if (!m) {
      src.error(path, 'bad-port', `'${String(v)}' is not switch:port`, 'write it as edge1:3');
      return undefined;
    }
    if (!byName.has(m[1])) {
      src.error(path, 'unknown-switch', `unknown switch '${m[1]}'`, suggest(m[1], byName));
      return undefined;
    }
    const port = Number(m[2]);
    if (port < 1 || port > 0xffffff00) {
      src.error(path, 'bad-port', `port ${port} is out of range`);
      return undefined;
    }
    return { switch: m[1], port };
  };
  const used = new Map<string, string>();
  const claim = (path: Path, sw: string, port: number, what: string) => {
    const k = `${sw}:${port}`;
    if (used.has(k) && used.get(k) !== what) src.error(path, 'port-conflict', `${k} is already used by ${used.get(k)}`);
    used.set(k, what);
  };
  const links: Link[] = [];
  src.list(['links'], top.links, 'links').forEach((lv, i) => {
    const p = ['links', i];
    if (!Array.isArray(lv) || lv.length !== 2) {
      src.error(p, 'bad-link', 'a link is a pair [switch:port, switch:port]');
      return;
    }
    const a = portRef([...p, 0], lv[0]);
    const b = portRef([...p, 1], lv[1]);
    if (a && b) {
      claim([...p, 0], a.switch, a.port, `link ${i}`);
      claim([...p, 1], b.switch, b.port, `link ${i}`);
      links.push({ a, b });
    }
  });
  const hosts: Binding[] = [];
  src.list(['hosts'], top.hosts, 'hosts').forEach((hv, i) => {
    const p = ['hosts', i];
    const o = src.object(p, hv, ['mac', 'ip', 'ipv6', 'switch', 'port', 'name'], 'a host');
    if (!o) return;
    const mac = typeof o.mac === 'string' ? normalizeMac(o.mac) : undefined;
    if (!mac) {
      src.error([...p, 'mac'], 'bad-mac', `'${String(o.mac ?? '')}' is not a MAC address`);
      return;
    }
    const sw = src.string([...p, 'switch'], o.switch, 'switch');
    if (sw && !byName.has(sw)) {
      src.error([...p, 'switch'], 'unknown-switch', `unknown switch '${sw}'`, suggest(sw, byName));
      return;
    }
    const port = typeof o.port === 'number' && Number.isInteger(o.port) && o.port > 0 ? o.port : undefined;
    if (!port) {
      src.error([...p, 'port'], 'bad-port', 'port must be a positive whole number');
      return;
    }
    const addrs = hostAddresses(src, p, o);
    if (!addrs) return;
    // several hosts may share a port (a phone with a PC behind it, an access point); a link or server may not
    if (sw) {
      claim(p, sw, port, 'hosts');
      hosts.push({ mac, ip: addrs.v4, ...(addrs.ipv6 ? { ipv6: addrs.ipv6 } : {}), switch: sw, port });
    }
  });
  const servers: Server[] = [];
  const serverNames = new Set<string>();
  src.list(['servers'], top.servers, 'servers').forEach((sv, i) => {
    const p = ['servers', i];
    const o = src.object(p, sv, ['name', 'mac', 'ip', 'ipv6', 'switch', 'port', 'description'], 'a server');
    if (!o) return;
    const name = src.string([...p, 'name'], o.name, 'server name');
    const mac = typeof o.mac === 'string' ? normalizeMac(o.mac) : undefined;
    if (!mac) src.error([...p, 'mac'], 'bad-mac', `'${String(o.mac ?? '')}' is not a MAC address`);
    const ip = o.ip === undefined ? undefined : String(o.ip),
      sipv6 = ipv6List(src, [...p, 'ipv6'], o.ipv6);
    if (!ip || parseIpv4(ip) === undefined) src.error([...p, 'ip'], 'bad-address', `'${String(o.ip ?? '')}' is not an IPv4 address`);
    const sw = src.string([...p, 'switch'], o.switch, 'switch');
    if (sw && !byName.has(sw)) src.error([...p, 'switch'], 'unknown-switch', `unknown switch '${sw}'`, suggest(sw, byName));
    const port = typeof o.port === 'number' && Number.isInteger(o.port) && o.port > 0 ? o.port : undefined;
    if (!port) src.error([...p, 'port'], 'bad-port', 'port must be a positive whole number');
    if (!name || !mac || !ip || parseIpv4(ip) === undefined || !sw || !byName.has(sw) || !port || (o.ipv6 !== undefined && !sipv6)) return;
    if (serverNames.has(name)) src.error([...p, 'name'], 'duplicate-name', `server '${name}' is defined twice`);
    serverNames.add(name);
    claim(p, sw, port, `server ${name}`);
    servers.push({ name, mac, ip, ...(sipv6 ? { ipv6: sipv6 } : {}), switch: sw, port, location: src.where(p) });
  });
  return finish(src, { switches, links, hosts, servers, ...trustedPortBlocks(src, top, servers, portRef, used) });
}

/** `routers:` / `dhcpv6:` of a topology: server names or switch:port, never an inter-switch link. */
function trustedPorts(
  src: YamlSource,
  top: Record<string, unknown>,
  key: 'routers' | 'dhcpv6',
  servers: readonly Server[],
  portRef: (path: Path, v: unknown) => { switch: string; port: number } | undefined,
  used: ReadonlyMap<string, string>,
): Array<{ switch: string; port: number }> | undefined {
  if (top[key] === undefined) return undefined;
  const out: { switch: string; port: number }[] = [];
  src.strings([key], top[key], key).forEach((t, i) => {
    const server = servers.find((x) => x.name === t);
    if (server) {
      out.push({ switch: server.switch, port: server.port });
      return;
    }
    const r = portRef([key, i], t);
    if (!r) return;
    if (used.get(`${r.switch}:${r.port}`)?.startsWith('link')) {
      src.error([key, i], 'link-port', `${t} is an inter-switch link: name the router's or server's own port`);
      return;
    }
    out.push(r);
  });
  return out;
}

/** `routers:` and `dhcpv6:` (IPv6 RA guard, DHCPv6 trust), present only when written. */
function trustedPortBlocks(
  src: YamlSource,
  top: Record<string, unknown>,
  servers: readonly Server[],
  portRef: (path: Path, v: unknown) => { switch: string; port: number } | undefined,
  used: ReadonlyMap<string, string>,
): Pick<Topology, 'routers' | 'dhcpv6'> {
  const routers = trustedPorts(src, top, 'routers', servers, portRef, used),
    dhcpv6 = trustedPorts(src, top, 'dhcpv6', servers, portRef, used);
  return { ...(routers ? { routers } : {}), ...(dhcpv6 ? { dhcpv6 } : {}) };
}

/** A topology host's `ip:` (IPv4, or IPv6 joining `ipv6:`) and `ipv6:`; undefined after an error. */
function hostAddresses(src: YamlSource, p: Path, o: Record<string, unknown>): { v4?: string; ipv6?: string[] } | undefined {
  const hf = o.ip === undefined ? {} : ipField(o.ip);
  if (hf.bad) {
    src.error([...p, 'ip'], 'bad-address', `'${String(o.ip)}' is not an IPv4 address`);
    return undefined;
  }
  const ipv6 = ipv6List(src, [...p, 'ipv6'], o.ipv6, hf.v6);
  if (o.ipv6 !== undefined && !ipv6) return undefined;
  return { v4: hf.v4, ...(ipv6 ? { ipv6 } : {}) };
}

/** Cross-file checks: names the policy uses must exist in the directory and topology. */
export function crossCheck(policy: Policy, directory: Directory, topology: Topology): Diagnostic[] {
  const src = policy.source;
  const before = src.diagnostics.length;
  const orgs = new Set(directory.organizations.map((o) => o.name));
  // device groups declared in the policy (MAB printers, cameras) are used in selectors like roles
  const roles = new Set([
    ...directory.users.flatMap((u) => u.roles),
    ...(directory.roles ?? []),
    ...BUILTIN_ROLES,
    ...(policy.authentication?.deviceGroups ?? []),
  ]);
  const users = new Set(directory.users.map((u) => u.id));
  const servers = new Set(topology.servers.map((s) => s.name));
  const rawRules = ((src.value as Record<string, unknown>)?.rules ?? []) as unknown[];
  for (const r of policy.rules) {
    const rawFrom = (rawRules[r.index] as Record<string, unknown> | undefined)?.from;
    r.from.forEach((sel, j) => {
      const base: Path = Array.isArray(rawFrom) ? ['rules', r.index, 'from', j] : ['rules', r.index, 'from'];
      (sel.organizations ?? []).forEach((o, k) => {
        if (!orgs.has(o)) src.error([...base, 'organizations', k], 'unknown-organization', `unknown organization '${o}'`, suggest(o, orgs));
      });
      (sel.users ?? []).forEach((u, k) => {
        if (!users.has(u)) src.error([...base, 'users', k], 'unknown-user', `unknown user '${u}'`, suggest(u, users));
      });
      (sel.roles ?? []).forEach((ro, k) => {
        // a misspelt role in a deny rule would deny nobody: an error, unless the directory declares the role
        if (!roles.has(ro))
          src.error(
            [...base, 'roles', k],
            'unknown-role',
            `unknown role '${ro}': no user in the directory has it`,
            suggest(ro, roles) ?? "if nobody holds it yet, list it under 'roles:' in the directory (an LDAP group may be empty)",
          );
      });
    });
  }
  for (const res of policy.resources) {
    res.hosts.forEach((h, i) => {
      if (h.server && !servers.has(h.server))
        src.error(
          ['resources', res.name, 'hosts', i],
          'unknown-server',
          `'${h.server}' is neither an address nor a server in the topology`,
          suggest(h.server, servers),
        );
    });
  }
  checkFirstContact(policy.firstContact, topology, src);
  if (policy.authentication) checkAuthentication(src, policy.authentication, topology);
  // A device bound in the topology must not disagree with the directory's address.
  return src.diagnostics.slice(before);
}
