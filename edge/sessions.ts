/**
 * The live login sessions at the edge (802.1X, MAC bypass, web sign-in, admin): one session per MAC, bound to
 * one switch port. The table owns its expiry timer and tells listeners about every change; the controller's edge
 * hook (controller/edge-hook.ts) turns each change into a recompile through `applyEdge`.
 *
 * A MAC has at most one session: adding a session for a MAC that already has one (on the same or another port)
 * replaces it in one step (re-authentication, roaming). Values are plain and JSON-serialisable, so the table can
 * be saved in the controller's state file and restored after a restart.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { AuthMethod, EdgeSession } from '../compiler/model.js';

/** A session as the table keeps it: the compiler's EdgeSession plus what its owner needs to keep it alive. */
export interface LiveSession extends EdgeSession {
  /** ISO 8601: when the authenticator re-authenticates (before `expires`), if it does. */
  readonly reauthAt?: string;
  /** RADIUS attributes worth keeping (Class, State for re-authentication, Session-Timeout …), as text. */
  readonly attributes?: Readonly<Record<string, string>>;
}

export type SessionChangeKind = 'added' | 'replaced' | 'removed';

/** Why a session ended: the audit log and events carry it. */
export type EndReason =
  | 'logoff'
  | 'port-down'
  | 'expired'
  | 'admin'
  | 'user-removed'
  | 'replaced'
  | 'reauth-failed'
  | 'moved'
  | 'max-devices'
  | 'sign-out'
  | string;

export interface SessionChange {
  readonly kind: SessionChangeKind;
  readonly session: LiveSession;
  /** For 'replaced': the session it replaced (maybe on another port). */
  readonly previous?: LiveSession;
  /** For 'removed': why. */
  readonly reason?: EndReason;
  /** Who made the change (an API token name, 'radius', 'dhcp' …). */
  readonly by?: string;
}

export interface SessionTableOptions {
  /** Clock (ms since epoch), for tests. */
  readonly now?: () => number;
  /** Upper bound on sessions held (fail closed: a new session beyond it is refused). Default 200,000. */
  readonly maxSessions?: number;
}

export type AddResult =
  { ok: true; session: LiveSession; replaced?: LiveSession } | { ok: false; code: 'bad-session' | 'table-full'; message: string };

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const METHODS: ReadonlySet<AuthMethod> = new Set(['dot1x', 'mab', 'web', 'admin']);

/** A session id: short, random, URL-safe. */
export function newSessionId(): string {
  return randomBytes(9).toString('base64url');
}

/** Checks a value that claims to be a session (state file, API): an error message, or undefined when it is one. */
export function checkSession(v: unknown): string | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return 'not an object';
  const s = v as Record<string, unknown>;
  if (typeof s.id !== 'string' || !/^[A-Za-z0-9_.:-]{1,64}$/.test(s.id)) return 'bad id';
  if (typeof s.mac !== 'string' || !MAC_RE.test(s.mac)) return 'bad mac (lower-case aa:bb:cc:dd:ee:ff)';
  if (typeof s.switch !== 'string' || !s.switch || s.switch.length > 128) return 'bad switch';
  if (typeof s.port !== 'number' || !Number.isInteger(s.port) || s.port < 1 || s.port > 0xffffff00) return 'bad port';
  if (typeof s.method !== 'string' || !METHODS.has(s.method as AuthMethod)) return 'bad method';
  if (s.user !== undefined && (typeof s.user !== 'string' || !s.user || s.user.length > 256)) return 'bad user';
  if (s.deviceGroup !== undefined && (typeof s.deviceGroup !== 'string' || !s.deviceGroup || s.deviceGroup.length > 128))
    return 'bad deviceGroup';
  if (s.user === undefined && s.deviceGroup === undefined) return 'a session needs a user or a device group';
  for (const k of ['since', 'expires', 'reauthAt'] as const) {
    if (s[k] !== undefined && (typeof s[k] !== 'string' || Number.isNaN(Date.parse(s[k])))) return `bad ${k}`;
  }
  if (typeof s.since !== 'string') return 'bad since';
  if (
    s.ip !== undefined &&
    (typeof s.ip !== 'string' || !/^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/.test(s.ip))
  )
    return 'bad ip';
  if (s.attributes !== undefined) {
    if (!s.attributes || typeof s.attributes !== 'object' || Array.isArray(s.attributes)) return 'bad attributes';
    const a = Object.entries(s.attributes as Record<string, unknown>);
    if (a.length > 32 || a.some(([k, x]) => typeof x !== 'string' || k.length > 64 || x.length > 1024)) return 'bad attributes';
  }
  return undefined;
}

/** Only the fields a session has (a value read from a file or a request may carry anything else). */
function clean(s: LiveSession): LiveSession {
  const out: Record<string, unknown> = { id: s.id, mac: s.mac, switch: s.switch, port: s.port, method: s.method };
  for (const k of ['user', 'deviceGroup', 'since', 'expires', 'reauthAt', 'ip'] as const) if (s[k] !== undefined) out[k] = s[k];
  if (s.attributes) out.attributes = { ...s.attributes };
  return Object.freeze(out) as unknown as LiveSession;
}

export class SessionTable extends EventEmitter {
  private readonly byId = new Map<string, LiveSession>();
  private readonly byMacMap = new Map<string, LiveSession>();
  private readonly now: () => number;
  private readonly max: number;
  private timer?: NodeJS.Timeout;
  private timerAt = Infinity;
  private stopped = false;
  /** Increments on every change: a cheap "did anything change" for the edge hook's memo. */
  version = 0;

