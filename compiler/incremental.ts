/**
 * The incremental path: a directory change that moves a few users between existing classes (roles, organization,
 * name; same devices) rebuilds only the switches whose flows change. Anything else returns undefined and the
 * caller compiles in full (with the previous class ids). The state it needs is an explicit value on each
 * Compiled; a patch copies what it changes, so every Compiled stays valid and patchable.
 */
import type { Directory, PlannedFlow, SwitchDef, SwitchPlan } from './model.js';
import { parseIpv4 } from './addr.js';
import type { Compiled, DestEntry, Subject } from './compiled.js';
import type { EndpointAt, SubjectIp, SwitchTables } from './tables.js';
import type { IncrementalState } from './incremental-state.js';
import { OverlayMap } from './overlay-map.js';

/** A Compiled value with its incremental state attached (not enumerable: JSON and equality ignore it). */
export function withIncremental(c: Omit<Compiled, 'incremental'>, state: IncrementalState): Compiled {
  return Object.defineProperty(c, 'incremental', { value: state, enumerable: false });
}

interface UserMoves {
  readonly subjects: Subject[];
  readonly counts: Map<string, number>;
  readonly ownerChanges: Map<string, number>;
  readonly touched: Set<string>;
}

/** Users that moved between existing classes, or undefined when the change needs a full compile. */
function userMoves(prev: Compiled, st: IncrementalState, next: Directory): UserMoves | undefined {
  const before = prev.input.directory;
  // IPv6 in play: owner-tagging and link flows exist per family; a full compile keeps that simple (and correct)
  if (st.selection.v6) return undefined;
  if (next.users.length !== before.users.length || next.organizations.length !== before.organizations.length) return undefined;
  for (let i = 0; i < next.organizations.length; i++) {
    const a = before.organizations[i],
      b = next.organizations[i];
    if (a !== b && (a.name !== b.name || a.parent !== b.parent)) return undefined;
  }
  const subjects = [...prev.subjects];
  const counts = new Map(st.setCount);
  const ownerChanges = new Map<string, number>();
  const touched = new Set<string>();
  let changed = 0;
  for (let i = 0; i < next.users.length; i++) {
    const u = next.users[i],
      old = before.users[i];
    if (u === old) continue;
    if (++changed > 50 || u.id !== old.id || u.devices.length !== old.devices.length) return undefined;
    for (let k = 0; k < u.devices.length; k++)
      if (
        u.devices[k].mac !== old.devices[k].mac ||
        u.devices[k].ip !== old.devices[k].ip ||
        (u.devices[k].ipv6 ?? []).join() !== (old.devices[k].ipv6 ?? []).join()
      )
        return undefined;
    if (u.organization !== undefined && !st.selection.hasOrganization(u.organization)) return undefined;
    const rules = st.selection.rulesOf(u);
    const sig = st.selection.signature(rules);
    const cls = st.classOfSet.get(sig);
    if (cls === undefined) return undefined; // a new rule set (maybe a new class): full compile
    const prevSubject = subjects[i];
    if (prevSubject.id !== u.id || prevSubject.kind !== 'user') return undefined;
    const prevSig = st.selection.signature(prevSubject.rules);
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
    subjects[i] = { ...prevSubject, name: u.name, organization: u.organization, roles: u.roles, rules, classId: cls };
  }
  return { subjects, counts, ownerChanges, touched };
}

/** Endpoint lists that follow the new subject objects (endpoints are unchanged: only their subjects are replaced). */
function movedEndpoints(prev: Compiled, tables: SwitchTables, subs: readonly Subject[]): Map<string, readonly EndpointAt[]> {
  const out = new Map(tables.endpointsBySwitch);
  for (let i = 0; i < subs.length; i++) {
    if (subs[i] === prev.subjects[i]) continue;
    for (const e of subs[i].endpoints) {
      const list = e.switch !== undefined ? out.get(e.switch) : undefined;
      if (list)
        out.set(
          e.switch!,
          list.map((x) => (x.s.id === subs[i].id ? { s: subs[i], e: x.e } : x)),
        );
    }
  }
  return out;
}

interface OwnerPatch {
  readonly subjectIps: readonly SubjectIp[];
  readonly linkCache: Map<number, readonly PlannedFlow[]>;
  readonly destWithOwner: readonly PlannedFlow[];
  readonly dest: readonly DestEntry[];
  /** Old flow → new flow, with its index in its link-classification array or in the owner-tagging dest flows. */
  readonly replaced: Map<PlannedFlow, PlannedFlow>;
  readonly linkPos: Map<PlannedFlow, number>;
  readonly destPos: Map<PlannedFlow, number>;
}

