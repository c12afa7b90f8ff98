/**
 * Time windows and expiring grants on rules: `when: { days, hours, timezone }`, `until:` and `start:` (also
 * `when.from` / `when.until`). Pure: every function takes the instant (`at`, epoch milliseconds) as a value.
 *
 * Calendar arithmetic is left to maintained code: the wall clock in a zone comes from `Intl.DateTimeFormat`
 * (IANA zones, daylight saving included) and the next window start or end from `croner` (cron patterns with a
 * time zone). A rule with a time condition is part of the compiled policy only while it is active at `at`;
 * without `at` it is inactive (fail closed).
 */
import { createRequire } from 'node:module';
import type { Cron } from 'croner';
import type { Diagnostic, PlannedFlow, SourceLocation, SwitchPlan } from './model.js';
import type { YamlSource, Path } from './yaml-source.js';
import { METADATA, TABLE } from './pipeline.js';
import { prefixMatch, prefixMatch6 } from './matches.js';
import { dstClassesOfResources } from './dst-classes.js';
import type { Prefix, Prefix6 } from './addr.js';
import type { OxmEntry } from '../openflow/types.js';

export interface TimeWindow {
  /** Weekdays on which the window opens, 0 = Sunday … 6 = Saturday, ascending. */
  readonly days: readonly number[];
  /** Minutes after local midnight: start inclusive, end exclusive; end may be 1440 (24:00); end ≤ start runs past midnight. */
  readonly start: number;
  readonly end: number;
  readonly timezone: string;
}

export interface RuleTime {
  /** Epoch ms: the rule is active from this instant on. */
  readonly from?: number;
  /** Epoch ms: the rule is inactive from this instant on. */
  readonly until?: number;
  readonly when?: TimeWindow;
  /** How the admin wrote it, for people (`mon-fri 08:00-18:30 Europe/Berlin until 2026-12-24T18:00:00Z`). */
  readonly text: string;
  readonly location: SourceLocation;
}

/** A rule that may carry a time condition (structural: compiler/inputs.ts Rule). */
interface TimedRule {
  readonly name: string;
  readonly index: number;
  readonly time?: RuleTime;
}

const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const FULL_DAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const MAX_TEXT = 64;
/** ISO 8601 with an explicit offset: a time without a zone means different instants on different controllers. */
const ISO = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i;

// ---------- zones ----------

const zoneFormat = new Map<string, Intl.DateTimeFormat>();
function formatter(tz: string): Intl.DateTimeFormat {
  let f = zoneFormat.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    if (zoneFormat.size > 1000) zoneFormat.clear();
    zoneFormat.set(tz, f);
  }
  return f;
}

/** Is this an IANA time zone name this runtime knows (e.g. Europe/Berlin, UTC)? */
export function isTimeZone(tz: string): boolean {
  if (typeof tz !== 'string' || !tz || tz.length > MAX_TEXT || !/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(tz)) return false;
  try {
    formatter(tz);
    return true;
  } catch {
    return false;
  }
}

/** Weekday (0 = Sunday) and minutes after midnight of an instant in a zone. */
export function localTime(at: number, tz: string): { day: number; minutes: number } {
  let day = 0,
    hour = 0,
    minute = 0;
  for (const p of formatter(tz).formatToParts(new Date(at))) {
    if (p.type === 'weekday') day = DAY_NAMES.indexOf(p.value.slice(0, 3).toLowerCase());
    else if (p.type === 'hour') hour = Number(p.value) % 24;
    else if (p.type === 'minute') minute = Number(p.value);
  }
  return { day, minutes: hour * 60 + minute };
}

// ---------- evaluation ----------

export function windowOpen(w: TimeWindow, at: number): boolean {
  const { day, minutes } = localTime(at, w.timezone);
  const has = (d: number) => w.days.includes(((d % 7) + 7) % 7);
  if (w.start < w.end) return has(day) && minutes >= w.start && minutes < w.end;
  // past midnight (22:00-06:00): the evening of a listed day and the morning after it
  return (has(day) && minutes >= w.start) || (has(day - 1) && minutes < w.end);
}

