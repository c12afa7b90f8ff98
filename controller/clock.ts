/**
 * The controller's clock: the system clock, or one a test moves by hand (ManualClock) so time windows and pending
 * approvals are tested without sleeping.
 */
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
