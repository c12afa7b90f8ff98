/**
 * What the controller's two snoopers share (DHCP snooping in edge/snooping.ts, ND/DHCPv6 snooping in
 * edge/nd-snooping.ts): counters by reason, a token bucket per port (bursts of twice the rate) and alerts capped
 * per kind, port and minute, so that a flood from one port floods neither the controller nor the event stream.
 */
import { EventEmitter } from 'node:events';

export interface PortRef {
  readonly switch: string;
  readonly port: number;
}

export interface SnooperBaseOptions {
  readonly now?: () => number;
  /** Most alerts of one kind per port and minute (default 5). */
  readonly alertsPerMinute?: number;
}

/** Most ports (token buckets) and alert keys remembered: the oldest goes first beyond them. */
const MAX_BUCKETS = 100_000;
const MAX_ALERT_KEYS = 10_000;

/**
 * `Table` is where the snooper records what it learns (the IPv4 lease table, the IPv6 one); `Counter` is the fixed
 * set of keys it counts frames by (GET /api/v1/leases shows them; the contract lists the same keys).
 */
export abstract class SnooperBase<Table, Counter extends string> extends EventEmitter {
  /** Frames seen, by verdict reason: a key is present once counted. */
  readonly counters: Partial<Record<Counter, number>> = Object.create(null);
  protected readonly now: () => number;
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly alertsAt = new Map<string, { n: number; since: number }>();
  private readonly alertCap: number;

  /** `prefix` starts every alert's type (`dhcp-rogue-server`, `ipv6-too-many`); `rate` is messages per port and second. */
  protected constructor(
    readonly leases: Table,
    private readonly prefix: string,
    public rate: number,
    opts: SnooperBaseOptions,
  ) {
    super();
    this.now = opts.now ?? Date.now;
    this.alertCap = opts.alertsPerMinute ?? 5;
  }

  protected count(reason: Counter): void {
    this.counters[reason] = (this.counters[reason] ?? 0) + 1;
  }

  /** Counts a verdict's reason and, when `at` is given, alerts it there with `data`. */
  protected note(reason: Counter, at?: PortRef, data: Record<string, unknown> = {}): void {
    this.count(reason);
    if (at) this.alert(reason, at, data);
  }

  /** An alert, at most `alertsPerMinute` per kind and port (a flood must not flood the event stream too). */
  protected alert(kind: string, at: PortRef, data: Record<string, unknown>): void {
    const key = `${kind}@${at.switch}:${at.port}`;
    const t = this.now();
    let a = this.alertsAt.get(key);
    if (!a || t - a.since > 60_000) {
      a = { n: 0, since: t };
      this.alertsAt.set(key, a);
      if (this.alertsAt.size > MAX_ALERT_KEYS) this.alertsAt.delete(this.alertsAt.keys().next().value!);
    }
    if (++a.n > this.alertCap) return;
    this.emit('alert', { ...data, type: `${this.prefix}-${kind}`, switch: at.switch, port: at.port });
  }

  /** Takes a token from the port's bucket: false when the port is over its rate. */
  protected allow(at: PortRef): boolean {
    const key = `${at.switch}:${at.port}`;
    const t = this.now();
    const burst = this.rate * 2;
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= MAX_BUCKETS) this.buckets.delete(this.buckets.keys().next().value!);
      this.buckets.set(key, (b = { tokens: burst, at: t }));
    }
    b.tokens = Math.min(burst, b.tokens + ((t - b.at) / 1000) * this.rate);
    b.at = t;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}
