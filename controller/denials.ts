/**
 * The deny log: sampled denied packets (packet-ins from deny-sample flows and from discovery), decoded,
 * attributed to people and policy, and aggregated so that a scan is one line.
 *
 * - who: the user (name, organization, roles) or server owning the source MAC, else "unknown device";
 * - where: switch:port; what: destination address, the resources it lies in, the service;
 * - which rule decided: an explicit deny rule, `default`, `unclassified` (unknown device / spoofed address);
 * - first/last seen and count; one entry per (source, switch:port, destination, protocol, rule) while active
 *   (a port scan of one host is one entry listing the ports it tried).
 * Bounded: a ring of entries in memory; JSON lines appended to a file that is rotated at a size limit.
 */
import { appendFile, rename, stat } from 'node:fs/promises';
import type { Compiled, Subject } from '../compiler/compile.js';
import { parseIpv4, prefixHas, serviceCovers, type Service } from '../compiler/addr.js';
import { decodeFrame, serviceOf, type DecodeErrorCode, type DecodedFrame } from './packet.js';

export type DenialKind = 'deny' | 'would-deny';

export interface Denial {
  readonly id: number;
  readonly kind: DenialKind;
  /** user id or server name; absent for an unknown device */
  user?: string;
  name?: string;
  subjectKind: 'user' | 'server' | 'unknown';
  organization?: string;
  roles?: readonly string[];
  readonly mac: string;
  readonly srcIp?: string;
  readonly switch: string;
  readonly port: number;
  readonly dst?: string;
  resources: readonly string[];
  /** The first service seen; `services` lists up to 32 distinct ones, `distinctServices` counts them all. */
  readonly service: string;
  services: string[];
  distinctServices: number;
  readonly proto: string;
  /**
   * The deciding rule: a deny rule's name, `default`, `unclassified` (unknown device, spoofed or misplaced
   * source), or `out-of-sync` (the switch dropped what the policy allows: its flows lag the plan).
   */
  readonly rule: string;
  readonly reason: string;
  /** For a would-deny sample: the monitored change that would deny it. */
  readonly monitor?: string;
  readonly firstSeen: string;
  lastSeen: string;
  count: number;
}

export interface DenialQuery {
  readonly user?: string;
  readonly resource?: string;
  readonly since?: number;
  readonly switch?: string;
  readonly rule?: string;
  readonly kind?: DenialKind;
  readonly dst?: string;
  readonly limit?: number;
}

export interface DenialLogOptions {
  /** Entries kept in memory (default 5,000). */
  readonly maxEntries?: number;
  /** An entry idle for longer is closed; the same traffic later starts a new one (default 10 minutes). */
  readonly aggregateMs?: number;
  /** JSON-lines file (absent: memory only). */
  readonly file?: string;
  /** Rotate the file beyond this size (default 16 MiB), keeping `keepFiles` old ones (default 3). */
  readonly maxFileBytes?: number;
  readonly keepFiles?: number;
  /** How often changed entries are written (ms, default 2,000). */
  readonly flushMs?: number;
  readonly now?: () => number;
}

/** What the switch told us besides the bytes. */
export interface SampleMeta {
  readonly switch: string;
  readonly port: number;
  /** 'policy' (a deny flow of table 2), 'discovery' (table 0), 'monitor' (a would-deny sample). */
  readonly source: 'policy' | 'discovery' | 'monitor';
  /** Explicit deny flow (true) or the default deny (false); from the flow's cookie. */
  readonly explicit?: boolean;
  /** For monitor samples while a policy version is monitored: its compile (asked about every allowed request). */
  readonly candidate?: Compiled;
  readonly monitor?: string;
}

interface Lookup {
  readonly byMac: Map<string, Subject>;
  readonly byIp: Map<string, Subject>;
  readonly users: Map<string, { organization?: string; roles: readonly string[]; name: string }>;
  readonly resourcesOf: Map<string, readonly string[]>;
  readonly resourceServices: Map<string, readonly Service[]>;
}

const lookups = new WeakMap<Compiled, Lookup>();
function lookupOf(c: Compiled): Lookup {
  let l = lookups.get(c);
  if (l) return l;
  const byMac = new Map<string, Subject>();
  const byIp = new Map<string, Subject>();
  for (const s of c.subjects)
    for (const e of s.endpoints) {
      byMac.set(e.mac, s);
      if (e.ip) byIp.set(e.ip, s);
    }
  const users = new Map(c.input.directory.users.map((u) => [u.id, { organization: u.organization, roles: u.roles, name: u.name }]));
  lookups.set(
    c,
    (l = {
      byMac,
      byIp,
      users,
      resourcesOf: new Map(),
      resourceServices: new Map(c.input.policy.resources.map((r) => [r.name, r.services])),
    }),
  );
  return l;
}

