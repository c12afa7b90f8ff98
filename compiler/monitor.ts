/**
 * Monitor mode (`mode: monitor` on a deny rule): what the rule would deny passes as before and a metered copy goes
 * to the controller, logged as "would deny". Pure; see docs/pipeline.md ("Monitor mode: tables 3 and 4"):
 * - table 2: the services a monitored deny would cut of what a pair may do get a flow (priority 260) that sets
 *   metadata bit 63 and goes to table 3 like an allow;
 * - table 3: each flow that outputs has a copy 1000 priorities higher matching the bit that, after the same
 *   actions, goes to table 4;
 * - table 4: meter 2 + CONTROLLER. The packet is already forwarded when the meter may drop it (an OpenFlow 1.3
 *   meter drops the whole packet), so a flood of monitored traffic is capped but never cut.
 */
import type { Instruction, OxmEntry } from '../openflow/types.js';
import type { Service } from './addr.js';
import type { PlannedFlow, SwitchPlan } from './model.js';
import type { Rule } from './inputs.js';
import type { Destinations, PairAccess } from './destinations.js';
import { CompiledFlow } from './cookie.js';
import { DENY_SAMPLE } from './deny-sample.js';
import { METADATA, PRIORITY, TABLE, TABLES } from './pipeline.js';

/** The part of two services both cover (undefined: none). */
export function serviceIntersection(a: Service, b: Service): Service | undefined {
  if (a.proto === 'any') return b;
  if (b.proto === 'any') return a;
  if (a.proto !== b.proto) return undefined;
  if (a.proto === 'icmp') return a;
  if (a.proto === 'icmpv6') {
    if (a.icmpType === undefined) return b;
    return b.icmpType === undefined || b.icmpType === a.icmpType ? a : undefined;
  }
  const from = Math.max(a.from ?? 0, b.from ?? 0),
    to = Math.min(a.to ?? 65535, b.to ?? 65535);
  if (from > to) return undefined;
  return { proto: a.proto, from, to, text: from === to ? `${a.proto}/${from}` : `${a.proto}/${from}-${to}` };
}

/**
 * What monitored deny rules of a pair would cut of what it may do: each monitored service intersected with each
 * allowed one (what is not allowed is dropped by the default deny anyway; an enforced deny still wins by priority).
 */
export function monitoredServices(a: PairAccess): Service[] {
  const out = new Map<string, Service>();
  for (const m of a.monitor)
    for (const s of a.allow) {
      const x = serviceIntersection(m, s);
      if (x) out.set(`${x.proto}|${x.from}|${x.to}|${x.icmpType}`, x);
    }
  return [...out.values()];
}

/** Table 2's action for a monitored service: mark the packet, then forward it as an allow would. */
export const MONITOR_MARK: Instruction[] = [
  { type: 'write_metadata', metadata: METADATA.monitor, mask: METADATA.monitor },
  { type: 'goto_table', tableId: TABLE.forward },
];
const GOTO_MONITOR: Instruction = { type: 'goto_table', tableId: TABLE.monitor };

/** Table 4's only flow: a monitored packet (already forwarded by table 3) copied to the controller under the deny-sample meter. */
const MONITOR_SAMPLE = TABLES.monitor.flow(0, [], DENY_SAMPLE as Instruction[], 'monitor:sample');
const MONITORED: OxmEntry = { field: 'metadata', value: METADATA.monitor, mask: METADATA.monitor };
const monitorCopies = new WeakMap<PlannedFlow, PlannedFlow | null>();

/** Table 3's copy of a forward flow for monitored packets: the same actions, then table 4 (null: the flow forwards nothing). */
function monitorCopy(f: PlannedFlow): PlannedFlow | null {
  let c = monitorCopies.get(f);
  if (c !== undefined) return c;
  const outputs = f.instructions.some((i) => i.type === 'apply_actions' && i.actions.some((a) => a.type === 'output'));
  // ct(table=N) forks the packet (the tracked copy comes back to table N): only a flow that outputs gets a copy
  const recirculates = f.instructions.some(
    (i) => i.type === 'apply_actions' && i.actions.some((a) => a.type === 'ct' && a.table !== undefined),
  );
  c =
    outputs && !recirculates
      ? TABLES.forward.flow(
          f.priority + PRIORITY.monitorForward,
          [...f.match, MONITORED],
          [...(f.instructions as Instruction[]), GOTO_MONITOR],
          'monitor:forward',
        )
      : null;
  monitorCopies.set(f, c);
  return c;
}

/**
 * A plan with the monitor path: table 3 copies of its forwarding flows for monitored packets, and table 4. With
 * `newOnly` (a monitored policy version marks all allowed traffic) a conntrack switch copies only the flow that
 * commits new connections: one sample per connection, so a bulk transfer cannot use up meter 2's rate that the
 * deny log shares (a switch without conntrack samples every allowed packet, under the same meter).
 */
export function withMonitorTables(plan: SwitchPlan, newOnly = false): SwitchPlan {
  const all = plan.flows.filter((f) => f.tableId === TABLE.forward);
  const commit = newOnly ? all.filter((f) => f.origin === 'conntrack:commit') : [];
  const fwd = commit.length ? commit : all;
  const copies = fwd.map(monitorCopy).filter((f): f is PlannedFlow => f !== null);
  CompiledFlow.sortByPrioCookie(copies);
  const at = plan.flows.findIndex((f) => f.tableId >= TABLE.forward);
  const flows = [...plan.flows.slice(0, at), ...copies, ...plan.flows.slice(at), MONITOR_SAMPLE];
  return { ...plan, flows };
}

/**
 * The first deny rule (enforced, or with `monitored` the monitored ones) among a subject's rules that names one of
 * the resources an address lies in and whose services `hits` the service asked about.
 */
export function firstDeny(
  rules: readonly Rule[],
  inRes: ReadonlySet<string>,
  hits: (s: Service) => boolean,
  monitored: boolean,
): { rule: Rule; resource: string } | undefined {
  for (const r of rules) {
    if (r.action !== 'deny' || (r.mode === 'monitor') !== monitored) continue;
    const resource = r.to.find((t) => inRes.has(t));
    if (resource && (r.services ?? [{ proto: 'any', text: 'any' }]).some(hits)) return { rule: r, resource };
  }
  return undefined;
}

const monitoringMemo = new WeakMap<Destinations, boolean>();
/** Some pair has a monitored deny (mode: monitor): the switches get the monitor path (table 3 copies, table 4). */
export function monitoring(dests: Destinations): boolean {
  let m = monitoringMemo.get(dests);
  if (m === undefined)
    monitoringMemo.set(dests, (m = [...dests.access.values()].some((per) => [...per.values()].some((a) => a.monitor.length > 0))));
  return m;
}

/** verify: the first switch of a packet's path samples it as "would deny" exactly when the policy monitors it (else a message). */
export function monitorMismatch(
  what: string,
  wouldDeny: { readonly rule: string } | undefined,
  sampled: boolean,
  sampleAllowed = false,
): string | undefined {
  // a monitored policy version samples every allowed packet (CompileInput.sampleAllowed)
  if (sampled === (!!wouldDeny || sampleAllowed)) return undefined;
  const says = wouldDeny
    ? `would deny (monitor, rule ${wouldDeny.rule})`
    : sampleAllowed
      ? 'sample it (a policy version is monitored)'
      : 'not monitored';
  return `${what}: policy says ${says}, flows ${sampled ? 'sample it as would deny' : 'do not sample it'}`;
}
