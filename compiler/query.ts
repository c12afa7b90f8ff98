/**
 * Questions about a compiled policy: decide (the policy's answer), explain (the policy's answer and the flows
 * on each switch of the path that implement it), verify (the flow tables agree with the policy everywhere),
 * the access matrix and who gains or loses access between two compiles.
 */
import { u32ToIpv4 } from '../openflow/buffer.js';
import { flowIdentity, matchText } from '../openflow/identity.js';
import { compareText } from './order.js';
import type { FlowPlan, PlannedFlow, SwitchPlan } from './model.js';
import type { Compiled, Subject, Endpoint } from './compiled.js';
import { canonicalIpv6, ipv6Text, parseIpv4, parseService, type Service } from './addr.js';
import { FlowTables, matchesOverlap, type Outcome, type Packet } from './interpreter.js';
import { monitorMismatch } from './monitor.js';
import { decideFor, ECHO6, type Decision } from './decide.js';

export { decideFor, decideOn, type Decision } from './decide.js';

export class QueryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueryError';
  }
}

/** Address family of a query: 4, 6, or undefined = IPv4 where the target has it, else IPv6. */
export type Family = 4 | 6;

/** Is this an IPv6 address text? */
const isV6 = (ip: string) => ip.includes(':');

function resolveFrom(c: Compiled, from: string, family?: Family): { subject: Subject; endpoint?: Endpoint } {
  const s = c.subjectById.get(from);
  const has = (e: Endpoint) => (family === 6 ? !!e.ipv6?.length : !!e.ip);
  if (s) return { subject: s, endpoint: s.endpoints.find(has) ?? s.endpoints.find((e) => e.ip || e.ipv6?.length) ?? s.endpoints[0] };
  const v6 = canonicalIpv6(from);
  for (const sub of c.subjects)
    for (const e of sub.endpoints)
      if (e.ip === from || e.mac === from.toLowerCase() || (v6 !== undefined && e.ipv6?.includes(v6))) return { subject: sub, endpoint: e };
  throw new QueryError(`'${from}' is not a user, server or known device address`);
}

function resolveTo(c: Compiled, to: string, family?: Family): { ip: string; resource?: string } {
  if (parseIpv4(to) !== undefined) return { ip: to };
  const v6 = canonicalIpv6(to);
  if (v6 !== undefined) return { ip: v6 };
  const ps = c.resourcePrefixes.get(to);
  const ps6 = c.resourcePrefixes6?.get(to);
  if (ps && ps.length && family !== 6) {
    const p = ps[0];
    return { ip: u32ToIpv4(p.len === 32 ? p.addr : p.len === 31 ? p.addr : (p.addr + 1) >>> 0), resource: to };
  }
  if (ps6 && ps6.length && family !== 4) {
    const p = ps6[0];
    return { ip: ipv6Text(p.len >= 127 ? p.addr : p.addr + 1n), resource: to };
  }
  const server = c.input.topology.servers.find((s) => s.name === to);
  if (server)
    return { ip: family === 6 && server.ipv6?.length ? (server.ipv6.find((a) => !a.startsWith('fe80:')) ?? server.ip) : server.ip };
  const sub = c.subjectById.get(to);
  const ip =
    family === 6
      ? sub?.endpoints.find((e) => e.ipv6?.length)?.ipv6?.[0]
      : (sub?.endpoints.find((e) => e.ip)?.ip ?? sub?.endpoints.find((e) => e.ipv6?.length)?.ipv6?.[0]);
  if (ip) return { ip };
  throw new QueryError(`'${to}' is not a resource, server or address${family ? ` (IPv${family})` : ''}`);
}

function toService(service: string): Service {
  const s = parseService(service);
  if ('error' in s) throw new QueryError(s.error);
  return s;
}

export function decide(c: Compiled, from: string, to: string, service: string, family?: Family): Decision {
  const { subject } = resolveFrom(c, from, family);
  return decideFor(c, subject, resolveTo(c, to, family).ip, toService(service));
}