function resourcesOf(c: Compiled, l: Lookup, ip: string): readonly string[] {
  let r = l.resourcesOf.get(ip);
  if (r) return r;
  const a = parseIpv4(ip);
  const out: string[] = [];
  if (a !== undefined) for (const [name, ps] of c.resourcePrefixes) if (ps.some((p) => prefixHas(p, a))) out.push(name);
  if (l.resourcesOf.size > 50_000) l.resourcesOf.clear();
  l.resourcesOf.set(ip, (r = out));
  return r;
}

/**
 * The policy's answer for a decoded frame from a known subject: decideFor's rules (deny rules first, then allow),
 * evaluated on the resources of the destination (cached per address) without re-parsing anything, so that a
 * scan over 65,535 ports costs a few rule checks per sample. Tests hold it equal to decideFor.
 */
export function decisionOf(
  c: Compiled,
  s: Subject,
  dst: string,
  service: string,
  monitored = false,
): { decision: 'allow' | 'deny'; rule: string; reason: string } {
  const l = lookupOf(c);
  const m = /^(tcp|udp)\/(\d+)$/.exec(service);
  const svc: Service | undefined = m
    ? { proto: m[1] as 'tcp' | 'udp', from: Number(m[2]), to: Number(m[2]), text: service }
    : service === 'icmp'
      ? { proto: 'icmp', text: 'icmp' }
      : undefined;
  const inRes = parseIpv4(dst) === undefined ? [] : resourcesOf(c, l, dst);
  if (!svc) return { decision: 'deny', rule: 'default', reason: `${service} to ${dst} is not something the policy can allow` };
  const rules = c.input.policy.rules;
  for (const i of s.rules) {
    const r = rules[i];
    // enforced rules decide; with `monitored`, monitored deny rules (mode: monitor) are asked first
    if (r.action !== 'deny' || (r.mode === 'monitor') !== monitored) continue;
    const hit = r.to.find((t) => inRes.includes(t));
    if (
      hit &&
      (!r.services ||
        r.services.some(
          (x) =>
            x.proto === 'any' ||
            serviceCovers(x, svc) ||
            (x.proto === svc.proto && (x.proto === 'icmp' || ((x.from ?? 0) <= svc.to! && svc.from! <= (x.to ?? 65535)))),
        ))
    ) {
      return { decision: 'deny', rule: r.name, reason: `rule '${r.name}' ${monitored ? 'would deny' : 'denies'} ${s.id} access to ${hit}` };
    }
  }
  if (monitored) return { decision: 'allow', rule: '', reason: 'no monitored rule denies it' };
  for (const i of s.rules) {
    const r = rules[i];
    if (r.action !== 'allow') continue;
    for (const t of r.to) {
      if (!inRes.includes(t)) continue;
      const svcs = r.services ?? l.resourceServices.get(t) ?? [];
      if (svcs.some((x) => serviceCovers(x, svc)))
        return { decision: 'allow', rule: r.name, reason: `rule '${r.name}' allows ${s.id} to reach ${t} on ${service}` };
    }
  }
  return {
    decision: 'deny',
    rule: 'default',
    reason: inRes.length ? `no rule allows ${s.id} to reach ${inRes.join(', ')} on ${service}` : `${dst} is in no resource`,
  };
}

/** Why a sample is logged: its kind, the deciding rule and the reason (undefined: not a denial, ignore it). */
function verdictOf(
  c: Compiled,
  f: DecodedFrame,
  meta: SampleMeta,
  p: { subject?: Subject; service: string; dst?: string; srcIp?: string },
): { kind: DenialKind; rule: string; reason: string; monitor?: string } | undefined {
  const { subject, service, dst, srcIp } = p;
  if (meta.source === 'discovery') {
    if (!subject) return { kind: 'deny', rule: 'unclassified', reason: 'unknown device' };
    const at = subject.endpoints.find((e) => e.mac === f.ethSrc)!;
    if (at.switch === undefined) return undefined; // not bound yet: being learned, not a denial
    if (at.switch === meta.switch && at.port === meta.port && (!srcIp || !at.ip || srcIp === at.ip || srcIp === '0.0.0.0'))
      return undefined;
    const reason =
      at.switch !== meta.switch || at.port !== meta.port
        ? `device seen on ${meta.switch}:${meta.port}, bound to ${at.switch}:${at.port}`
        : `source address ${srcIp} is not the device's ${at.ip}`;
    return { kind: 'deny', rule: 'unclassified', reason };
  }
  if (!subject || !dst || f.l3 === 'arp')
    return {
      kind: 'deny',
      rule: meta.explicit ? 'deny' : 'default',
      reason: subject ? `${service} to ${dst ?? '?'}` : 'source not in the directory',
    };
  if (meta.source === 'monitor') {
    // a monitored deny rule (mode: monitor) of the running compile
    const m = decisionOf(c, subject, dst, service, true);
    if (m.decision === 'deny') return { kind: 'would-deny', rule: m.rule, reason: m.reason };
    const cand = meta.candidate;
    // a monitored policy version samples all allowed traffic: only a request the running policy allows (not a
    // reply, nothing a monitored rule took) is asked of the candidate
    if (!cand || decisionOf(c, subject, dst, service).decision !== 'allow') return undefined;
    const cs = lookupOf(cand).byMac.get(f.ethSrc);
    const d = cs
      ? decisionOf(cand, cs, dst, service)
      : { decision: 'deny', rule: 'unclassified', reason: 'the device is not in the candidate version' };
    return d.decision === 'deny'
      ? {
          kind: 'would-deny',
          rule: d.rule,
          reason: `${meta.monitor ?? 'the candidate'}: ${d.reason}`,
          monitor: meta.monitor ?? 'candidate',
        }
      : undefined;
  }
  const d = decisionOf(c, subject, dst, service);
  return d.decision === 'deny'
    ? { kind: 'deny', rule: d.rule, reason: d.reason }
    : { kind: 'deny', rule: 'out-of-sync', reason: `the switch dropped ${service} that the policy allows (flows not yet in sync?)` };
}

