/**
 * The incremental edge path: a login, a logoff, a DHCP lease or a web sign-in changes where a few devices are
 * bound (switch:port) and which addresses they hold. `patchEdge` turns the previous Compiled into exactly what a
 * full compile of the new directory + bindings gives, touching only:
 *  - the anti-spoofing/classification flows (table 0) of the changed endpoints on their switches,
 *  - the policy flows of a switch where a class appears or disappears (that switch is rebuilt),
 *  - for an address that appears, disappears or changes owner class: its owner-tagging destination flow and the
 *    hypervisors' link classification flow.
 * Anything else (a new or vanished class, an address inside a resource, duplicated addresses or flows, changed
 * roles or organizations) returns undefined and the caller compiles in full.
 *
 * Cost: a batch costs O(changed MACs) lookups and flow builds. Users are matched to the previous ones by
 * position and object identity (a pointer walk, no hashing), bindings by the caller's hint (the MACs whose
 * binding changed), sorted flow lists are patched by binary search, and each spliced switch's flow delta is
 * known without diffing its plan (`edgeDelta`). Pure: values in, values out. The derived lookups it keeps
 * (bindings by MAC, users by id, owners of a MAC, classes per switch, holders per address) live in a memo per
 * IncrementalState value that a successful patch hands on to its result (the previous state rebuilds it if it
 * is ever patched again); no Compiled value is ever mutated.
 */
import type { Binding, Directory, PlannedFlow, SwitchPlan, User } from './model.js';
import type { Compiled, Subject } from './compiled.js';
import { withIncremental } from './incremental.js';
import type { IncrementalState } from './incremental-state.js';
import { OverlayMap } from './overlay-map.js';
import { netDelta, splice, type PlanDelta } from './edge-patch-flows.js';
import { localTables, switchChanges, addressChanges, patchAddresses, type EdgeMemo } from './edge-patch-tables.js';

export { planDelta, type PlanDelta } from './edge-patch-flows.js';
export type { EdgeMemo } from './edge-patch-tables.js';

/** What the caller knows about a change of bindings: it saves the patch from comparing every binding. */
export interface EdgeHint {
  /** The bindings array the hint is relative to (the previous input's); ignored for any other. */
  readonly from: readonly Binding[];
  /** Every MAC whose binding in force may differ, with the binding the new array gives it (undefined: none). */
  readonly bindings: ReadonlyMap<string, Binding | undefined>;
}

/** Per switch, the flows a patch removed and added, relative to `from` (the previous plan). */
export interface EdgeDelta {
  readonly from: Compiled['plan'];
  readonly switches: ReadonlyMap<string, PlanDelta>;
}

const memos = new WeakMap<IncrementalState, EdgeMemo>();
const deltas = new WeakMap<Compiled, EdgeDelta>();

/** The flow delta per spliced switch of a patched result (undefined for a full compile or anything else). */
export function edgeDelta(c: Compiled): EdgeDelta | undefined {
  return deltas.get(c);
}

function bindingMap(hosts: readonly Binding[], bindings: readonly Binding[] | undefined): Map<string, Binding> {
  const m = new Map<string, Binding>();
  for (const b of hosts) m.set(b.mac, b);
  for (const b of bindings ?? []) m.set(b.mac, b);
  return m;
}

function memoOf(prev: Compiled, st: IncrementalState): EdgeMemo {
  let m = memos.get(st);
  if (!m) {
    const owners = new Map<string, string[]>();
    for (const u of prev.input.directory.users) for (const d of u.devices) addOwner(owners, d.mac, u.id);
    const bindingByMac = bindingMap(prev.input.topology.hosts, prev.input.bindings);
    m = {
      hosts: new Map(prev.input.topology.hosts.map((h) => [h.mac, h])),
      bindingByMac,
      v6Bound: [...bindingByMac.values()].some((b) => b.ipv6?.length),
      userById: new Map(prev.input.directory.users.map((u) => [u.id, u])),
      owners,
      classCount: new Map(),
    };
    memos.set(st, m);
  }
  return m;
}

