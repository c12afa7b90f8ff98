/**
 * Stage 3, destinations: every resource prefix and every subject address becomes a destination entry; addresses
 * in the same set of resources share a destination class. Then, per (source class, destination class), the
 * services allowed and denied and the rules that say so.
 */
import type { Policy } from './inputs.js';
import { maskOf, maskOf6, parseIpv4, parseIpv6, type Prefix, type Prefix6, type Service } from './addr.js';
import type { DestEntry, DestEntry6 } from './stage-values.js';
import { ANY_SERVICE, assignIds, type Classes } from './classes.js';
import type { Selection } from './select.js';
import { dstClassesOfResources } from './dst-classes.js';

/** What one source class may do towards one destination class. */
export interface PairAccess {
  readonly allow: readonly Service[];
  readonly deny: readonly Service[];
  /** Services monitored deny rules (mode: monitor) would deny: logged as "would deny", not enforced. */
  readonly monitor: readonly Service[];
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
  /** IPv6: entries, each destination class's prefixes, and the longest-prefix lookup. */
  readonly dest6: readonly DestEntry6[];
  readonly dstPrefixes6: ReadonlyMap<number, readonly Prefix6[]>;
  dstOfAddr6(addr: bigint): DestEntry6 | undefined;
}

/** PrefixIndex for IPv6 prefixes (bigint keys). */
export class PrefixIndex6<T> {
  private readonly byLen = new Map<number, Map<bigint, T[]>>();
  private lens: number[] = [];
  add(p: Prefix6, v: T): void {
    let m = this.byLen.get(p.len);
    if (!m) {
      this.byLen.set(p.len, (m = new Map()));
      this.lens = [...this.byLen.keys()].sort((a, b) => b - a);
    }
    const l = m.get(p.addr);
    if (l) l.push(v);
    else m.set(p.addr, [v]);
  }
  covering(p: Prefix6): T[] {
    const out: T[] = [];
    for (const len of this.lens) if (len <= p.len) out.push(...(this.byLen.get(len)!.get(p.addr & maskOf6(len)) ?? []));
    return out;
  }
  longest(p: Prefix6): T | undefined {
    for (const len of this.lens)
      if (len <= p.len) {
        const l = this.byLen.get(len)!.get(p.addr & maskOf6(len));
        if (l) return l[0];
      }
    return undefined;
  }
}

/** Prefixes grouped by length: which stored prefixes cover a given prefix, and the longest one. */
export class PrefixIndex<T> {
  private readonly byLen = new Map<number, Map<number, T[]>>();
  private lens: number[] = [];
  add(p: Prefix, v: T): void {
    let m = this.byLen.get(p.len);
    if (!m) {
      this.byLen.set(p.len, (m = new Map()));
      this.lens = [...this.byLen.keys()].sort((a, b) => b - a);
    }
    const l = m.get(p.addr);
    if (l) l.push(v);
    else m.set(p.addr, [v]);
  }
  covering(p: Prefix): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.lens.length; i++) {
      const len = this.lens[i];
      if (len > p.len) continue;
      const l = this.byLen.get(len)!.get((p.addr & maskOf(len)) >>> 0);
      if (l) for (let j = 0; j < l.length; j++) out.push(l[j]);
    }
    return out;
  }
  longest(p: Prefix): T | undefined {
    for (const len of this.lens)
      if (len <= p.len) {
        const l = this.byLen.get(len)!.get((p.addr & maskOf(len)) >>> 0);
        if (l) return l[0];
      }
    return undefined;
  }
}

function destEntries(sel: Selection, classes: Classes, previous: ReadonlyMap<string, number> | undefined) {
  const allPrefixes = new Map<number, Prefix>(); // key: addr * 64 + len (exact in a double)
  for (const ps of sel.resourcePrefixes.values()) for (const p of ps) allPrefixes.set(p.addr * 64 + p.len, p);
  const ownerOf = new Map<number, number>();
  for (const s of classes.subjects)
    for (const e of s.endpoints) {
      if (!e.ip) continue;
      const a = parseIpv4(e.ip)!;
      ownerOf.set(a, s.classId);
      allPrefixes.set(a * 64 + 32, { addr: a, len: 32 });
    }
  const covering = new PrefixIndex<string>();
  for (const [name, ps] of sel.resourcePrefixes) for (const q of ps) covering.add(q, name);
  const drafts = [...allPrefixes.values()]
    .sort((x, y) => x.len - y.len || x.addr - y.addr)
    .map((p) => {
      const names = covering.covering(p);
      // most addresses lie in no resource or in one
      const resources = names.length < 2 ? names : [...new Set(names)].sort();
      return { prefix: p, resources, sig: resources.length === 1 ? resources[0] : resources.join(',') };
    });
  // IPv6: the same, over 128-bit prefixes; a destination class is a set of resources whatever the family
  const drafts6: Array<{ prefix6: Prefix6; resources: string[]; sig: string }> = [];
  const ownerOf6 = new Map<bigint, number>();
  if (sel.v6) {
    const all6 = new Map<string, Prefix6>();
    for (const ps of sel.resourcePrefixes6.values()) for (const p of ps) all6.set(`${p.addr}/${p.len}`, p);
    for (const s of classes.subjects)
      for (const e of s.endpoints)
        for (const t of e.ipv6 ?? []) {
          const a = parseIpv6(t)!;
          ownerOf6.set(a, s.classId);
          all6.set(`${a}/128`, { addr: a, len: 128 });
        }
    const covering6 = new PrefixIndex6<string>();
    for (const [name, ps] of sel.resourcePrefixes6) for (const q of ps) covering6.add(q, name);
    for (const p of [...all6.values()].sort((x, y) => x.len - y.len || (x.addr < y.addr ? -1 : x.addr > y.addr ? 1 : 0))) {
      const resources = [...new Set(covering6.covering(p))].sort();
      drafts6.push({ prefix6: p, resources, sig: resources.join(',') });
    }
  }
  const dstClassIds = assignIds(
    new Set([...drafts, ...drafts6].filter((d) => d.resources.length).map((d) => d.sig)),
    previous,
    'destination classes',
  );
  const dest: DestEntry[] = drafts.map((d) => ({
    prefix: d.prefix,
    resources: d.resources,
    dstClass: d.resources.length ? dstClassIds.get(d.sig)! : 0,
    ownerClass: d.prefix.len === 32 ? (ownerOf.get(d.prefix.addr) ?? 0) : 0,
  }));
  const dest6: DestEntry6[] = drafts6.map((d) => ({
    prefix6: d.prefix6,
    resources: d.resources,
    dstClass: d.resources.length ? dstClassIds.get(d.sig)! : 0,
    ownerClass: d.prefix6.len === 128 ? (ownerOf6.get(d.prefix6.addr) ?? 0) : 0,
  }));
  return { dest, dest6, dstClassIds };
}