/** Addresses whose owner changed class: new link-classification and owner-tagging flows, in the same positions. */
function ownerPatch(prev: Compiled, st: IncrementalState, ownerChanges: ReadonlyMap<string, number>): OwnerPatch {
  const { tables, positions } = st;
  const sh = tables.shares;
  const subjectIps = tables.subjectIps.map((si) => {
    const c2 = ownerChanges.get(si.ip);
    return c2 === undefined ? si : { ip: si.ip, cls: c2 };
  });
  const replaced = new Map<PlannedFlow, PlannedFlow>();
  const linkPos = new Map<PlannedFlow, number>();
  const destPos = new Map<PlannedFlow, number>();
  const linkCache = new Map<number, readonly PlannedFlow[]>();
  for (const [port, arr] of tables.linkFlows) {
    let idx = positions.link.get(port);
    if (!idx) positions.link.set(port, (idx = new Map(arr.map((f, i) => [f.match[2]?.value as string, i]))));
    const copy = arr.slice();
    for (const [ip, c2] of ownerChanges) {
      const i = idx.get(ip);
      if (i === undefined) continue;
      const nf = sh.linkClassifyFlow(port, ip, c2);
      replaced.set(copy[i], nf);
      linkPos.set(copy[i], i);
      copy[i] = nf;
    }
    linkCache.set(port, copy);
  }
  positions.dest ??= new Map(prev.dest.map((d, i) => [d.prefix.len === 32 ? d.prefix.addr : -1 - i, i]));
  positions.owner ??= new Map(
    tables.destWithOwner.map((f, i) => [f.match[1]?.mask === undefined ? (f.match[1]?.value as string) : `#${i}`, i]),
  );
  const dest = prev.dest.slice();
  const owner = tables.destWithOwner.slice();
  for (const [ip, c2] of ownerChanges) {
    const di = positions.dest.get(parseIpv4(ip)!);
    if (di === undefined) continue;
    const d = { ...dest[di], ownerClass: c2 };
    dest[di] = d;
    const oi = positions.owner.get(ip);
    if (oi === undefined) continue;
    const f = owner[oi];
    const nf = sh.destFlow(d.prefix, d.dstClass, c2, f.origin);
    replaced.set(f, nf);
    destPos.set(f, oi);
    owner[oi] = nf;
  }
  return { subjectIps, linkCache, destWithOwner: owner, dest, replaced, linkPos, destPos };
}

/** The same flows in the same order but for the few replaced ones (cookies are unchanged). */
function replaceFlows(sp: SwitchPlan, sw: SwitchDef, tables: SwitchTables, op: OwnerPatch): SwitchPlan {
  const g = tables.segmentsOf(sw.name)!;
  let flows: PlannedFlow[] | undefined;
  const linkLen = sw.kind === 'hypervisor' && g.links.length === 1 ? tables.linkClassify(g.links[0]).length : -1;
  for (const [o, nf] of op.replaced) {
    // the segment layout gives the position directly; fall back to a search when it does not
    const pre = g.eapol.length + g.local.length;
    const guess =
      op.linkPos.has(o) && linkLen >= 0
        ? pre + op.linkPos.get(o)!
        : op.destPos.has(o) && linkLen >= 0
          ? pre + linkLen + g.linkMisc.length + 1 + op.destPos.get(o)!
          : -1;
    const at = guess >= 0 && sp.flows[guess] === o ? guess : (flows ?? sp.flows).indexOf(o);
    if (at < 0) continue;
    flows ??= sp.flows.slice();
    flows[at] = nf;
  }
  return flows ? { ...sp, flows } : sp;
}

/** The id → subject map with the moved users' new subjects, over the previous map (not a new 10,000-entry Map). */
function subjectsById(prev: Compiled, subjects: readonly Subject[]): ReadonlyMap<string, Subject> {
  const set = new Map<string, Subject>();
  for (let i = 0; i < subjects.length; i++) if (subjects[i] !== prev.subjects[i]) set.set(subjects[i].id, subjects[i]);
  return OverlayMap.patch(prev.subjectById, set);
}

/** `prev` recompiled for `next` by the fast path, or undefined when a full compile is needed. */
export function patchDirectory(prev: Compiled, next: Directory): Compiled | undefined {
  const st = prev.incremental;
  if (!st) return undefined;
  const moves = userMoves(prev, st, next);
  if (!moves) return undefined;
  const { subjects, counts, ownerChanges, touched } = moves;
  const endpointsBySwitch = movedEndpoints(prev, st.tables, subjects);
  const op = ownerChanges.size ? ownerPatch(prev, st, ownerChanges) : undefined;
  const tables = st.tables.with(
    op ? { endpointsBySwitch, subjectIps: op.subjectIps, destWithOwner: op.destWithOwner, linkCache: op.linkCache } : { endpointsBySwitch },
  );
  const switches = prev.plan.switches.map((sp, i) => {
    const sw = st.switchOrder[i];
    if (touched.has(sw.name)) return tables.buildSwitch(sw);
    if (!op?.replaced.size || !(sw.kind === 'hypervisor' || tables.segmentsOf(sw.name)!.owner)) return sp;
    return replaceFlows(sp, sw, tables, op);
  });
  const flows = switches.reduce((n, x) => n + x.flows.length, 0);
  return withIncremental(
    {
      ...prev,
      input: { ...prev.input, directory: next },
      plan: { switches },
      subjects,
      subjectById: subjectsById(prev, subjects),
      dest: op?.dest ?? prev.dest,
      stats: { ...prev.stats, flows },
    },
    { ...st, setCount: counts, tables },
  );
}
