/**
 * Bringing each switch to its plan: one reconcile queue per switch (concurrent requests coalesce into one follow-up
 * run with the newest plan), the meters a switch needs before its flows, the budget gate, foreign-flow checks on
 * shared switches, and the last result per switch that the status reply shows.
 */
import type { FlowStats } from '../openflow/index.js';
import type { FlowPlan, PlannedFlow, SwitchPlan } from '../compiler/model.js';
import type { PlanDelta } from '../compiler/edge-patch.js';
import { EAPOL_METER_ID } from '../compiler/auth.js';
import type { SwitchSession } from './session.js';
import { installMeter, installOneMeter, readFlows, reconcile, type ReconcileResult } from './reconcile.js';
import { budgetGate, profileStatus, refusedResult } from './switch-profile.js';
import { findOverrides, isOurs, type ForeignOverride } from './foreign-flows.js';
import { assumedInstalled } from './flow-expiry.js';
import type { Compiled } from '../compiler/compile.js';
import type { Clock } from './clock.js';
import type { ControllerLog, ControllerOptions, EventSink, SwitchStatus } from './controller-types.js';

/** What syncing switches needs from the controller (controller.ts implements it). */
export interface ControllerForSync extends EventSink {
  readonly opts: Pick<ControllerOptions, 'cluster' | 'useBundles' | 'discoveryPps' | 'denySamplePps' | 'eapolPps'>;
  readonly compiled: Compiled;
  readonly clock: Pick<Clock, 'now'>;
  readonly sessions: ReadonlyMap<string, SwitchSession>;
  readonly log: ControllerLog;
  planFor(dpid: bigint): SwitchPlan | undefined;
  isExclusive(name: string): boolean;
}

/** How a sync is asked for: `quiet` (periodic audit), `assume` what the switch holds and the known `delta` from it. */
export interface SyncHow {
  readonly quiet?: boolean;
  readonly assume?: readonly PlannedFlow[];
  readonly delta?: PlanDelta;
}

interface Queue {
  running: boolean;
  again: boolean;
  loud: boolean;
  assume?: readonly PlannedFlow[];
  delta?: PlanDelta;
  waiters: Array<(r: ReconcileResult | undefined) => void>;
}

const hexDpid = (d: bigint) => `0x${d.toString(16).padStart(16, '0')}`;

export class SwitchSync {
  private readonly queues = new Map<string, Queue>();
  private readonly results = new Map<string, ReconcileResult & { at: string }>();
  /** Sessions whose discovery, deny-sample and EAPOL meters are installed. */
  private readonly metered = new WeakSet<SwitchSession>();
  /** Switches whose plan was last refused for their table budget (an alert when one goes over, not every audit). */
  private readonly overBudget = new Set<string>();
  /** Foreign flows that can override the policy, per connected switch (from its last sync). */
  readonly foreignOverrides = new Map<string, readonly ForeignOverride[]>();

  constructor(private readonly ctl: ControllerForSync) {}

  /** Reconciles one switch; concurrent calls coalesce into one follow-up run with the newest plan. */
  sync(dpid: string, how: SyncHow = {}): Promise<ReconcileResult | undefined> {
    let q = this.queues.get(dpid);
    if (!q) this.queues.set(dpid, (q = { running: false, again: false, loud: false, waiters: [] }));
    const queue = q;
    return new Promise((resolve) => {
      // `assume`: what the switch holds (the plan it was last brought to); only for a lone request on an idle
      // queue of a switch synced before: then only the difference is sent, without reading the table (edge changes)
      queue.assume = how.assume && !queue.running && !queue.waiters.length && this.results.has(dpid) ? how.assume : undefined;
      queue.delta = queue.assume ? how.delta : undefined; // the edge path's known difference from `assume`
      queue.waiters.push(resolve);
      if (!how.quiet) queue.loud = true;
      if (queue.running) {
        queue.again = true;
        return;
      }
      void this.run(dpid, queue);
    });
  }