/** A probe packet from an endpoint to an address (IPv6 when the address is), for the interpreter. */
export function packetFor(e: Endpoint, ip: string, s: Service, inPort: number): Packet {
  const v6 = isV6(ip);
  const base = { inPort, ethSrc: e.mac, ethType: v6 ? 0x86dd : 0x0800, ipSrc: v6 ? (e.ipv6?.[0] ?? '::') : e.ip!, ipDst: ip };
  switch (s.proto) {
    case 'tcp':
      return { ...base, ipProto: 6, tpSrc: 40000, tpDst: s.from ?? 0 };
    case 'udp':
      return { ...base, ipProto: 17, tpSrc: 40000, tpDst: s.from ?? 0 };
    case 'icmp':
      return { ...base, ipProto: 1, icmpType: 8 };
    case 'icmpv6':
      return { ...base, ipProto: 58, icmpType: s.icmpType ?? 128 };
    case 'any':
      return { ...base, ipProto: 6, tpSrc: 40000, tpDst: 1 };
  }
}

export interface HopExplanation {
  readonly switch: string;
  readonly inPort: number;
  readonly verdict: Outcome['verdict'];
  readonly flows: ReadonlyArray<{
    readonly table: number;
    readonly priority: number;
    readonly origin: string;
    readonly cookie: string;
    readonly match: string;
  }>;
}

export interface Explanation extends Decision {
  readonly from: string;
  readonly to: string;
  readonly ip: string;
  readonly service: string;
  /** What the flow tables do along the path (empty when the source device is not attached anywhere yet). */
  readonly path: readonly HopExplanation[];
  /** Do the flows agree with the policy's decision? */
  readonly consistent: boolean;
}

/** Switch-level path by BFS over links; each hop with its ingress port. */
function pathBetween(c: Compiled, fromSw: string, fromPort: number, toSw: string | undefined): Array<{ sw: string; inPort: number }> {
  if (!toSw || toSw === fromSw) return [{ sw: fromSw, inPort: fromPort }];
  const adj = new Map<string, Array<{ to: string; outPort: number; inPort: number }>>();
  for (const l of c.input.topology.links) {
    adj.set(l.a.switch, [...(adj.get(l.a.switch) ?? []), { to: l.b.switch, outPort: l.a.port, inPort: l.b.port }]);
    adj.set(l.b.switch, [...(adj.get(l.b.switch) ?? []), { to: l.a.switch, outPort: l.b.port, inPort: l.a.port }]);
  }
  const prev = new Map<string, { from: string; inPort: number }>();
  const queue = [fromSw];
  const seen = new Set([fromSw]);
  while (queue.length) {
    const s = queue.shift()!;
    if (s === toSw) break;
    for (const n of adj.get(s) ?? [])
      if (!seen.has(n.to)) {
        seen.add(n.to);
        prev.set(n.to, { from: s, inPort: n.inPort });
        queue.push(n.to);
      }
  }
  if (!prev.has(toSw)) return [{ sw: fromSw, inPort: fromPort }];
  const hops: Array<{ sw: string; inPort: number }> = [];
  for (let s = toSw; s !== fromSw;) {
    const p = prev.get(s)!;
    hops.unshift({ sw: s, inPort: p.inPort });
    s = p.from;
  }
  return [{ sw: fromSw, inPort: fromPort }, ...hops];
}

const tablesCache = new WeakMap<SwitchPlan, FlowTables>();
export function tablesOf(sp: SwitchPlan): FlowTables {
  let t = tablesCache.get(sp);
  if (!t) tablesCache.set(sp, (t = new FlowTables(sp.flows)));
  return t;
}

