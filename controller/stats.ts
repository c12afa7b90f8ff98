/**
 * Traffic per rule: the controller reads the flow counters of every connected switch (multipart FLOW, our
 * cookies only) at an interval and attributes the packets and bytes each flow carried since the last read to
 * policy rules, resources, source classes (→ users, organizations, roles) and devices, by the flow's cookie
 * (compiler/observe.ts). Kept: totals since start, the time of the last hit, and a bounded time series per
 * rule and per resource. The last hit of every rule is saved to a state file, so "unused since N days"
 * survives restarts.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import type { FlowStats } from '../openflow/index.js';
import type { Compiled } from '../compiler/compile.js';
import type { SwitchPlan } from '../compiler/model.js';
import { attributePlan, type FlowAttribution } from '../compiler/observe.js';

export interface Counter {
  packets: number;
  bytes: number;
  lastHit?: number;
}
export interface SeriesPoint {
  readonly t: number;
  readonly packets: number;
  readonly bytes: number;
}

class Series {
  private readonly points: SeriesPoint[] = [];
  constructor(private readonly max: number) {}
  push(p: SeriesPoint): void {
    this.points.push(p);
    if (this.points.length > this.max) this.points.shift();
  }
  list(since = 0): SeriesPoint[] {
    return this.points.filter((p) => p.t >= since);
  }
}

interface Tracked extends Counter {
  series?: Series;
  replyPackets?: number;
  replyBytes?: number;
}

export interface TrafficOptions {
  /** Poll interval in ms (0 = no polling; `poll()` can still be called). Default 10,000. */
  readonly intervalMs?: number;
  /** Points kept per rule/resource series (default 360: an hour at 10 s). */
  readonly seriesPoints?: number;
  /** JSON file keeping every rule's last hit across restarts. */
  readonly stateFile?: string;
  readonly now?: () => number;
}

export interface PollResult {
  readonly switches: number;
  readonly flows: number;
  readonly ms: number;
  readonly errors: readonly string[];
}

/** One switch's flows as read: the read is separate so a benchmark or test can feed stats it got elsewhere. */
export type FlowReader = () => Array<{ switch: string; plan: SwitchPlan; read: () => Promise<readonly FlowStats[]> }>;

export class TrafficStats {
  readonly rules = new Map<string, Tracked>();
  readonly resources = new Map<string, Tracked>();
  readonly classes = new Map<number, Counter>();
  readonly subjects = new Map<string, Counter>();
  /** (class, resource) → last hit: "is this matrix cell in use". */
  readonly cells = new Map<string, number>();
  /**
   * (class, destination class) → the destination class's resources and last hit. An address in nested resources
   * (a /24 inside a /16) is one destination class: its traffic is one entry here, though `cells` credits each resource.
   */
  readonly destinations = new Map<string, { readonly classId: number; readonly resources: readonly string[]; lastHit: number }>();
  private readonly last = new Map<string, Map<bigint, { p: bigint; b: bigint }>>();
  private readonly attrCache = new WeakMap<SwitchPlan, Map<bigint, FlowAttribution>>();
  private timer?: NodeJS.Timeout;
  trackedSince: number;
  lastPoll?: { at: number } & PollResult;
  private readonly opts: Required<Omit<TrafficOptions, 'stateFile'>> & { stateFile?: string };
  private savedHits = new Map<string, number>();
  private dirty = false;

  constructor(
    private readonly compiled: () => Compiled,
    private readonly reader: FlowReader,
    opts: TrafficOptions = {},
  ) {
    this.opts = { intervalMs: 10_000, seriesPoints: 360, now: Date.now, ...opts };
    this.trackedSince = this.startedAt = this.opts.now();
  }
  private readonly startedAt: number;