/**
 * A user at the same place in the list whose roles or organization changed (a class move, never an edge patch):
 * found by comparing the two lists' objects, which a directory update shares for every user it did not touch.
 * False when the lists do not line up (walkUsers decides those).
 */
function classMoveInPlace(before: readonly User[], after: readonly User[]): boolean {
  if (before === after || before.length !== after.length) return false;
  for (let i = 0; i < after.length; i++) {
    const u = after[i],
      o = before[i];
    if (u !== o && u.id === o.id && (u.organization !== o.organization || !sameList(u.roles, o.roles))) return true;
  }
  return false;
}

function addOwner(owners: Map<string, string[]>, mac: string, id: string): void {
  const l = owners.get(mac);
  if (!l) owners.set(mac, [id]);
  else if (!l.includes(id)) l.push(id);
}

const sameBinding = (a: Binding | undefined, b: Binding | undefined) =>
  a === b || (!!a && !!b && a.switch === b.switch && a.port === b.port && a.ip === b.ip);

/** The new binding in force per MAC, and the MACs whose binding moved; undefined when IPv6 is in play. */
interface Bound {
  readonly get: (mac: string) => Binding | undefined;
  readonly moved: ReadonlySet<string>;
  /** A full map of the new bindings (no hint), or the hinted changes to apply to the memo's map. */
  readonly full?: Map<string, Binding>;
}

function boundOf(prev: Compiled, memo: EdgeMemo, bindings: readonly Binding[] | undefined, hint: EdgeHint | undefined): Bound | undefined {
  const was = memo.bindingByMac;
  if (bindings === prev.input.bindings) return memo.v6Bound ? undefined : { get: (m) => was.get(m), moved: new Set() };
  if (hint && hint.from === prev.input.bindings && !memo.v6Bound) {
    const moved = new Set<string>();
    for (const [mac, b] of hint.bindings) {
      if (b?.ipv6?.length) return undefined;
      if (!sameBinding(b ?? memo.hosts.get(mac), was.get(mac))) moved.add(mac);
    }
    return { get: (m) => (hint.bindings.has(m) ? (hint.bindings.get(m) ?? memo.hosts.get(m)) : was.get(m)), moved };
  }
  if (bindings?.some((b) => b.ipv6?.length)) return undefined;
  const full = bindingMap(prev.input.topology.hosts, bindings);
  const moved = new Set<string>();
  for (const [mac, b] of full) if (!sameBinding(b, was.get(mac))) moved.add(mac);
  for (const mac of was.keys()) if (!full.has(mac)) moved.add(mac);
  return { get: (m) => full.get(m), moved, full };
}

/** A changed user's subject before and after (one side absent for a user that came or went). */
export interface SubjectChange {
  readonly old?: Subject;
  readonly now?: Subject;
}

interface Subjects {
  readonly subjects: Subject[];
  readonly changed: SubjectChange[];
  readonly counts: Map<string, number>;
  /** Users of the new directory that are not the previous objects (came, or changed), and ids that went. */
  readonly usersSet: User[];
  readonly usersGone: string[];
}

const sameList = (a: readonly string[], b: readonly string[]) => a === b || (a.length === b.length && a.every((x, i) => x === b[i]));

/** Whether a user's devices give exactly these endpoints (as selectSubjects makes them), without allocating. */
function endpointsSame(u: User, old: Subject, bound: Bound): boolean {
  const eps = old.endpoints;
  if (u.devices.length !== eps.length) return false;
  for (let k = 0; k < eps.length; k++) {
    const d = u.devices[k],
      e = eps[k],
      b = bound.get(d.mac);
    if (d.mac !== e.mac || (d.ip ?? b?.ip) !== e.ip || b?.switch !== e.switch || b?.port !== e.port) return false;
  }
  return true;
}