export function explain(c: Compiled, from: string, to: string, service: string, family?: Family): Explanation {
  const dst = resolveTo(c, to, family);
  const { subject, endpoint } = resolveFrom(c, from, isV6(dst.ip) ? 6 : 4);
  const svc = toService(service);
  const d = decideFor(c, subject, dst.ip, svc);
  const path: HopExplanation[] = [];
  let consistent = true;
  if (endpoint?.switch && endpoint.port !== undefined && (isV6(dst.ip) ? endpoint.ipv6?.length : endpoint.ip)) {
    const dstEp = isV6(dst.ip)
      ? c.subjects.flatMap((s) => s.endpoints).find((e) => e.ipv6?.includes(dst.ip) && e.switch)
      : c.subjects.flatMap((s) => s.endpoints).find((e) => e.ip && parseIpv4(e.ip) === parseIpv4(dst.ip) && e.switch);
    const pkt0 = packetFor(endpoint, dst.ip, svc, endpoint.port);
    let reached = true,
      monitored = false;
    for (const hop of pathBetween(c, endpoint.switch, endpoint.port, dstEp?.switch)) {
      const sp = c.plan.switches.find((s) => s.name === hop.sw);
      if (!sp) break;
      const out = tablesOf(sp).apply({ ...pkt0, inPort: hop.inPort });
      path.push({
        switch: hop.sw,
        inPort: hop.inPort,
        verdict: out.verdict,
        flows: out.hits.map((h) => ({
          table: h.tableId,
          priority: h.flow.priority,
          origin: h.flow.origin,
          cookie: '0x' + h.flow.cookie.toString(16),
          match: matchText(h.flow.match),
        })),
      });
      if (out.monitored) monitored = true;
      if (out.verdict !== 'forward') {
        reached = false;
        break;
      }
    }
    // a monitored deny is sampled where the packet enters (its first switch)
    consistent = reached === (d.decision === 'allow') && monitored === (!!d.wouldDeny || (reached && !!c.input.sampleAllowed));
  }
  return { ...d, from, to, ip: dst.ip, service: svc.text, path, consistent };
}

// ---------- verify ----------

export interface VerifyProblem {
  readonly kind: 'mismatch' | 'overlap';
  readonly switch: string;
  readonly message: string;
}
export interface VerifyReport {
  readonly ok: boolean;
  readonly checked: number;
  readonly problems: readonly VerifyProblem[];
}

/** All services the policy mentions, plus probes just outside them. */
function probeServices(c: Compiled): Service[] {
  const out = new Map<string, Service>();
  const add = (s: Service) => out.set(s.text, s);
  for (const r of c.input.policy.resources)
    for (const s of r.services) {
      if (s.proto === 'tcp' || s.proto === 'udp') {
        add({ proto: s.proto, from: s.from, to: s.from, text: `${s.proto}/${s.from}` });
        if (s.to !== s.from) add({ proto: s.proto, from: s.to, to: s.to, text: `${s.proto}/${s.to}` });
        if ((s.to ?? 0) < 65535) add({ proto: s.proto, from: s.to! + 1, to: s.to! + 1, text: `${s.proto}/${s.to! + 1}` });
      } else if (s.proto === 'icmp') add(s);
      else if (s.proto === 'icmpv6') add(s.icmpType === undefined ? ECHO6 : s);
    }
  for (const r of c.input.policy.rules)
    for (const s of r.services ?? []) {
      if (s.proto === 'tcp' || s.proto === 'udp') add({ proto: s.proto, from: s.from, to: s.from, text: `${s.proto}/${s.from}` });
      else if (s.proto === 'icmpv6') add(s.icmpType === undefined ? ECHO6 : s);
    }
  add({ proto: 'tcp', from: 22, to: 22, text: 'tcp/22' });
  add({ proto: 'icmp', text: 'icmp' });
  if (c.dest6?.length) {
    add(ECHO6);
    add({ proto: 'icmpv6', icmpType: 1, text: 'icmpv6/1' });
  }
  return [...out.values()];
}

