/**
 * Stage 1, selectors: which rules select each subject (users from the directory, servers from the topology), and
 * where each subject's devices are bound. Pure; the result is readonly and reused by the incremental path.
 */
import type { Binding, Directory, Topology } from './model.js';
import type { Policy, Rule, Selector } from './inputs.js';
import { boundIpv6, isLinkLocal6, parseIpv4, parseIpv6, prefix6Has, prefixHas, type Prefix, type Prefix6 } from './addr.js';
import type { CompileInput, Endpoint, Subject } from './stage-values.js';

type Who = { id: string; organization?: string; roles: readonly string[] };

/** A subject before classes are assigned, with its rule-set signature. */
export type SubjectDraft = Omit<Subject, 'classId'> & { readonly sig: string };

export interface Selection {
  readonly resourcePrefixes: ReadonlyMap<string, readonly Prefix[]>;
  /** IPv6 prefixes per resource (empty when the policy and topology have none). */
  readonly resourcePrefixes6: ReadonlyMap<string, readonly Prefix6[]>;
  /** Whether any IPv6 address or prefix is in play (else the plan has no IPv6 flow at all). */
  readonly v6: boolean;
  readonly drafts: readonly SubjectDraft[];
  /** Rules that select a user (indices, ascending). */
  rulesOf(u: Who): number[];
  /** A rule set's name: its rules' names (stable when rules are added or removed elsewhere). */
  signature(rules: readonly number[]): string;
  /** Whether an organization exists in the directory this selection was made for. */
  hasOrganization(name: string): boolean;
}

function orgClosure(directory: Directory): Map<string, Set<string>> {
  const children = new Map<string, string[]>();
  for (const o of directory.organizations) if (o.parent) children.set(o.parent, [...(children.get(o.parent) ?? []), o.name]);
  const out = new Map<string, Set<string>>();
  for (const o of directory.organizations) {
    const set = new Set<string>();
    const stack = [o.name];
    while (stack.length) {
      const n = stack.pop()!;
      if (set.has(n)) continue;
      set.add(n);
      stack.push(...(children.get(n) ?? []));
    }
    out.set(o.name, set);
  }
  return out;
}

export function resolveResourcePrefixes(policy: Policy, topology: Topology): Map<string, Prefix[]> {
  const serverIp = new Map(topology.servers.map((s) => [s.name, parseIpv4(s.ip)!]));
  const out = new Map<string, Prefix[]>();
  for (const r of policy.resources) {
    const ps: Prefix[] = [];
    for (const h of r.hosts) {
      if (h.prefix) ps.push(h.prefix);
      else if (h.server && serverIp.has(h.server)) ps.push({ addr: serverIp.get(h.server)!, len: 32 });
    }
    out.set(r.name, ps);
  }
  return out;
}

/** IPv6 prefixes of each resource: its IPv6 hosts and its servers' IPv6 addresses (/128). Empty when there are none. */
export function resolveResourcePrefixes6(policy: Policy, topology: Topology): Map<string, Prefix6[]> {
  const out = new Map<string, Prefix6[]>();
  const serverV6 = new Map<string, Prefix6[]>();
  for (const s of topology.servers)
    if (s.ipv6?.length)
      serverV6.set(
        s.name,
        s.ipv6
          .map((a) => parseIpv6(a)!)
          .filter((a) => !isLinkLocal6(a))
          .map((addr) => ({ addr, len: 128 })),
      );
  for (const r of policy.resources) {
    const ps: Prefix6[] = [];
    for (const h of r.hosts) {
      if (h.prefix6) ps.push(h.prefix6);
      else if (h.server && serverV6.has(h.server)) ps.push(...serverV6.get(h.server)!);
    }
    if (ps.length) out.set(r.name, ps);
  }
  return out;
}

