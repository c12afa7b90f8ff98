/**
 * Compilation: (policy, directory, topology, bindings) → per-switch flow plan. Pure and deterministic.
 *
 * Subjects (users and servers) with the same effective access (the same (resource, allow/deny, service) set, whichever
 * rules grant it) get one source class; addresses that lie in the
 * same set of resources get one destination class. Policy flows then grow with classes × destinations,
 * not users × resources.
 */
import type { Instruction, Match, OxmEntry } from '../openflow/types.js';
import { OFPP } from '../openflow/types.js';
import { u32ToIpv4 } from '../openflow/buffer.js';
import type { Binding, Diagnostic, Directory, FlowPlan, PlannedFlow, SwitchDef, SwitchPlan, Topology } from './model.js';
import { COOKIE_TAG } from './model.js';
import type { Policy, Resource, Rule, Selector } from './inputs.js';
import { maskOf, parseIpv4, portBlocks, prefixHas, type Prefix, type Service } from './addr.js';
import { METADATA, PRIORITY, TABLE, assertFits } from './pipeline.js';
import { DENY_SAMPLE } from './observe.js';
import { firstContactFlows, trustedDhcpPorts } from './first-contact.js';
import { EAPOL_METER_ID, eapolEntries } from './auth.js';

export interface Endpoint {
  readonly mac: string;
  readonly ip?: string;
  readonly switch?: string;
  readonly port?: number;
}

export interface Subject {
  readonly kind: 'user' | 'server';
  readonly id: string;
  readonly name: string;
  readonly organization?: string;
  readonly roles: readonly string[];
  readonly endpoints: readonly Endpoint[];
  /** Indices of the rules whose `from` matches this subject. */
  readonly rules: readonly number[];
  readonly classId: number;
}

export interface DestEntry {
  readonly prefix: Prefix;
  /** Resource names whose hosts cover this prefix. */
  readonly resources: readonly string[];
  readonly dstClass: number;
  /** Class of the device or server that owns this exact address (for replies), else 0. */
  readonly ownerClass: number;
}

export interface CompileInput {
  readonly policy: Policy;
  readonly directory: Directory;
  readonly topology: Topology;
  readonly bindings?: readonly Binding[];
}

export interface Compiled {
  readonly input: CompileInput;
  readonly plan: FlowPlan;
  readonly subjects: readonly Subject[];
  readonly subjectById: ReadonlyMap<string, Subject>;
  /** Effective-access signature → class id; kept across incremental recompiles so ids stay stable. */
  readonly classIds: ReadonlyMap<string, number>;
  readonly dstClassIds: ReadonlyMap<string, number>;
  readonly dest: readonly DestEntry[];
  readonly resourcePrefixes: ReadonlyMap<string, readonly Prefix[]>;
  readonly stats: { readonly users: number; readonly servers: number; readonly classes: number; readonly dstClasses: number; readonly flows: number; readonly naive: number };
}

// ---------- selectors ----------

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

interface SelectorCtx {
  readonly orgs: Map<string, Set<string>>;
  readonly resourcePrefixes: Map<string, Prefix[]>;
}

function userMatches(sel: Selector, u: { id: string; organization?: string; roles: readonly string[] }, ctx: SelectorCtx): boolean {
  if (sel.resources) return false;
  if (sel.organizations && !sel.organizations.some((o) => u.organization !== undefined && ctx.orgs.get(o)?.has(u.organization))) return false;
  if (sel.roles && !sel.roles.some((r) => u.roles.includes(r))) return false;
  if (sel.users && !(sel.users.length > 8 ? setOf(sel.users).has(u.id) : sel.users.includes(u.id))) return false;
  return true;
}

/** A long name list as a set, built once per list (rules may list thousands of users). */
const setCache = new WeakMap<readonly string[], Set<string>>();
function setOf(l: readonly string[]): Set<string> {
  let s = setCache.get(l);
  if (!s) setCache.set(l, (s = new Set(l)));
  return s;
}

function serverMatches(sel: Selector, ip: number, ctx: SelectorCtx): boolean {
  if (!sel.resources || sel.organizations || sel.roles || sel.users) return false;
  return sel.resources.some((r) => (ctx.resourcePrefixes.get(r) ?? []).some((p) => prefixHas(p, ip)));
}

/** Rules indexed by one key of each selector (user id, role or organization), so a user is checked only against rules that could match. */
function indexRules(rules: readonly Rule[], directory: Directory) {
  // one map per kind of key, keyed by the plain name: no key strings are built per user
  const byUser = new Map<string, number[]>();
  const byRole = new Map<string, number[]>();
  const byOrg = new Map<string, number[]>();
  const add = (m: Map<string, number[]>, k: string, i: number) => { const l = m.get(k); if (l) { if (l[l.length - 1] !== i) l.push(i); } else m.set(k, [i]); };
  for (const r of rules) for (const sel of r.from) {
    if (sel.resources) continue;
    if (sel.users) for (const u of sel.users) add(byUser, u, r.index);
    else if (sel.roles) for (const ro of sel.roles) add(byRole, ro, r.index);
    else if (sel.organizations) for (const o of sel.organizations) add(byOrg, o, r.index);
  }
  const parent = new Map(directory.organizations.map((o) => [o.name, o.parent]));
  return {
    candidates(u: { id: string; organization?: string; roles: readonly string[] }): number[] {
      let first: number[] | undefined;
      let lists: number[][] | undefined;
      const take = (l: number[] | undefined) => { if (!l) return; if (!first) first = l; else (lists ??= [first]).push(l); };
      take(byUser.get(u.id));
      for (const ro of u.roles) take(byRole.get(ro));
      for (let o = u.organization, guard = 0; o !== undefined && guard < 64; o = parent.get(o), guard++) take(byOrg.get(o));
      if (!first) return [];
      if (!lists) return first.slice(); // each list is ascending and free of repeats
      const out = new Set<number>();
      for (const l of lists) for (const i of l) out.add(i);
      return [...out].sort((a, b) => a - b);
    },
  };
}