const endpointsOf = (u: User, bound: Bound) =>
  u.devices.map((d) => {
    const b = bound.get(d.mac);
    return { mac: d.mac, ip: d.ip ?? b?.ip, switch: b?.switch, port: b?.port };
  });

/** A user whose object or bound devices changed (same id, same class), or undefined when a full compile is needed. */
function changedUser(u: User, oldUser: User, old: Subject, bound: Bound, out: Subjects): boolean {
  if (u !== oldUser && (u.organization !== oldUser.organization || !sameList(u.roles, oldUser.roles))) return false; // a class move
  if (u.devices.some((d) => d.ipv6?.length)) return false; // IPv6 gained: full compile
  if (u.name === old.name && endpointsSame(u, old, bound)) {
    out.subjects.push(old); // re-made, not changed
    return true;
  }
  const now: Subject = { ...old, name: u.name, endpoints: endpointsOf(u, bound) };
  out.subjects.push(now);
  out.changed.push({ old, now });
  return true;
}

/** A user that was not there: it joins an existing class, or undefined (a new rule set needs a full compile). */
function newUser(st: IncrementalState, u: User, bound: Bound, out: Subjects): boolean {
  if (u.organization !== undefined && !st.selection.hasOrganization(u.organization)) return false;
  if (u.devices.some((d) => d.ipv6?.length)) return false;
  const rules = st.selection.rulesOf(u);
  const sig = st.selection.signature(rules);
  const cls = st.classOfSet.get(sig);
  if (cls === undefined || !out.counts.get(sig)) return false;
  out.counts.set(sig, out.counts.get(sig)! + 1);
  const now: Subject = {
    kind: 'user',
    id: u.id,
    name: u.name,
    organization: u.organization,
    roles: u.roles,
    endpoints: endpointsOf(u, bound),
    rules,
    classId: cls,
  };
  out.subjects.push(now);
  out.changed.push({ now });
  return true;
}

function goneUser(st: IncrementalState, old: Subject | undefined, out: Subjects): boolean {
  if (!old || old.kind !== 'user') return false;
  const sig = st.selection.signature(old.rules);
  const n = out.counts.get(sig) ?? 0;
  if (n <= 1) return false; // a rule set disappears (maybe a class): full compile
  out.counts.set(sig, n - 1);
  out.changed.push({ old });
  return true;
}

/**
 * The new subjects, matching the new directory's users to the previous ones by position and identity: an
 * unchanged user (same object, no device bound elsewhere) keeps its subject without a lookup. Users that came
 * or went in between are found by id; a reorder or a duplicated id gives undefined (full compile).
 */
function walkUsers(prev: Compiled, st: IncrementalState, memo: EdgeMemo, directory: Directory, bound: Bound): Subjects | undefined {
  const was = prev.input.directory.users,
    now = directory.users;
  const marked = new Set<string>();
  for (const mac of bound.moved) for (const id of memo.owners.get(mac) ?? []) marked.add(id);
  const out: Subjects = { subjects: [], changed: [], counts: new Map(st.setCount), usersSet: [], usersGone: [] };
  const oldSubject = (j: number) => (prev.subjects[j]?.id === was[j].id ? prev.subjects[j] : prev.subjectById.get(was[j].id));
  const ids = new Set<string>();
  let i = 0,
    j = 0;
  while (i < now.length || j < was.length) {
    const u = now[i],
      o = was[j];
    if (u !== undefined && u === o && !marked.has(u.id)) {
      out.subjects.push(oldSubject(j)!);
      i++;
      j++;
      continue;
    }
    if (u !== undefined && o !== undefined && u.id === o.id) {
      const old = oldSubject(j);
      if (!old || old.kind !== 'user' || ids.has(u.id) || !changedUser(u, o, old, bound, out)) return undefined;
      ids.add(u.id);
      if (u !== o) out.usersSet.push(u);
      i++;
      j++;
    } else if (u !== undefined && !memo.userById.has(u.id)) {
      if (ids.has(u.id) || prev.subjectById.has(u.id) || !newUser(st, u, bound, out)) return undefined; // (or a server's id)
      ids.add(u.id);
      out.usersSet.push(u);
      i++;
    } else if (o !== undefined) {
      if (!goneUser(st, oldSubject(j), out)) return undefined;
      out.usersGone.push(o.id);
      j++;
    } else return undefined;
  }
  for (const id of out.usersGone) if (ids.has(id)) return undefined; // moved within the list: full compile
  for (const s of prev.subjects) if (s.kind === 'server') out.subjects.push(s);
  if (out.subjects.length !== now.length + prev.input.topology.servers.length) return undefined;
  return out;
}