  constructor(opts: SessionTableOptions = {}) {
    super();
    this.setMaxListeners(100);
    this.now = opts.now ?? Date.now;
    this.max = opts.maxSessions ?? 200_000;
  }

  get size(): number {
    return this.byId.size;
  }

  list(): LiveSession[] {
    return [...this.byId.values()];
  }
  get(id: string): LiveSession | undefined {
    return this.byId.get(id);
  }
  byMac(mac: string): LiveSession | undefined {
    return this.byMacMap.get(mac);
  }
  byPort(sw: string, port: number): LiveSession[] {
    const out: LiveSession[] = [];
    for (const s of this.byId.values()) if (s.switch === sw && s.port === port) out.push(s);
    return out;
  }
  byUser(user: string): LiveSession[] {
    const out: LiveSession[] = [];
    for (const s of this.byId.values()) if (s.user === user) out.push(s);
    return out;
  }

  /**
   * Adds a session; one for the same MAC (anywhere) is replaced in the same step. `id` and `since` are filled in
   * when absent. A re-authentication that keeps the session keeps its id: pass the old id.
   */
  add(input: Omit<LiveSession, 'id' | 'since'> & { id?: string; since?: string }, by?: string): AddResult {
    const s0 = { ...input, id: input.id ?? newSessionId(), since: input.since ?? new Date(this.now()).toISOString() } as LiveSession;
    const bad = checkSession(s0);
    if (bad) return { ok: false, code: 'bad-session', message: bad };
    const s = clean(s0);
    const prev = this.byMacMap.get(s.mac);
    const sameId = this.byId.get(s.id);
    if (sameId && sameId.mac !== s.mac) return { ok: false, code: 'bad-session', message: `session id ${s.id} belongs to ${sameId.mac}` };
    if (!prev && this.byId.size >= this.max)
      return { ok: false, code: 'table-full', message: `the session table holds ${this.max} sessions` };
    if (prev) this.byId.delete(prev.id);
    this.byId.set(s.id, s);
    this.byMacMap.set(s.mac, s);
    this.version++;
    if (s.expires !== undefined && Date.parse(s.expires) < this.timerAt) this.schedule();
    const change: SessionChange = prev ? { kind: 'replaced', session: s, previous: prev, by } : { kind: 'added', session: s, by };
    this.emit('change', change);
    return { ok: true, session: s, ...(prev ? { replaced: prev } : {}) };
  }

  /** Ends a session; false when there is none with that id. */
  remove(id: string, reason: EndReason, by?: string): boolean {
    const s = this.byId.get(id);
    if (!s) return false;
    this.byId.delete(id);
    if (this.byMacMap.get(s.mac) === s) this.byMacMap.delete(s.mac);
    this.version++;
    this.emit('change', { kind: 'removed', session: s, reason, by } satisfies SessionChange);
    return true;
  }

  /** Ends every session matching `pred` (port down, user removed); returns how many. */
  removeWhere(pred: (s: LiveSession) => boolean, reason: EndReason, by?: string): number {
    let n = 0;
    for (const s of [...this.byId.values()]) if (pred(s) && this.remove(s.id, reason, by)) n++;
    return n;
  }

  /** Ends the sessions whose `expires` has passed; returns them. */
  expire(now = this.now()): LiveSession[] {
    const out: LiveSession[] = [];
    for (const s of [...this.byId.values()]) {
      if (s.expires !== undefined && Date.parse(s.expires) <= now) {
        this.remove(s.id, 'expired', 'timer');
        out.push(s);
      }
    }
    this.schedule();
    return out;
  }

  /** The values to persist (the controller's state file). */
  snapshot(): LiveSession[] {
    return this.list();
  }

  /**
   * Restores persisted sessions without change events (the controller compiles them at start-up). Entries that
   * are malformed or already expired are skipped; returns what was kept and what was dropped (with why).
   */
  restore(values: unknown): { kept: number; dropped: Array<{ index: number; reason: string }> } {
    const dropped: Array<{ index: number; reason: string }> = [];
    if (!Array.isArray(values)) return { kept: 0, dropped: values === undefined ? [] : [{ index: -1, reason: 'sessions is not a list' }] };
    const now = this.now();
    values.forEach((v, index) => {
      const bad = checkSession(v);
      if (bad) {
        dropped.push({ index, reason: bad });
        return;
      }
      const s = clean(v as LiveSession);
      if (s.expires !== undefined && Date.parse(s.expires) <= now) {
        dropped.push({ index, reason: 'expired' });
        return;
      }
      if (this.byId.size >= this.max) {
        dropped.push({ index, reason: 'table full' });
        return;
      }
      const prev = this.byMacMap.get(s.mac);
      if (prev) this.byId.delete(prev.id);
      this.byId.set(s.id, s);
      this.byMacMap.set(s.mac, s);
    });
    this.version++;
    this.schedule();
    return { kept: this.byId.size, dropped };
  }

  /** Stops the expiry timer (the controller is stopping). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }

  /** One timer, set for the earliest expiry (a removed session may make it fire early: harmless, it re-arms). */
  private schedule(): void {
    if (this.stopped) return;
    let next = Infinity;
    for (const s of this.byId.values())
      if (s.expires !== undefined) {
        const t = Date.parse(s.expires);
        if (t < next) next = t;
      }
    if (next === this.timerAt && this.timer) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = next;
    if (next === Infinity) return;
    const delay = Math.max(0, Math.min(next - this.now(), 0x7fffffff));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.expire();
    }, delay);
    this.timer.unref();
  }
}