/** Prefixes grouped by length: which stored prefixes cover a given prefix, and the longest one. */
export class PrefixIndex<T> {
  private readonly byLen = new Map<number, Map<number, T[]>>();
  private lens: number[] = [];
  add(p: Prefix, v: T): void {
    let m = this.byLen.get(p.len);
    if (!m) { this.byLen.set(p.len, (m = new Map())); this.lens = [...this.byLen.keys()].sort((a, b) => b - a); }
    const l = m.get(p.addr);
    if (l) l.push(v); else m.set(p.addr, [v]);
  }
  covering(p: Prefix): T[] {
    const out: T[] = [];
    for (const len of this.lens) if (len <= p.len) out.push(...(this.byLen.get(len)!.get((p.addr & maskOf(len)) >>> 0) ?? []));
    return out;
  }
  longest(p: Prefix): T | undefined {
    for (const len of this.lens) if (len <= p.len) { const l = this.byLen.get(len)!.get((p.addr & maskOf(len)) >>> 0); if (l) return l[0]; }
    return undefined;
  }
}

// ---------- hashing for stable cookies ----------

/** 48-bit hash (two FNV-1a variants), exact as a Number. */
export function fnv1a(s: string): number {
  H1 = 0x811c9dc5; H2 = 0x01000193;
  feed(s);
  return (H2 & 0xffff) * 0x1_0000_0000 + H1;
}

let H1 = 0, H2 = 0;
function feed(s: string): void {
  let h1 = H1, h2 = H2;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 16777619) >>> 0;
    h2 = Math.imul(h2 ^ c, 2246822519) >>> 0;
  }
  H1 = h1; H2 = h2;
}

/** fnv1a(matchKey(tableId, priority, m)), fed piece by piece instead of building the key string (the compiler's hot path). */
export function matchHash(tableId: number, priority: number, m: Match): number {
  H1 = 0x811c9dc5; H2 = 0x01000193;
  feed(String(tableId)); feed('/'); feed(String(priority));
  for (let i = 0; i < m.length; i++) {
    const e = m[i];
    feed(','); feed(e.field); feed('=');
    feed(typeof e.value === 'string' ? e.value : String(e.value));
    if (e.mask !== undefined) { feed('/'); feed(typeof e.mask === 'string' ? e.mask : String(e.mask)); }
  }
  return (H2 & 0xffff) * 0x1_0000_0000 + H1;
}

export function matchKey(tableId: number, priority: number, m: Match): string {
  let s = `${tableId}/${priority}`;
  for (const e of m) s += `,${e.field}=${String(e.value)}${e.mask !== undefined ? '/' + String(e.mask) : ''}`;
  return s;
}

