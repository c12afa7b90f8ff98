/**
 * Table-level steps of the incremental edge path (edge-patch.ts): which endpoints left and arrived per switch,
 * which addresses appear, disappear or change owner class, the address-keyed tables patched for them (link
 * classification, owner tags, destination entries), and each switch's table 0. Each step either gives its part
 * or undefined (a full compile is needed). Pure: the memo passed in is read, never written here.
 */
import type { Binding, PlannedFlow, User } from './model.js';
import { parseIpv4 } from './addr.js';
import type { Compiled, DestEntry, Endpoint, Subject } from './compiled.js';
import type { IncrementalState } from './incremental-state.js';
import { CompiledFlow } from './cookie.js';
import type { EndpointAt, Segments, SubjectIp, SwitchTables } from './tables.js';
import { byPrioCookie, localPair, patchSorted } from './edge-patch-flows.js';

/** Lookups derived from one Compiled's input, kept per IncrementalState (edge-patch.ts hands them on). */
export interface EdgeMemo {
  readonly hosts: ReadonlyMap<string, Binding>;
  readonly bindingByMac: Map<string, Binding>;
  /** Whether a binding in force carries IPv6 addresses (then patches give way to full compiles). */
  readonly v6Bound: boolean;
  readonly userById: Map<string, User>;
  /** Directory device MAC → ids of the users listing it. */
  readonly owners: Map<string, string[]>;
  /** switch → class → bound endpoints of that class there (built lazily per switch). */
  readonly classCount: Map<string, ReadonlyMap<number, number>>;
  /** address → how many endpoints hold it (built lazily). */
  ipCount?: Map<string, number>;
}

function classCountOf(m: EdgeMemo, tables: SwitchTables, sw: string): ReadonlyMap<number, number> {
  let c = m.classCount.get(sw);
  if (!c) {
    const n = new Map<number, number>();
    for (const { s } of tables.endpointsBySwitch.get(sw) ?? []) n.set(s.classId, (n.get(s.classId) ?? 0) + 1);
    m.classCount.set(sw, (c = n));
  }
  return c;
}

function ipCountOf(m: EdgeMemo, tables: SwitchTables): ReadonlyMap<string, number> {
  if (!m.ipCount) {
    const n = new Map<string, number>();
    for (const { ip } of tables.subjectIps) n.set(ip, (n.get(ip) ?? 0) + 1);
    m.ipCount = n;
  }
  return m.ipCount;
}

const epKey = (e: Endpoint) => `${e.mac}|${e.ip ?? ''}|${e.switch ?? ''}|${e.port ?? ''}`;

interface SwitchChange {
  readonly removed: EndpointAt[];
  readonly added: EndpointAt[];
  /** Changed users' endpoints that stay as they were (their flows stay; the endpoint list takes the new subject). */
  readonly kept: Array<{ old: Subject; now: Subject }>;
}

export interface SwitchChanges {
  readonly perSwitch: ReadonlyMap<string, SwitchChange>;
  /** Per address: owner classes of the endpoints that left it and came to it. */
  readonly ipDelta: ReadonlyMap<string, { gone: number[]; came: number[] }>;
  /** Switches to rebuild whole (a bound address inside a resource changes its destination classes). */
  readonly rebuild: Set<string>;
  readonly endpointsBySwitch: ReadonlyMap<string, readonly EndpointAt[]>;
}

/** Per switch: endpoints that left and arrived; per address: holders before and after. */
export function switchChanges(
  prev: Compiled,
  st: IncrementalState,
  changed: ReadonlyArray<{ readonly old?: Subject; readonly now?: Subject }>,
): SwitchChanges | undefined {
  const sh = st.tables.shares;
  const perSwitch = new Map<string, SwitchChange>();
  const at = (sw: string) => {
    let c = perSwitch.get(sw);
    if (!c) perSwitch.set(sw, (c = { removed: [], added: [], kept: [] }));
    return c;
  };
  const ipDelta = new Map<string, { gone: number[]; came: number[] }>();
  const rebuild = new Set<string>();
  const hasHypervisor = prev.input.topology.switches.some((x) => x.kind === 'hypervisor');
  for (const { old, now } of changed) {
    // endpoints a changed user keeps as they were (same class) change nothing
    const kept = old && now ? new Set(old.endpoints.map(epKey).filter((k) => now.endpoints.some((e) => epKey(e) === k))) : undefined;
    for (const [s, list] of [
      [old, 'removed'],
      [now, 'added'],
    ] as const) {
      if (!s) continue;
      for (const e of s.endpoints) {
        if (kept?.has(epKey(e))) {
          if (e.switch !== undefined && e.port !== undefined) at(e.switch).kept.push({ old: old!, now: now! });
          continue;
        }
        if (e.ip) {
          let d = ipDelta.get(e.ip);
          if (!d) ipDelta.set(e.ip, (d = { gone: [], came: [] }));
          (list === 'removed' ? d.gone : d.came).push(s.classId);
        }
        if (e.switch === undefined || e.port === undefined) continue;
        at(e.switch)[list].push({ s, e });
        if (e.ip && sh.dests.dstOfAddr(parseIpv4(e.ip)!)) {
          // a bound address inside a resource: that switch's destination classes change (rebuilt); without a
          // hypervisor whether owner-tagging flows exist at all may change: full compile
          if (!hasHypervisor) return undefined;
          rebuild.add(e.switch);
        }
      }
    }
  }
  return { perSwitch, ipDelta, rebuild, endpointsBySwitch: endpointLists(st.tables, perSwitch, changed) };
}

