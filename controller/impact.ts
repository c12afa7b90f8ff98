/**
 * Impact on real traffic before an apply: beside who gains and who loses (the access diff of a dry run), the
 * connections actually seen recently that the change would cut or open.
 *  - cut:  a lost (user, resource) whose class carried traffic to that resource through an allow flow within the
 *          window (rule counters, controller/stats.ts `cells`), with the user's own last traffic (classification counters);
 *  - open: a gained (user, resource, service) that the deny log (controller/denials.ts) shows denied within the window.
 * Read-only over what the observer already holds; nothing is polled or sent.
 */
import type { AccessChange } from '../compiler/query.js';
import type { Compiled } from '../compiler/compile.js';
import type { Observer } from './observe.js';
import { decideOn } from '../compiler/query.js';
import { parseService } from '../compiler/addr.js';

export interface SeenChange {
  readonly subject: string;
  readonly resource: string;
  readonly service: string;
  readonly rule: string;
  /** When traffic of this kind was last seen (ISO). */
  readonly lastSeen: string;
  /** cut: the user's class reached the resource (counters); open: denied samples in the deny log. */
  readonly evidence: 'counters' | 'deny-log';
  /** open: denied samples counted; cut: the user's own last traffic (ISO), if any. */
  readonly denied?: number;
  readonly userLastSeen?: string;
}

export interface SeenImpact {
  readonly since: string;
  readonly cut: SeenChange[];
  readonly open: SeenChange[];
}

/** `tcp/8000-8099` covers `tcp/8042`; equal texts match; `any` covers all. */
function covers(outer: string, inner: string): boolean {
  if (outer === inner || outer === 'any') return true;
  const o = /^(tcp|udp)\/(\d+)(?:-(\d+))?$/.exec(outer),
    i = /^(tcp|udp)\/(\d+)$/.exec(inner);
  if (!o || !i || o[1] !== i[1]) return false;
  const p = Number(i[2]);
  return Number(o[2]) <= p && p <= Number(o[3] ?? o[2]);
}

/** How many IPv4 addresses a resource's prefixes hold (the narrowest of nested resources is the most specific). */
function sizeOf(c: Compiled, resource: string): number {
  return (c.resourcePrefixes.get(resource) ?? []).reduce((n, p) => n + 2 ** (32 - p.len), 0) || Infinity;
}

/**
 * The lost (user, resource) pairs whose traffic was seen, one per destination class that carried it: traffic to an
 * address in nested resources (a /24 inside a /16) is one destination class, reported once, under the most specific
 * resource the user loses; and not at all when the new policy still lets the user reach that destination class on
 * the lost service (a more specific allow still covers it).
 */
function seenCuts(
  c: Compiled,
  after: Compiled | undefined,
  traffic: Observer['traffic'],
  losses: readonly AccessChange[],
  since: number,
): Array<{ a: AccessChange; hit: number }> {
  const bySubject = new Map<string, AccessChange[]>();
  for (const a of losses) bySubject.set(a.subject, [...(bySubject.get(a.subject) ?? []), a]);
  const byClass = new Map<number, Array<{ resources: readonly string[]; lastHit: number }>>();
  for (const d of traffic.destinations.values()) if (d.lastHit >= since) byClass.set(d.classId, [...(byClass.get(d.classId) ?? []), d]);
  const out = new Map<string, { a: AccessChange; hit: number }>();
  for (const [subject, lost] of bySubject) {
    const cls = c.subjectById.get(subject)?.classId;
    const now = after?.subjectById.get(subject);
    for (const d of cls === undefined ? [] : (byClass.get(cls) ?? [])) {
      const inRes = new Set(d.resources);
      const cut = lost.filter((a) => {
        if (!inRes.has(a.resource)) return false;
        const svc = parseService(a.service);
        // still reachable after the change (another resource of this destination allows the service): not cut
        return !now || 'error' in svc || decideOn(after!, now, inRes, svc).decision !== 'allow';
      });
      if (!cut.length) continue;
      const best = cut.reduce((x, y) => (sizeOf(c, y.resource) < sizeOf(c, x.resource) ? y : x));
      const k = `${subject}\u0000${best.resource}`;
      const had = out.get(k);
      if (!had || had.hit < d.lastHit) out.set(k, { a: best, hit: d.lastHit });
    }
  }
  return [...out.values()];
}

/** What the change would cut or open of what was seen in the window; `after` is the compiled change (without it, no "still allowed" check). */
export function seenImpact(
  c: Compiled,
  observe: Pick<Observer, 'traffic' | 'denials'>,
  access: readonly AccessChange[],
  now: number,
  opts: { readonly after?: Compiled; readonly windowMs?: number } = {},
): SeenImpact {
  const since = now - (opts.windowMs ?? 24 * 3600_000);
  const cut: SeenChange[] = [],
    open: SeenChange[] = [];
  for (const { a, hit } of seenCuts(
    c,
    opts.after,
    observe.traffic,
    access.filter((x) => x.change === 'lose'),
    since,
  )) {
    const mine = observe.traffic.subjects.get(a.subject)?.lastHit;
    cut.push({
      subject: a.subject,
      resource: a.resource,
      service: a.service,
      rule: a.rule,
      lastSeen: new Date(hit).toISOString(),
      evidence: 'counters',
      ...(mine !== undefined ? { userLastSeen: new Date(mine).toISOString() } : {}),
    });
  }
  for (const a of access) {
    if (a.change === 'gain') {
      const ds = observe.denials
        .query({ user: a.subject, resource: a.resource, since, kind: 'deny', limit: 1000 })
        .filter((d) => d.services.some((s) => covers(a.service, s)));
      if (!ds.length) continue;
      open.push({
        subject: a.subject,
        resource: a.resource,
        service: a.service,
        rule: a.rule,
        lastSeen: ds[0].lastSeen,
        evidence: 'deny-log',
        denied: ds.reduce((n, d) => n + d.count, 0),
      });
    }
  }
  return { since: new Date(since).toISOString(), cut, open };
}
