/**
 * Time windows at run time: the controller recompiles the policy at every instant a rule turns on or off (an apply
 * like any other: a new version, "by schedule" in the audit log) and re-syncs the switches. Also every `refreshMs`
 * while time-bound rules exist, so the hard_timeouts of long grants (capped at 65,535 s) are re-armed in time.
 * The clock is injectable: tests set the time instead of sleeping until 18:30.
 */
import { nextBoundary, fullPolicy } from '../compiler/schedule.js';
import type { Controller } from './controller.js';

export interface Clock {
  now(): number;
  /** Calls fn once at (or after) the instant `at`; returns a cancel function. */
  at(at: number, fn: () => void): () => void;
}

/** setTimeout's longest delay is 2^31-1 ms; longer waits are chained. */
const MAX_DELAY = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  at(at, fn) {
    let t: NodeJS.Timeout | undefined;
    const arm = () => {
      const d = at - Date.now();
      if (d <= 0) {
        t = undefined;
        fn();
        return;
      }
      t = setTimeout(arm, Math.min(d, MAX_DELAY));
      t.unref();
    };
    arm();
    return () => {
      if (t) clearTimeout(t);
    };
  },
};

/** A clock for tests: time moves only when `set` or `advance` is called; timers due by then fire in order. */
export class ManualClock implements Clock {
  private timers: Array<{ at: number; fn: () => void; id: number }> = [];
  private seq = 0;
  constructor(private t: number) {}
  now(): number {
    return this.t;
  }
  at(at: number, fn: () => void): () => void {
    const id = ++this.seq;
    this.timers.push({ at, fn, id });
    return () => {
      this.timers = this.timers.filter((x) => x.id !== id);
    };
  }
  /** Moves to `t` and fires every timer due by then (earliest first, each seeing the clock at its own instant). */
  set(t: number): void {
    for (;;) {
      const due = this.timers.filter((x) => x.at <= t).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers = this.timers.filter((x) => x !== due);
      this.t = Math.max(this.t, due.at);
      due.fn();
    }
    this.t = t;
  }
  advance(ms: number): void {
    this.set(this.t + ms);
  }
  /** Pending timer instants (for tests). */
  pending(): number[] {
    return this.timers.map((x) => x.at).sort((a, b) => a - b);
  }
}

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
    private readonly ctl: Controller,
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
    const b = nextBoundary(rules, now);
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