export function verify(c: Compiled, opts: { maxChecks?: number } = {}): VerifyReport {
  const problems: VerifyProblem[] = [];
  let checked = 0;
  const max = opts.maxChecks ?? 200_000;
  const services = probeServices(c);
  // One representative bound endpoint per class first, then every other bound subject (as far as maxChecks
  // allows): classes merge subjects whose rules differ but whose access is the same, and this checks that too.
  // IPv4 and IPv6 alike: sources with an address of the family, targets of that family
  const families: Array<{ subjects: Array<{ subject: Subject; endpoint: Endpoint }>; targets: string[] }> = [];
  for (const v6 of [false, true]) {
    const reps = new Map<number, { subject: Subject; endpoint: Endpoint }>();
    const others: Array<{ subject: Subject; endpoint: Endpoint }> = [];
    for (const s of c.subjects) {
      const e = s.endpoints.find((x) => x.switch && x.port !== undefined && (v6 ? x.ipv6?.length : x.ip));
      if (!e) continue;
      if (!reps.has(s.classId)) reps.set(s.classId, { subject: s, endpoint: e });
      else others.push({ subject: s, endpoint: e });
    }
    const targets = v6
      ? (c.dest6 ?? []).filter((d) => d.dstClass).map((d) => ipv6Text(d.prefix6.len >= 127 ? d.prefix6.addr : d.prefix6.addr + 1n))
      : c.dest.filter((d) => d.dstClass).map((d) => u32ToIpv4(d.prefix.len === 32 ? d.prefix.addr : (d.prefix.addr + 1) >>> 0));
    if (targets.length) families.push({ subjects: [...reps.values(), ...others], targets });
  }
  // Each packet is replayed hop by hop from its source port to the switch of the address's owner (when bound), as
  // on the wire; a destination hypervisor must also decide alone (it enforces again in front of its servers).
  const ownerSwitch = new Map<string, string>();
  for (const s of c.subjects)
    for (const e of s.endpoints)
      if (e.switch) {
        if (e.ip) ownerSwitch.set(e.ip, e.switch);
        for (const a of e.ipv6 ?? []) ownerSwitch.set(a, e.switch);
      }
  const plans = new Map(c.plan.switches.map((sp) => [sp.name, sp]));
  const paths = new Map<string, Array<{ sw: string; inPort: number }>>();
  const pathOf = (e: Endpoint, ip: string) => {
    const to = ownerSwitch.get(ip);
    const k = `${e.switch}\u0000${e.port}\u0000${to ?? ''}`;
    let p = paths.get(k);
    if (!p) paths.set(k, (p = pathBetween(c, e.switch!, e.port!, to)));
    return p;
  };
  outer: for (const { subjects, targets } of families)
    for (const { subject, endpoint } of subjects) {
      if (!plans.has(endpoint.switch!)) continue;
      for (const ip of targets) {
        const hops = pathOf(endpoint, ip);
        const last = hops.length > 1 ? plans.get(hops[hops.length - 1].sw) : undefined;
        for (const svc of services) {
          if (++checked > max) break outer;
          const { decision: want, wouldDeny } = decideFor(c, subject, ip, svc);
          const pkt = packetFor(endpoint, ip, svc, endpoint.port!);
          let got: 'allow' | 'deny' = 'allow';
          let at = endpoint.switch!;
          let monitored: boolean | undefined;
          for (const h of hops) {
            const sp = plans.get(h.sw);
            if (!sp) break;
            at = h.sw;
            const out = tablesOf(sp).apply({ ...pkt, inPort: h.inPort });
            monitored ??= !!out.monitored;
            if (out.verdict !== 'forward') {
              got = 'deny';
              break;
            }
          }
          const mm =
            want === 'allow' &&
            got === 'allow' &&
            monitorMismatch(`${subject.id} -> ${ip} ${svc.text}`, wouldDeny, !!monitored, !!c.input.sampleAllowed);
          if (mm) problems.push({ kind: 'mismatch', switch: endpoint.switch!, message: mm });
          if (want !== got)
            problems.push({
              kind: 'mismatch',
              switch: at,
              message: `${subject.id} -> ${ip} ${svc.text}: policy says ${want}, flows on the path ${got} (at ${at})`,
            });
          else if (last?.kind === 'hypervisor') {
            const alone = tablesOf(last).apply({ ...pkt, inPort: hops[hops.length - 1].inPort }).verdict === 'forward' ? 'allow' : 'deny';
            if (alone !== want)
              problems.push({
                kind: 'mismatch',
                switch: last.name,
                message: `${subject.id} -> ${ip} ${svc.text}: policy says ${want}, destination edge ${last.name} alone ${alone}`,
              });
          }
        }
      }
    }
  for (const sp of c.plan.switches) problems.push(...overlaps(sp));
  return { ok: problems.length === 0, checked, problems };
}

