/**
 * Stage 2, source classes: subjects with the same effective access share a class, even when different rules grant
 * it (a flat ACL of one rule per user is one class). Effective access = the set of (resource, allow|deny, service)
 * the rule set yields; resources without addresses grant nothing. Class ids are kept from a previous compile.
 */
import type { Policy, Resource } from './inputs.js';
import type { Service } from './addr.js';
import { CompileError, type Subject } from './stage-values.js';
import type { Selection } from './select.js';

export const ANY_SERVICE: Service = { proto: 'any', text: 'any' };

export interface Classes {
  /** Effective-access signature → class id. */
  readonly classIds: ReadonlyMap<string, number>;
  /** Rule-set signature → class id. */
  readonly classOfSet: ReadonlyMap<string, number>;
  /** Rule-set signature → how many subjects have it. */
  readonly setCount: ReadonlyMap<string, number>;
  readonly subjects: readonly Subject[];
  readonly subjectById: ReadonlyMap<string, Subject>;
  /** Class id → the rule sets (rule indices) of its subjects, in signature order. */
  readonly ruleSetsOfClass: ReadonlyMap<number, ReadonlyArray<readonly number[]>>;
}

/**
 * Ids for keys: previous ids where they can be kept, then the lowest free ids in key order. An id another key held
 * before this change is not handed to a new key in the same change: on a switch without bundles the new class's
 * permits could be installed before its old members' classify flows move (transient over-permission, issue #11
 * item 8). Freed ids are free again from the next change on; only when 16 bits run out are they reused at once.
 */
export function assignIds(keys: Iterable<string>, previous: ReadonlyMap<string, number> | undefined, what: string): Map<string, number> {
  const out = new Map<string, number>();
  const used = new Set<number>();
  const fresh: string[] = [];
  for (const k of keys) {
    const p = previous?.get(k);
    if (p !== undefined && !used.has(p)) {
      out.set(k, p);
      used.add(p);
    } else fresh.push(k);
  }
  fresh.sort();
  const heldBefore = new Set(previous?.values() ?? []);
  let next = 1;
  let avoid = true;
  for (const k of fresh) {
    for (;;) {
      while (used.has(next) || (avoid && heldBefore.has(next))) next++;
      if (next <= 0xffff || !avoid) break;
      avoid = false;
      next = 1;
    }
    if (next > 0xffff)
      throw new CompileError(
        `more than 65,535 ${what}: the policy tells apart more groups than the 16-bit class tags in the flow metadata can hold`,
        what === 'source classes'
          ? 'users with the same access share a class; grant access by organization or role rather than user by user'
          : 'group addresses into prefixes shared by several resources',
      );
    out.set(k, next);
    used.add(next);
  }
  return out;
}

/** What one rule contributes to the access of a class that has it: resource, kind and service, one string each. */
function ruleAccess(
  rule: Policy['rules'][number],
  resourceByName: ReadonlyMap<string, Resource>,
  resourcePrefixes: Selection['resourcePrefixes'],
  resourcePrefixes6?: Selection['resourcePrefixes6'],
): string[] {
  const parts: string[] = [];
  for (const rname of rule.to) {
    const res = resourceByName.get(rname);
    if (!res || (!(resourcePrefixes.get(rname) ?? []).length && !resourcePrefixes6?.get(rname)?.length)) continue;
    const kind = rule.mode === 'monitor' ? 'M' : 'D'; // a monitored deny samples, so it is part of a class's access too
    if (rule.action === 'deny') for (const sv of rule.services ?? [ANY_SERVICE]) parts.push(`${rname}\u0001${kind}\u0001${sv.text}`);
    else for (const sv of rule.services ?? res.services) parts.push(`${rname}\u0001A\u0001${sv.text}`);
  }
  return parts;
}

/** The access of a set of rules: the sorted, distinct parts of its rules (see ruleAccess). */
function accessSignature(idx: readonly number[], partsOf: (ri: number) => readonly string[]): string {
  const parts = new Set<string>();
  for (const ri of idx) for (const x of partsOf(ri)) parts.add(x);
  return parts.size === 1 ? parts.values().next().value! : [...parts].sort().join('\u0002');
}

export function assignClasses(policy: Policy, sel: Selection, previous: ReadonlyMap<string, number> | undefined): Classes {
  const accessOfSet = new Map<string, string>(); // rule-set signature → access signature
  const setCount = new Map<string, number>();
  const setRules = new Map<string, readonly number[]>();
  const resourceByName = new Map(policy.resources.map((r) => [r.name, r]));
  const ruleParts: Array<readonly string[] | undefined> = [];
  const partsOf = (ri: number) =>
    (ruleParts[ri] ??= ruleAccess(policy.rules[ri], resourceByName, sel.resourcePrefixes, sel.resourcePrefixes6));
  for (const d of sel.drafts) {
    if (!accessOfSet.has(d.sig)) {
      accessOfSet.set(d.sig, accessSignature(d.rules, partsOf));
      setRules.set(d.sig, d.rules);
    }
    setCount.set(d.sig, (setCount.get(d.sig) ?? 0) + 1);
  }
  const classIds = assignIds(new Set(accessOfSet.values()), previous, 'source classes');
  const classOfSet = new Map<string, number>();
  for (const [sig, acc] of accessOfSet) classOfSet.set(sig, classIds.get(acc)!);
  const subjects: Subject[] = sel.drafts.map((d) => ({
    kind: d.kind,
    id: d.id,
    name: d.name,
    organization: d.organization,
    roles: d.roles,
    endpoints: d.endpoints,
    rules: d.rules,
    classId: classOfSet.get(d.sig)!,
  }));
  const ruleSetsOfClass = new Map<number, Array<readonly number[]>>();
  for (const [sig, cls] of [...classOfSet].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))) {
    const l = ruleSetsOfClass.get(cls);
    if (l) l.push(setRules.get(sig)!);
    else ruleSetsOfClass.set(cls, [setRules.get(sig)!]);
  }
  return { classIds, classOfSet, setCount, subjects, subjectById: new Map(subjects.map((s) => [s.id, s])), ruleSetsOfClass };
}
