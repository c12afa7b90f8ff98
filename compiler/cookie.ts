/**
 * Stable cookies: a flow's cookie is the tag plus a 48-bit hash of (table, priority, match), so the same flow gets
 * the same cookie in every compile and the reconciler can diff by cookie. No module state: each hash is its own value.
 */
import type { Instruction, Match, OxmEntry } from '../openflow/types.js';
import type { PlannedFlow } from './model.js';
import { COOKIE_TAG } from './model.js';

/** Two FNV-1a variants side by side; `value` is 48 bits, exact as a Number. */
class Fnv48 {
  h1 = 0x811c9dc5;
  h2 = 0x01000193;
  feed(s: string): void {
    let h1 = this.h1,
      h2 = this.h2;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 16777619) >>> 0;
      h2 = Math.imul(h2 ^ c, 2246822519) >>> 0;
    }
    this.h1 = h1;
    this.h2 = h2;
  }
  get value(): number {
    return (this.h2 & 0xffff) * 0x1_0000_0000 + this.h1;
  }
}

/** 48-bit hash (two FNV-1a variants), exact as a Number. */
export function fnv1a(s: string): number {
  const h = new Fnv48();
  h.feed(s);
  return h.value;
}

/** fnv1a(matchKey(tableId, priority, m)), fed piece by piece instead of building the key string (the compiler's hot path). */
export function matchHash(tableId: number, priority: number, m: Match): number {
  const h = new Fnv48();
  h.feed(String(tableId));
  h.feed('/');
  h.feed(String(priority));
  for (let i = 0; i < m.length; i++) {
    const e = m[i];
    h.feed(',');
    h.feed(e.field);
    h.feed('=');
    h.feed(typeof e.value === 'string' ? e.value : String(e.value));
    if (e.mask !== undefined) {
      h.feed('/');
      h.feed(typeof e.mask === 'string' ? e.mask : String(e.mask));
    }
  }
  return h.value;
}

export function matchKey(tableId: number, priority: number, m: Match): string {
  let s = `${tableId}/${priority}`;
  for (const e of m) s += `,${e.field}=${String(e.value)}${e.mask !== undefined ? '/' + String(e.mask) : ''}`;
  return s;
}

/** A planned flow whose cookie order is also kept as a plain number (private, so JSON and spreads don't see it). */
export class CompiledFlow implements PlannedFlow {
  readonly #order: number;
  constructor(
    readonly tableId: number,
    readonly priority: number,
    readonly cookie: bigint,
    readonly match: OxmEntry[],
    readonly instructions: Instruction[],
    readonly origin: string,
    order: number,
  ) {
    this.#order = order;
  }
  /** Same order as comparing cookies (all share the tag), without BigInt comparisons. */
  static byCookie(x: PlannedFlow, y: PlannedFlow): number {
    if (x instanceof CompiledFlow && y instanceof CompiledFlow) return x.#order - y.#order;
    return x.cookie < y.cookie ? -1 : x.cookie > y.cookie ? 1 : 0;
  }
  /** The cookie as a plain number for compiled flows (all share the tag), else the cookie: a cheap set key. */
  static key(f: PlannedFlow): number | bigint {
    return f instanceof CompiledFlow ? f.#order : f.cookie;
  }
  /** Sorts in place by priority (high first), then cookie. */
  static sortByPrioCookie(flows: PlannedFlow[]): void {
    if (flows.length < 64) {
      flows.sort((x, y) => y.priority - x.priority || CompiledFlow.byCookie(x, y));
      return;
    }
    const byPrio = new Map<number, PlannedFlow[]>();
    for (const f of flows) {
      const l = byPrio.get(f.priority);
      if (l) l.push(f);
      else byPrio.set(f.priority, [f]);
    }
    let i = 0;
    for (const p of [...byPrio.keys()].sort((a, b) => b - a)) {
      const l = byPrio.get(p)!;
      CompiledFlow.sortByCookie(l);
      for (const f of l) flows[i++] = f;
    }
  }
  /** Sorts in place by cookie: long lists of compiled flows by a native numeric sort of their orders. */
  static sortByCookie(flows: PlannedFlow[]): void {
    const n = flows.length;
    if (n < 64) {
      flows.sort(CompiledFlow.byCookie);
      return;
    }
    const keys = new Float64Array(n);
    const at = new Map<number, PlannedFlow>();
    for (let i = 0; i < n; i++) {
      const f = flows[i];
      if (!(f instanceof CompiledFlow) || at.has(f.#order)) {
        flows.sort(CompiledFlow.byCookie);
        return;
      } // equal cookies: keep the comparator's order
      keys[i] = f.#order;
      at.set(f.#order, f);
    }
    keys.sort();
    for (let i = 0; i < n; i++) flows[i] = at.get(keys[i])!;
  }
}

/** A planned flow with its stable cookie (unchecked: table builders in pipeline.ts check it against its table). */
export function cookedFlow(
  tableId: number,
  priority: number,
  match: OxmEntry[],
  instructions: Instruction[],
  origin: string,
): CompiledFlow {
  const h = matchHash(tableId, priority, match);
  return new CompiledFlow(tableId, priority, COOKIE_TAG | BigInt(h), match, instructions, origin, h);
}