/**
 * Two flows of equal priority in one table that can match the same packet but act differently. Flows are compared
 * within (table, priority); inside that, flows with an exact value on the most common (field, mask) can only
 * overlap flows with the same value there or without that field, so those buckets are compared instead of all pairs.
 */
export function overlaps(sp: SwitchPlan): VerifyProblem[] {
  const out: VerifyProblem[] = [];
  const groups = new Map<string, PlannedFlow[]>();
  for (const f of sp.flows) {
    const k = `${f.tableId}/${f.priority}`;
    const g = groups.get(k);
    if (g) g.push(f);
    else groups.set(k, [f]);
  }
  const actKey = new Map<PlannedFlow, string>();
  const act = (f: PlannedFlow) => {
    let a = actKey.get(f);
    if (a === undefined) actKey.set(f, (a = JSON.stringify(f.instructions, (_, v) => (typeof v === 'bigint' ? v.toString() : v))));
    return a;
  };
  const report = (a: PlannedFlow, b: PlannedFlow) => {
    if (act(a) === act(b) || !matchesOverlap(a.match, b.match)) return;
    out.push({
      kind: 'overlap',
      switch: sp.name,
      message: `table ${a.tableId} priority ${a.priority}: ${matchText(a.match)} (${a.origin}) overlaps ${matchText(b.match)} (${b.origin}) with different actions`,
    });
  };
  for (const g of groups.values()) {
    if (g.length < 2) continue;
    if (new Set(g.map(act)).size < 2) continue;
    const counts = new Map<string, number>();
    for (const f of g)
      for (const e of f.match) {
        const k = `${e.field}/${String(e.mask)}`;
        counts.set(k, (counts.get(k) ?? 0) + 1);
      }
    let best = '',
      n = 0;
    for (const [k, c] of counts)
      if (c > n) {
        best = k;
        n = c;
      }
    const buckets = new Map<string, PlannedFlow[]>();
    const rest: PlannedFlow[] = [];
    for (const f of g) {
      const e = f.match.find((x) => `${x.field}/${String(x.mask)}` === best);
      if (!e) {
        rest.push(f);
        continue;
      }
      const k = String(e.value).toLowerCase();
      const b = buckets.get(k);
      if (b) b.push(f);
      else buckets.set(k, [f]);
    }
    for (const b of buckets.values()) for (let i = 0; i < b.length; i++) for (let j = i + 1; j < b.length; j++) report(b[i], b[j]);
    for (let i = 0; i < rest.length; i++) {
      for (let j = i + 1; j < rest.length; j++) report(rest[i], rest[j]);
      for (const b of buckets.values()) for (const f of b) report(rest[i], f);
    }
  }
  return out;
}

// ---------- matrix and diffs ----------

export interface AccessCell {
  readonly subject: string;
  readonly kind: 'user' | 'server';
  readonly resource: string;
  readonly service: string;
  readonly decision: 'allow' | 'deny';
  readonly rule: string;
  /** 6 for the IPv6 addresses of a resource (absent: IPv4). */
  readonly family?: 6;
}
export interface AccessMatrix {
  readonly subjects: ReadonlyArray<{ id: string; name: string; kind: 'user' | 'server'; organization?: string; roles: readonly string[] }>;
  readonly resources: ReadonlyArray<{ name: string; services: readonly string[] }>;
  /** The organization tree (a rule naming an organization includes its sub-organizations). */
  readonly organizations: ReadonlyArray<{ name: string; parent?: string }>;
  readonly cells: readonly AccessCell[];
}

