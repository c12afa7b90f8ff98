/**
 * What the edge's tables of bindings have in common: the login sessions (edge/sessions.ts, one per MAC), the IPv4
 * leases (edge/leases.ts, one per MAC) and the IPv6 addresses (edge/leases6.ts, several per MAC). Each is a map
 * from a primary key (session id, MAC, IPv6 address) to a plain frozen record bound to one switch port, with
 * secondary indexes the family keeps itself. This base owns the rest: the expiry timer, the change counter, the
 * removal events, the bulk removals and the restore loop (check, clean, skip the expired, admit).
 *
 * The timer is set for the earliest expiry when a record is added or restored; removing a record never re-arms it
 * (a timer that fires before anything is due finds nothing and re-arms itself), so ending n records costs O(n).
 * Expiries are kept in a heap (edge/expiry-heap.ts): adding a record, finding the next expiry and ending the
 * ones due cost O(log n) each, not a walk over every record (a login storm adds thousands).
 */
import { EventEmitter } from 'node:events';
import { ExpiryHeap } from './expiry-heap.js';

/** A record that may end at a time (ISO 8601). */
export interface Expiring {
  readonly expires?: string;
}

export interface RestoreResult {
  readonly kept: number;
  readonly dropped: Array<{ index: number; reason: string }>;
}

export const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** Checks the switch and port a record is bound to: an error message, or undefined. */
export function checkPlace(r: Record<string, unknown>): string | undefined {
  if (typeof r.switch !== 'string' || !r.switch || r.switch.length > 128) return 'bad switch';
  if (typeof r.port !== 'number' || !Number.isInteger(r.port) || r.port < 1 || r.port > 0xffffff00) return 'bad port';
  return undefined;
}

/** Checks an optional time field: an error message, or undefined. */
export function checkTime(r: Record<string, unknown>, field: string): string | undefined {
  const t = r[field];
  return t !== undefined && (typeof t !== 'string' || Number.isNaN(Date.parse(t))) ? `bad ${field}` : undefined;
}

/** What names a family's records and checks them. */
export interface BindingSpec<V> {
  /** The records in a restore error ("leases is not a list"). */
  readonly plural: string;
  /** The primary key. */
  readonly key: (v: V) => string;
  /** Checks a value that claims to be a record: an error message, or undefined. */
  readonly check: (v: unknown) => string | undefined;
  /** Only the fields a record has, frozen (a value from a file or a request may carry anything else). */
  readonly clean: (v: V) => V;
}

/** The ways a family differs: its spec, its indexes, its events and how a restored record is admitted. */
export abstract class BindingTable<V extends Expiring, Reason extends string, Change> extends EventEmitter {
  /** Records by primary key. */
  protected readonly primary = new Map<string, V>();
  protected readonly now: () => number;
  /** Upper bound on records held (fail closed: beyond it a new record is refused). */
  protected readonly max: number;
  private timer?: NodeJS.Timeout;
  private timerAt = Infinity;
  private stopped = false;
  /** Held records that end, by when (entries of records no longer held are skipped). */
  private readonly expiries = new ExpiryHeap<V>((v) => this.primary.get(this.spec.key(v)) === v);
  /** Increments on every change: a cheap "did anything change" for the edge hook's memo. */
  version = 0;

  protected constructor(
    now: (() => number) | undefined,
    max: number,
    protected readonly spec: BindingSpec<V>,
  ) {
    super();
    this.setMaxListeners(100);
    this.now = now ?? Date.now;
    this.max = max;
  }

  /** Adds `v` to the family's secondary indexes / takes it out of them. */
  protected abstract index(v: V): void;
  protected abstract unindex(v: V): void;
  /** The event for a removed record. */
  protected abstract removed(v: V, reason: Reason, by?: string): Change;
  /** Restore: makes room for `v` and stores it (with `put`), or says why it is dropped. */
  protected abstract admit(v: V): string | undefined;

  get size(): number {
    return this.primary.size;
  }
  list(): V[] {
    return [...this.primary.values()];
  }
  /** The values to persist (the controller's state file). */
  snapshot(): V[] {
    return this.list();
  }

  /** Ends every record matching `pred` (port down, user removed …); returns how many. */
  removeWhere(pred: (v: V) => boolean, reason: Reason, by?: string): number {
    let n = 0;
    for (const v of this.list()) if (pred(v) && this.end(v, reason, by)) n++;
    return n;
  }

  /** Ends the records whose expiry has passed; returns them. */
  expire(now = this.now()): V[] {
    const out: V[] = [];
    for (const v of this.expiries.due(now)) if (this.end(v, 'expired' as Reason, 'timer')) out.push(v);
    this.schedule();
    return out;
  }

  /**
   * Restores persisted records without change events (the controller compiles them at start-up). Records that are
   * malformed, already expired or not admitted are skipped; returns what was kept and what was dropped (with why).
   */
  restore(values: unknown): RestoreResult {
    const dropped: Array<{ index: number; reason: string }> = [];
    if (!Array.isArray(values))
      return { kept: 0, dropped: values === undefined ? [] : [{ index: -1, reason: `${this.spec.plural} is not a list` }] };
    const now = this.now();
    values.forEach((raw, index) => {
      const bad = this.spec.check(raw);
      if (bad) return void dropped.push({ index, reason: bad });
      const v = this.spec.clean(raw as V);
      if (v.expires !== undefined && Date.parse(v.expires) <= now) return void dropped.push({ index, reason: 'expired' });
      const refused = this.admit(v);
      if (refused) dropped.push({ index, reason: refused });
    });
    this.version++;
    this.schedule();
    return { kept: this.primary.size, dropped };
  }

  /** Stops the expiry timer (the controller is stopping). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }

  /** Stores a record under its key and in the family's indexes (no event). */
  protected put(v: V): void {
    this.primary.set(this.spec.key(v), v);
    this.index(v);
    if (v.expires !== undefined) {
      this.expiries.push(Date.parse(v.expires), v);
      this.expiries.compact(this.primary.values(), expiryOf, this.primary.size);
    }
  }

  /** Takes a record out of the table and its indexes (no event). */
  protected drop(v: V): void {
    const k = this.spec.key(v);
    if (this.primary.get(k) === v) this.primary.delete(k);
    this.unindex(v);
  }

  /** Ends a record still held: drops it and tells listeners why; false when it is no longer held. */
  protected end(v: V, reason: Reason, by?: string): boolean {
    if (this.primary.get(this.spec.key(v)) !== v) return false;
    this.drop(v);
    this.version++;
    this.emit('change', this.removed(v, reason, by));
    return true;
  }

  /**
   * Stores an added record (its predecessors already dropped), arms the timer if it ends before the timer fires,
   * then tells listeners: first what the add ended (`ends`), then the add itself.
   */
  protected store(v: V, ends: readonly Change[], change: Change): void {
    this.put(v);
    this.version++;
    if (v.expires !== undefined && Date.parse(v.expires) < this.timerAt) this.schedule();
    for (const c of ends) this.emit('change', c);
    this.emit('change', change);
  }

  /** One timer, set for the earliest expiry. */
  private schedule(): void {
    if (this.stopped) return;
    const next = this.expiries.next();
    if (next === this.timerAt && this.timer) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = next;
    if (next === Infinity) return;
    const delay = Math.max(0, Math.min(next - this.now(), 0x7fffffff));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.expire();
    }, delay);
    this.timer.unref();
  }
}

const expiryOf = (v: Expiring): number | undefined => (v.expires === undefined ? undefined : Date.parse(v.expires));