  private async run(dpid: string, queue: Queue): Promise<void> {
    queue.running = true;
    queue.again = false;
    const waiters = queue.waiters.splice(0);
    const loud = queue.loud;
    queue.loud = false;
    const s = this.ctl.sessions.get(dpid);
    // A switch not in the topology is held fail-closed: its plan is empty, so any of our flows left on it go.
    const plan =
      s?.dpid !== undefined ? (this.ctl.planFor(s.dpid) ?? { name: dpid, dpid: s.dpid, kind: 'edge' as const, flows: [] }) : undefined;
    let result: ReconcileResult | undefined;
    if (s && plan && s.state === 'ready' && (this.ctl.opts.cluster?.mayWrite(dpid) ?? true)) {
      try {
        result = await this.reconcileOne(dpid, s, plan, queue, loud);
      } catch (e) {
        this.ctl.log('error', `reconcile of ${plan.name} failed: ${(e as Error).message}`);
        this.ctl.event('switch-error', { switch: plan.name, error: (e as Error).message });
      }
    }
    for (const w of waiters) w(result);
    queue.running = false;
    if (queue.again) void this.run(dpid, queue);
  }

  private async reconcileOne(dpid: string, s: SwitchSession, plan: SwitchPlan, queue: Queue, loud: boolean): Promise<ReconcileResult> {
    const { ctl } = this;
    if (!this.metered.has(s)) {
      const err = await installMeter(s, ctl.opts.discoveryPps ?? 100, ctl.opts.denySamplePps ?? 50);
      if (err) ctl.event('switch-error', { switch: plan.name, error: `discovery meter: ${err}` });
      const err2 = await installOneMeter(s, EAPOL_METER_ID, ctl.opts.eapolPps ?? 1000);
      if (err2) ctl.event('switch-error', { switch: plan.name, error: `EAPOL meter: ${err2}` });
      this.metered.add(s);
    }
    const over = budgetGate(ctl.compiled.input.topology, plan, s);
    if (over) {
      const refused = refusedResult(plan, over);
      this.results.set(dpid, { ...refused, at: new Date().toISOString() });
      if (!this.overBudget.has(dpid)) {
        this.overBudget.add(dpid);
        ctl.log('error', refused.errors[0]);
        ctl.event('budget-refused', { switch: plan.name, dpid, report: over });
      }
      return refused;
    }
    this.overBudget.delete(dpid);
    const assume = queue.assume,
      delta = queue.delta;
    queue.assume = undefined;
    queue.delta = undefined;
    // On a shared switch, one read of all flows: ours are reconciled, foreign ones checked for overrides.
    const exclusive = ctl.isExclusive(plan.name);
    let result: ReconcileResult;
    const now = () => ctl.clock.now();
    // the assumed flows leave the switch when the plan they came from said (none: never), so a moved end is a change
    if (assume)
      result = await reconcile(s, plan, {
        installed: delta ? assume : assume.map(assumedInstalled),
        verify: false,
        useBundle: false,
        exclusive,
        delta,
        now,
      });
    else {
      let installed: FlowStats[] | undefined;
      const readAt = now();
      if (!exclusive && plan.flows.length) {
        const all = await readFlows(s, true);
        this.noteForeign(dpid, plan.name, findOverrides(all, plan));
        installed = all.filter(isOurs);
      }
      result = await reconcile(s, plan, { useBundle: ctl.opts.useBundles, exclusive, installed, now, readAt });
    }
    this.results.set(dpid, { ...result, at: new Date().toISOString() });
    const changed = result.added || result.removed || result.changed || result.errors.length;
    if (changed) {
      ctl.log(
        result.errors.length ? 'warn' : 'info',
        `switch ${plan.name}: +${result.added} ~${result.changed} -${result.removed} (${result.unchanged} unchanged) in ${result.ms.toFixed(0)} ms${result.atomic ? ' (bundle)' : ''}`,
        { errors: result.errors },
      );
    }
    // Periodic read-backs that find nothing to do stay quiet (no event every few seconds per switch).
    if (loud || changed) {
      ctl.event('switch-synced', {
        switch: plan.name,
        dpid,
        added: result.added,
        removed: result.removed,
        changed: result.changed,
        atomic: result.atomic,
        errors: result.errors,
      });
    }
    return result;
  }