export function isActiveAt(t: RuleTime | undefined, at: number | undefined): boolean {
  if (!t) return true;
  if (at === undefined || !Number.isFinite(at)) return false;
  if (t.from !== undefined && at < t.from) return false;
  if (t.until !== undefined && at >= t.until) return false;
  return t.when ? windowOpen(t.when, at) : true;
}

/** croner, loaded on first use: only a policy with a `when:` window needs it (it is not part of `acl validate`'s start-up). */
let cronLib: typeof import('croner') | undefined;
const croner = (): typeof import('croner') => (cronLib ??= createRequire(import.meta.url)('croner') as typeof import('croner'));

const crons = new Map<string, Cron>();
function cron(pattern: string, tz: string): Cron {
  const k = `${pattern}\u0000${tz}`;
  let c = crons.get(k);
  if (!c) {
    c = new (croner().Cron)(pattern, { timezone: tz, paused: true });
    if (crons.size > 1000) crons.clear();
    crons.set(k, c);
  }
  return c;
}

/** Cron patterns (minute hour * * days) of a window's openings and closings. */
export function windowPatterns(w: TimeWindow): { open: string; close: string } {
  const days = w.days.join(',');
  const closeDays =
    w.end <= w.start || w.end === 1440
      ? w.days
          .map((d) => (d + 1) % 7)
          .sort((a, b) => a - b)
          .join(',')
      : days;
  const end = w.end % 1440;
  return { open: `${w.start % 60} ${Math.floor(w.start / 60)} * * ${days}`, close: `${end % 60} ${Math.floor(end / 60)} * * ${closeDays}` };
}

/** The first instant after `at` at which the rule may turn on or off, or undefined when it never changes again. */
export function nextChange(t: RuleTime, at: number): number | undefined {
  let best: number | undefined;
  const take = (x: number | undefined) => {
    if (x !== undefined && x > at && (best === undefined || x < best)) best = x;
  };
  take(t.from);
  take(t.until);
  if (t.when && (t.until === undefined || at < t.until)) {
    const { open, close } = windowPatterns(t.when);
    const from = new Date(Math.max(at, (t.from ?? at) - 1));
    for (const p of [open, close]) take(cron(p, t.when.timezone).nextRun(from)?.getTime());
  }
  return best;
}

/** The next instant after `at` at which any rule of the policy turns on or off. */
export function nextBoundary(rules: readonly TimedRule[], at: number): number | undefined {
  let best: number | undefined;
  for (const r of rules) {
    if (!r.time) continue;
    const n = nextChange(r.time, at);
    if (n !== undefined && (best === undefined || n < best)) best = n;
  }
  return best;
}

const FULL = Symbol('sdn-acl.full-policy');

/** The policy as written (with every rule), also when given the view of one instant. */
export function fullPolicy<P extends object>(policy: P): P {
  return (policy as { [FULL]?: P })[FULL] ?? policy;
}

/**
 * The policy as it stands at `at`: rules whose time condition does not hold are left out (indices renumbered).
 * The result remembers the full policy, so evaluating it again at another instant starts from every rule.
 */
export function policyAt<P extends { readonly rules: readonly TimedRule[] }>(policy: P, at: number | undefined): P {
  const full = fullPolicy(policy);
  if (!full.rules.some((r) => r.time)) return full;
  const rules = full.rules.filter((r) => isActiveAt(r.time, at)).map((r, i) => (r.index === i ? r : { ...r, index: i }));
  const view = { ...full, rules };
  Object.defineProperty(view, FULL, { value: full, enumerable: false });
  return view;
}