function pairAccess(policy: Policy, classes: Classes, resourceToDst: ReadonlyMap<string, readonly number[]>) {
  const resourceByName = new Map(policy.resources.map((r) => [r.name, r]));
  type Access = { allow: Service[]; deny: Service[]; monitor: Service[]; rules: Set<string> };
  const access = new Map<number, Map<number, Access>>();
  for (const [cls, sets] of classes.ruleSetsOfClass) {
    const per = new Map<number, Access>();
    // services from one rule set (all of the class's rule sets have the same effective access); rule names from all
    // (indexed loops: run once per compile, much of it before the optimizing compiler, where for-of allocates)
    for (let n = 0; n < sets.length; n++) {
      const ruleIdx = sets[n];
      for (let x = 0; x < ruleIdx.length; x++) {
        const rule = policy.rules[ruleIdx[x]];
        for (let y = 0; y < rule.to.length; y++) {
          const rname = rule.to[y];
          const res = resourceByName.get(rname);
          if (!res) continue;
          const dcs = resourceToDst.get(rname);
          if (!dcs) continue;
          for (let z = 0; z < dcs.length; z++) {
            const dc = dcs[z];
            let a = per.get(dc);
            if (!a) per.set(dc, (a = { allow: [], deny: [], monitor: [], rules: new Set() }));
            a.rules.add(rule.name);
            if (n > 0) continue;
            if (rule.action === 'deny') (rule.mode === 'monitor' ? a.monitor : a.deny).push(...(rule.services ?? [ANY_SERVICE]));
            else a.allow.push(...(rule.services ?? res.services));
          }
        }
      }
    }
    access.set(cls, per);
  }
  return access;
}

export function resolveDestinations(
  policy: Policy,
  sel: Selection,
  classes: Classes,
  previous: ReadonlyMap<string, number> | undefined,
): Destinations {
  const { dest, dest6, dstClassIds } = destEntries(sel, classes, previous);
  const dstPrefixes = new Map<number, Prefix[]>();
  const dstPrefixes6 = new Map<number, Prefix6[]>();
  for (const d of dest)
    if (d.dstClass) {
      const l = dstPrefixes.get(d.dstClass);
      if (l) l.push(d.prefix);
      else dstPrefixes.set(d.dstClass, [d.prefix]);
    }
  for (const d of dest6)
    if (d.dstClass) {
      const l = dstPrefixes6.get(d.dstClass);
      if (l) l.push(d.prefix6);
      else dstPrefixes6.set(d.dstClass, [d.prefix6]);
    }
  const resourceToDst = dstClassesOfResources([dest, dest6]);
  const access = pairAccess(policy, classes, resourceToDst);
  const dcsOfClass = new Map<number, number[]>();
  const classesOfDc = new Map<number, number[]>();
  for (const [cls, per] of access)
    for (const dc of per.keys()) {
      (dcsOfClass.get(cls) ?? dcsOfClass.set(cls, []).get(cls)!).push(dc);
      (classesOfDc.get(dc) ?? classesOfDc.set(dc, []).get(dc)!).push(cls);
    }
  const destIndex = new PrefixIndex<DestEntry>();
  for (const d of dest) if (d.dstClass) destIndex.add(d.prefix, d);
  const destIndex6 = new PrefixIndex6<DestEntry6>();
  for (const d of dest6) if (d.dstClass) destIndex6.add(d.prefix6, d);
  return {
    dest,
    dstClassIds,
    dstPrefixes,
    access,
    dcsOfClass,
    classesOfDc,
    dstOfAddr: (addr) => destIndex.longest({ addr, len: 32 }),
    dest6,
    dstPrefixes6,
    dstOfAddr6: (addr) => destIndex6.longest({ addr, len: 128 }),
  };
}
