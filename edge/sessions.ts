/**
 * The live login sessions at the edge (802.1X, MAC bypass, web sign-in, admin): one session per MAC, bound to
 * one switch port. The table owns its expiry timer and tells listeners about every change; the controller's edge
 * hook (controller/edge-hook.ts) turns each change into a recompile through `applyEdge`.
 *
 * A MAC has at most one session: adding a session for a MAC that already has one (on the same or another port)
 * replaces it in one step (re-authentication, roaming). Values are plain and JSON-serialisable, so the table can
 * be saved in the controller's state file and restored after a restart.
 */
import { randomFillSync } from 'node:crypto';
import type { AuthMethod, EdgeSession } from '../compiler/model.js';
import { BindingTable, MAC_RE, checkPlace, checkTime } from './binding-table.js';

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

const METHODS: ReadonlySet<AuthMethod> = new Set(['dot1x', 'mab', 'web', 'admin']);

/** Random bytes for session ids, drawn from the CSPRNG 4 KiB at a time (a login storm makes thousands). */
const idPool = Buffer.alloc(4096);
let idAt = idPool.length;

/** A session id: short (9 random bytes), random, URL-safe. */
export function newSessionId(): string {
  if (idAt + 9 > idPool.length) {
    randomFillSync(idPool);
    idAt = 0;
  }
  idAt += 9;
  return idPool.toString('base64url', idAt - 9, idAt);
}

/** Checks a value that claims to be a session (state file, API): an error message, or undefined when it is one. */
export function checkSession(v: unknown): string | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return 'not an object';
  const s = v as Record<string, unknown>;
  if (typeof s.id !== 'string' || !/^[A-Za-z0-9_.:-]{1,64}$/.test(s.id)) return 'bad id';
  if (typeof s.mac !== 'string' || !MAC_RE.test(s.mac)) return 'bad mac (lower-case aa:bb:cc:dd:ee:ff)';
  const place = checkPlace(s);
  if (place) return place;
  if (typeof s.method !== 'string' || !METHODS.has(s.method as AuthMethod)) return 'bad method';
  if (s.user !== undefined && (typeof s.user !== 'string' || !s.user || s.user.length > 256)) return 'bad user';
  if (s.deviceGroup !== undefined && (typeof s.deviceGroup !== 'string' || !s.deviceGroup || s.deviceGroup.length > 128))
    return 'bad deviceGroup';
  if (s.user === undefined && s.deviceGroup === undefined) return 'a session needs a user or a device group';
  const time = checkTime(s, 'since') ?? checkTime(s, 'expires') ?? checkTime(s, 'reauthAt');
  if (time) return time;
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

const portKey = (sw: string, port: number) => `${port}@${sw}`;

export class SessionTable extends BindingTable<LiveSession, EndReason, SessionChange> {
  private readonly byMacMap = new Map<string, LiveSession>();
  /** Sessions by switch port (a login checks its port's device count: O(devices on the port), not O(sessions)). */
  private readonly byPortMap = new Map<string, Set<LiveSession>>();

  constructor(opts: SessionTableOptions = {}) {
    super(opts.now, opts.maxSessions ?? 200_000, { plural: 'sessions', key: (s) => s.id, check: checkSession, clean });
  }

  get(id: string): LiveSession | undefined {
    return this.primary.get(id);
  }
  byMac(mac: string): LiveSession | undefined {
    return this.byMacMap.get(mac);
  }
  byPort(sw: string, port: number): LiveSession[] {
    return [...(this.byPortMap.get(portKey(sw, port)) ?? [])];
  }
  byUser(user: string): LiveSession[] {
    return this.list().filter((s) => s.user === user);
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
    const sameId = this.primary.get(s.id);
    if (sameId && sameId.mac !== s.mac) return { ok: false, code: 'bad-session', message: `session id ${s.id} belongs to ${sameId.mac}` };
    if (!prev && this.primary.size >= this.max)
      return { ok: false, code: 'table-full', message: `the session table holds ${this.max} sessions` };
    if (prev) this.drop(prev);
    this.store(s, [], prev ? { kind: 'replaced', session: s, previous: prev, by } : { kind: 'added', session: s, by });
    return { ok: true, session: s, ...(prev ? { replaced: prev } : {}) };
  }

  /** Ends a session; false when there is none with that id. */
  remove(id: string, reason: EndReason, by?: string): boolean {
    const s = this.primary.get(id);
    return s !== undefined && this.end(s, reason, by);
  }

  protected index(s: LiveSession): void {
    this.byMacMap.set(s.mac, s);
    const k = portKey(s.switch, s.port);
    const at = this.byPortMap.get(k);
    if (at) at.add(s);
    else this.byPortMap.set(k, new Set([s]));
  }
  protected unindex(s: LiveSession): void {
    if (this.byMacMap.get(s.mac) === s) this.byMacMap.delete(s.mac);
    const k = portKey(s.switch, s.port);
    const at = this.byPortMap.get(k);
    if (at?.delete(s) && at.size === 0) this.byPortMap.delete(k);
  }
  protected removed(session: LiveSession, reason: EndReason, by?: string): SessionChange {
    return { kind: 'removed', session, reason, by };
  }
  /** A restored session replaces the MAC's other session (and one with its id: the indexes stay one-to-one). */
  protected admit(s: LiveSession): string | undefined {
    if (this.primary.size >= this.max) return 'table full';
    for (const prev of [this.byMacMap.get(s.mac), this.primary.get(s.id)]) if (prev) this.drop(prev);
    this.put(s);
    return undefined;
  }
}