/** The policy with every time condition removed (all rules active): the timeless view lint reasons about. */
export function timeless<P extends { readonly rules: readonly TimedRule[] }>(policy: P): P {
  policy = fullPolicy(policy);
  if (!policy.rules.some((r) => r.time)) return policy;
  return {
    ...policy,
    rules: policy.rules.map((r) => {
      if (!r.time) return r;
      const { time: _t, ...rest } = r;
      return rest;
    }),
  };
}

export const MAX_HARD_TIMEOUT = 0xffff;

/**
 * The hard_timeout (seconds) that makes a flow sent at `now` leave the switch at `expiresAt`: the time remaining,
 * rounded up (never before the instant), capped at 65,535 s (the OpenFlow limit; the controller re-arms longer ones).
 * Undefined once the instant has passed: such a flow is not installed at all.
 */
export function hardTimeoutAt(expiresAt: number, now: number): number | undefined {
  if (!(expiresAt > now)) return undefined;
  return Math.min(MAX_HARD_TIMEOUT, Math.ceil((expiresAt - now) / 1000));
}

/** A planned flow as sent at `now`: a time-bound one with the hard_timeout left until its end; undefined once that has passed. */
export function flowAt<F extends { readonly expiresAt?: number }>(f: F, now: number): (F & { readonly hardTimeout?: number }) | undefined {
  if (f.expiresAt === undefined) return f;
  const hardTimeout = hardTimeoutAt(f.expiresAt, now);
  return hardTimeout === undefined ? undefined : { ...f, hardTimeout };
}

const entryKey = (e: OxmEntry) => `${e.field}|${String(e.value)}|${String(e.mask ?? '')}`;

/**
 * Policy flows that a time-bound rule decides carry the instant of that rule's next change (`expiresAt`, absolute):
 * sent with the hard_timeout remaining to it, a switch cut off from its controller does not extend a grant, however
 * long after the compile a flow of this plan is installed. The controller recompiles at every change.
 */
