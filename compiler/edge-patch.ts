/**
 * The incremental edge path: a login, a logoff, a DHCP lease or a web sign-in changes where a few devices are
 * bound (switch:port) and which addresses they hold. `patchEdge` turns the previous Compiled into exactly what a
 * full compile of the new directory + bindings gives, touching only:
 *  - the anti-spoofing/classification flows (table 0) of the changed endpoints on their switches,
 *  - the policy flows of a switch where a class appears or disappears (that switch is rebuilt),
 *  - for an address that appears, disappears or changes owner class: its owner-tagging destination flow and the
 *    hypervisors' link classification flow.
 * Anything else (a new or vanished class, an address inside a resource, duplicated addresses or flows, changed
 * roles or organizations) returns undefined and the caller compiles in full. Pure: values in, values out; the
 * derived lookups it keeps (bindings by MAC, users by id, classes per switch, holders per address) are memoized
 * per IncrementalState value, which is never mutated.
 */
import type { Binding, Directory, PlannedFlow, SwitchDef, SwitchPlan, User } from './model.js';
import { parseIpv4 } from './addr.js';
import type { Compiled, DestEntry, Endpoint, Subject } from './compiled.js';
import { withIncremental, type IncrementalState } from './incremental.js';
import { CompiledFlow } from './cookie.js';
import { PRIORITY, TABLES } from './pipeline.js';
import type { EndpointAt, Segments, SubjectIp, SwitchTables } from './tables.js';
import type { OxmEntry } from '../openflow/types.js';
import { instructionsKey } from '../openflow/identity.js';

interface EdgeMemo {
  readonly bindingByMac: ReadonlyMap<string, Binding>;
  readonly userById: ReadonlyMap<string, User>;
  /** switch → class → bound endpoints of that class there (built lazily per switch). */
  readonly classCount: Map<string, ReadonlyMap<number, number>>;
  /** address → how many endpoints hold it (built lazily). */
  ipCount?: ReadonlyMap<string, number>;
}

const memos = new WeakMap<IncrementalState, EdgeMemo>();

function bindingMap(hosts: readonly Binding[], bindings: readonly Binding[] | undefined): Map<string, Binding> {
  const m = new Map<string, Binding>();
  for (const b of hosts) m.set(b.mac, b);
  for (const b of bindings ?? []) m.set(b.mac, b);
  return m;
}