export function accessMatrix(c: Compiled): AccessMatrix {
  const cells: AccessCell[] = [];
  for (const s of c.subjects)
    for (const r of c.input.policy.resources) {
      const ps = c.resourcePrefixes.get(r.name) ?? [];
      if (ps.length) {
        const ip = resolveTo(c, r.name, 4).ip;
        for (const svc of r.services) {
          if (svc.proto === 'icmpv6') continue;
          const d = decideFor(c, s, ip, svc);
          cells.push({ subject: s.id, kind: s.kind, resource: r.name, service: svc.text, decision: d.decision, rule: d.rule });
        }
      }
      if (c.resourcePrefixes6?.get(r.name)?.length) {
        const ip = resolveTo(c, r.name, 6).ip;
        for (const svc of r.services) {
          if (svc.proto === 'icmp') continue;
          const d = decideFor(c, s, ip, svc);
          cells.push({ subject: s.id, kind: s.kind, resource: r.name, service: svc.text, decision: d.decision, rule: d.rule, family: 6 });
        }
      }
    }
  return {
    subjects: c.subjects.map((s) => ({ id: s.id, name: s.name, kind: s.kind, organization: s.organization, roles: s.roles })),
    resources: c.input.policy.resources.map((r) => ({ name: r.name, services: r.services.map((s) => s.text) })),
    organizations: c.input.directory.organizations.map((o) => ({ name: o.name, ...(o.parent ? { parent: o.parent } : {}) })),
    cells,
  };
}

export interface AccessChange {
  readonly subject: string;
  readonly resource: string;
  readonly service: string;
  readonly change: 'gain' | 'lose';
  readonly rule: string;
}

export function diffAccess(before: Compiled, after: Compiled): AccessChange[] {
  const key = (x: AccessCell) => `${x.subject}\u0000${x.resource}\u0000${x.service}\u0000${x.family ?? 4}`;
  const a = new Map(
    accessMatrix(before)
      .cells.filter((x) => x.decision === 'allow')
      .map((x) => [key(x), x]),
  );
  const b = new Map(
    accessMatrix(after)
      .cells.filter((x) => x.decision === 'allow')
      .map((x) => [key(x), x]),
  );
  const out: AccessChange[] = [];
  const svc = (x: AccessCell) => (x.family === 6 ? `${x.service} (IPv6)` : x.service);
  for (const [k, x] of b)
    if (!a.has(k)) out.push({ subject: x.subject, resource: x.resource, service: svc(x), change: 'gain', rule: x.rule });
  for (const [k, x] of a)
    if (!b.has(k)) out.push({ subject: x.subject, resource: x.resource, service: svc(x), change: 'lose', rule: x.rule });
  return out.sort((x, y) => compareText(x.subject, y.subject) || compareText(x.resource, y.resource) || compareText(x.service, y.service));
}

export { flowIdentity };

export interface PlanDiff {
  readonly switch: string;
  readonly added: readonly PlannedFlow[];
  readonly removed: readonly PlannedFlow[];
  readonly unchanged: number;
}

export function diffPlans(before: FlowPlan, after: FlowPlan): PlanDiff[] {
  const names = [...new Set([...before.switches.map((s) => s.name), ...after.switches.map((s) => s.name)])].sort();
  return names.map((n) => {
    const a = before.switches.find((s) => s.name === n)?.flows ?? [];
    const b = after.switches.find((s) => s.name === n)?.flows ?? [];
    const ak = new Map(a.map((f) => [flowIdentity(f), f]));
    const bk = new Map(b.map((f) => [flowIdentity(f), f]));
    const added = [...bk].filter(([k]) => !ak.has(k)).map(([, f]) => f);
    const removed = [...ak].filter(([k]) => !bk.has(k)).map(([, f]) => f);
    return { switch: n, added, removed, unchanged: b.length - added.length };
  });
}
