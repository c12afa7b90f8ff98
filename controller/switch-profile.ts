/**
 * What the controller learns about a switch at connect and does with it: its profile (DESC → ovs / openflow13,
 * unless the topology pins one) and its table budget (TABLE_FEATURES max_entries, with the topology's `tables:`),
 * checked before every install. The controller calls these from small hooks; the logic lives here.
 */
import type { SwitchDef, SwitchPlan, Topology } from '../compiler/model.js';
import { PROFILES, profileFromDesc, type ProfileName } from '../compiler/profile.js';
import { budgetRefusal, checkSwitchBudget, effectiveBudget, type SwitchBudgetReport } from '../compiler/budget.js';
import type { ReconcileResult } from './reconcile.js';
import type { SwitchSession } from './session.js';

/** The profile a connected switch should get when the topology does not name one; undefined = nothing to change. */
export function detectedProfile(topology: Topology, plan: SwitchPlan | undefined, s: SwitchSession): ProfileName | undefined {
  if (!plan || !s.desc) return undefined;
  const sw = topology.switches.find((x) => x.name === plan.name);
  if (!sw || sw.profile) return undefined;
  const p = profileFromDesc(s.desc);
  return p === (plan.profile ?? 'ovs') ? undefined : p;
}

/** The plan checked against the switch's budget (topology and what it reported); undefined when it fits. */
export function budgetGate(topology: Topology, plan: SwitchPlan, s: SwitchSession | undefined): SwitchBudgetReport | undefined {
  const sw: SwitchDef | undefined = topology.switches.find((x) => x.name === plan.name);
  const budget = effectiveBudget(sw?.tables, s?.tableMax);
  if (!budget) return undefined;
  const r = checkSwitchBudget(plan, budget);
  return r.ok ? undefined : r;
}

/** A reconcile result for a plan refused before anything was sent. */
export function refusedResult(plan: SwitchPlan, r: SwitchBudgetReport): ReconcileResult {
  return {
    switch: plan.name,
    added: 0,
    changed: 0,
    removed: 0,
    unchanged: 0,
    installed: 0,
    desired: plan.flows.length,
    atomic: false,
    errors: [budgetRefusal(r)],
    ms: 0,
  };
}

/** Profile and honest limits for `acl status` and the console. */
export function profileStatus(plan: SwitchPlan): { profile: ProfileName; limits: readonly string[] } {
  const p = PROFILES[plan.profile ?? 'ovs-stateless'];
  return { profile: p.name, limits: p.limits };
}
