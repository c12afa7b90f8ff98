/**
 * Foreign flows that can override our decisions. On a switch that is not exclusively ours, flows outside our cookie
 * space are left alone — but one in a table we use, at a priority above our lowest flow there, that does something
 * other than drop (forward, NORMAL, goto, output) can let packets past the policy (e.g. priority=65535
 * actions=NORMAL in table 0). Such flows are reported: an alert, the switch status, and a metric.
 */
import type { FlowStats, Instruction } from '../openflow/index.js';
import { COOKIE_TAG, COOKIE_TAG_MASK, type SwitchPlan } from '../compiler/model.js';
import { flowText } from '../compiler/format.js';

export interface ForeignOverride {
  readonly tableId: number;
  readonly priority: number;
  readonly cookie: string;
  /** The flow as ovs-ofctl would print it (match and actions). */
  readonly text: string;
}

export const isOurs = (f: { cookie: bigint }) => (f.cookie & COOKIE_TAG_MASK) === COOKIE_TAG;

const permissive = (ins: readonly Instruction[]) =>
  ins.some(
    (i) =>
      i.type === 'goto_table' || ((i.type === 'apply_actions' || i.type === 'write_actions') && i.actions.some((a) => a.type === 'output')),
  );

/** Foreign flows (not in our cookie space) that outrank some flow of ours in the same table and let packets on. */
export function findOverrides(all: readonly FlowStats[], plan: SwitchPlan): ForeignOverride[] {
  const lowest = new Map<number, number>();
  for (const f of plan.flows) lowest.set(f.tableId, Math.min(lowest.get(f.tableId) ?? Infinity, f.priority));
  const out: ForeignOverride[] = [];
  for (const f of all) {
    if (isOurs(f)) continue;
    const low = lowest.get(f.tableId);
    if (low === undefined || f.priority <= low || !permissive(f.instructions)) continue;
    out.push({ tableId: f.tableId, priority: f.priority, cookie: `0x${f.cookie.toString(16)}`, text: flowText({ ...f, origin: '' }) });
  }
  return out.sort((a, b) => a.tableId - b.tableId || b.priority - a.priority);
}