  private noteForeign(dpid: string, name: string, found: readonly ForeignOverride[]): void {
    const before = this.foreignOverrides.get(dpid) ?? [];
    const key = (l: readonly ForeignOverride[]) => l.map((f) => f.text).join('\n');
    if (found.length) this.foreignOverrides.set(dpid, found);
    else this.foreignOverrides.delete(dpid);
    if (key(before) === key(found)) return;
    if (found.length) {
      this.ctl.log('warn', `switch ${name}: ${found.length} foreign flow(s) can override the policy, e.g. ${found[0].text}`);
      this.ctl.event('foreign-override', { switch: name, dpid, count: found.length, flows: found.slice(0, 10) });
    } else this.ctl.event('foreign-flows-cleared', { switch: name, dpid });
  }

  async syncAll(): Promise<ReconcileResult[]> {
    const r = await Promise.all([...this.ctl.sessions.keys()].map((d) => this.sync(d)));
    return r.filter((x): x is ReconcileResult => !!x);
  }

  /**
   * Brings every switch from `before` (the plan it was last synced to) to the current plan by sending only the
   * difference, without reading its table first (as edge changes do); a switch never synced, or busy, gets a full
   * reconcile. The periodic audit still reads every table back.
   */
  async syncFrom(before: FlowPlan): Promise<void> {
    const prev = new Map(before.switches.map((x) => [x.dpid, x]));
    const now = new Map(this.ctl.compiled.plan.switches.map((x) => [x.dpid, x]));
    await Promise.all(
      [...this.ctl.sessions.entries()].flatMap(([id, sess]) => {
        const a = sess.dpid === undefined ? undefined : prev.get(sess.dpid),
          b = sess.dpid === undefined ? undefined : now.get(sess.dpid);
        if (a && b && a.flows === b.flows && this.results.get(id)?.errors.length === 0) return [];
        return [this.sync(id, { assume: a?.flows })];
      }),
    );
  }

  /** Per-dpid state held: reconcile queues and last results (a switch that left the topology's view leaves none). */
  get tracked(): { readonly queues: number; readonly results: number } {
    return { queues: this.queues.size, results: this.results.size };
  }

  /** A switch disconnected: its foreign flows are no longer known; a switch not in the topology leaves no state behind. */
  disconnected(dpid: string, known: boolean): void {
    this.foreignOverrides.delete(dpid);
    // per-dpid state of a switch not in the topology is not kept once it is gone (no growth per dpid ever seen)
    if (!known) {
      this.results.delete(dpid);
      if (!this.queues.get(dpid)?.running) this.queues.delete(dpid);
    }
  }

  /** Every switch of the plan, connected or not, and every connected switch the topology does not know. */
  status(): SwitchStatus[] {
    const out: SwitchStatus[] = [];
    for (const p of this.ctl.compiled.plan.switches) {
      const id = hexDpid(p.dpid);
      const s = this.ctl.sessions.get(id);
      const r = this.results.get(id);
      const fo = s ? (this.foreignOverrides.get(id) ?? []) : [];
      const foErr = fo.length
        ? [
            `${fo.length} foreign flow(s) can override the policy: ${fo
              .slice(0, 3)
              .map((f) => f.text)
              .join('; ')}`,
          ]
        : [];
      out.push({
        ...profileStatus(p),
        name: p.name,
        dpid: id,
        connected: !!s,
        known: true,
        remote: s?.remote,
        flowsDesired: p.flows.length,
        flowsInstalled: s ? r?.installed : undefined,
        lastSync: r?.at,
        lastResult: r,
        errors: [...(r?.errors ?? []), ...foErr],
        ports: s?.ports.size ?? 0,
        foreignOverrides: fo,
      });
    }
    for (const [id, s] of this.ctl.sessions)
      if (!this.ctl.planFor(s.dpid!))
        out.push({
          dpid: id,
          connected: true,
          known: false,
          remote: s.remote,
          flowsDesired: 0,
          errors: ['unknown switch: held, nothing installed'],
          ports: s.ports.size,
        });
    return out;
  }
}
