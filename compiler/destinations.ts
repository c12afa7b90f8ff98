/**
 * Stage 3, destinations: every resource prefix and every subject address becomes a destination entry; addresses
 * in the same set of resources share a destination class. Then, per (source class, destination class), the
 * services allowed and denied and the rules that say so.
 */
import type { Policy } from './inputs.js';
import { maskOf, parseIpv4, type Prefix, type Service } from './addr.js';
import type { DestEntry } from './compiled.js';
import { ANY_SERVICE, assignIds, type Classes } from './classes.js';
import type { Selection } from './select.js';

/** What one source class may do towards one destination class. */
export interface PairAccess {
  readonly allow: readonly Service[];
  readonly deny: readonly Service[];
  readonly rules: ReadonlySet<string>;
}

export interface Destinations {
  readonly dest: readonly DestEntry[];
  readonly dstClassIds: ReadonlyMap<string, number>;
  /** Destination class → its prefixes. */
  readonly dstPrefixes: ReadonlyMap<number, readonly Prefix[]>;
  /** Source class → destination class → access. */
  readonly access: ReadonlyMap<number, ReadonlyMap<number, PairAccess>>;
  readonly dcsOfClass: ReadonlyMap<number, readonly number[]>;
  readonly classesOfDc: ReadonlyMap<number, readonly number[]>;
  /** The destination entry (with a class) of the longest prefix holding an address. */
  dstOfAddr(addr: number): DestEntry | undefined;
}

/** Prefixes grouped by length: which stored prefixes cover a given prefix, and the longest one. */
export class PrefixIndex<T> {
  private readonly byLen = new Map<number, Map<number, T[]>>();
  private lens: number[] = [];
  add(p: Prefix, v: T): void {
    let m = this.byLen.get(p.len);
    if (!m) { this.byLen.set(p.len, (m = new Map())); this.lens = [...this.byLen.keys()].sort((a, b) => b - a); }
    const l = m.get(p.addr);
    if (l) l.push(v); else m.set(p.addr, [v]);
  }
  covering(p: Prefix): T[] {
    const out: T[] = [];
    for (const len of this.lens) if (len <= p.len) out.push(...(this.byLen.get(len)!.get((p.addr & maskOf(len)) >>> 0) ?? []));
    return out;
  }
  longest(p: Prefix): T | undefined {
    for (const len of this.lens) if (len <= p.len) { const l = this.byLen.get(len)!.get((p.addr & maskOf(len)) >>> 0); if (l) return l[0]; }
    return undefined;
  }
}

function destEntries(sel: Selection, classes: Classes, previous: ReadonlyMap<string, number> | undefined) {
  const allPrefixes = new Map<number, Prefix>(); // key: addr * 64 + len (exact in a double)
  for (const ps of sel.resourcePrefixes.values()) for (const p of ps) allPrefixes.set(p.addr * 64 + p.len, p);
  const ownerOf = new Map<number, number>();
  for (const s of classes.subjects) for (const e of s.endpoints) {
    if (!e.ip) continue;
    const a = parseIpv4(e.ip)!;
    ownerOf.set(a, s.classId);
    allPrefixes.set(a * 64 + 32, { addr: a, len: 32 });
  }
  const covering = new PrefixIndex<string>();
  for (const [name, ps] of sel.resourcePrefixes) for (const q of ps) covering.add(q, name);
  const drafts = [...allPrefixes.values()].sort((x, y) => x.len - y.len || x.addr - y.addr).map((p) => {
    const resources = [...new Set(covering.covering(p))].sort();
    return { prefix: p, resources, sig: resources.join(',') };
  });
  const dstClassIds = assignIds(new Set(drafts.filter((d) => d.resources.length).map((d) => d.sig)), previous, 'destination classes');
  const dest: DestEntry[] = drafts.map((d) => ({
    prefix: d.prefix, resources: d.resources, dstClass: d.resources.length ? dstClassIds.get(d.sig)! : 0,
    ownerClass: d.prefix.len === 32 ? ownerOf.get(d.prefix.addr) ?? 0 : 0,
  }));
  return { dest, dstClassIds };
}

function pairAccess(policy: Policy, classes: Classes, resourceToDst: ReadonlyMap<string, readonly number[]>) {
  const resourceByName = new Map(policy.resources.map((r) => [r.name, r]));
  const access = new Map<number, Map<number, { allow: Service[]; deny: Service[]; rules: Set<string> }>>();
  for (const [cls, sets] of classes.ruleSetsOfClass) {
    const per = new Map<number, { allow: Service[]; deny: Service[]; rules: Set<string> }>();
    // services from one rule set (all of the class's rule sets have the same effective access); rule names from all
    sets.forEach((ruleIdx, n) => {
      for (const ri of ruleIdx) {
        const rule = policy.rules[ri];
        for (const rname of rule.to) {
          const res = resourceByName.get(rname);
          if (!res) continue;
          for (const dc of resourceToDst.get(rname) ?? []) {
            let a = per.get(dc);
            if (!a) per.set(dc, (a = { allow: [], deny: [], rules: new Set() }));
            a.rules.add(rule.name);
            if (n > 0) continue;
            if (rule.action === 'deny') a.deny.push(...(rule.services ?? [ANY_SERVICE]));
            else a.allow.push(...(rule.services ?? res.services));
          }
        }
      }
    });
    access.set(cls, per);
  }
  return access;
}

export function resolveDestinations(policy: Policy, sel: Selection, classes: Classes, previous: ReadonlyMap<string, number> | undefined): Destinations {
  const { dest, dstClassIds } = destEntries(sel, classes, previous);
  const dstResources = new Map<number, readonly string[]>();
  const dstPrefixes = new Map<number, Prefix[]>();
  for (const d of dest) if (d.dstClass) {
    dstResources.set(d.dstClass, d.resources);
    dstPrefixes.set(d.dstClass, [...(dstPrefixes.get(d.dstClass) ?? []), d.prefix]);
  }
  const resourceToDst = new Map<string, number[]>();
  for (const [dc, rs] of dstResources) for (const r of rs) resourceToDst.set(r, [...(resourceToDst.get(r) ?? []), dc]);
  const access = pairAccess(policy, classes, resourceToDst);
  const dcsOfClass = new Map<number, number[]>();
  const classesOfDc = new Map<number, number[]>();
  for (const [cls, per] of access) for (const dc of per.keys()) {
    (dcsOfClass.get(cls) ?? dcsOfClass.set(cls, []).get(cls)!).push(dc);
    (classesOfDc.get(dc) ?? classesOfDc.set(dc, []).get(dc)!).push(cls);
  }
  const destIndex = new PrefixIndex<DestEntry>();
  for (const d of dest) if (d.dstClass) destIndex.add(d.prefix, d);
  return { dest, dstClassIds, dstPrefixes, access, dcsOfClass, classesOfDc, dstOfAddr: (addr) => destIndex.longest({ addr, len: 32 }) };
}