const PROTO: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6', 132: 'sctp' };

export interface IngestCounters {
  samples: number;
  decodeErrors: number;
  ignored: number;
  /** Undecodable frames by why (only codes seen): the API's DecodeErrorCounts. */
  byCode: Partial<Record<DecodeErrorCode, number>>;
}

export class DenialLog {
  private readonly ring = new Map<number, Denial>();
  private readonly open = new Map<string, Denial>();
  private readonly keyOf = new Map<number, string>();
  private readonly dirty = new Set<Denial>();
  private readonly lastMs = new Map<number, number>();
  private isoAt = -1;
  private iso = '';
  private nextId = 1;
  private flushTimer?: NodeJS.Timeout;
  private writing: Promise<void> = Promise.resolve();
  private fileBytes = -1;
  readonly counters: IngestCounters = { samples: 0, decodeErrors: 0, ignored: 0, byCode: {} };
  private readonly opts: Required<Omit<DenialLogOptions, 'file'>> & { file?: string };
  /** Called with each new entry (the controller turns it into an event). */
  onNew?: (d: Denial) => void;

  constructor(opts: DenialLogOptions = {}) {
    this.opts = { maxEntries: 5000, aggregateMs: 600_000, maxFileBytes: 16 << 20, keepFiles: 3, flushMs: 2000, now: Date.now, ...opts };
  }

  start(): void {
    if (this.opts.file && !this.flushTimer) {
      this.flushTimer = setInterval(() => void this.flush(), this.opts.flushMs);
      this.flushTimer.unref();
    }
  }

  async stop(): Promise<void> {
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.flushTimer = undefined;
    await this.flush();
  }

  get size(): number {
    return this.ring.size;
  }

  /** One sampled packet. Returns the entry it was counted in, or undefined (undecodable or not a denial). */
  ingest(c: Compiled, data: Uint8Array, meta: SampleMeta): Denial | undefined {
    this.counters.samples++;
    const r = decodeFrame(data);
    if (!r.ok) {
      this.counters.decodeErrors++;
      this.counters.byCode[r.code] = (this.counters.byCode[r.code] ?? 0) + 1;
      return undefined;
    }
    return this.add(c, r.frame, meta);
  }