export function withExpiries(
  switches: SwitchPlan[],
  subjects: ReadonlyArray<{ readonly rules: readonly number[]; readonly classId: number }>,
  rules: ReadonlyArray<TimedRule & { readonly to: readonly string[] }>,
  at: number | undefined,
  dests: ReadonlyArray<
    ReadonlyArray<{
      readonly resources: readonly string[];
      readonly dstClass: number;
      readonly prefix?: Prefix;
      readonly prefix6?: Prefix6;
    }>
  > = [],
): SwitchPlan[] {
  if (at === undefined || !rules.some((r) => r.time)) return switches;
  const ruleEnd = new Map<number, number>();
  for (const r of rules)
    if (r.time) {
      const n = nextChange(r.time, at);
      if (n !== undefined) ruleEnd.set(r.index, n);
    }
  if (!ruleEnd.size) return switches;
  const dcsOf = dstClassesOfResources(dests);
  // The next change that can decide a flow: per class, the earliest of its time-bound rules; per (class, destination
  // class) pair, the earliest of those that name a resource of that destination class. A flow of a pair no such
  // rule names (an untimed grant of the same people) keeps no end: the switch does not drop it at another rule's
  // boundary, which would cut access that goes on until the controller sends it again.
  const classEnd = new Map<number, number>();
  const pairEnd = new Map<number, number>();
  const ruleAt = new Map(rules.map((r) => [r.index, r]));
  for (const s of subjects)
    for (const ri of s.rules) {
      const e = ruleEnd.get(ri);
      if (e === undefined) continue;
      if (!(classEnd.get(s.classId)! <= e)) classEnd.set(s.classId, e);
      for (const res of ruleAt.get(ri)?.to ?? [])
        for (const dc of dcsOf.get(res) ?? []) {
          const k = s.classId * 0x10000 + dc; // both < 2^16
          if (!(pairEnd.get(k)! <= e)) pairEnd.set(k, e);
        }
    }
  if (!classEnd.size) return switches;
  // a reply flow names its destination class by the source prefix it matches
  const dcOfSrc = new Map<string, number>();
  for (const list of dests)
    for (const d of list) {
      if (!d.dstClass) continue;
      const m = d.prefix ? prefixMatch('ipv4_src', d.prefix) : d.prefix6 ? prefixMatch6('ipv6_src', d.prefix6) : undefined;
      if (m) dcOfSrc.set(entryKey(m), d.dstClass);
    }
  const copies = new Map<PlannedFlow, PlannedFlow>();
  const timed = (f: PlannedFlow): PlannedFlow => {
    if (f.tableId !== TABLE.policy) return f;
    const md = f.match.find((e) => e.field === 'metadata');
    if (!md || typeof md.value !== 'bigint') return f;
    const mask = typeof md.mask === 'bigint' ? md.mask : undefined;
    let end: number | undefined;
    if (mask === METADATA.ownerMask) {
      // a reply to the owner class from a destination class's prefix
      const owner = Number((md.value & METADATA.ownerMask) >> METADATA.ownerShift);
      const src = f.match.find((e) => e.field === 'ipv4_src' || e.field === 'ipv6_src');
      const dc = src && dcOfSrc.get(entryKey(src));
      end = dc !== undefined ? pairEnd.get(owner * 0x10000 + dc) : classEnd.get(owner);
    } else if (mask !== undefined && (mask & METADATA.dstMask) === METADATA.dstMask)
      end = pairEnd.get(Number(md.value & METADATA.srcMask) * 0x10000 + Number((md.value & METADATA.dstMask) >> METADATA.dstShift));
    else end = classEnd.get(Number(md.value & METADATA.srcMask));
    if (f.expiresAt === end) return f; // already so (a patched plan keeps its flows)
    let c = copies.get(f);
    if (!c)
      copies.set(
        f,
        (c = {
          tableId: f.tableId,
          priority: f.priority,
          cookie: f.cookie,
          match: f.match,
          instructions: f.instructions,
          origin: f.origin,
          ...(f.idleTimeout ? { idleTimeout: f.idleTimeout } : {}),
          ...(end !== undefined ? { expiresAt: end } : {}),
        }),
      );
    return c;
  };
  return switches.map((sp) => {
    let changed = false;
    const flows = sp.flows.map((f) => {
      const g = timed(f);
      if (g !== f) changed = true;
      return g;
    });
    return changed ? { ...sp, flows } : sp;
  });
}

// ---------- parsing (called by compiler/inputs.ts for each rule) ----------

export const RULE_TIME_KEYS = ['when', 'until', 'start'] as const;
const WHEN_KEYS = ['days', 'hours', 'timezone', 'from', 'until'];

function parseInstant(src: YamlSource, path: Path, v: unknown): number | undefined {
  const s = v instanceof Date ? v.toISOString() : typeof v === 'string' ? v.trim() : undefined;
  if (s === undefined || s.length > MAX_TEXT) {
    src.error(
      path,
      'bad-time',
      `expected an ISO 8601 time with a zone, like 2026-12-24T18:00:00Z (found ${typeof v === 'string' ? `a ${v.length}-character text` : typeof v})`,
    );
    return undefined;
  }
  const m = s.match(ISO);
  const t = m ? Date.parse(s.replace(' ', 'T').replace(/([+-]\d{2})(\d{2})$/, '$1:$2')) : NaN;
  if (!m || !Number.isFinite(t)) {
    src.error(
      path,
      'bad-time',
      `'${s}' is not an ISO 8601 time with a zone`,
      /\d{2}:\d{2}(:\d{2})?$/.test(s) ? `add the zone: '${s}Z' (UTC) or '${s}+01:00'` : 'write it like 2026-12-24T18:00:00Z',
    );
    return undefined;
  }
  const [, y, mo, d, h, mi, se] = m;
  if (
    +mo < 1 ||
    +mo > 12 ||
    +d < 1 ||
    +d > 31 ||
    +h > 23 ||
    +mi > 59 ||
    (se !== undefined && +se > 59) ||
    new Date(Date.UTC(+y, +mo - 1, +d)).getUTCDate() !== +d
  ) {
    src.error(path, 'bad-time', `'${s}' is not a date and time that exists`);
    return undefined;
  }
  return t;
}

