/**
 * LDAP entries to a Directory: users, organizations (the OU tree) and roles (groups, nested), built all at once or
 * updated entry by entry (the poll's and push's changed entries). No I/O: the entries come from LdapDirectorySource.
 */
import type { Entry } from 'ldapts';
import type { Device, Directory, Organization, User } from '../compiler/model.js';
import { normalizeMac, parseIpv4 } from '../compiler/addr.js';
import { compareText } from '../compiler/order.js';
import { hiddenCharacter } from '../compiler/names.js';
import type { LdapConfig } from './ldap-config.js';
import { sameUser } from './sync.js';

export function values(e: Entry, attr: string): string[] {
  const key = Object.keys(e).find((k) => k.toLowerCase() === attr.toLowerCase());
  if (!key) return [];
  const v = e[key];
  const arr = Array.isArray(v) ? v : [v];
  return arr.map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : String(x)));
}

export const normDn = (dn: string) =>
  dn
    .split(',')
    .map((p) => p.trim().toLowerCase())
    .join(',');

/** RDNs as [attr, value] pairs, most specific first. */
function rdns(dn: string): Array<[string, string]> {
  return dn.split(/,(?=\s*[a-zA-Z0-9.-]+=)/).map((p) => {
    const i = p.indexOf('=');
    return [p.slice(0, i).trim().toLowerCase(), p.slice(i + 1).trim()] as [string, string];
  });
}

export class LdapEntryBuilder {
  constructor(
    private readonly config: LdapConfig,
    readonly description: string,
  ) {}

  /** A directory from raw entries, all at once (`loadChanges` does the same piece by piece). */
  build(people: Entry[], groups: Entry[], ous: Entry[]): Directory {
    const parsed = new Map<string, ParsedGroup>();
    for (const g of groups) parsed.set(normDn(g.dn), this.parseGroup(g));
    const { rolesOfDn, rolesOfUid } = resolveGroups(parsed);
    const users: User[] = [];
    for (const e of people) {
      const u = this.userOf(e, rolesOfDn, rolesOfUid);
      if (u) users.push(u);
    }
    users.sort(byId);
    return { organizations: this.orgsOf(ous, users), users, roles: groupRoleNames(parsed), source: this.description };
  }

  stateFrom(people: Entry[], groups: Entry[], ous: Entry[], prev: State | undefined, t1: number): State {
    const st: State = {
      people: new Map(people.map((e) => [normDn(e.dn), e])),
      groups: new Map(groups.map((e) => [normDn(e.dn), e])),
      ous: new Map(ous.map((e) => [normDn(e.dn), e])),
      since: newestTimestamp([people, groups, ous], ''),
      sinceSeenAt: t1,
      settled: false,
      fullAt: Date.now(),
      parsedGroups: new Map(),
      rolesOfDn: new Map(),
      rolesOfUid: new Map(),
      users: new Map(),
      dir: { organizations: [], users: [], source: this.description },
    };
    for (const [dn, g] of st.groups) st.parsedGroups.set(dn, this.parseGroup(g));
    ({ rolesOfDn: st.rolesOfDn, rolesOfUid: st.rolesOfUid } = resolveGroups(st.parsedGroups));
    let changed = !prev;
    for (const [dn, e] of st.people) {
      const u = this.userOf(e, st.rolesOfDn, st.rolesOfUid);
      if (!u) continue;
      const old = prev?.users.get(dn);
      const keep = old && sameUser(old, u) ? old : u;
      if (keep !== old) changed = true;
      st.users.set(dn, keep);
    }
    if (prev && prev.users.size !== st.users.size) changed = true;
    const users = changed ? [...st.users.values()].sort(byId) : prev!.dir.users;
    const organizations = this.orgsOf(st.ous.values(), users);
    if (prev && !changed && sameOrgs(prev.dir.organizations, organizations)) st.dir = prev.dir;
    else
      st.dir = {
        organizations: prev && sameOrgs(prev.dir.organizations, organizations) ? prev.dir.organizations : organizations,
        users,
        source: this.description,
      };
    withGroupRoles(st);
    return st;
  }

  /**
   * Applies changed entries (undefined: deleted) to the state and rebuilds only the users whose entry changed or
   * whose roles changed through a group. `st.dir` stays the same object when nothing visible changed.
   */
  apply(
    st: State,
    people: Map<string, Entry | undefined>,
    groups: Map<string, Entry | undefined>,
    ous: Map<string, Entry | undefined>,
  ): void {
    this.applyEntries(st, people, groups, ous);
    if (groups.size) withGroupRoles(st);
  }

