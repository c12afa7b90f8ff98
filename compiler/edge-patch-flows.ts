/**
 * Flow-level pieces of the incremental edge path (edge-patch.ts): sorted flow lists patched by binary search
 * (never walked whole), the table-0 pair of one bound endpoint, a switch's tables 0 and 1 re-assembled around
 * the profiled rest, and the difference between two plans of one switch. Pure.
 */
import type { PlannedFlow, SwitchDef, SwitchPlan } from './model.js';
import type { Endpoint, Subject } from './stage-values.js';
import { CompiledFlow } from './cookie.js';
import { PRIORITY, TABLES } from './pipeline.js';
import type { Segments, SwitchTables } from './tables.js';
import type { OxmEntry } from '../openflow/types.js';
import { instructionsKey } from '../openflow/identity.js';

export type FlowOrder = (x: PlannedFlow, y: PlannedFlow) => number;

/** Where `f` goes in a list sorted by `cmp` (binary search); -1 - index when an equal element is there. */
function insertAt(list: readonly PlannedFlow[], f: PlannedFlow, cmp: FlowOrder): number {
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
export const byPrioCookie: FlowOrder = (x, y) => y.priority - x.priority || CompiledFlow.byCookie(x, y);

/** A sorted flow list patched: the flows equal (by `cmp`) to `gone` out, `added` in; what actually left rides along. */
export interface Patched {
  readonly list: PlannedFlow[];
  /** The flows of the list that `gone` named (the installed objects, for the delete). */
  readonly removed: PlannedFlow[];
}

/**
 * Removes the flows `gone` names (each must be there exactly once) and inserts `added` (none may be there
 * already), by binary search: O(changes × log n) compares plus the array moves. Undefined on a mismatch.
 */
export function patchSorted(
  list: readonly PlannedFlow[],
  gone: readonly PlannedFlow[],
  added: readonly PlannedFlow[],
  cmp: FlowOrder,
): Patched | undefined {
  const out = list.slice();
  const removed: PlannedFlow[] = [];
  for (const g of gone) {
    const at = insertAt(out, g, cmp);
    const i = -1 - at;
    if (at >= 0 || out[i].cookie !== g.cookie) return undefined; // not there (or named twice)
    removed.push(out[i]);
    out.splice(i, 1);
    if (out[i - 1]?.cookie === g.cookie || out[i]?.cookie === g.cookie) return undefined; // there more than once
  }
  for (const f of added) {
    const at = insertAt(out, f, cmp);
    if (at < 0) return undefined;
    out.splice(at, 0, f);
  }
  return { list: out, removed };
}

/** Table 0 for one bound endpoint with an IPv4 address: classification by port, MAC and address, and its ARP. */
export function localPair(s: Subject, e: Endpoint, tables: SwitchTables): [PlannedFlow, PlannedFlow] {
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

export function linkFlowsOf(t: SwitchTables, sw: SwitchDef, g: Segments): readonly PlannedFlow[] {
  if (sw.kind !== 'hypervisor') return [];
  if (g.links.length === 1) return t.linkClassify(g.links[0]);
  const all = g.links.flatMap((lp) => t.linkClassify(lp));
  if (g.links.length > 1) CompiledFlow.sortByCookie(all);
  return all;
}

/** The switch's flows with tables 0 and 1 assembled anew and the rest (tables 2, 3 as profiled) kept. */
export function splice(
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
  a.expiresAt === b.expiresAt &&
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
  return netDelta(
    left,
    after.filter((f) => !had.has(f)),
  );
}

/** Flows that left (by cookie) and flows that came, as planDelta counts them: a cookie in both is an add or nothing. */
export function netDelta(left: ReadonlyMap<bigint, PlannedFlow>, came: readonly PlannedFlow[]): PlanDelta {
  const add: PlannedFlow[] = [];
  const kept = new Set<bigint>();
  for (const f of came) {
    const o = left.get(f.cookie);
    if (o) kept.add(f.cookie);
    if (!o || !sameFlow(o, f)) add.push(f);
  }
  const remove = kept.size ? [...left.values()].filter((f) => !kept.has(f.cookie)) : [...left.values()];
  return { add, remove };
}
