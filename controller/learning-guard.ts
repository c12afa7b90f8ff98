/**
 * Host discovery under attack: a switch (or anything speaking OpenFlow as one) can send PACKET_INs at any rate with
 * any source MAC. This guard decides which of them the controller looks at:
 *  - a token bucket per (switch, port): beyond `perPortRate` packets/s (burst `perPortBurst`) they are counted and
 *    dropped before any work is done for them;
 *  - a MAC that moves between ports more than `flapMoves` times within `flapWindowMs` is flapping: it is held
 *    (not moved again) for `holdMs`, one alert is raised, and nothing is recompiled for it meanwhile;
 *  - reports about one MAC (unknown device, wrong port) are repeated at most once per `reportEveryMs`.
 * Every map is bounded (least recently used entries are evicted), so a peer inventing ports or MACs cannot grow them.
 */

export interface LearningLimits {
  readonly perPortRate: number;
  readonly perPortBurst: number;
  readonly flapMoves: number;
  readonly flapWindowMs: number;
  readonly holdMs: number;
  readonly reportEveryMs: number;
  /** Most (switch, port) buckets and MACs tracked at once. */
  readonly maxEntries: number;
}

export const DEFAULT_LEARNING_LIMITS: LearningLimits = {
  perPortRate: 20,
  perPortBurst: 40,
  flapMoves: 4,
  flapWindowMs: 10_000,
  holdMs: 60_000,
  reportEveryMs: 10_000,
  maxEntries: 50_000,
};

/** A Map that forgets its least recently touched entries beyond `max`. */
class LruMap<K, V> {
  private readonly m = new Map<K, V>();
  constructor(private readonly max: number) {}
  get(k: K): V | undefined {
    const v = this.m.get(k);
    if (v !== undefined) {
      this.m.delete(k);
      this.m.set(k, v);
    }
    return v;
  }
  set(k: K, v: V): void {
    this.m.delete(k);
    this.m.set(k, v);
    if (this.m.size > this.max) this.m.delete(this.m.keys().next().value as K);
  }
  delete(k: K): void {
    this.m.delete(k);
  }
  get size(): number {
    return this.m.size;
  }
}

export type MoveVerdict = 'move' | 'flapping' | 'held';

export class LearningGuard {
  readonly limits: LearningLimits;
  private readonly buckets: LruMap<string, { tokens: number; at: number }>;
  private readonly moves: LruMap<string, { times: number[]; heldUntil: number }>;
  private readonly reported: LruMap<string, number>;
  /** PACKET_INs dropped by the per-port rate limit. */
  rateLimited = 0;
  /** Moves refused because the MAC is held as flapping. */
  flapsHeld = 0;

  constructor(limits: Partial<LearningLimits> = {}) {
    this.limits = { ...DEFAULT_LEARNING_LIMITS, ...limits };
    this.buckets = new LruMap(this.limits.maxEntries);
    this.moves = new LruMap(this.limits.maxEntries);
    this.reported = new LruMap(this.limits.maxEntries);
  }

  /** Whether a PACKET_IN from this switch port may be looked at now (token bucket). */
  admit(dpid: string, port: number, now = Date.now()): boolean {
    const k = `${dpid}/${port}`;
    const { perPortRate, perPortBurst } = this.limits;
    const b = this.buckets.get(k) ?? { tokens: perPortBurst, at: now };
    b.tokens = Math.min(perPortBurst, b.tokens + ((now - b.at) / 1000) * perPortRate);
    b.at = now;
    const ok = b.tokens >= 1;
    if (ok) b.tokens -= 1;
    else this.rateLimited++;
    this.buckets.set(k, b);
    return ok;
  }

  /** A learned MAC seen at a new place: may it move? 'flapping' is returned once when it starts being held. */
  move(mac: string, now = Date.now()): MoveVerdict {
    const e = this.moves.get(mac) ?? { times: [], heldUntil: 0 };
    if (e.heldUntil > now) {
      this.flapsHeld++;
      this.moves.set(mac, e);
      return 'held';
    }
    e.times = e.times.filter((t) => now - t < this.limits.flapWindowMs);
    e.times.push(now);
    if (e.times.length > this.limits.flapMoves) {
      e.heldUntil = now + this.limits.holdMs;
      e.times = [];
      this.flapsHeld++;
      this.moves.set(mac, e);
      return 'flapping';
    }
    this.moves.set(mac, e);
    return 'move';
  }

  /** Whether a MAC is currently held as flapping. */
  held(mac: string, now = Date.now()): boolean {
    return (this.moves.get(mac)?.heldUntil ?? 0) > now;
  }

  /** Whether a report of `kind` about `key` is due (at most one per reportEveryMs). */
  report(kind: string, key: string, now = Date.now()): boolean {
    const k = `${kind}/${key}`;
    const last = this.reported.get(k);
    if (last !== undefined && now - last < this.limits.reportEveryMs) return false;
    this.reported.set(k, now);
    return true;
  }

  get tracked(): { ports: number; macs: number; reports: number } {
    return { ports: this.buckets.size, macs: this.moves.size, reports: this.reported.size };
  }
}
