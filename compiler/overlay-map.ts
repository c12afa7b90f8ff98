/**
 * A read-only map made of a base map and a few changes on top: what an incremental patch hands on instead of
 * copying a map of every user for each small change. Lookups cost one or two hash probes; once the changes grow
 * to a fair share of the base, the next patch flattens them into a new plain map (amortised O(1) per change).
 * Pure value: neither the base nor the changes are ever mutated after construction.
 */
const GONE = Symbol('gone');

export class OverlayMap<K, V> implements ReadonlyMap<K, V> {
  private flat?: Map<K, V>;

  private constructor(
    private readonly base: ReadonlyMap<K, V>,
    private readonly changes: ReadonlyMap<K, V | typeof GONE>,
  ) {}

  /** `prev` with `set` entries set and `del` keys deleted (a key in both ends set). */
  static patch<K, V>(prev: ReadonlyMap<K, V>, set: ReadonlyMap<K, V>, del: Iterable<K> = []): ReadonlyMap<K, V> {
    const base = prev instanceof OverlayMap ? (prev.base as ReadonlyMap<K, V>) : prev;
    const changes = new Map<K, V | typeof GONE>(prev instanceof OverlayMap ? prev.changes : []);
    for (const k of del) changes.set(k, GONE);
    for (const [k, v] of set) changes.set(k, v);
    if (changes.size > 64 + (base.size >> 3)) {
      const m = new Map(base);
      for (const [k, v] of changes)
        if (v === GONE) m.delete(k);
        else m.set(k, v);
      return m;
    }
    return new OverlayMap(base, changes);
  }

  get(k: K): V | undefined {
    const c = this.changes.get(k);
    if (c === GONE) return undefined;
    return c !== undefined || this.changes.has(k) ? c : this.base.get(k);
  }
  has(k: K): boolean {
    const c = this.changes.get(k);
    if (c !== undefined || this.changes.has(k)) return c !== GONE;
    return this.base.has(k);
  }
  private all(): Map<K, V> {
    if (!this.flat) {
      const m = new Map(this.base);
      for (const [k, v] of this.changes)
        if (v === GONE) m.delete(k);
        else m.set(k, v);
      this.flat = m;
    }
    return this.flat;
  }
  get size(): number {
    return this.all().size;
  }
  forEach(cb: (value: V, key: K, map: ReadonlyMap<K, V>) => void): void {
    for (const [k, v] of this.all()) cb(v, k, this);
  }
  entries(): MapIterator<[K, V]> {
    return this.all().entries();
  }
  keys(): MapIterator<K> {
    return this.all().keys();
  }
  values(): MapIterator<V> {
    return this.all().values();
  }
  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.all()[Symbol.iterator]();
  }
}
