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

export function seenImpact(
  c: Compiled,
  observe: Pick<Observer, 'traffic' | 'denials'>,
  access: readonly AccessChange[],
  now: number,
  windowMs = 24 * 3600_000,
): SeenImpact {
  const since = now - windowMs;
  const classOf = new Map(c.subjects.map((s) => [s.id, s.classId]));
  const cut: SeenChange[] = [],
    open: SeenChange[] = [];
  const seenCut = new Set<string>();
  for (const a of access) {
    if (a.change === 'lose') {
      const cls = classOf.get(a.subject);
      const hit = cls === undefined ? undefined : observe.traffic.cells.get(`${cls}|${a.resource}`);
      const k = `${a.subject}\u0000${a.resource}`;
      if (hit === undefined || hit < since || seenCut.has(k)) continue;
      seenCut.add(k);
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
    } else {
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