function parseDays(src: YamlSource, path: Path, v: unknown): number[] | undefined {
  const items =
    v === undefined ? ['sun-sat'] : typeof v === 'string' ? v.split(',').map((x) => x.trim()) : Array.isArray(v) ? v : undefined;
  if (!items) {
    src.error(path, 'bad-window', 'days must be a list like [mon-fri] or [sat, sun]');
    return undefined;
  }
  if (items.length > 14) {
    src.error(path, 'bad-window', `days lists ${items.length} entries; name at most the seven days (ranges like mon-fri)`);
    return undefined;
  }
  const out = new Set<number>();
  let ok = true;
  items.forEach((it, i) => {
    const ip = Array.isArray(v) ? [...path, i] : path;
    const s = typeof it === 'string' ? it.trim().toLowerCase() : '';
    const day = (x: string) => {
      const i = DAY_NAMES.indexOf(x.slice(0, 3));
      return i >= 0 && (x.length === 3 || x === FULL_DAYS[i]) ? i : -1;
    };
    const m = s.match(/^([a-z]+)\s*(?:-\s*([a-z]+))?$/);
    const a = m ? day(m[1]) : -1;
    const b = m?.[2] !== undefined ? day(m[2]) : a;
    if (s.length > 20 || a < 0 || b < 0) {
      src.error(
        ip,
        'bad-window',
        `'${String(it).slice(0, 20)}' is not a day or a range of days`,
        'use mon, tue, wed, thu, fri, sat, sun or a range like mon-fri',
      );
      ok = false;
      return;
    }
    for (let d = a; ; d = (d + 1) % 7) {
      out.add(d);
      if (d === b) break;
    }
  });
  if (!ok) return undefined;
  if (!out.size) {
    src.error(path, 'impossible-window', 'the window names no day, so it never opens');
    return undefined;
  }
  return [...out].sort((x, y) => x - y);
}

function parseHours(src: YamlSource, path: Path, v: unknown): { start: number; end: number } | undefined {
  if (v === undefined) return { start: 0, end: 1440 };
  const s = typeof v === 'string' ? v.trim() : '';
  const m = s.length <= 20 ? s.match(/^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$/) : null;
  if (!m) {
    src.error(
      path,
      'bad-window',
      `hours must be "HH:MM-HH:MM" (found ${typeof v === 'string' ? `'${v.slice(0, 20)}'` : typeof v})`,
      'quote it: hours: "08:00-18:30"',
    );
    return undefined;
  }
  const [h1, m1, h2, m2] = m.slice(1).map(Number);
  const start = h1 * 60 + m1,
    end = h2 * 60 + m2;
  if (h1 > 23 || m1 > 59 || h2 > 24 || m2 > 59 || end > 1440) {
    src.error(path, 'bad-window', `'${s}' names a time that does not exist (00:00 to 24:00)`);
    return undefined;
  }
  if (start === end) {
    src.error(
      path,
      'impossible-window',
      `'${s}' opens and closes at the same minute: the window is empty`,
      'for the whole day leave hours out',
    );
    return undefined;
  }
  return { start, end };
}