function memoOf(prev: Compiled, st: IncrementalState): EdgeMemo {
  let m = memos.get(st);
  if (!m) {
    m = {
      bindingByMac: bindingMap(prev.input.topology.hosts, prev.input.bindings),
      userById: new Map(prev.input.directory.users.map((u) => [u.id, u])),
      classCount: new Map(),
    };
    memos.set(st, m);
  }
  return m;
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

const sameBinding = (a: Binding | undefined, b: Binding | undefined) =>
  a === b || (!!a && !!b && a.switch === b.switch && a.port === b.port && a.ip === b.ip);
const sameList = (a: readonly string[], b: readonly string[]) => a === b || (a.length === b.length && a.every((x, i) => x === b[i]));

/** Whether a user's devices give exactly these endpoints (as selectSubjects makes them), without allocating. */
function endpointsSame(u: User, eps: readonly Endpoint[], binding: ReadonlyMap<string, Binding>): boolean {
  if (u.devices.length !== eps.length) return false;
  for (let k = 0; k < eps.length; k++) {
    const d = u.devices[k],
      e = eps[k],
      b = binding.get(d.mac);
    if (d.mac !== e.mac || (d.ip ?? b?.ip) !== e.ip || b?.switch !== e.switch || b?.port !== e.port) return false;
  }
  return true;
}

const epKey = (e: Endpoint) => `${e.mac}|${e.ip ?? ''}|${e.switch ?? ''}|${e.port ?? ''}`;

/** MACs bound elsewhere (or no longer / newly bound) between two binding maps. */
function macsMoved(before: ReadonlyMap<string, Binding>, after: ReadonlyMap<string, Binding>): Set<string> {
  const out = new Set<string>();
  if (after === before) return out;
  for (const [mac, b] of after) if (!sameBinding(b, before.get(mac))) out.add(mac);
  for (const mac of before.keys()) if (!after.has(mac)) out.add(mac);
  return out;
}

/** Where `f` goes in a list sorted by `cmp` (binary search); -1 - index when an equal element is there. */
function insertAt(list: readonly PlannedFlow[], f: PlannedFlow, cmp: (x: PlannedFlow, y: PlannedFlow) => number): number {
  let lo = 0,
    hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = cmp(list[mid], f);
    if (c === 0) return -1 - mid;
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
const byPrioCookie = (x: PlannedFlow, y: PlannedFlow) => y.priority - x.priority || CompiledFlow.byCookie(x, y);

/** Removes `gone` (by cookie) and inserts `added` into a sorted flow list; undefined on a duplicate cookie. */
function patchSorted(
  list: readonly PlannedFlow[],
  gone: ReadonlySet<bigint>,
  added: readonly PlannedFlow[],
  cmp: (x: PlannedFlow, y: PlannedFlow) => number,
): PlannedFlow[] | undefined {
  const out = gone.size ? list.filter((f) => !gone.has(f.cookie)) : list.slice();
  if (gone.size && list.length - out.length !== gone.size) return undefined; // not found exactly once each
  for (const f of added) {
    const at = insertAt(out, f, cmp);
    if (at < 0) return undefined;
    out.splice(at, 0, f);
  }
  return out;
}

function localPair(s: Subject, e: Endpoint, tables: SwitchTables): [PlannedFlow, PlannedFlow] {
  const inPort: OxmEntry = { field: 'in_port', value: e.port! };
  const src: OxmEntry = { field: 'eth_src', value: e.mac };
  return [
    TABLES.classify.flow(
      PRIORITY.classifyDevice,
      [inPort, src, { field: 'eth_type', value: 0x0800 }, { field: 'ipv4_src', value: e.ip! }],
      tables.shares.classifyIns(s.classId),
      `classify:${s.kind}:${s.id}`,
    ),
    TABLES.classify.flow(
      PRIORITY.classifyDevice,
      [inPort, src, { field: 'eth_type', value: 0x0806 }, { field: 'arp_spa', value: e.ip! }, { field: 'arp_sha', value: e.mac }],
      [{ type: 'goto_table', tableId: 3 }],
      `arp:${s.kind}:${s.id}`,
    ),
  ];
}

interface SwitchChange {
  readonly removed: EndpointAt[];
  readonly added: EndpointAt[];
  /** Changed users' endpoints that stay as they were (their flows stay; the endpoint list takes the new subject). */
  readonly kept: Array<{ old: Subject; now: Subject }>;
}

/**
 * `prev` recompiled for a new directory and bindings that differ from its input only at the edge (devices of
 * users, synthetic edge users, bindings), or undefined when a full compile is needed.
 */
export function patchEdge(prev: Compiled, directory: Directory, bindings: readonly Binding[] | undefined): Compiled | undefined {
  const st = prev.incremental;
  // IPv6 in play (also a learned IPv6 address in a binding): endpoints carry two families of flows; a full compile keeps it simple
  if (!st || st.selection.v6 || bindings?.some((b) => b.ipv6?.length)) return undefined;
  const before = prev.input.directory;
  if (before.organizations !== directory.organizations) {
    if (before.organizations.length !== directory.organizations.length) return undefined;
    for (let i = 0; i < directory.organizations.length; i++) {
      const a = before.organizations[i],
        b = directory.organizations[i];
      if (a !== b && (a.name !== b.name || a.parent !== b.parent)) return undefined;
    }
  }
  const memo = memoOf(prev, st);
  const tables = st.tables;
  const sh = tables.shares;

  // 1. which MACs are bound elsewhere now
  const nextBinding = bindings === prev.input.bindings ? memo.bindingByMac : bindingMap(prev.input.topology.hosts, bindings);
  const changedMacs = macsMoved(memo.bindingByMac, nextBinding);

  // 2. subjects: unchanged users keep their subject; changed ones get new endpoints (same rules and class)
  const counts = new Map(st.setCount);
  const subjects: Subject[] = [];
  const changed: Array<{ old?: Subject; now?: Subject }> = [];
  const seen = new Set<string>();
  let sameUsers = 0;
  const endpointsOf = (u: User): Endpoint[] =>
    u.devices.map((d) => {
      const b = nextBinding.get(d.mac);
      return { mac: d.mac, ip: d.ip ?? b?.ip, switch: b?.switch, port: b?.port };
    });
  for (const u of directory.users) {
    if (seen.has(u.id)) return undefined;
    seen.add(u.id);
    const old = prev.subjectById.get(u.id);
    const oldUser = memo.userById.get(u.id);
    if (old && old.kind === 'user' && oldUser) {
      sameUsers++;
      if (u === oldUser && (!changedMacs.size || !u.devices.some((d) => changedMacs.has(d.mac)))) {
        subjects.push(old);
        continue;
      }
      if (u.organization !== oldUser.organization || !sameList(u.roles, oldUser.roles) || u.devices.some((d) => d.ipv6?.length))
        return undefined; // a class move (patchDirectory or full), or IPv6 gained (full)
      if (u.name === old.name && endpointsSame(u, old.endpoints, nextBinding)) {
        subjects.push(old);
        continue;
      } // re-made, not changed
      const now: Subject = { ...old, name: u.name, endpoints: endpointsOf(u) };
      subjects.push(now);
      changed.push({ old, now });
      continue;
    }
    if (old) return undefined; // a user id that was a server
    if (u.organization !== undefined && !st.selection.hasOrganization(u.organization)) return undefined;
    const rules = st.selection.rulesOf(u);
    const sig = st.selection.signature(rules);
    const cls = st.classOfSet.get(sig);
    if (cls === undefined || !counts.get(sig)) return undefined; // a new rule set: full compile
    counts.set(sig, counts.get(sig)! + 1);
    const now: Subject = {
      kind: 'user',
      id: u.id,
      name: u.name,
      organization: u.organization,
      roles: u.roles,
      endpoints: endpointsOf(u),
      rules,
      classId: cls,
    };
    subjects.push(now);
    changed.push({ now });
  }
  if (sameUsers !== before.users.length) {
    for (const u of before.users) {
      if (seen.has(u.id)) continue;
      const old = prev.subjectById.get(u.id);
      if (!old || old.kind !== 'user') return undefined;
      const sig = st.selection.signature(old.rules);
      const n = counts.get(sig) ?? 0;
      if (n <= 1) return undefined; // a rule set disappears (maybe a class): full compile
      counts.set(sig, n - 1);
      changed.push({ old });
    }
  }
  for (const s of prev.subjects) if (s.kind === 'server') subjects.push(s);
  if (subjects.length !== directory.users.length + prev.input.topology.servers.length) return undefined;

  // 3. per switch: endpoints that left and arrived; per address: holders before and after
  const perSwitch = new Map<string, SwitchChange>();
  const at = (sw: string) => {
    let c = perSwitch.get(sw);
    if (!c) perSwitch.set(sw, (c = { removed: [], added: [], kept: [] }));
    return c;
  };
  const ipDelta = new Map<string, { gone: number[]; came: number[] }>();
  const ipAt = (ip: string) => {
    let d = ipDelta.get(ip);
    if (!d) ipDelta.set(ip, (d = { gone: [], came: [] }));
    return d;
  };
  const changedIds = new Set<string>();
  const rebuild = new Set<string>();
  const hasHypervisor = prev.input.topology.switches.some((x) => x.kind === 'hypervisor');
  for (const { old, now } of changed) {
    changedIds.add((old ?? now)!.id);
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
          const d = ipAt(e.ip);
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

  // 4. addresses that appear, disappear or change owner class
  const ipChanges = new Map<string, number>(); // ip → new owner class (0: gone)
  const ipBefore = new Map<string, number>();
  for (const [ip, d] of ipDelta) {
    if (d.gone.length === d.came.length && d.gone.every((c, i) => c === d.came[i])) continue;
    const addr = parseIpv4(ip);
    if (addr === undefined || sh.dests.dstOfAddr(addr)) return undefined; // inside a resource: destination classes change
    const ipCount = ipCountOf(memo, tables);
    const n0 = ipCount.get(ip) ?? 0;
    const n1 = n0 - d.gone.length + d.came.length;
    if (n0 > 1 || n1 > 1 || d.gone.length > 1 || d.came.length > 1) return undefined; // one address, several holders
    if (n0 === 1 && d.gone.length === 0) return undefined; // an unchanged holder keeps it and a new one arrives
    ipBefore.set(ip, d.gone[0] ?? 0);
    ipChanges.set(ip, n1 ? d.came[0] : 0);
  }

  // 5. tables: endpoints per switch, addresses, link classification, owner-tagging destinations
  const endpointsBySwitch = new Map(tables.endpointsBySwitch);
  for (const [sw, c] of perSwitch) {
    const list = (tables.endpointsBySwitch.get(sw) ?? []).filter((x) => !changedIds.has(x.s.id));
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
  let subjectIps = tables.subjectIps;
  let linkCache: Map<number, readonly PlannedFlow[]> | undefined;
  let destWithOwner = tables.destWithOwner;
  let dest = prev.dest;
  let ipCount = memo.ipCount;
  if (ipChanges.size) {
    subjectIps = tables.subjectIps.filter((x) => !ipChanges.has(x.ip));
    for (const [ip, cls] of ipChanges) if (cls) (subjectIps as SubjectIp[]).push({ ip, cls });
    const n = new Map(ipCountOf(memo, tables));
    for (const [ip, cls] of ipChanges)
      if (cls) n.set(ip, 1);
      else n.delete(ip);
    ipCount = n;
    // hypervisors' link classification, per port
    linkCache = new Map();
    for (const [port, arr] of tables.linkFlows) {
      const gone = new Set<bigint>();
      const added: PlannedFlow[] = [];
      for (const [ip, cls] of ipChanges) {
        if (ipBefore.get(ip)) gone.add(sh.linkClassifyFlow(port, ip, ipBefore.get(ip)!).cookie);
        if (cls) added.push(sh.linkClassifyFlow(port, ip, cls));
      }
      const next = patchSorted(arr, gone, added, CompiledFlow.byCookie);
      if (!next) return undefined;
      linkCache.set(port, next);
    }
    // destination entries (sorted by length, then address) and their owner-tagging flows
    const d2 = prev.dest.slice();
    const gone = new Set<bigint>();
    const added: PlannedFlow[] = [];
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
      if (sh.ownerFlowsNeeded) {
        if (ipBefore.get(ip)) gone.add(sh.destFlow(entry.prefix, 0, ipBefore.get(ip)!, 'dest:owner').cookie);
        if (cls) added.push(sh.destFlow(entry.prefix, 0, cls, 'dest:owner'));
      }
    }
    dest = d2;
    if (sh.ownerFlowsNeeded) {
      const next = patchSorted(tables.destWithOwner, gone, added, byPrioCookie);
      if (!next) return undefined;
      destWithOwner = next;
    }
  }

  // 6. per switch: table 0 for the changed endpoints; a switch whose set of local classes changes is rebuilt
  const classCount = new Map(memo.classCount);
  const localOf = new Map<string, PlannedFlow[]>();
  for (const [sw, c] of perSwitch) {
    if (rebuild.has(sw) || (!c.removed.length && !c.added.length)) continue;
    const cc = new Map(classCountOf(memo, tables, sw));
    for (const { s } of c.removed) {
      const k = (cc.get(s.classId) ?? 0) - 1;
      if (k > 0) cc.set(s.classId, k);
      else cc.delete(s.classId);
    }
    for (const { s } of c.added) cc.set(s.classId, (cc.get(s.classId) ?? 0) + 1);
    classCount.set(sw, cc);
    const g = tables.segmentsOf(sw);
    const old = classCountOf(memo, tables, sw);
    if (!g || cc.size !== old.size || [...cc.keys()].some((k) => !old.has(k))) {
      rebuild.add(sw);
      continue;
    }
    const gone = new Set<bigint>();
    const added: PlannedFlow[] = [];
    for (const { s, e } of c.removed)
      if (e.ip)
        for (const f of localPair(s, e, tables)) {
          if (gone.has(f.cookie)) {
            rebuild.add(sw);
            break;
          }
          gone.add(f.cookie);
        }
    for (const { s, e } of c.added) if (e.ip) added.push(...localPair(s, e, tables));
    if (rebuild.has(sw)) continue;
    const local = patchSorted(g.local, gone, added, CompiledFlow.byCookie);
    if (!local) {
      rebuild.add(sw);
      continue;
    }
    localOf.set(sw, local);
  }
  for (const sw of rebuild) classCount.delete(sw);

  const segments = new Map<string, Segments>();
  for (const [sw, local] of localOf) segments.set(sw, { ...tables.segmentsOf(sw)!, local });
  const next = tables.with({ endpointsBySwitch, subjectIps, destWithOwner, ...(linkCache ? { linkCache } : {}), segments });

  // 7. switch plans: rebuilt, re-spliced (table 0 and 1 keep their places through the profile), or unchanged
  const switches = prev.plan.switches.map((sp, i) => {
    const sw = st.switchOrder[i];
    if (rebuild.has(sw.name)) return next.buildSwitch(sw);
    const g = tables.segmentsOf(sw.name);
    const localChanged = localOf.has(sw.name);
    const linkChanged = !!linkCache && sw.kind === 'hypervisor';
    const destChanged = destWithOwner !== tables.destWithOwner && !!g?.owner;
    if (!localChanged && !linkChanged && !destChanged) return sp;
    if (!g) return next.buildSwitch(sw);
    return splice(sp, sw, g, tables, next, localOf.get(sw.name) ?? g.local) ?? next.buildSwitch(sw);
  });
  const flows = switches.reduce((n, x) => n + x.flows.length, 0);
  const users = subjects.length - prev.input.topology.servers.length;
  const positions = ipChanges.size ? { link: new Map() } : st.positions;
  const state: IncrementalState = { ...st, setCount: counts, tables: next, positions };
  memos.set(state, {
    bindingByMac: nextBinding,
    userById: directory.users === before.users ? memo.userById : new Map(directory.users.map((u) => [u.id, u])),
    classCount,
    ipCount,
  });
  return withIncremental(
    {
      ...prev,
      input: { ...prev.input, directory, bindings },
      plan: { switches },
      subjects,
      subjectById: new Map(subjects.map((x) => [x.id, x])),
      dest,
      stats: {
        ...prev.stats,
        users,
        flows,
        naive: users * prev.input.policy.resources.length * Math.max(1, prev.input.topology.switches.length),
      },
    },
    state,
  );
}

function linkFlowsOf(t: SwitchTables, sw: SwitchDef, g: Segments): readonly PlannedFlow[] {
  if (sw.kind !== 'hypervisor') return [];
  if (g.links.length === 1) return t.linkClassify(g.links[0]);
  const all = g.links.flatMap((lp) => t.linkClassify(lp));
  if (g.links.length > 1) CompiledFlow.sortByCookie(all);
  return all;
}

/** The switch's flows with tables 0 and 1 assembled anew and the rest (tables 2, 3 as profiled) kept. */
function splice(
  sp: SwitchPlan,
  sw: SwitchDef,
  g: Segments,
  before: SwitchTables,
  after: SwitchTables,
  local: readonly PlannedFlow[],
): SwitchPlan | undefined {
  const sh = before.shares;
  const oldLink = linkFlowsOf(before, sw, g);
  const oldDest = g.owner ? before.destWithOwner : sh.destPlain;
  const disc = g.eapol.length + g.local.length + oldLink.length + g.linkMisc.length;
  const head = disc + 1 + oldDest.length + 1;
  if (sp.flows[disc] !== sh.discovery || sp.flows[head - 1] !== sh.destOther) return undefined; // the profile moved something
  const link = linkFlowsOf(after, sw, g);
  const dests = g.owner ? after.destWithOwner : sh.destPlain;
  const flows: PlannedFlow[] = [...g.eapol, ...local, ...link, ...g.linkMisc, sh.discovery, ...dests, sh.destOther];
  for (let i = head; i < sp.flows.length; i++) flows.push(sp.flows[i]);
  return { ...sp, flows };
}

/** What changed on one switch between two plans: flows to add (or replace) and flows to delete. */
export interface PlanDelta {
  readonly add: readonly PlannedFlow[];
  readonly remove: readonly PlannedFlow[];
}

const sameFlow = (a: PlannedFlow, b: PlannedFlow) =>
  a.tableId === b.tableId &&
  a.priority === b.priority &&
  a.hardTimeout === b.hardTimeout &&
  a.idleTimeout === b.idleTimeout &&
  (a.instructions === b.instructions || instructionsKey(a.instructions) === instructionsKey(b.instructions));

/**
 * The difference between two plans of one switch: by flow identity first (a patch keeps unchanged flows as the
 * same objects), then by cookie and instructions (a rebuilt switch makes equal flows anew). A flow re-made with
 * the same cookie but other instructions is an add (OFPFC_ADD replaces it), never a delete.
 */
export function planDelta(before: readonly PlannedFlow[], after: readonly PlannedFlow[]): PlanDelta {
  const had = new Set(before);
  const has = new Set(after);
  const left = new Map<bigint, PlannedFlow>();
  for (const f of before) if (!has.has(f)) left.set(f.cookie, f);
  const add: PlannedFlow[] = [];
  const kept = new Set<bigint>();
  for (const f of after) {
    if (had.has(f)) continue;
    const o = left.get(f.cookie);
    if (o) kept.add(f.cookie);
    if (!o || !sameFlow(o, f)) add.push(f);
  }
  const remove = [...left.values()].filter((f) => !kept.has(f.cookie));
  return { add, remove };
}