/** Selector matching for one compile: the organization closure, resource prefixes and long name lists as sets. */
class Selectors {
  private readonly orgs: Map<string, Set<string>>;
  private readonly sets = new WeakMap<readonly string[], Set<string>>();
  constructor(
    directory: Directory,
    private readonly resourcePrefixes: ReadonlyMap<string, readonly Prefix[]>,
    private readonly resourcePrefixes6: ReadonlyMap<string, readonly Prefix6[]> = new Map(),
  ) {
    this.orgs = orgClosure(directory);
  }
  hasOrganization(name: string): boolean {
    return this.orgs.has(name);
  }
  user(sel: Selector, u: Who): boolean {
    if (sel.resources) return false;
    if (sel.organizations && !sel.organizations.some((o) => u.organization !== undefined && this.orgs.get(o)?.has(u.organization)))
      return false;
    if (sel.roles && !sel.roles.some((r) => u.roles.includes(r))) return false;
    if (sel.users && !(sel.users.length > 8 ? this.setOf(sel.users).has(u.id) : sel.users.includes(u.id))) return false;
    return true;
  }
  server(sel: Selector, ip: number, ipv6: readonly bigint[] = []): boolean {
    if (!sel.resources || sel.organizations || sel.roles || sel.users) return false;
    return sel.resources.some(
      (r) =>
        (this.resourcePrefixes.get(r) ?? []).some((p) => prefixHas(p, ip)) ||
        (ipv6.length > 0 && (this.resourcePrefixes6.get(r) ?? []).some((p) => ipv6.some((a) => prefix6Has(p, a)))),
    );
  }
  /** A long name list as a set, built once per list (rules may list thousands of users). */
  private setOf(l: readonly string[]): Set<string> {
    let s = this.sets.get(l);
    if (!s) this.sets.set(l, (s = new Set(l)));
    return s;
  }
}

/** The union of two ascending lists without repeats, ascending and without repeats. */
function mergeAscending(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let i = 0,
    j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i],
      y = b[j];
    if (x <= y) {
      out.push(x);
      i++;
      if (x === y) j++;
    } else {
      out.push(y);
      j++;
    }
  }
  while (i < a.length) out.push(a[i++]);
  while (j < b.length) out.push(b[j++]);
  return out;
}

/** Rules indexed by one key of each selector (user id, role or organization), so a user is checked only against rules that could match. */
function indexRules(rules: readonly Rule[], directory: Directory) {
  // one map per kind of key, keyed by the plain name: no key strings are built per user
  const byUser = new Map<string, number[]>();
  const byRole = new Map<string, number[]>();
  const byOrg = new Map<string, number[]>();
  const add = (m: Map<string, number[]>, k: string, i: number) => {
    const l = m.get(k);
    if (l) {
      if (l[l.length - 1] !== i) l.push(i);
    } else m.set(k, [i]);
  };
  for (const r of rules)
    for (const sel of r.from) {
      if (sel.resources) continue;
      if (sel.users) for (const u of sel.users) add(byUser, u, r.index);
      else if (sel.roles) for (const ro of sel.roles) add(byRole, ro, r.index);
      else if (sel.organizations) for (const o of sel.organizations) add(byOrg, o, r.index);
    }
  const parent = new Map(directory.organizations.map((o) => [o.name, o.parent]));
  return {
    candidates(u: Who): number[] {
      let first: number[] | undefined;
      let lists: number[][] | undefined;
      const take = (l: number[] | undefined) => {
        if (!l) return;
        if (!first) first = l;
        else (lists ??= [first]).push(l);
      };
      take(byUser.get(u.id));
      for (const ro of u.roles) take(byRole.get(ro));
      for (let o = u.organization, guard = 0; o !== undefined && guard < 64; o = parent.get(o), guard++) take(byOrg.get(o));
      if (!first) return [];
      if (!lists) return first.slice(); // each list is ascending and free of repeats (rules are indexed in order)
      let out = mergeAscending(lists[0], lists[1]);
      for (let x = 2; x < lists.length; x++) out = mergeAscending(out, lists[x]);
      return out;
    },
  };
}