/** The bound endpoints per switch after the change: the changed users' old ones out, their new ones in. */
function endpointLists(
  tables: SwitchTables,
  perSwitch: ReadonlyMap<string, SwitchChange>,
  changed: ReadonlyArray<{ readonly old?: Subject; readonly now?: Subject }>,
): ReadonlyMap<string, readonly EndpointAt[]> {
  const endpointsBySwitch = new Map(tables.endpointsBySwitch);
  for (const [sw, c] of perSwitch) {
    const before = tables.endpointsBySwitch.get(sw) ?? [];
    // the changed users' subjects that had endpoints here (a login from nowhere has none: no walk of the list)
    const olds = new Set<string>();
    for (const { old } of changed) if (old?.endpoints.some((e) => e.switch === sw && e.port !== undefined)) olds.add(old.id);
    const list = olds.size ? before.filter((x) => !olds.has(x.s.id)) : before.slice();
    const added = new Set(c.added.map((x) => x.e));
    const done = new Set<Subject>();
    for (const { now } of c.kept) {
      if (done.has(now)) continue;
      done.add(now);
      for (const e of now.endpoints) if (e.switch === sw && e.port !== undefined && !added.has(e)) list.push({ s: now, e });
    }
    for (const x of c.added) list.push(x);
    if (list.length) endpointsBySwitch.set(sw, list);
    else endpointsBySwitch.delete(sw);
  }
  return endpointsBySwitch;
}

export interface AddressChanges {
  /** address → new owner class (0: gone). */
  readonly ipChanges: ReadonlyMap<string, number>;
  /** address → owner class before (0: none). */
  readonly ipBefore: ReadonlyMap<string, number>;
}

/** Addresses that appear, disappear or change owner class (one holder each, outside every resource). */
export function addressChanges(
  st: IncrementalState,
  memo: EdgeMemo,
  ipDelta: ReadonlyMap<string, { gone: number[]; came: number[] }>,
): AddressChanges | undefined {
  const sh = st.tables.shares;
  const ipChanges = new Map<string, number>();
  const ipBefore = new Map<string, number>();
  for (const [ip, d] of ipDelta) {
    if (d.gone.length === d.came.length && d.gone.every((c, i) => c === d.came[i])) continue;
    const addr = parseIpv4(ip);
    if (addr === undefined || sh.dests.dstOfAddr(addr)) return undefined; // inside a resource: destination classes change
    const n0 = ipCountOf(memo, st.tables).get(ip) ?? 0;
    const n1 = n0 - d.gone.length + d.came.length;
    if (n0 > 1 || n1 > 1 || d.gone.length > 1 || d.came.length > 1) return undefined; // one address, several holders
    if (n0 === 1 && d.gone.length === 0) return undefined; // an unchanged holder keeps it and a new one arrives
    ipBefore.set(ip, d.gone[0] ?? 0);
    ipChanges.set(ip, n1 ? d.came[0] : 0);
  }
  return { ipChanges, ipBefore };
}

type FlowChange = { removed: PlannedFlow[]; added: readonly PlannedFlow[] };

export interface PatchedAddresses {
  readonly changed: boolean;
  readonly subjectIps: readonly SubjectIp[];
  readonly linkCache?: Map<number, readonly PlannedFlow[]>;
  readonly destWithOwner: readonly PlannedFlow[];
  readonly dest: readonly DestEntry[];
  /** What the memo's address counts become (to apply when the patch succeeds). */
  readonly ipChanges: ReadonlyMap<string, number>;
  readonly linkDelta: ReadonlyMap<number, FlowChange>;
  readonly destDelta?: FlowChange;
}