  private add(c: Compiled, f: DecodedFrame, meta: SampleMeta): Denial | undefined {
    const l = lookupOf(c);
    const subject = l.byMac.get(f.ethSrc);
    const service = serviceOf(f);
    const dst = f.l3 === 'arp' ? f.arpTpa : f.ipDst;
    const srcIp = f.l3 === 'arp' ? f.arpSpa : f.ipSrc;
    const v = verdictOf(c, f, meta, { subject, service, dst, srcIp });
    if (!v) return this.ignore();
    const { kind, rule, reason } = v;
    const proto = f.l3 === 'arp' ? 'arp' : f.l3 === 'other' ? 'other' : (PROTO[f.proto ?? -1] ?? `proto/${f.proto}`);
    const key = `${kind}|${f.ethSrc}|${meta.switch}|${meta.port}|${dst ?? ''}|${proto}|${rule}|${v.monitor ?? ''}`;
    const now = this.opts.now();
    let e = this.open.get(key);
    if (e && now - this.lastMs.get(e.id)! > this.opts.aggregateMs) {
      this.open.delete(key);
      e = undefined;
    }
    if (now !== this.isoAt) {
      this.isoAt = now;
      this.iso = new Date(now).toISOString();
    }
    const iso = this.iso;
    if (e) {
      this.lastMs.set(e.id, now);
      e.count++;
      e.lastSeen = iso;
      if (!e.services.includes(service)) {
        e.distinctServices++;
        if (e.services.length < 32) e.services.push(service);
      }
      this.dirty.add(e);
      return e;
    }
    const u = subject?.kind === 'user' ? l.users.get(subject.id) : undefined;
    e = {
      id: this.nextId++,
      kind,
      subjectKind: subject?.kind ?? 'unknown',
      mac: f.ethSrc,
      ...(srcIp ? { srcIp } : {}),
      ...(subject ? { user: subject.id, name: subject.name } : {}),
      ...(u?.organization ? { organization: u.organization } : {}),
      ...(u ? { roles: u.roles } : {}),
      switch: meta.switch,
      port: meta.port,
      ...(dst ? { dst } : {}),
      resources: dst && f.l3 !== 'arp' ? resourcesOf(c, l, dst) : [],
      service,
      services: [service],
      distinctServices: 1,
      proto,
      rule,
      reason,
      ...(v.monitor ? { monitor: v.monitor } : {}),
      firstSeen: iso,
      lastSeen: iso,
      count: 1,
    };
    this.ring.set(e.id, e);
    this.lastMs.set(e.id, now);
    this.open.set(key, e);
    this.keyOf.set(e.id, key);
    this.dirty.add(e);
    while (this.ring.size > this.opts.maxEntries) {
      const [oldId, old] = this.ring.entries().next().value as [number, Denial];
      this.ring.delete(oldId);
      this.lastMs.delete(oldId);
      const k = this.keyOf.get(oldId)!;
      this.keyOf.delete(oldId);
      if (this.open.get(k) === old) this.open.delete(k);
    }
    this.onNew?.(e);
    return e;
  }

  private ignore(): undefined {
    this.counters.ignored++;
    return undefined;
  }

  /** Newest first. */
  query(q: DenialQuery = {}): Denial[] {
    const out: Denial[] = [];
    const limit = Math.min(q.limit ?? 1000, 10_000);
    const all = [...this.ring.values()];
    for (let i = all.length - 1; i >= 0 && out.length < limit; i--) {
      const e = all[i];
      if (q.kind && e.kind !== q.kind) continue;
      if (q.user && e.user !== q.user && e.mac !== q.user.toLowerCase() && e.srcIp !== q.user) continue;
      if (q.resource && !e.resources.includes(q.resource) && e.dst !== q.resource) continue;
      if (q.dst && e.dst !== q.dst) continue;
      if (q.switch && e.switch !== q.switch) continue;
      if (q.rule && e.rule !== q.rule) continue;
      if (q.since !== undefined && Date.parse(e.lastSeen) < q.since) continue;
      out.push(e);
    }
    return out.sort((a, b) => Date.parse(b.lastSeen) - Date.parse(a.lastSeen) || b.id - a.id);
  }

  /** Writes the entries that changed since the last flush (one JSON line each; the last line of an id wins). */
  flush(): Promise<void> {
    const file = this.opts.file;
    if (!file || !this.dirty.size) return this.writing;
    const text = [...this.dirty].map((e) => JSON.stringify(e)).join('\n') + '\n';
    this.dirty.clear();
    this.writing = this.writing
      .then(async () => {
        if (this.fileBytes < 0)
          this.fileBytes = await stat(file).then(
            (s) => s.size,
            () => 0,
          );
        if (this.fileBytes + text.length > this.opts.maxFileBytes && this.fileBytes > 0) {
          for (let i = this.opts.keepFiles - 1; i >= 1; i--) await rename(`${file}.${i}`, `${file}.${i + 1}`).catch(() => undefined);
          await rename(file, `${file}.1`).catch(() => undefined);
          this.fileBytes = 0;
        }
        await appendFile(file, text);
        this.fileBytes += Buffer.byteLength(text);
      })
      .catch(() => undefined);
    return this.writing;
  }
}

/** `since` as an ISO time, a duration (30s, 15m, 2h, 7d) before now, or epoch ms. */
export function parseSince(s: string | undefined, now = Date.now()): number | undefined | { error: string } {
  if (s === undefined || s === '') return undefined;
  const m = /^(\d+)(s|m|h|d)$/.exec(s);
  if (m) return now - Number(m[1]) * { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 }[m[2] as 's' | 'm' | 'h' | 'd'];
  if (/^\d{10,15}$/.test(s)) return Number(s);
  const t = Date.parse(s);
  return Number.isNaN(t) ? { error: `'since' must be an ISO time or a duration like 15m, 2h, 7d` } : t;
}
