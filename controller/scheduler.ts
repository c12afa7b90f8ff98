/**
 * Time windows at run time: the controller recompiles the policy at every instant a rule turns on or off (an apply
 * like any other: a new version, "by schedule" in the audit log) and re-syncs the switches. Also every `refreshMs`
 * while time-bound rules exist, so the hard_timeouts of long grants (capped at 65,535 s) are re-armed in time.
 * The clock is injectable: tests set the time instead of sleeping until 18:30.
 */
import { nextBoundary, fullPolicy } from '../compiler/schedule.js';
import { recompile, CompileError, type Compiled } from '../compiler/compile.js';
import { diffAccess, diffPlans, type AccessChange } from '../compiler/query.js';
import type { EventFeed } from './controller-types.js';
import type { Clock } from './clock.js';

/** What the scheduler needs from the controller (controller.ts implements it). */
export interface ControllerForScheduler extends EventFeed {
  readonly compiled: Compiled;
  applyAt(at: number, by?: string): Promise<void>;
}

/** The clock tests move by hand (clock.ts; also importable from here). */
export { ManualClock } from './clock.js';

export const DEFAULT_REFRESH_MS = 6 * 3600_000;

export class Scheduler {
  private cancel?: () => void;
  private stopped = false;
  /** The instant the controller will recompile next (undefined when no rule has a time condition). */
  next?: number;
  private readonly onEvent = (e: { type: string }) => {
    if (e.type === 'policy-applied' || e.type === 'directory-synced') this.arm();
  };

  constructor(
    private readonly ctl: ControllerForScheduler,
    private readonly clock: Clock,
    private readonly refreshMs = DEFAULT_REFRESH_MS,
  ) {}

  start(): void {
    this.ctl.on('event', this.onEvent);
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    this.cancel?.();
    this.ctl.off('event', this.onEvent);
  }

  /** (Re)computes the next boundary from the policy as written and sets one timer for it. */
  arm(): void {
    this.cancel?.();
    this.cancel = undefined;
    this.next = undefined;
    if (this.stopped || !this.ctl.compiled) return;
    const rules = fullPolicy(this.ctl.compiled.input.policy).rules;
    if (!rules.some((r) => r.time)) return;
    const now = this.clock.now();
    // from the instant the running plan was compiled for: a boundary missed meanwhile (a suspended process, a
    // cluster node whose plan is behind its clock) is applied at once
    let b = nextBoundary(rules, Math.min(now, this.ctl.compiled.input.at ?? now));
    // several missed: only the newest counts (one apply, not one per missed boundary)
    for (let i = 0; b !== undefined && b < now && i < 10_000; i++) {
      const n = nextBoundary(rules, b);
      if (n === undefined || n > now) break;
      b = n;
    }
    const at = Math.min(b ?? Infinity, now + this.refreshMs);
    this.next = at;
    this.cancel = this.clock.at(at, () => {
      void this.fire(at, b !== undefined && at === b);
    });
  }

  private async fire(_at: number, boundary: boolean): Promise<void> {
    if (this.stopped) return;
    await this.ctl.applyAt(this.clock.now(), boundary ? 'schedule' : 'schedule-refresh');
    this.arm(); // also when nothing changed (no policy-applied event)
  }
}

/** What a time boundary changes: the plan compiled for `at`, who gains or loses, flows per switch. */
export type TimeChange =
  | { readonly error: string }
  | {
      readonly next: Compiled;
      readonly access: AccessChange[];
      readonly flows: Array<{ switch: string; added: number; removed: number; unchanged: number }>;
      /** Access or flows change (a new version); else at most the instants flows end moved. */
      readonly changed: boolean;
      readonly summary: string;
    };

/** Compiles `base` again for the instant `at` (pure apart from the compile; applied by Controller.applyAt). */
export function timeChange(base: Compiled, at: number): TimeChange {
  let next: Compiled;
  try {
    next = recompile(base, { at });
  } catch (e) {
    if (!(e instanceof CompileError)) throw e;
    return { error: e.message };
  }
  const access = diffAccess(base, next);
  const flows = diffPlans(base.plan, next.plan).map((d) => ({
    switch: d.switch,
    added: d.added.length,
    removed: d.removed.length,
    unchanged: d.unchanged,
  }));
  const count = (c: string) => access.filter((a) => a.change === c).length;
  const summary = `${count('gain')} gained, ${count('lose')} lost at ${new Date(at).toISOString()}; flows ${flows.map((f) => `${f.switch} +${f.added}/-${f.removed}`).join(' ')}`;
  return { next, access, flows, changed: access.length > 0 || flows.some((f) => f.added || f.removed), summary };
}
