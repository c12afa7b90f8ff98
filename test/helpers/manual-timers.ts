/**
 * Timers for tests (directory/sync.ts `SyncTimers`): time moves only when `advance` is called. Every timer due by
 * then fires in order of its due time (ties in the order they were set), each seeing the clock at its own instant,
 * and the promises it starts settle before the next one fires. No wall-clock time is involved, so a test asserts
 * exact instants however loaded the machine is.
 */
import type { SyncTimers } from '../../directory/sync.js';

export class ManualTimers implements SyncTimers {
  private t = 0;
  private seq = 0;
  private timers: Array<{ at: number; seq: number; fn: () => void }> = [];

  now(): number {
    return this.t;
  }

  after(ms: number, fn: () => void): () => void {
    const timer = { at: this.t + Math.max(0, ms), seq: ++this.seq, fn };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((x) => x !== timer);
    };
  }

  /** A promise that resolves `ms` from now on this clock (for fake sources that take time). */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.after(ms, resolve));
  }

  /** Timers still waiting (a stopped sync leaves none behind). */
  get pending(): number {
    return this.timers.length;
  }

  /** Moves the clock `ms` forward, firing every timer due by then and letting what each one started settle. */
  async advance(ms: number): Promise<void> {
    const target = this.t + ms;
    await settle();
    for (;;) {
      const due = this.timers.filter((x) => x.at <= target).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.timers = this.timers.filter((x) => x !== due);
      this.t = due.at;
      due.fn();
      await settle();
    }
    this.t = target;
    await settle();
  }
}

/** Lets every pending promise callback run (they are all microtasks: the fake sources do no real I/O). */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((r) => setImmediate(r));
}
