/**
 * Records ordered by when they end (a binary min-heap; ties in the order they were added), for the binding
 * tables' one expiry timer: the next expiry and each record due are found in O(log n) instead of a walk over every
 * record. Entries are not removed when their record ends or is replaced: the table skips the ones it no longer
 * holds (`live`), and the heap is rebuilt from the live records when stale entries outnumber them.
 */
interface Entry<V> {
  readonly at: number;
  readonly seq: number;
  readonly v: V;
}

export class ExpiryHeap<V> {
  private h: Array<Entry<V>> = [];
  private seq = 0;

  constructor(private readonly live: (v: V) => boolean) {}

  get size(): number {
    return this.h.length;
  }

  /** Adds a record that ends at `at` (ms since epoch; NaN is ignored). */
  push(at: number, v: V): void {
    if (Number.isNaN(at)) return;
    const h = this.h;
    h.push({ at, seq: this.seq++, v });
    for (let i = h.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (!less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  /** When the first live record ends (Infinity when none does); stale entries on top are discarded. */
  next(): number {
    while (this.h.length && !this.live(this.h[0].v)) this.pop();
    return this.h.length ? this.h[0].at : Infinity;
  }

  /** Takes out and returns the live records that end at or before `now`, earliest first. */
  due(now: number): V[] {
    const out: V[] = [];
    while (this.next() <= now) out.push(this.pop().v);
    return out;
  }

  /** Rebuilds from the live records when stale entries have piled up (records renewed, ended, replaced). */
  compact(records: Iterable<V>, at: (v: V) => number | undefined, liveCount: number): void {
    if (this.h.length <= 2 * liveCount + 64) return;
    this.h = [];
    for (const v of records) {
      const t = at(v);
      if (t !== undefined) this.push(t, v);
    }
  }

  clear(): void {
    this.h = [];
  }

  private pop(): Entry<V> {
    const h = this.h;
    const top = h[0];
    const last = h.pop()!;
    if (h.length) {
      h[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1,
          r = l + 1;
        let m = i;
        if (l < h.length && less(h[l], h[m])) m = l;
        if (r < h.length && less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}

function less<V>(a: Entry<V>, b: Entry<V>): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