  private applyEntries(
    st: State,
    people: Map<string, Entry | undefined>,
    groups: Map<string, Entry | undefined>,
    ous: Map<string, Entry | undefined>,
  ): void {
    const candidates = new Set<string>();
    for (const [dn, e] of people) {
      if (e) st.people.set(dn, e);
      else st.people.delete(dn);
      candidates.add(dn);
    }
    let ousChanged = false;
    for (const [dn, e] of ous) {
      if (e) st.ous.set(dn, e);
      else st.ous.delete(dn);
      ousChanged = true;
    }
    if (groups.size) {
      for (const [dn, e] of groups) {
        if (e) {
          st.groups.set(dn, e);
          st.parsedGroups.set(dn, this.parseGroup(e));
        } else {
          st.groups.delete(dn);
          st.parsedGroups.delete(dn);
        }
      }
      const r = resolveGroups(st.parsedGroups);
      // users whose set of group roles differs (by DN, or by uid for posixGroup memberUid)
      for (const dn of changedKeys(st.rolesOfDn, r.rolesOfDn)) candidates.add(dn);
      const uids = new Set(changedKeys(st.rolesOfUid, r.rolesOfUid));
      if (uids.size) for (const [dn, u] of st.users) if (uids.has(u.id)) candidates.add(dn);
      // a user entry without an id yet may be a memberUid target only once it has one: covered by its own change
      st.rolesOfDn = r.rolesOfDn;
      st.rolesOfUid = r.rolesOfUid;
    }
    const replaced = new Map<User, User>();
    const removed = new Set<User>();
    const added: User[] = [];
    for (const dn of candidates) {
      const e = st.people.get(dn);
      const u = e ? this.userOf(e, st.rolesOfDn, st.rolesOfUid) : undefined;
      const old = st.users.get(dn);
      if (old && u && sameUser(old, u)) continue;
      if (u) st.users.set(dn, u);
      else st.users.delete(dn);
      if (old && u && old.id === u.id) replaced.set(old, u);
      else {
        if (old) removed.add(old);
        if (u) added.push(u);
      }
    }
    if (!replaced.size && !removed.size && !added.length) {
      if (!ousChanged) return;
      const organizations = this.orgsOf(st.ous.values(), st.dir.users);
      if (!sameOrgs(st.dir.organizations, organizations)) st.dir = { ...st.dir, organizations };
      return;
    }
    let users = st.dir.users.map((u) => replaced.get(u) ?? u);
    if (removed.size) users = users.filter((u) => !removed.has(u));
    if (added.length > 64) users = [...users, ...added].sort(byId);
    else for (const u of added) users.splice(sortedIndex(users, u), 0, u);
    const organizations = this.orgsOf(st.ous.values(), users);
    st.dir = {
      organizations: sameOrgs(st.dir.organizations, organizations) ? st.dir.organizations : organizations,
      users,
      source: this.description,
    };
  }

  parseGroup(g: Entry): ParsedGroup {
    const n = this.config.groups.name;
    return {
      name: values(g, n)[0] ?? rdns(g.dn)[0][1],
      members: [...values(g, 'member'), ...values(g, 'uniqueMember')].map(normDn),
      memberUids: values(g, 'memberUid'),
    };
  }

  /** Organizations from the OU tree under the users base, plus any organization a user names that the tree lacks. */
  private orgsOf(ous: Iterable<Entry>, users: readonly User[]): Organization[] {
    const c = this.config;
    const base = normDn(c.users.base);
    const orgs = new Map<string, Organization>();
    if (c.rootOrganization) orgs.set(c.rootOrganization, { name: c.rootOrganization });
    for (const e of ous) {
      const n = normDn(e.dn);
      if (n === base || !n.endsWith(base)) continue;
      const parts = rdns(e.dn.slice(0, e.dn.length - c.users.base.length).replace(/,\s*$/, '')).filter(([a]) => a === 'ou');
      if (!parts.length || hiddenCharacter(parts[0][1])) continue;
      orgs.set(parts[0][1], { name: parts[0][1], parent: parts[1]?.[1] ?? c.rootOrganization });
    }
    for (const { organization } of users) {
      if (organization && !orgs.has(organization))
        orgs.set(organization, { name: organization, parent: c.rootOrganization !== organization ? c.rootOrganization : undefined });
    }
    return [...orgs.values()].sort((a, b) => compareText(a.name, b.name));
  }