/** Reads a rule's `when:`, `until:` and `start:`; reports problems at their line. */
export function parseRuleTime(src: YamlSource, p: Path, o: Record<string, unknown>): RuleTime | undefined {
  if (o.when === undefined && o.until === undefined && o.start === undefined) return undefined;
  let from: number | undefined, until: number | undefined, when: TimeWindow | undefined;
  let ok = true;
  const texts: string[] = [];
  if (o.when !== undefined) {
    const w = src.object([...p, 'when'], o.when, WHEN_KEYS, "a rule's 'when'");
    if (!w) return undefined;
    const wp = [...p, 'when'];
    if (w.from !== undefined) from = parseInstant(src, [...wp, 'from'], w.from) ?? ((ok = false), undefined);
    if (w.until !== undefined) until = parseInstant(src, [...wp, 'until'], w.until) ?? ((ok = false), undefined);
    if (w.days !== undefined || w.hours !== undefined || w.timezone !== undefined) {
      const days = parseDays(src, [...wp, 'days'], w.days);
      const hours = parseHours(src, [...wp, 'hours'], w.hours);
      let timezone = 'UTC';
      if (w.timezone !== undefined) {
        if (typeof w.timezone === 'string' && isTimeZone(w.timezone.trim())) timezone = w.timezone.trim();
        else {
          src.error(
            [...wp, 'timezone'],
            'bad-timezone',
            `'${String(w.timezone).slice(0, MAX_TEXT)}' is not an IANA time zone`,
            'for example Europe/Berlin, America/New_York or UTC',
          );
          ok = false;
        }
      }
      if (!days || !hours) ok = false;
      else {
        when = { days, start: hours.start, end: hours.end, timezone };
        const fmt = (m: number) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
        texts.push(
          `${days.length === 7 ? 'daily' : days.map((d) => DAY_NAMES[d]).join(',')}${w.hours !== undefined ? ` ${fmt(hours.start)}-${fmt(hours.end)}` : ''} ${timezone}`,
        );
      }
    }
  }
  if (o.start !== undefined) {
    if (from !== undefined) {
      src.error([...p, 'start'], 'duplicate-field', 'the start is given twice (start: and when.from:)');
      ok = false;
    }
    from = parseInstant(src, [...p, 'start'], o.start) ?? ((ok = false), undefined);
  }
  if (o.until !== undefined) {
    if (until !== undefined) {
      src.error([...p, 'until'], 'duplicate-field', 'the end is given twice (until: and when.until:)');
      ok = false;
    }
    until = parseInstant(src, [...p, 'until'], o.until) ?? ((ok = false), undefined);
  }
  if (!ok) return undefined;
  if (from !== undefined && until !== undefined && until <= from) {
    src.error(
      [...p, o.until !== undefined ? 'until' : 'when'],
      'impossible-window',
      `the rule ends (${new Date(until).toISOString()}) before it starts (${new Date(from).toISOString()})`,
    );
    return undefined;
  }
  if (from !== undefined) texts.push(`from ${new Date(from).toISOString()}`);
  if (until !== undefined) texts.push(`until ${new Date(until).toISOString()}`);
  const t: RuleTime = {
    ...(from !== undefined ? { from } : {}),
    ...(until !== undefined ? { until } : {}),
    ...(when ? { when } : {}),
    text: texts.join(' '),
    location: src.where([...p, o.when !== undefined ? 'when' : o.until !== undefined ? 'until' : 'start']),
  };
  // a window that never opens between start and end (e.g. weekdays only, from Saturday until Sunday)
  if (when && from !== undefined && until !== undefined && !opensBetween(t, from, until)) {
    src.error(
      [...p, 'when'],
      'impossible-window',
      `the window ${texts[0]} never opens between ${new Date(from).toISOString()} and ${new Date(until).toISOString()}`,
    );
    return undefined;
  }
  return t;
}

function opensBetween(t: RuleTime, from: number, until: number): boolean {
  let at = from;
  for (let i = 0; i < 64 && at < until; i++) {
    if (isActiveAt(t, at)) return true;
    const n = nextChange(t, at);
    if (n === undefined) return false;
    at = n;
  }
  return false;
}

/** A time as the CLI and the test files accept it (ISO 8601 with a zone); undefined when it is not one. */
export function parseTimeArg(s: string): number | undefined {
  const t = s.trim();
  if (t.length > MAX_TEXT || !ISO.test(t)) return undefined;
  const v = Date.parse(t.replace(' ', 'T').replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  return Number.isFinite(v) ? v : undefined;
}

export type { Diagnostic };
