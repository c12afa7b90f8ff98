/**
 * New edge work (EAPOL from the switches, MAB candidates) waits here and is done a bounded slice per event-loop
 * turn, in arrival order. What completes a login already under way — a RADIUS answer, the flow patch and the
 * barrier reply that confirms it — is handled as it arrives, between slices, instead of behind a whole burst of
 * new EAPOL starts that arrived in the same read. Nothing is dropped: past `maxQueued`, the oldest item is done
 * at once to make room (the per-port rate limits before this queue bound what floods can put in it).
 */

export interface TurnQueueOptions {
  /** Items done per turn at most. Default 64. */
  readonly perTurn?: number;
  /** Time spent per turn at most (ms; the item that crosses it finishes). Default 4. */
  readonly budgetMs?: number;
  /** Items held at most; beyond it the oldest runs now. Default 20,000. */
  readonly maxQueued?: number;
  /** Clock (ms), for tests. Default performance.now. */
  readonly now?: () => number;
}

export class TurnQueue {
  private items: Array<() => void> = [];
  private head = 0;
  private scheduled?: NodeJS.Immediate;
  private readonly perTurn: number;
  private readonly budgetMs: number;
  private readonly maxQueued: number;
  private readonly now: () => number;
  /** Items done at once because the queue was full; the longest the queue has been; items that threw. */
  readonly stats = { overflowRuns: 0, maxLength: 0, errors: 0 };

  constructor(opts: TurnQueueOptions = {}) {
    this.perTurn = opts.perTurn ?? 64;
    this.budgetMs = opts.budgetMs ?? 4;
    this.maxQueued = opts.maxQueued ?? 20_000;
    this.now = opts.now ?? (() => performance.now());
  }

  get length(): number {
    return this.items.length - this.head;
  }

  push(work: () => void): void {
    if (this.length >= this.maxQueued) {
      this.stats.overflowRuns++;
      this.runOne();
    }
    this.items.push(work);
    if (this.length > this.stats.maxLength) this.stats.maxLength = this.length;
    this.scheduled ??= setImmediate(() => this.turn());
  }

  /** Does everything queued now (before an event that must see it done: a port going down). */
  drain(): void {
    while (this.length) this.runOne();
  }

  /** Forgets what is queued (the controller is stopping). */
  clear(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    this.items = [];
    this.head = 0;
  }

  private turn(): void {
    this.scheduled = undefined;
    const until = this.now() + this.budgetMs;
    for (let n = 0; n < this.perTurn && this.length; n++) {
      this.runOne();
      if (this.now() >= until) break;
    }
    if (this.length) this.scheduled = setImmediate(() => this.turn());
  }

  private runOne(): void {
    const work = this.items[this.head];
    this.items[this.head++] = noop;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    try {
      work();
    } catch {
      this.stats.errors++; // one item never stops the queue (the authenticator does not throw; counted if it does)
    }
  }
}

const noop = () => undefined;
