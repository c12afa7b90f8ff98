/**
 * Table budgets: does each switch's plan fit its flow tables? Checked before anything is installed (`acl compile
 * --budget`, every apply), so a switch with small tables refuses a plan with a report instead of answering
 * OFPFMFC_TABLE_FULL half-way through. Pure.
 *
 * A switch's budget per table is the smaller of `tables:` in the topology and the max_entries the switch reported
 * in TABLE_FEATURES at connect (either may be absent). A switch claiming more than MAX_PLAUSIBLE entries is not
 * believed (the claim is ignored; the topology's budget, if any, still applies).
 */
import type { PlannedFlow, SwitchPlan } from './model.js';
import { PIPELINE } from './pipeline.js';

/** Larger max_entries claims are ignored as implausible (no switch table holds 100 million flows). */
export const MAX_PLAUSIBLE = 100_000_000;

export type Budget = Readonly<Record<number, number>>;

export interface CostItem {
  readonly origin: string;
  readonly flows: number;
}

export interface TableUse {
  readonly table: number;
  readonly name: string;
  readonly flows: number;
  /** undefined = no budget known for this table. */
  readonly budget?: number;
  readonly over: boolean;
  /** The rules (flow origins) that cost most in this table, largest first (at most 5). */
  readonly top: readonly CostItem[];
}

export interface SwitchBudgetReport {
  readonly switch: string;
  readonly ok: boolean;
  readonly tables: readonly TableUse[];
}

export interface BudgetReport {
  readonly ok: boolean;
  readonly switches: readonly SwitchBudgetReport[];
}

/** The effective budget: the smaller of the topology's and the switch's (plausible) claim, per table. */
export function effectiveBudget(topology: Budget | undefined, reported: Budget | undefined): Budget | undefined {
  const out: Record<number, number> = {};
  let any = false;
  for (const [k, v] of Object.entries(topology ?? {})) {
    out[Number(k)] = v;
    any = true;
  }
  for (const [k, v] of Object.entries(reported ?? {})) {
    if (!Number.isInteger(v) || v < 0 || v > MAX_PLAUSIBLE) continue;
    const t = Number(k);
    out[t] = out[t] === undefined ? v : Math.min(out[t], v);
    any = true;
  }
  return any ? out : undefined;
}

/** The rule behind a flow for the cost report: the origin without the per-flow detail ('classify:user:alice' → 'classify:user'). */
function costKey(f: PlannedFlow): string {
  const o = f.origin;
  if (o.startsWith('classify:user:') || o.startsWith('classify:server:')) return o.split(':').slice(0, 2).join(':');
  if (o.startsWith('arp:user:') || o.startsWith('arp:server:')) return o.split(':').slice(0, 2).join(':');
  return o;
}

export function checkSwitchBudget(plan: SwitchPlan, budget: Budget | undefined): SwitchBudgetReport {
  const byTable = new Map<number, PlannedFlow[]>();
  for (const f of plan.flows) {
    const l = byTable.get(f.tableId);
    if (l) l.push(f);
    else byTable.set(f.tableId, [f]);
  }
  const ids = new Set<number>([...byTable.keys(), ...Object.keys(budget ?? {}).map(Number)]);
  const tables: TableUse[] = [...ids]
    .sort((a, b) => a - b)
    .map((t) => {
      const flows = byTable.get(t) ?? [];
      const b = budget?.[t];
      const over = b !== undefined && flows.length > b;
      const cost = new Map<string, number>();
      for (const f of flows) {
        const k = costKey(f);
        cost.set(k, (cost.get(k) ?? 0) + 1);
      }
      const top = [...cost]
        .sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1))
        .slice(0, 5)
        .map(([origin, n]) => ({ origin, flows: n }));
      return {
        table: t,
        name: PIPELINE[t]?.name ?? `table ${t}`,
        flows: flows.length,
        ...(b !== undefined ? { budget: b } : {}),
        over,
        top,
      };
    });
  return { switch: plan.name, ok: !tables.some((t) => t.over), tables };
}

export function checkBudgets(plans: readonly SwitchPlan[], budgetOf: (plan: SwitchPlan) => Budget | undefined): BudgetReport {
  const switches = plans.map((p) => checkSwitchBudget(p, budgetOf(p)));
  return { ok: switches.every((s) => s.ok), switches };
}

/** For people: one line per table of every switch, the over-budget ones with what costs most. */
export function formatBudgetReport(r: BudgetReport, opts: { onlyProblems?: boolean } = {}): string {
  const lines: string[] = [];
  for (const s of r.switches) {
    if (opts.onlyProblems && s.ok) continue;
    lines.push(`switch ${s.switch}: ${s.ok ? 'fits' : 'OVER BUDGET — refused, nothing installed'}`);
    for (const t of s.tables) {
      const b = t.budget === undefined ? 'no budget' : `budget ${t.budget}`;
      lines.push(`  table ${t.table} (${t.name}): ${t.flows} flows, ${b}${t.over ? `, ${t.flows - t.budget!} over` : ''}`);
      if (t.over) for (const c of t.top) lines.push(`    ${String(c.flows).padStart(7)}  ${c.origin}`);
    }
  }
  return lines.join('\n');
}

/** One-line summary of a refusal (events, errors). */
export function budgetRefusal(s: SwitchBudgetReport): string {
  const over = s.tables
    .filter((t) => t.over)
    .map(
      (t) =>
        `table ${t.table} (${t.name}) needs ${t.flows} flows, budget ${t.budget}; most from ${t.top
          .slice(0, 3)
          .map((c) => `${c.origin} (${c.flows})`)
          .join(', ')}`,
    );
  return `plan for ${s.switch} does not fit its tables: ${over.join('; ')}`;
}