/** A planned flow whose cookie order is also kept as a plain number (private, so JSON and spreads don't see it). */
class CompiledFlow implements PlannedFlow {
  readonly #order: number;
  constructor(readonly tableId: number, readonly priority: number, readonly cookie: bigint, readonly match: OxmEntry[], readonly instructions: Instruction[], readonly origin: string, order: number) {
    this.#order = order;
  }
  /** Same order as comparing cookies (all share the tag), without BigInt comparisons. */
  static byCookie(x: PlannedFlow, y: PlannedFlow): number {
    if (x instanceof CompiledFlow && y instanceof CompiledFlow) return x.#order - y.#order;
    return x.cookie < y.cookie ? -1 : x.cookie > y.cookie ? 1 : 0;
  }
  /** The cookie as a plain number for compiled flows (all share the tag), else the cookie: a cheap set key. */
  static key(f: PlannedFlow): number | bigint {
    return f instanceof CompiledFlow ? f.#order : f.cookie;
  }
  /** Sorts in place by priority (high first), then cookie. */
  static sortByPrioCookie(flows: PlannedFlow[]): void {
    if (flows.length < 64) { flows.sort((x, y) => y.priority - x.priority || CompiledFlow.byCookie(x, y)); return; }
    const byPrio = new Map<number, PlannedFlow[]>();
    for (const f of flows) { const l = byPrio.get(f.priority); if (l) l.push(f); else byPrio.set(f.priority, [f]); }
    let i = 0;
    for (const p of [...byPrio.keys()].sort((a, b) => b - a)) {
      const l = byPrio.get(p)!;
      CompiledFlow.sortByCookie(l);
      for (const f of l) flows[i++] = f;
    }
  }
  /** Sorts in place by cookie: long lists of compiled flows by a native numeric sort of their orders. */
  static sortByCookie(flows: PlannedFlow[]): void {
    const n = flows.length;
    if (n < 64) { flows.sort(CompiledFlow.byCookie); return; }
    const keys = new Float64Array(n);
    const at = new Map<number, PlannedFlow>();
    for (let i = 0; i < n; i++) {
      const f = flows[i];
      if (!(f instanceof CompiledFlow) || at.has(f.#order)) { flows.sort(CompiledFlow.byCookie); return; } // equal cookies: keep the comparator's order
      keys[i] = f.#order;
      at.set(f.#order, f);
    }
    keys.sort();
    for (let i = 0; i < n; i++) flows[i] = at.get(keys[i])!;
  }
}

/** assertFits once per flow object (policy flows are shared by many switches). */
const fitted = new WeakSet<PlannedFlow>();
function checkOnce(f: PlannedFlow): void {
  if (fitted.has(f)) return;
  assertFits(f);
  fitted.add(f);
}

function flow(tableId: number, priority: number, match: OxmEntry[], instructions: Instruction[], origin: string): PlannedFlow {
  const h = matchHash(tableId, priority, match);
  return new CompiledFlow(tableId, priority, COOKIE_TAG | BigInt(h), match, instructions, origin, h);
}

const IP: OxmEntry = { field: 'eth_type', value: 0x0800 };
const ARP: OxmEntry = { field: 'eth_type', value: 0x0806 };
/** TCP flags with ACK set (mask: ACK only): every segment of an answer, never a connection being opened. */
const TCP_ACK: OxmEntry = { field: 'tcp_flags', value: 0x010, mask: 0x010 };
const ANY: Service = { proto: 'any', text: 'any' } as Service;
const GOTO = (t: number): Instruction => ({ type: 'goto_table', tableId: t });
const TO_FORWARD: Instruction[] = [GOTO(TABLE.forward)];

/** Matches for one service, in the forward (to the service port) or reply (from it) direction. */
export function serviceMatches(s: Service, reply: boolean): OxmEntry[][] {
  switch (s.proto) {
    case 'any': return [[]];
    case 'icmp': return reply
      ? [[{ field: 'ip_proto', value: 1 }, { field: 'icmpv4_type', value: 0 }]]
      : [[{ field: 'ip_proto', value: 1 }]];
    case 'tcp': case 'udp': {
      const proto = s.proto === 'tcp' ? 6 : 17;
      const field = `${s.proto}_${reply ? 'src' : 'dst'}` as 'tcp_src' | 'tcp_dst' | 'udp_src' | 'udp_dst';
      // a TCP reply always carries ACK; a server opening a connection (SYN without ACK) is not a reply
      const ack: OxmEntry[] = reply && proto === 6 ? [TCP_ACK] : [];
      if ((s.from ?? 0) === 0 && (s.to ?? 65535) === 65535) return [[{ field: 'ip_proto', value: proto }, ...ack]];
      return portBlocks(s.from!, s.to!).map((b) => [{ field: 'ip_proto', value: proto }, b.mask === undefined ? { field, value: b.value } : { field, value: b.value, mask: b.mask }, ...ack]);
    }
  }
}

// ---------- main ----------

export interface CompileOptions {
  /** Class ids from a previous compile, so that unchanged classes keep their ids (and flows). */
  readonly previous?: Pick<Compiled, 'classIds' | 'dstClassIds'>;
}

/** The policy cannot be compiled as written (not a bug: e.g. more groups of users than the pipeline can tell apart). */
export class CompileError extends Error {
  constructor(message: string, readonly hint?: string) { super(message); this.name = 'CompileError'; }
}

/** A CompileError as a diagnostic on the policy file. */
export function compileDiagnostic(e: CompileError, policyFile: string): Diagnostic {
  return { severity: 'error', code: 'compile', message: e.message, hint: e.hint, location: { file: policyFile, line: 1, column: 1 } };
}

function assignIds(keys: Iterable<string>, previous: ReadonlyMap<string, number> | undefined, what: string): Map<string, number> {
  const out = new Map<string, number>();
  const used = new Set<number>();
  const fresh: string[] = [];
  for (const k of keys) {
    const p = previous?.get(k);
    if (p !== undefined && !used.has(p)) { out.set(k, p); used.add(p); } else fresh.push(k);
  }
  fresh.sort();
  let next = 1;
  for (const k of fresh) {
    while (used.has(next)) next++;
    if (next > 0xffff) throw new CompileError(`more than 65,535 ${what}: the policy tells apart more groups than the 16-bit class tags in the flow metadata can hold`, what === 'source classes' ? 'users with the same access share a class; grant access by organization or role rather than user by user' : 'group addresses into prefixes shared by several resources');
    out.set(k, next);
    used.add(next);
  }
  return out;
}

export function compile(input: CompileInput, opts: CompileOptions = {}): Compiled {
  const { policy, directory, topology } = input;
  const resourcePrefixes = resolveResourcePrefixes(policy, topology);
  const ctx: SelectorCtx = { orgs: orgClosure(directory), resourcePrefixes };

  const ruleIndex = indexRules(policy.rules, directory);

  // Bindings: topology hosts, then learned ones (learned win for the same MAC).
  const binding = new Map<string, Binding>();
  for (const b of topology.hosts) binding.set(b.mac, b);
  for (const b of input.bindings ?? []) binding.set(b.mac, b);

  // Subjects and the rules that match them. A class is named by its rules' names (stable when rules are added or removed elsewhere).
  const signature = (idx: number[]) => (idx.length === 1 ? policy.rules[idx[0]].name : idx.map((i) => policy.rules[i].name).sort().join('\u0000'));
  type Draft = Omit<Subject, 'classId'> & { sig: string };
  const drafts: Draft[] = [];
  for (const u of directory.users) {
    const rules = ruleIndex.candidates(u).filter((i) => policy.rules[i].from.some((s) => userMatches(s, u, ctx)));
    const endpoints = u.devices.map((d) => {
      const b = binding.get(d.mac);
      return { mac: d.mac, ip: d.ip ?? b?.ip, switch: b?.switch, port: b?.port };
    });
    drafts.push({ kind: 'user', id: u.id, name: u.name, organization: u.organization, roles: u.roles, endpoints, rules, sig: signature(rules) });
  }
  for (const s of topology.servers) {
    const ip = parseIpv4(s.ip)!;
    const rules = policy.rules.filter((r) => r.from.some((sel) => serverMatches(sel, ip, ctx))).map((r) => r.index);
    drafts.push({ kind: 'server', id: s.name, name: s.name, roles: [], endpoints: [{ mac: s.mac, ip: s.ip, switch: s.switch, port: s.port }], rules, sig: signature(rules) });
  }
  // Subjects with the same effective access share a class, even when different rules grant it (a flat ACL of
  // one rule per user is one class). Effective access = the set of (resource, allow|deny, service) the rule set
  // yields; resources without addresses grant nothing.
  const resourceByName = new Map(policy.resources.map((r) => [r.name, r]));
  const accessSig = (idx: readonly number[]): string => {
    const parts = new Set<string>();
    for (const ri of idx) {
      const rule = policy.rules[ri];
      for (const rname of rule.to) {
        const res = resourceByName.get(rname);
        if (!res || !(resourcePrefixes.get(rname) ?? []).length) continue;
        if (rule.action === 'deny') for (const sv of rule.services ?? [ANY]) parts.add(`${rname}\u0001D\u0001${sv.text}`);
        else for (const sv of rule.services ?? res.services) parts.add(`${rname}\u0001A\u0001${sv.text}`);
      }
    }
    return parts.size === 1 ? parts.values().next().value! : [...parts].sort().join('\u0002');
  };
  const accessOfSet = new Map<string, string>(); // rule-set signature → access signature
  const setCount = new Map<string, number>(); // rule-set signature → subjects (mutable: the fast path updates it)
  const setRules = new Map<string, readonly number[]>();
  for (const d of drafts) {
    if (!accessOfSet.has(d.sig)) { accessOfSet.set(d.sig, accessSig(d.rules)); setRules.set(d.sig, d.rules); }
    setCount.set(d.sig, (setCount.get(d.sig) ?? 0) + 1);
  }
  const classIds = assignIds(new Set(accessOfSet.values()), opts.previous?.classIds, 'source classes');
  const classOfSet = new Map<string, number>();
  for (const [sig, acc] of accessOfSet) classOfSet.set(sig, classIds.get(acc)!);
  const subjects: Subject[] = drafts.map((d) => ({ kind: d.kind, id: d.id, name: d.name, organization: d.organization, roles: d.roles, endpoints: d.endpoints, rules: d.rules, classId: classOfSet.get(d.sig)! }));
  const subjectById = new Map(subjects.map((s) => [s.id, s]));
  const ruleSetsOfClass = new Map<number, Array<readonly number[]>>();
  for (const [sig, cls] of [...classOfSet].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))) {
    const l = ruleSetsOfClass.get(cls);
    if (l) l.push(setRules.get(sig)!); else ruleSetsOfClass.set(cls, [setRules.get(sig)!]);
  }

  // Destination entries: every resource prefix, plus every subject address (for replies).
  const allPrefixes = new Map<number, Prefix>(); // key: addr * 64 + len (exact in a double)
  for (const ps of resourcePrefixes.values()) for (const p of ps) allPrefixes.set(p.addr * 64 + p.len, p);
  const ownerOf = new Map<number, number>();
  for (const s of subjects) for (const e of s.endpoints) {
    if (!e.ip) continue;
    const a = parseIpv4(e.ip)!;
    ownerOf.set(a, s.classId);
    allPrefixes.set(a * 64 + 32, { addr: a, len: 32 });
  }
  const covering = new PrefixIndex<string>();
  for (const [name, ps] of resourcePrefixes) for (const q of ps) covering.add(q, name);
  const destDrafts = [...allPrefixes.values()].sort((x, y) => x.len - y.len || x.addr - y.addr).map((p) => {
    const resources = [...new Set(covering.covering(p))].sort();
    return { prefix: p, resources, sig: resources.join(',') };
  });
  const dstClassIds = assignIds(new Set(destDrafts.filter((d) => d.resources.length).map((d) => d.sig)), opts.previous?.dstClassIds, 'destination classes');
  const dest: DestEntry[] = destDrafts.map((d) => ({
    prefix: d.prefix, resources: d.resources, dstClass: d.resources.length ? dstClassIds.get(d.sig)! : 0,
    ownerClass: d.prefix.len === 32 ? ownerOf.get(d.prefix.addr) ?? 0 : 0,
  }));
  const dstResources = new Map<number, readonly string[]>();
  const dstPrefixes = new Map<number, Prefix[]>();
  for (const d of dest) if (d.dstClass) {
    dstResources.set(d.dstClass, d.resources);
    dstPrefixes.set(d.dstClass, [...(dstPrefixes.get(d.dstClass) ?? []), d.prefix]);
  }
  const resourceToDst = new Map<string, number[]>();
  for (const [dc, rs] of dstResources) for (const r of rs) resourceToDst.set(r, [...(resourceToDst.get(r) ?? []), dc]);

  // Per (class, dst class): allowed and denied services.
  const access = new Map<number, Map<number, { allow: Service[]; deny: Service[]; rules: Set<string> }>>();
  for (const [cls, sets] of ruleSetsOfClass) {
    const per = new Map<number, { allow: Service[]; deny: Service[]; rules: Set<string> }>();
    // services from one rule set (all of the class's rule sets have the same effective access); rule names from all
    sets.forEach((ruleIdx, n) => {
      for (const ri of ruleIdx) {
        const rule = policy.rules[ri];
        for (const rname of rule.to) {
          const res = resourceByName.get(rname);
          if (!res) continue;
          for (const dc of resourceToDst.get(rname) ?? []) {
            let a = per.get(dc);
            if (!a) per.set(dc, (a = { allow: [], deny: [], rules: new Set() }));
            a.rules.add(rule.name);
            if (n > 0) continue;
            if (rule.action === 'deny') a.deny.push(...(rule.services ?? [ANY]));
            else a.allow.push(...(rule.services ?? res.services));
          }
        }
      }
    });
    access.set(cls, per);
  }
  /** The rules behind a flow, for people: all names when few, else the first ones and a count. */
  const originOf = (names: Set<string>): string => {
    const l = [...names].sort();
    return l.length <= 4 ? l.join('+') : `${l.slice(0, 3).join('+')}+${l.length - 3}-more`;
  };

  // ---------- flows per switch ----------
  const trustedDhcp = trustedDhcpPorts(policy.firstContact, topology);
  const linkPorts = new Map<string, number[]>();
  for (const l of topology.links) for (const p of [l.a, l.b]) linkPorts.set(p.switch, [...(linkPorts.get(p.switch) ?? []), p.port]);

  const subjectIps: Array<{ ip: string; cls: number }> = []; // mutable: the fast path updates classes in place
  for (const s of subjects) for (const e of s.endpoints) if (e.ip) subjectIps.push({ ip: e.ip, cls: s.classId });

  const policyFlowsCache = new Map<number, PlannedFlow[]>();
  const pairFlows = (cls: number, dc: number): PlannedFlow[] => {
    const key = cls * 0x10000 + dc; // both < 2^16
    const hit = policyFlowsCache.get(key);
    if (hit) return hit;
    const a = access.get(cls)?.get(dc);
    const out: PlannedFlow[] = [];
    if (a && a.allow.length && !a.deny.some((d) => d.proto === 'any')) {
      const meta: OxmEntry = { field: 'metadata', value: BigInt(cls) | (BigInt(dc) << METADATA.dstShift), mask: METADATA.srcMask | METADATA.dstMask };
      const origin = originOf(a.rules);
      const seen = new Set<bigint>();
      for (const d of a.deny) for (const m of serviceMatches(d, false)) {
        const f = flow(TABLE.policy, PRIORITY.deny, [meta, IP, ...m], DENY_SAMPLE as Instruction[], origin);
        if (!seen.has(f.cookie)) { seen.add(f.cookie); out.push(f); }
      }
      for (const s of a.allow) for (const m of serviceMatches(s, false)) {
        const f = flow(TABLE.policy, PRIORITY.allow, [meta, IP, ...m], [GOTO(TABLE.forward)], origin);
        if (!seen.has(f.cookie)) { seen.add(f.cookie); out.push(f); }
      }
    }
    policyFlowsCache.set(key, out);
    return out;
  };
  const replyFlows = (cls: number, dc: number): PlannedFlow[] => {
    const a = access.get(cls)?.get(dc);
    if (!a || !a.allow.length || a.deny.some((d) => d.proto === 'any')) return [];
    const meta: OxmEntry = { field: 'metadata', value: BigInt(cls) << METADATA.ownerShift, mask: METADATA.ownerMask };
    const out: PlannedFlow[] = [];
    const origin = `reply:${originOf(a.rules)}`;
    for (const p of dstPrefixes.get(dc) ?? []) {
      const src: OxmEntry = p.len === 32 ? { field: 'ipv4_src', value: u32ToIpv4(p.addr) } : { field: 'ipv4_src', value: u32ToIpv4(p.addr), mask: u32ToIpv4((0xffffffff << (32 - p.len)) >>> 0) };
      for (const s of a.allow) {
        if (a.deny.some((d) => d.proto === s.proto || d.proto === 'any')) continue; // partial denies: no stateless reply
        for (const m of serviceMatches(s, true)) out.push(flow(TABLE.policy, PRIORITY.reply, [meta, IP, src, ...m], [GOTO(TABLE.forward)], origin));
      }
    }
    return out;
  };

  const destIndex = new PrefixIndex<DestEntry>();
  for (const d of dest) if (d.dstClass) destIndex.add(d.prefix, d);
  const dstOfAddr = (addr: number): DestEntry | undefined => destIndex.longest({ addr, len: 32 });

  const destFlows = { withOwner: [] as PlannedFlow[], plain: [] as PlannedFlow[] }; // withOwner is replaced (not mutated) by the fast path
  // Owner-tagging destination flows are needed only on hypervisors and on switches where a bound endpoint's own
  // address lies in a resource (see buildSwitch: `owner`). Endpoints never move in the fast path, so this holds for patches too.
  const ownerFlowsNeeded = topology.switches.some((sw) => sw.kind === 'hypervisor')
    || subjects.some((s) => s.endpoints.some((e) => e.switch !== undefined && e.port !== undefined && e.ip !== undefined && dstOfAddr(parseIpv4(e.ip)!) !== undefined));
  for (const d of dest) for (const needOwner of ownerFlowsNeeded ? [true, false] : [false]) {
    const owner = needOwner ? d.ownerClass : 0;
    if (!d.dstClass && !owner) continue;
    const m: OxmEntry = d.prefix.len === 32
      ? { field: 'ipv4_dst', value: u32ToIpv4(d.prefix.addr) }
      : { field: 'ipv4_dst', value: u32ToIpv4(d.prefix.addr), mask: u32ToIpv4((0xffffffff << (32 - d.prefix.len)) >>> 0) };
    const f = flow(TABLE.dest, PRIORITY.destBase + d.prefix.len, [IP, m],
      [{ type: 'write_metadata', metadata: (BigInt(d.dstClass) << METADATA.dstShift) | (BigInt(owner) << METADATA.ownerShift), mask: METADATA.dstMask | METADATA.ownerMask }, GOTO(TABLE.policy)],
      d.resources.length ? `dest:${d.resources.join('+')}` : 'dest:owner');
    assertFits(f);
    (needOwner ? destFlows.withOwner : destFlows.plain).push(f);
  }

  // Everything shared between switches is built once; each switch then assembles sorted segments.
  CompiledFlow.sortByPrioCookie(destFlows.withOwner);
  CompiledFlow.sortByPrioCookie(destFlows.plain);
  const endpointsBySwitch = new Map<string, Array<{ s: Subject; e: Endpoint }>>();
  for (const s of subjects) for (const e of s.endpoints) {
    if (e.switch === undefined || e.port === undefined) continue;
    (endpointsBySwitch.get(e.switch) ?? endpointsBySwitch.set(e.switch, []).get(e.switch)!).push({ s, e });
  }
  // Instruction lists are immutable values: one per class, shared by all its classification flows.
  const classifyInsCache = new Map<number, Instruction[]>();
  const classifyIns = (cls: number): Instruction[] => {
    let l = classifyInsCache.get(cls);
    if (!l) classifyInsCache.set(cls, (l = [{ type: 'write_metadata', metadata: BigInt(cls), mask: METADATA.srcMask }, GOTO(TABLE.dest)]));
    return l;
  };
  const linkClassifyCache = new Map<number, PlannedFlow[]>();
  const linkClassify = (port: number): PlannedFlow[] => {
    let l = linkClassifyCache.get(port);
    if (!l) {
      const inPort: OxmEntry = { field: 'in_port', value: port };
      l = subjectIps.map(({ ip, cls }) => flow(TABLE.classify, PRIORITY.linkClassify, [inPort, IP, { field: 'ipv4_src', value: ip }],
        classifyIns(cls), 'classify:link'));
      for (const f of l) assertFits(f);
      CompiledFlow.sortByCookie(l);
      linkClassifyCache.set(port, l);
    }
    return l;
  };
  const dcsOfClass = new Map<number, number[]>();
  const classesOfDc = new Map<number, number[]>();
  for (const [cls, per] of access) for (const dc of per.keys()) {
    (dcsOfClass.get(cls) ?? dcsOfClass.set(cls, []).get(cls)!).push(dc);
    (classesOfDc.get(dc) ?? classesOfDc.set(dc, []).get(dc)!).push(cls);
  }
  const discovery = flow(TABLE.classify, PRIORITY.discovery, [], [{ type: 'meter', meterId: 1 }, { type: 'apply_actions', actions: [{ type: 'output', port: OFPP.CONTROLLER, maxLen: 128 }] }], 'discovery');
  const destOther = flow(TABLE.dest, 0, [], [GOTO(TABLE.policy)], 'dest:other');
  // 802.1X: EAPOL from authenticating ports to the controller (whole frames), under its own meter
  const eapolCache = new Map<string, PlannedFlow[]>();
  const eapolFlows = (sw: string): PlannedFlow[] => {
    let l = eapolCache.get(sw);
    if (!l) {
      const toCtl: Instruction[] = [{ type: 'meter', meterId: EAPOL_METER_ID }, { type: 'apply_actions', actions: [{ type: 'output', port: OFPP.CONTROLLER, maxLen: 0xffff }] }];
      l = eapolEntries(policy.authentication, sw).map((e) => e.port === undefined
        ? flow(TABLE.classify, PRIORITY.eapolAll, [{ field: 'eth_type', value: 0x888e }], toCtl, 'eapol')
        : flow(TABLE.classify, PRIORITY.eapolPort, [{ field: 'in_port', value: e.port }, { field: 'eth_type', value: 0x888e }], e.toController ? toCtl : [], e.toController ? 'eapol' : 'eapol:none'));
      for (const f of l) assertFits(f);
      CompiledFlow.sortByPrioCookie(l);
      eapolCache.set(sw, l);
    }
    return l;
  };
    const defaultDeny = flow(TABLE.policy, PRIORITY.defaultDeny, [], DENY_SAMPLE as Instruction[], 'default-deny');
  const forwardNormal = flow(TABLE.forward, 0, [], [{ type: 'apply_actions', actions: [{ type: 'output', port: OFPP.NORMAL }] }], 'forward:normal');

  interface Segments { local: PlannedFlow[]; linkMisc: PlannedFlow[]; links: number[]; policy: PlannedFlow[]; owner: boolean }
  const segments = new Map<string, Segments>();
  const assemble = (sw: SwitchDef, g: Segments): SwitchPlan => {
    let linkFlows: PlannedFlow[] = [];
    if (sw.kind === 'hypervisor') {
      linkFlows = g.links.length === 1 ? linkClassify(g.links[0]) : g.links.flatMap((lp) => linkClassify(lp));
      if (g.links.length > 1) CompiledFlow.sortByCookie(linkFlows);
    }
    const dests = g.owner ? destFlows.withOwner : destFlows.plain;
    return { name: sw.name, dpid: sw.dpid, kind: sw.kind, flows: [...eapolFlows(sw.name), ...g.local, ...linkFlows, ...g.linkMisc, discovery, ...dests, destOther, ...g.policy, defaultDeny, forwardNormal] };
  };
  const buildSwitch = (sw: SwitchDef): SwitchPlan => {
    const localClasses = new Set<number>();
    const localDsts = new Set<number>();
    // table 0: bound endpoints on this switch (priority 100)
    const local: PlannedFlow[] = [];
    for (const { s, e } of endpointsBySwitch.get(sw.name) ?? []) {
      localClasses.add(s.classId);
      const inPort: OxmEntry = { field: 'in_port', value: e.port! };
      const src: OxmEntry = { field: 'eth_src', value: e.mac };
      if (e.ip) {
        local.push(flow(TABLE.classify, PRIORITY.classifyDevice, [inPort, src, IP, { field: 'ipv4_src', value: e.ip }],
          classifyIns(s.classId), `classify:${s.kind}:${s.id}`));
        local.push(flow(TABLE.classify, PRIORITY.classifyDevice, [inPort, src, ARP, { field: 'arp_spa', value: e.ip }, { field: 'arp_sha', value: e.mac }],
          TO_FORWARD, `arp:${s.kind}:${s.id}`));
        const d = dstOfAddr(parseIpv4(e.ip)!);
        if (d) localDsts.add(d.dstClass);
      }
    }
    for (const f of local) assertFits(f);
    CompiledFlow.sortByCookie(local);
    // table 0: inter-switch links (priorities 20, 15, 10), then discovery (0)
    const links = [...new Set(linkPorts.get(sw.name) ?? [])].sort((x, y) => x - y);
    const linkMisc: PlannedFlow[] = [];
    for (const lp of links) {
      const inPort: OxmEntry = { field: 'in_port', value: lp };
      if (sw.kind === 'hypervisor') {
        linkMisc.push(flow(TABLE.classify, PRIORITY.linkArp, [inPort, ARP], [GOTO(TABLE.forward)], 'arp:link'));
        linkMisc.push(flow(TABLE.classify, PRIORITY.linkPass, [inPort], [], 'link:unclassified-drop'));
      } else {
        linkMisc.push(flow(TABLE.classify, PRIORITY.linkPass, [inPort], [GOTO(TABLE.forward)], 'link:transit'));
      }
    }
    linkMisc.push(...firstContactFlows(policy.firstContact, sw, trustedDhcp, links, flow));
    for (const f of linkMisc) assertFits(f);
    CompiledFlow.sortByPrioCookie(linkMisc);
    // table 2: policy (pairs for local sources; on hypervisors also for local destinations; replies from local destinations)
    const policyFlows: PlannedFlow[] = [];
    const seen = new Set<number | bigint>();
    const addOnce = (f: PlannedFlow) => { const k = CompiledFlow.key(f); if (!seen.has(k)) { seen.add(k); checkOnce(f); policyFlows.push(f); } };
    for (const cls of localClasses) for (const dc of dcsOfClass.get(cls) ?? []) for (const f of pairFlows(cls, dc)) addOnce(f);
    for (const dc of localDsts) for (const cls of classesOfDc.get(dc) ?? []) {
      if (sw.kind === 'hypervisor') for (const f of pairFlows(cls, dc)) addOnce(f);
      for (const f of replyFlows(cls, dc)) addOnce(f);
    }
    CompiledFlow.sortByPrioCookie(policyFlows);
    const g: Segments = { local, linkMisc, links, policy: policyFlows, owner: sw.kind === 'hypervisor' || localDsts.size > 0 };
    segments.set(sw.name, g);
    return assemble(sw, g);
  };

  const sortedSwitches = [...topology.switches].sort((x, y) => x.name.localeCompare(y.name));
  let switches: SwitchPlan[] = sortedSwitches.map(buildSwitch);
  const countFlows = (l: readonly SwitchPlan[]) => l.reduce((n, x) => n + x.flows.length, 0);

  const users = subjects.filter((x) => x.kind === 'user').length;
  const stats = { users, servers: subjects.length - users, classes: classIds.size, dstClasses: dstClassIds.size, flows: countFlows(switches), naive: users * policy.resources.length * Math.max(1, topology.switches.length) };
  let generation = 0;
  const positions: { link: Map<number, Map<string, number>>; dest?: Map<number, number>; owner?: Map<string, number> } = { link: new Map() };
  const make = (inp: CompileInput, subs: Subject[], dst: DestEntry[], st: typeof stats): Compiled => {
    const c: Compiled = { input: inp, plan: { switches }, subjects: subs, subjectById: subs === subjects ? subjectById : new Map(subs.map((x) => [x.id, x])), classIds, dstClassIds, dest: dst, resourcePrefixes, stats: st };
    const gen = ++generation;
    Object.defineProperty(c, PATCH, { enumerable: false, value: (d: Directory) => (gen === generation ? patch(c, d) : undefined) });
    return c;
  };

  /**
   * Fast path for a directory change that moves a few users between existing classes (roles, organization,
   * name; same devices): rebuild only the switches whose flows change. Anything else returns undefined and the
   * caller compiles in full (with the previous class ids).
   */
  const patch = (prev: Compiled, next: Directory): Compiled | undefined => {
    const before = prev.input.directory;
    if (next.users.length !== before.users.length || next.organizations.length !== before.organizations.length) return undefined;
    for (let i = 0; i < next.organizations.length; i++) {
      const a = before.organizations[i], b = next.organizations[i];
      if (a !== b && (a.name !== b.name || a.parent !== b.parent)) return undefined;
    }
    const subs = [...prev.subjects];
    const counts = new Map(setCount);
    const ownerChanges = new Map<string, number>();
    const touched = new Set<string>();
    let changed = 0;
    for (let i = 0; i < next.users.length; i++) {
      const u = next.users[i], old = before.users[i];
      if (u === old) continue;
      if (++changed > 50 || u.id !== old.id || u.devices.length !== old.devices.length) return undefined;
      for (let k = 0; k < u.devices.length; k++) if (u.devices[k].mac !== old.devices[k].mac || u.devices[k].ip !== old.devices[k].ip) return undefined;
      if (u.organization !== undefined && !ctx.orgs.has(u.organization)) return undefined;
      const rules = ruleIndex.candidates(u).filter((ri) => policy.rules[ri].from.some((sel) => userMatches(sel, u, ctx)));
      const sig = signature(rules);
      const cls = classOfSet.get(sig);
      if (cls === undefined) return undefined; // a new rule set (maybe a new class): full compile
      const prevSubject = subs[i];
      if (prevSubject.id !== u.id || prevSubject.kind !== 'user') return undefined;
      const prevSig = signature(prevSubject.rules as number[]);
      if (sig !== prevSig) {
        // a rule set that disappears may remove a class or change the rule names on its flows: full compile
        if ((counts.get(prevSig) ?? 0) <= 1) return undefined;
        counts.set(prevSig, counts.get(prevSig)! - 1);
        counts.set(sig, (counts.get(sig) ?? 0) + 1);
      }
      if (cls !== prevSubject.classId) {
        for (const e of prevSubject.endpoints) {
          if (e.switch) touched.add(e.switch);
          if (e.ip) ownerChanges.set(e.ip, cls);
        }
      }
      subs[i] = { ...prevSubject, name: u.name, organization: u.organization, roles: u.roles, rules, classId: cls };
    }
    // shared state now follows the new subjects (endpoints are unchanged: only their subject objects are replaced)
    for (let i = 0; i < next.users.length; i++) {
      if (subs[i] === prev.subjects[i]) continue;
      for (const e of subs[i].endpoints) {
        const list = e.switch !== undefined ? endpointsBySwitch.get(e.switch) : undefined;
        if (list) endpointsBySwitch.set(e.switch!, list.map((x) => (x.s.id === subs[i].id ? { s: subs[i], e: x.e } : x)));
      }
    }
    setCount.clear();
    for (const [k, v] of counts) setCount.set(k, v);
    let dst = prev.dest;
    const replaced = new Map<PlannedFlow, PlannedFlow>();
    const linkPos = new Map<PlannedFlow, number>(); // index within its link-classification array
    const destPos = new Map<PlannedFlow, number>(); // index within destFlows.withOwner
    if (ownerChanges.size) {
      for (const si of subjectIps) { const c2 = ownerChanges.get(si.ip); if (c2 !== undefined) si.cls = c2; }
      // positions are stable across patches (same cookies, same order): index them once, then slice and replace
      for (const [port, arr] of linkClassifyCache) {
        const inPort: OxmEntry = { field: 'in_port', value: port };
        let idx = positions.link.get(port);
        if (!idx) positions.link.set(port, (idx = new Map(arr.map((f, i) => [f.match[2]?.value as string, i]))));
        const copy = arr.slice();
        for (const [ip, c2] of ownerChanges) {
          const i = idx.get(ip);
          if (i === undefined) continue;
          const nf = flow(TABLE.classify, PRIORITY.linkClassify, [inPort, IP, { field: 'ipv4_src', value: ip }], [{ type: 'write_metadata', metadata: BigInt(c2), mask: METADATA.srcMask }, GOTO(TABLE.dest)], 'classify:link');
          replaced.set(copy[i], nf);
          linkPos.set(copy[i], i);
          copy[i] = nf;
        }
        linkClassifyCache.set(port, copy);
      }
      if (!positions.dest) positions.dest = new Map(prev.dest.map((d, i) => [d.prefix.len === 32 ? d.prefix.addr : -1 - i, i]));
      if (!positions.owner) positions.owner = new Map(destFlows.withOwner.map((f, i) => [f.match[1]?.mask === undefined ? (f.match[1]?.value as string) : `#${i}`, i]));
      const dstCopy = prev.dest.slice();
      dst = dstCopy;
      const owner = destFlows.withOwner.slice();
      for (const [ip, c2] of ownerChanges) {
        const di = positions.dest.get(parseIpv4(ip)!);
        if (di === undefined) continue;
        const d = { ...dstCopy[di], ownerClass: c2 };
        dstCopy[di] = d;
        const oi = positions.owner.get(ip);
        if (oi === undefined) continue;
        const f = owner[oi];
        const nf = flow(TABLE.dest, f.priority, f.match as OxmEntry[], [{ type: 'write_metadata', metadata: (BigInt(d.dstClass) << METADATA.dstShift) | (BigInt(c2) << METADATA.ownerShift), mask: METADATA.dstMask | METADATA.ownerMask }, GOTO(TABLE.policy)], f.origin);
        replaced.set(f, nf);
        destPos.set(f, oi);
        owner[oi] = nf;
      }
      destFlows.withOwner = owner;
    }
    switches = switches.map((sp, i) => {
      const sw = sortedSwitches[i];
      if (touched.has(sw.name)) return buildSwitch(sw);
      if (!replaced.size || !(sw.kind === 'hypervisor' || segments.get(sw.name)!.owner)) return sp;
      // same flows in the same order but for the few replaced ones (cookies are unchanged)
      let flows: PlannedFlow[] | undefined;
      const g = segments.get(sw.name)!;
      const linkLen = sw.kind === 'hypervisor' && g.links.length === 1 ? linkClassify(g.links[0]).length : -1;
      for (const [o, nf] of replaced) {
        // the segment layout gives the position directly; fall back to a search when it does not
        const pre = eapolFlows(sw.name).length + g.local.length;
        const guess = linkPos.has(o) && linkLen >= 0 ? pre + linkPos.get(o)! : destPos.has(o) && linkLen >= 0 ? pre + linkLen + g.linkMisc.length + 1 + destPos.get(o)! : -1;
        const at = guess >= 0 && sp.flows[guess] === o ? guess : (flows ?? sp.flows).indexOf(o);
        if (at < 0) continue;
        flows ??= sp.flows.slice();
        flows[at] = nf;
      }
      return flows ? { ...sp, flows } : sp;
    });
    return make({ ...prev.input, directory: next }, subs, dst as DestEntry[], { ...prev.stats, flows: countFlows(switches) });
  };

  return make(input, subjects, dest, stats);
}

const PATCH = Symbol('sdn-acl.patch');

/** Recompiles after a directory or binding change, keeping class ids so that unchanged flows keep their cookies. */
export function recompile(previous: Compiled, change: Partial<CompileInput>): Compiled {
  const onlyDirectory = change.directory && Object.keys(change).every((k) => k === 'directory' || (change as Record<string, unknown>)[k] === (previous.input as unknown as Record<string, unknown>)[k]);
  if (onlyDirectory) {
    const fast = (previous as Compiled & { [PATCH]?: (d: Directory) => Compiled | undefined })[PATCH]?.(change.directory!);
    if (fast) return fast;
  }
  return compile({ ...previous.input, ...change }, { previous });
}

export type { Resource, Rule, SwitchDef };