/**
 * `prev` recompiled for a new directory and bindings that differ from its input only at the edge (devices of
 * users, synthetic edge users, bindings), or undefined when a full compile is needed.
 */
export function patchEdge(
  prev: Compiled,
  directory: Directory,
  bindings: readonly Binding[] | undefined,
  hint?: EdgeHint,
): Compiled | undefined {
  const st = prev.incremental;
  // IPv6 in play (also a learned IPv6 address in a binding): endpoints carry two families of flows; a full compile keeps it simple
  if (!st || st.selection.v6 || !sameOrganizations(prev.input.directory, directory)) return undefined;
  if (classMoveInPlace(prev.input.directory.users, directory.users)) return undefined; // before the memo (a walk of every user)
  const memo = memoOf(prev, st);
  const bound = boundOf(prev, memo, bindings, hint);
  if (!bound) return undefined;
  const who = walkUsers(prev, st, memo, directory, bound);
  if (!who) return undefined;
  const perSwitch = switchChanges(prev, st, who.changed);
  if (!perSwitch) return undefined;
  const addrs = addressChanges(st, memo, perSwitch.ipDelta);
  if (!addrs) return undefined;
  const patchedAddrs = patchAddresses(prev, st, addrs);
  if (!patchedAddrs) return undefined;
  const local = localTables(st, memo, perSwitch);
  const next = st.tables.with({
    endpointsBySwitch: perSwitch.endpointsBySwitch,
    subjectIps: patchedAddrs.subjectIps,
    destWithOwner: patchedAddrs.destWithOwner,
    ...(patchedAddrs.linkCache ? { linkCache: patchedAddrs.linkCache } : {}),
    segments: local.segments,
  });

  // switch plans: rebuilt, re-spliced (table 0 and 1 keep their places through the profile), or unchanged
  const changes = new Map<string, PlanDelta>();
  const switches = prev.plan.switches.map((sp, i) => {
    const sw = st.switchOrder[i];
    if (local.rebuild.has(sw.name)) return next.buildSwitch(sw);
    const g = st.tables.segmentsOf(sw.name);
    const l = local.patched.get(sw.name);
    const linkChanged = !!patchedAddrs.linkCache && sw.kind === 'hypervisor';
    const destChanged = patchedAddrs.destWithOwner !== st.tables.destWithOwner && !!g?.owner;
    if (!l && !linkChanged && !destChanged) return sp;
    const out = g && splice(sp, sw, g, st.tables, next, l?.list ?? g.local);
    if (!g || !out) return next.buildSwitch(sw);
    const d = switchDelta(l?.removed ?? [], l?.added ?? [], linkChanged ? g.links : [], destChanged, patchedAddrs);
    if (d) changes.set(sw.name, d);
    return out;
  });
  const result = withIncremental(
    {
      ...prev,
      input: { ...prev.input, directory, bindings },
      plan: { switches },
      subjects: who.subjects,
      subjectById: subjectsById(prev, who.changed),
      dest: patchedAddrs.dest,
      stats: statsOf(prev, switches, who.subjects.length),
    },
    { ...st, setCount: who.counts, tables: next, positions: patchedAddrs.changed ? { link: new Map() } : st.positions },
  );
  // hand the memo on, updated (the previous state's memo is dropped: it now describes the new input)
  memos.delete(st);
  memos.set(result.incremental!, handOn(memo, bound, who, local.classCount, patchedAddrs.ipChanges));
  deltas.set(result, { from: prev.plan, switches: changes });
  return result;
}