  async start(): Promise<void> {
    if (this.opts.stateFile) {
      try {
        const st = JSON.parse(await readFile(this.opts.stateFile, 'utf8')) as { trackedSince?: unknown; lastHit?: Record<string, unknown> };
        if (typeof st.trackedSince === 'number' && st.trackedSince < this.trackedSince) this.trackedSince = st.trackedSince;
        for (const [k, v] of Object.entries(st.lastHit ?? {})) if (typeof v === 'number' && Number.isFinite(v)) this.savedHits.set(k, v);
      } catch {
        /* no state yet, or unreadable: start fresh */
      }
    }
    if (this.opts.intervalMs > 0 && !this.timer) {
      this.timer = setInterval(() => void this.poll(), this.opts.intervalMs);
      this.timer.unref();
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Reads every connected switch once and attributes what changed. Overlapping calls share one run. */
  private current?: Promise<PollResult>;
  poll(): Promise<PollResult> {
    if (this.current) return this.current;
    this.current = this.pollNow().finally(() => {
      this.current = undefined;
    });
    return this.current;
  }

  private async pollNow(): Promise<PollResult> {
    const t0 = performance.now();
    const errors: string[] = [];
    let flows = 0,
      switches = 0;
    const targets = this.reader();
    const reads = await Promise.all(
      targets.map(async (t) => {
        try {
          return { t, stats: await t.read() };
        } catch (e) {
          errors.push(`${t.switch}: ${(e as Error).message}`);
          return undefined;
        }
      }),
    );
    const now = this.opts.now();
    const c = this.compiled();
    const deltas = new Map<Tracked, { p: number; b: number }>();
    for (const r of reads) {
      if (!r) continue;
      switches++;
      flows += r.stats.length;
      this.attribute(c, r.t.switch, r.t.plan, r.stats, now, deltas);
    }
    for (const [t, d] of deltas) t.series?.push({ t: now, packets: d.p, bytes: d.b });
    if (this.dirty) void this.save();
    const res = { switches, flows, ms: performance.now() - t0, errors };
    this.lastPoll = { at: now, ...res };
    return res;
  }

  /** Attributes one switch's read counters (exposed for benchmarks and tests). */
  attribute(
    c: Compiled,
    sw: string,
    plan: SwitchPlan,
    stats: readonly FlowStats[],
    now: number,
    deltas = new Map<Tracked, { p: number; b: number }>(),
  ): void {
    let attr = this.attrCache.get(plan);
    if (!attr) this.attrCache.set(plan, (attr = attributePlan(c, plan)));
    let prev = this.last.get(sw);
    if (!prev) this.last.set(sw, (prev = new Map()));
    const seen = new Map<bigint, { p: bigint; b: bigint }>();
    for (const f of stats) {
      const a = attr.get(f.cookie);
      const before = prev.get(f.cookie);
      seen.set(f.cookie, { p: f.packetCount, b: f.byteCount });
      if (!a) continue;
      // a flow re-added (changed) starts again from zero: its whole count is new
      let dp = before && f.packetCount >= before.p ? f.packetCount - before.p : f.packetCount;
      let db = before && f.byteCount >= before.b ? f.byteCount - before.b : f.byteCount;
      // a flow older than this process counted before we watched: that history is not a hit now
      if (!before && f.durationSec * 1000 > now - this.startedAt + 2000) {
        dp = 0n;
        db = 0n;
      }
      if (dp === 0n) continue;
      const p = Number(dp),
        b = Number(db);
      const reply = a.role === 'reply';
      for (const r of a.rules) this.bump(this.rules, r, p, b, now, deltas, reply);
      // a monitored deny rule counts the packets it would have denied (they passed: the allow rule counts them too)
      for (const r of a.monitored ?? []) this.bump(this.rules, r, p, b, now, deltas, false);
      for (const r of a.resources) this.bump(this.resources, r, p, b, now, deltas, reply);
      if (a.classId !== undefined && !reply) {
        const k = this.classes.get(a.classId) ?? { packets: 0, bytes: 0 };
        k.packets += p;
        k.bytes += b;
        k.lastHit = now;
        this.classes.set(a.classId, k);
        if (a.role === 'allow') {
          for (const r of a.resources) this.cells.set(`${a.classId}|${r}`, now);
          const dk = `${a.classId}|${a.resources.join(',')}`;
          const d = this.destinations.get(dk);
          if (d) d.lastHit = now;
          else this.destinations.set(dk, { classId: a.classId, resources: a.resources, lastHit: now });
        }
      }
      if (a.subject) {
        const k = this.subjects.get(a.subject) ?? { packets: 0, bytes: 0 };
        k.packets += p;
        k.bytes += b;
        k.lastHit = now;
        this.subjects.set(a.subject, k);
      }
    }
    this.last.set(sw, seen);
  }

  private bump(
    m: Map<string, Tracked>,
    name: string,
    p: number,
    b: number,
    now: number,
    deltas: Map<Tracked, { p: number; b: number }>,
    reply: boolean,
  ): void {
    let t = m.get(name);
    if (!t) m.set(name, (t = { packets: 0, bytes: 0, series: new Series(this.opts.seriesPoints), replyPackets: 0, replyBytes: 0 }));
    if (reply) {
      t.replyPackets = (t.replyPackets ?? 0) + p;
      t.replyBytes = (t.replyBytes ?? 0) + b;
    } else {
      t.packets += p;
      t.bytes += b;
    }
    t.lastHit = now;
    if (m === this.rules) {
      this.savedHits.set(name, now);
      this.dirty = true;
    }
    const d = deltas.get(t);
    if (d) {
      d.p += p;
      d.b += b;
    } else deltas.set(t, { p, b });
  }

  /** A rule's last hit (this run or saved from an earlier one). */
  lastHit(rule: string): number | undefined {
    return this.rules.get(rule)?.lastHit ?? this.savedHits.get(rule);
  }

  ruleTraffic(rule: string, since = 0) {
    const t = this.rules.get(rule);
    const lh = this.lastHit(rule);
    return {
      rule,
      packets: t?.packets ?? 0,
      bytes: t?.bytes ?? 0,
      replyPackets: t?.replyPackets ?? 0,
      replyBytes: t?.replyBytes ?? 0,
      lastHit: lh !== undefined ? new Date(lh).toISOString() : null,
      trackedSince: new Date(this.trackedSince).toISOString(),
      intervalMs: this.opts.intervalMs,
      series: t?.series?.list(since) ?? [],
    };
  }

  /** Rules with no hit in the last `days` days (or never since tracking began). */
  unused(ruleNames: readonly string[], days: number) {
    const cutoff = this.opts.now() - days * 86400e3;
    return ruleNames
      .map((rule) => ({ rule, lastHit: this.lastHit(rule) }))
      .filter((x) => x.lastHit === undefined || x.lastHit < cutoff)
      .map((x) => ({ rule: x.rule, lastHit: x.lastHit !== undefined ? new Date(x.lastHit).toISOString() : null }));
  }

  private saving = false;
  private async save(): Promise<void> {
    if (!this.opts.stateFile || this.saving) return;
    this.saving = true;
    this.dirty = false;
    const tmp = `${this.opts.stateFile}.tmp-${process.pid}`;
    try {
      await writeFile(tmp, JSON.stringify({ trackedSince: this.trackedSince, lastHit: Object.fromEntries(this.savedHits) }));
      await rename(tmp, this.opts.stateFile);
    } catch {
      /* reported by the next successful write; counters in memory are unaffected */
    } finally {
      this.saving = false;
    }
  }
}