/** Address-keyed tables for the changed addresses: holders, link classification per port, destination entries. */
export function patchAddresses(prev: Compiled, st: IncrementalState, a: AddressChanges): PatchedAddresses | undefined {
  const tables = st.tables;
  const sh = tables.shares;
  const { ipChanges, ipBefore } = a;
  if (!ipChanges.size)
    return {
      changed: false,
      subjectIps: tables.subjectIps,
      destWithOwner: tables.destWithOwner,
      dest: prev.dest,
      ipChanges,
      linkDelta: new Map(),
    };
  const subjectIps: SubjectIp[] = tables.subjectIps.filter((x) => !ipChanges.has(x.ip));
  for (const [ip, cls] of ipChanges) if (cls) subjectIps.push({ ip, cls });
  // hypervisors' link classification, per port
  const linkCache = new Map<number, readonly PlannedFlow[]>();
  const linkDelta = new Map<number, FlowChange>();
  for (const [port, arr] of tables.linkFlows) {
    const gone: PlannedFlow[] = [];
    const added: PlannedFlow[] = [];
    for (const [ip, cls] of ipChanges) {
      if (ipBefore.get(ip)) gone.push(sh.linkClassifyFlow(port, ip, ipBefore.get(ip)!));
      if (cls) added.push(sh.linkClassifyFlow(port, ip, cls));
    }
    const next = patchSorted(arr, gone, added, CompiledFlow.byCookie);
    if (!next) return undefined;
    linkCache.set(port, next.list);
    linkDelta.set(port, { removed: next.removed, added });
  }
  const d = destEntries(prev.dest, ipChanges);
  if (!d) return undefined;
  if (!sh.ownerFlowsNeeded)
    return { changed: true, subjectIps, linkCache, destWithOwner: tables.destWithOwner, dest: d, ipChanges, linkDelta };
  // owner-tagging flows of the changed addresses
  const gone: PlannedFlow[] = [];
  const added: PlannedFlow[] = [];
  for (const [ip, cls] of ipChanges) {
    const prefix = { addr: parseIpv4(ip)!, len: 32 };
    if (ipBefore.get(ip)) gone.push(sh.destFlow(prefix, 0, ipBefore.get(ip)!, 'dest:owner'));
    if (cls) added.push(sh.destFlow(prefix, 0, cls, 'dest:owner'));
  }
  const next = patchSorted(tables.destWithOwner, gone, added, byPrioCookie);
  if (!next) return undefined;
  return {
    changed: true,
    subjectIps,
    linkCache,
    destWithOwner: next.list,
    dest: d,
    ipChanges,
    linkDelta,
    destDelta: { removed: next.removed, added },
  };
}

/** Destination entries (sorted by length, then address) with the changed host addresses' owner classes. */
function destEntries(dest: readonly DestEntry[], ipChanges: ReadonlyMap<string, number>): DestEntry[] | undefined {
  const d2 = dest.slice();
  for (const [ip, cls] of ipChanges) {
    const addr = parseIpv4(ip)!;
    let lo = 0,
      hi = d2.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const p = d2[mid].prefix;
      if (p.len < 32 || (p.len === 32 && p.addr < addr)) lo = mid + 1;
      else hi = mid;
    }
    const hit = lo < d2.length && d2[lo].prefix.len === 32 && d2[lo].prefix.addr === addr;
    const entry: DestEntry = { prefix: { addr, len: 32 }, resources: [], dstClass: 0, ownerClass: cls };
    if (hit) {
      if (d2[lo].dstClass || d2[lo].resources.length) return undefined;
      if (cls) d2[lo] = entry;
      else d2.splice(lo, 1);
    } else if (cls) d2.splice(lo, 0, entry);
    else return undefined;
  }
  return d2;
}

export interface LocalTables {
  /** Per spliced switch: its new table-0 endpoint flows and the ones that left and came. */
  readonly patched: ReadonlyMap<string, { list: PlannedFlow[]; removed: PlannedFlow[]; added: PlannedFlow[] }>;
  readonly rebuild: ReadonlySet<string>;
  readonly classCount: Map<string, ReadonlyMap<number, number>>;
  readonly segments: ReadonlyMap<string, Segments>;
}

/** Per switch: table 0 for the changed endpoints; a switch whose set of local classes changes is rebuilt. */
export function localTables(st: IncrementalState, memo: EdgeMemo, c: SwitchChanges): LocalTables {
  const tables = st.tables;
  const rebuild = new Set(c.rebuild);
  const classCount = new Map(memo.classCount);
  const patched = new Map<string, { list: PlannedFlow[]; removed: PlannedFlow[]; added: PlannedFlow[] }>();
  for (const [sw, ch] of c.perSwitch) {
    if (rebuild.has(sw) || (!ch.removed.length && !ch.added.length)) continue;
    const old = classCountOf(memo, tables, sw);
    const cc = new Map(old);
    for (const { s } of ch.removed) {
      const k = (cc.get(s.classId) ?? 0) - 1;
      if (k > 0) cc.set(s.classId, k);
      else cc.delete(s.classId);
    }
    for (const { s } of ch.added) cc.set(s.classId, (cc.get(s.classId) ?? 0) + 1);
    classCount.set(sw, cc);
    const g = tables.segmentsOf(sw);
    if (!g || cc.size !== old.size || [...cc.keys()].some((k) => !old.has(k))) {
      rebuild.add(sw);
      continue;
    }
    const gone: PlannedFlow[] = [];
    const added: PlannedFlow[] = [];
    for (const { s, e } of ch.removed) if (e.ip) gone.push(...localPair(s, e, tables));
    for (const { s, e } of ch.added) if (e.ip) added.push(...localPair(s, e, tables));
    const local = patchSorted(g.local, gone, added, CompiledFlow.byCookie);
    if (!local) {
      rebuild.add(sw);
      continue;
    }
    patched.set(sw, { list: local.list, removed: local.removed, added });
  }
  for (const sw of rebuild) classCount.delete(sw);
  const segments = new Map<string, Segments>();
  for (const [sw, p] of patched) segments.set(sw, { ...tables.segmentsOf(sw)!, local: p.list });
  return { patched, rebuild, classCount, segments };
}