/** Bindings: topology hosts, then learned ones (learned win for the same MAC). */
function bindingsByMac(input: CompileInput): Map<string, Binding> {
  const binding = new Map<string, Binding>();
  for (const b of input.topology.hosts) binding.set(b.mac, b);
  for (const b of input.bindings ?? []) binding.set(b.mac, b);
  return binding;
}

export function selectSubjects(input: CompileInput): Selection {
  const { policy, directory, topology } = input;
  const resourcePrefixes = resolveResourcePrefixes(policy, topology);
  const resourcePrefixes6 = resolveResourcePrefixes6(policy, topology);
  const sel = new Selectors(directory, resourcePrefixes, resourcePrefixes6);
  let v6 = resourcePrefixes6.size > 0 || !!topology.routers?.length || !!topology.dhcpv6?.length;
  const ruleIndex = indexRules(policy.rules, directory);
  const binding = bindingsByMac(input);
  // One entry per distinct set of rules, with its signature (the names of its rules, sorted): subjects share few
  // distinct sets (540 among 12,000 in the enterprise bench), and those of one set share its array.
  const sets = new Map<string, { readonly rules: readonly number[]; readonly sig: string }>();
  const setOf = (idx: readonly number[]) => {
    const k = idx.join(',');
    let e = sets.get(k);
    if (e === undefined) {
      const sig =
        idx.length === 1
          ? policy.rules[idx[0]].name
          : idx
              .map((i) => policy.rules[i].name)
              .sort()
              .join('\u0000');
      sets.set(k, (e = { rules: idx, sig }));
    }
    return e;
  };
  const signature = (idx: readonly number[]) => setOf(idx).sig;
  const rulesOf = (u: Who) => {
    const cands = ruleIndex.candidates(u);
    const out: number[] = [];
    for (let x = 0; x < cands.length; x++) {
      const from = policy.rules[cands[x]].from;
      for (let y = 0; y < from.length; y++)
        if (sel.user(from[y], u)) {
          out.push(cands[x]);
          break;
        }
    }
    return out;
  };
  const drafts: SubjectDraft[] = [];
  for (const u of directory.users) {
    const { rules, sig } = setOf(rulesOf(u));
    const endpoints: Endpoint[] = u.devices.map((d) => {
      const b = binding.get(d.mac);
      const e: Endpoint = { mac: d.mac, ip: d.ip ?? b?.ip, switch: b?.switch, port: b?.port };
      const listed = d.ipv6?.length ? (b?.ipv6?.length ? [...d.ipv6, ...b.ipv6] : d.ipv6) : b?.ipv6;
      if (!listed?.length) return e;
      v6 = true;
      const a = boundIpv6(d.mac, listed);
      return { ...e, ipv6: a.global, ll6: a.linkLocal };
    });
    drafts.push({
      kind: 'user',
      id: u.id,
      name: u.name,
      organization: u.organization,
      roles: u.roles,
      endpoints,
      rules,
      sig,
    });
  }
  const serverRules = policy.rules.filter((r) => r.from.some((x) => x.resources)); // only these can match a server
  for (const s of topology.servers) {
    const ip = parseIpv4(s.ip)!;
    const a = boundIpv6(s.mac, s.ipv6);
    if (s.ipv6?.length) v6 = true;
    const v6addrs = a.global.map((x) => parseIpv6(x)!);
    const { rules, sig } = setOf(serverRules.filter((r) => r.from.some((x) => sel.server(x, ip, v6addrs))).map((r) => r.index));
    const ep: Endpoint = {
      mac: s.mac,
      ip: s.ip,
      switch: s.switch,
      port: s.port,
      ...(s.ipv6?.length ? { ipv6: a.global, ll6: a.linkLocal } : {}),
    };
    drafts.push({ kind: 'server', id: s.name, name: s.name, roles: [], endpoints: [ep], rules, sig });
  }
  return { resourcePrefixes, resourcePrefixes6, v6, drafts, rulesOf, signature, hasOrganization: (n) => sel.hasOrganization(n) };
}