function sameOrganizations(before: Directory, directory: Directory): boolean {
  if (before.organizations === directory.organizations) return true;
  if (before.organizations.length !== directory.organizations.length) return false;
  for (let i = 0; i < directory.organizations.length; i++) {
    const a = before.organizations[i],
      b = directory.organizations[i];
    if (a !== b && (a.name !== b.name || a.parent !== b.parent)) return false;
  }
  return true;
}

/** One spliced switch's delta: its table-0 flows, its link classification (per link port), its owner tags. */
function switchDelta(
  removed: readonly PlannedFlow[],
  added: readonly PlannedFlow[],
  links: readonly number[],
  destChanged: boolean,
  a: {
    readonly linkDelta: ReadonlyMap<number, { removed: PlannedFlow[]; added: readonly PlannedFlow[] }>;
    readonly destDelta?: { removed: PlannedFlow[]; added: readonly PlannedFlow[] };
  },
): PlanDelta | undefined {
  const left = new Map<bigint, PlannedFlow>();
  const came: PlannedFlow[] = [...added];
  for (const f of removed) left.set(f.cookie, f);
  for (const p of links) {
    const d = a.linkDelta.get(p);
    if (!d) return undefined; // a port not patched: the caller diffs this switch
    for (const f of d.removed) left.set(f.cookie, f);
    came.push(...d.added);
  }
  if (destChanged) {
    if (!a.destDelta) return undefined;
    for (const f of a.destDelta.removed) left.set(f.cookie, f);
    came.push(...a.destDelta.added);
  }
  return netDelta(left, came);
}

function subjectsById(prev: Compiled, changed: readonly SubjectChange[]): ReadonlyMap<string, Subject> {
  const set = new Map<string, Subject>();
  const del: string[] = [];
  for (const { old, now } of changed)
    if (now) set.set(now.id, now);
    else del.push(old!.id);
  return OverlayMap.patch(prev.subjectById, set, del);
}

function statsOf(prev: Compiled, switches: readonly SwitchPlan[], subjects: number): Compiled['stats'] {
  const users = subjects - prev.input.topology.servers.length;
  return {
    ...prev.stats,
    users,
    flows: switches.reduce((n, x) => n + x.flows.length, 0),
    naive: users * prev.input.policy.resources.length * Math.max(1, prev.input.topology.switches.length),
  };
}

/** The memo for the patched result: the previous one's maps, updated for what changed (no copy of every user). */
function handOn(
  memo: EdgeMemo,
  bound: Bound,
  who: Subjects,
  classCount: EdgeMemo['classCount'],
  ipChanges: ReadonlyMap<string, number>,
): EdgeMemo {
  const ipCount = memo.ipCount;
  if (ipCount)
    for (const [ip, cls] of ipChanges)
      if (cls) ipCount.set(ip, 1);
      else ipCount.delete(ip);
  let bindingByMac = memo.bindingByMac;
  if (bound.full) bindingByMac = bound.full;
  else
    for (const mac of bound.moved) {
      const b = bound.get(mac);
      if (b) bindingByMac.set(mac, b);
      else bindingByMac.delete(mac);
    }
  const { userById, owners } = memo;
  const drop = (u: User | undefined) => {
    for (const d of u?.devices ?? []) {
      const l = owners.get(d.mac)?.filter((x) => x !== u!.id);
      if (l?.length) owners.set(d.mac, l);
      else owners.delete(d.mac);
    }
  };
  for (const id of who.usersGone) {
    drop(userById.get(id));
    userById.delete(id);
  }
  for (const u of who.usersSet) {
    drop(userById.get(u.id));
    userById.set(u.id, u);
    for (const d of u.devices) addOwner(owners, d.mac, u.id);
  }
  return { hosts: memo.hosts, bindingByMac, v6Bound: false, userById, owners, classCount, ipCount };
}