  /** One user from its entry and the resolved group roles; undefined for an entry without an id. */
  private userOf(e: Entry, rolesOfDn: Map<string, Set<string>>, rolesOfUid: Map<string, Set<string>>): User | undefined {
    const c = this.config;
    const id = values(e, c.users.id)[0];
    // Names with bidi controls or zero-width characters are refused, as in YAML files: an entry whose id has one
    // is no user at all (fail closed), such a role or organization is left out (no policy can name it anyway).
    if (!id || hiddenCharacter(id)) return undefined;
    let organization: string | undefined;
    if (c.users.organization === 'dn') {
      organization = rdns(e.dn).find(([a]) => a === 'ou')?.[1];
      if (organization && normDn(`ou=${organization},${c.users.base}`) === normDn(c.users.base)) organization = c.rootOrganization;
    } else organization = values(e, c.users.organization)[0];
    if (organization && hiddenCharacter(organization)) organization = undefined;
    const roles = new Set<string>([...(rolesOfDn.get(normDn(e.dn)) ?? []), ...(rolesOfUid.get(id) ?? [])]);
    for (const a of c.users.roleAttributes) for (const v of values(e, a)) roles.add(v);
    for (const r of roles) if (hiddenCharacter(r)) roles.delete(r);
    const devices: Device[] = [];
    if (c.users.deviceAttribute) {
      for (const v of values(e, c.users.deviceAttribute)) {
        const mac = normalizeMac(v.match(/mac=([^,;\s]+)/i)?.[1] ?? '');
        const ip = v.match(/ip=([\d.]+)/i)?.[1];
        if (mac) devices.push({ mac, ip: ip && parseIpv4(ip) !== undefined ? ip : undefined });
      }
    } else {
      const macs = values(e, c.users.mac);
      const ips = values(e, c.users.ip);
      macs.forEach((m, i) => {
        const mac = normalizeMac(m);
        if (mac) devices.push({ mac, ip: ips[i] && parseIpv4(ips[i]) !== undefined ? ips[i] : undefined });
      });
    }
    return { id, name: values(e, c.users.name)[0] ?? id, organization, roles: [...roles].sort(), devices };
  }
}

export function newestTimestamp(lists: Entry[][], start: string): string {
  let newest = start;
  for (const l of lists)
    for (const e of l) {
      const ts = values(e, 'modifyTimestamp')[0];
      if (ts && ts > newest) newest = ts;
    }
  return newest;
}

export interface ParsedGroup {
  name: string;
  members: string[];
  memberUids: string[];
}

export interface State {
  people: Map<string, Entry>;
  groups: Map<string, Entry>;
  ous: Map<string, Entry>;
  /** Newest modifyTimestamp seen: the next poll asks for entries at or after it. */
  since: string;
  /** performance.now() when a read that returned `since` ended: the server's clock had reached that second by then. */
  sinceSeenAt: number;
  /** A read begun after `since`'s second was over (plus settleMs) has returned: nothing more can carry that stamp. */
  settled: boolean;
  /** When everything was last read (Date.now()). */
  fullAt: number;
  parsedGroups: Map<string, ParsedGroup>;
  rolesOfDn: Map<string, Set<string>>;
  rolesOfUid: Map<string, Set<string>>;
  /** Built users by normalized DN. */
  users: Map<string, User>;
  dir: Directory;
}

/** Users by id in code-unit order (the same on every machine, whatever its locale). */
const byId = (a: User, b: User) => compareText(a.id, b.id);
function sortedIndex(users: readonly User[], u: User): number {
  let lo = 0,
    hi = users.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (byId(users[mid], u) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Group roles by member DN and by memberUid, nested groups resolved transitively. */
function resolveGroups(groupByDn: Map<string, ParsedGroup>): { rolesOfDn: Map<string, Set<string>>; rolesOfUid: Map<string, Set<string>> } {
  const rolesOfDn = new Map<string, Set<string>>();
  const rolesOfUid = new Map<string, Set<string>>();
  for (const [gdn, g] of groupByDn) {
    const seen = new Set<string>([gdn]);
    const stack = [...g.members];
    const uids = [...g.memberUids];
    while (stack.length) {
      const m = stack.pop()!;
      const nested = groupByDn.get(m);
      if (nested) {
        if (!seen.has(m)) {
          seen.add(m);
          stack.push(...nested.members);
          uids.push(...nested.memberUids);
        }
        continue;
      }
      (rolesOfDn.get(m) ?? rolesOfDn.set(m, new Set()).get(m)!).add(g.name);
    }
    for (const u of uids) (rolesOfUid.get(u) ?? rolesOfUid.set(u, new Set()).get(u)!).add(g.name);
  }
  return { rolesOfDn, rolesOfUid };
}

/** Every group's name is a role rules may name, even while the group has no members. */
function groupRoleNames(groups: Map<string, ParsedGroup>): string[] {
  return [...new Set([...groups.values()].map((g) => g.name).filter((n) => !hiddenCharacter(n)))].sort();
}

/** Keeps `st.dir.roles` equal to the group names (a new object only when they changed). */
function withGroupRoles(st: State): void {
  const roles = groupRoleNames(st.parsedGroups);
  const have = st.dir.roles;
  if (have && have.length === roles.length && have.every((r, i) => r === roles[i])) return;
  st.dir = { ...st.dir, roles };
}

/** Keys whose set differs between two maps. */
function changedKeys(a: Map<string, Set<string>>, b: Map<string, Set<string>>): string[] {
  const out: string[] = [];
  for (const [k, x] of a) {
    const y = b.get(k);
    if (!y || y.size !== x.size || [...x].some((v) => !y.has(v))) out.push(k);
  }
  for (const k of b.keys()) if (!a.has(k)) out.push(k);
  return out;
}

function sameOrgs(a: readonly Organization[], b: readonly Organization[]): boolean {
  return a.length === b.length && a.every((o, i) => o.name === b[i].name && o.parent === b[i].parent);
}
