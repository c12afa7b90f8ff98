/**
 * The controller's side of the edge: it holds the live session table (and, once attached, an address lease
 * table), folds them into the compile input with `applyEdge`, and recompiles + syncs the switches whenever they
 * change. Changes that arrive together (a login storm) are compiled once; `settled()` resolves when everything
 * changed so far is installed on the switches (barrier confirmed).
 *
 * The controller calls three things: `input(directory, learned)` wherever it compiles, `state()/restore()` for
 * its state file, and `directoryChanged()` after a directory sync. Everything else happens here.
 */
import { EventEmitter } from 'node:events';
import type { AddressLease, Binding, Directory, EdgeState } from '../compiler/model.js';
import { withLearnedIpv6 } from '../compiler/edge.js';
import { recompile, CompileError, type Compiled } from '../compiler/compile.js';
import { edgeDelta, planDelta, type EdgeHint } from '../compiler/edge-patch.js';
import { EdgeFold } from '../edge/edge-fold.js';
import { SessionTable, type LiveSession, type SessionChange } from '../edge/sessions.js';
import type { LoadedPolicy } from '../loader/index.js';
import type { ControllerEvent } from './events.js';
import type { EventFeed, EventRelay, EventSink } from './controller-types.js';
import type { SwitchSession } from './session.js';
import type { SyncHow } from './switch-sync.js';
import { Authenticator } from '../edge/authenticator.js';
import { portAuth, type AuthPolicy } from '../compiler/auth.js';
import { radiusClientFor } from '../edge/auth-config.js';
import type { RadiusClient } from '../edge/radius.js';
import { encode, OFPP } from '../openflow/index.js';
import { VoucherStore } from '../edge/vouchers.js';
import { TurnQueue } from '../edge/turn-queue.js';

/** What the edge hook needs from the controller (controller.ts implements it). */
export interface ControllerForEdge extends EventSink, EventRelay, Pick<EventFeed, 'on'> {
  readonly loaded: LoadedPolicy;
  /** The running plan: the edge hook replaces it with each patch it compiles. */
  compiled: Compiled;
  readonly directory: Directory;
  readonly bindings: ReadonlyMap<string, Binding>;
  readonly sessions: ReadonlyMap<string, SwitchSession>;
  sync(dpid: string, how?: SyncHow): Promise<unknown>;
  saveState(): Promise<void>;
}

/** What the edge hook needs from a lease table (the DHCP snooping side implements it). */
export interface LeaseSource extends EventEmitter {
  /** Increments on every change. */
  readonly version: number;
  list(): readonly AddressLease[];
  /** JSON-serialisable values for the state file. */
  snapshot?(): unknown;
  restore?(values: unknown): unknown;
}

/** A session as the API and console show it. */
export interface SessionView extends LiveSession {
  readonly active: boolean;
  /** Why an existing session admits nothing (user not in the directory). */
  readonly inactiveReason?: string;
}

export class EdgeHook extends EventEmitter {
  readonly sessions: SessionTable;
  leases?: LeaseSource;
  private memo?: {
    dir: Directory;
    learned: readonly Binding[];
    sv: number;
    lv: number;
    out: { directory: Directory; bindings: Binding[] };
    /** Which MACs' bindings changed since the previous result (when only sessions changed): the compiler's shortcut. */
    hint?: EdgeHint;
  };
  private lastBindings: Binding[] = [];
  /** Whether lastBindings are the fold's alone (no learned bindings, no IPv6 lease added to any). */
  private lastPlain = false;
  /** The edge folded into the directory, updated per changed MAC (edge/edge-fold.ts). */
  private readonly fold = new EdgeFold();
  /** MACs whose session changed since the last fold; the session table version last seen (at a fold or an event). */
  private readonly dirty = new Set<string>();
  private seenVersion = -1;
  /** The table changed without telling which MACs (restore) or the leases were replaced: fold everything. */
  private unevented = true;
  private pendingLeases?: unknown;
  private running = false;
  private again = false;
  private waiters: Array<() => void> = [];
  private scheduled = false;
  /** Compile + sync runs done, and the last one's time (ms), for metrics. */
  runs = 0;
  lastRunMs = 0;
  /** Time spent compiling and syncing for edge changes (ms, summed). */
  readonly phases = { compileMs: 0, syncMs: 0 };
  /** Guest vouchers (edge/vouchers.ts), kept in the state file as hashes. */
  readonly vouchers = new VoucherStore();
  /** The 802.1X authenticator and MAC bypass (edge/authenticator.ts). */
  readonly auth: Authenticator;
  private radiusClient?: RadiusClient;
  private radiusFor?: AuthPolicy;
  private userMemo?: { dir: Directory; ids: Set<string>; owners: Map<string, string> };
  /** Tests: where the RADIUS client sends from. */
  radiusBindAddress?: string;
  /**
   * EAPOL and MAB candidates from packet-ins, done a slice per loop turn in arrival order (edge/turn-queue.ts), so
   * RADIUS answers and barrier replies that complete logins are not held behind a burst of new ones.
   */
  readonly newWork = new TurnQueue();

  constructor(
    private readonly ctl: ControllerForEdge,
    sessions = new SessionTable(),
  ) {
    super();
    this.sessions = sessions;
    this.sessions.on('change', (c: SessionChange) => this.onSessionChange(c));
    this.auth = new Authenticator({
      radius: () => this.radius(),
      sessions: this.sessions,
      config: () => this.ctl.loaded?.policy.authentication,
      portRule: (sw, port) =>
        this.ctl.compiled ? portAuth(this.ctl.loaded.policy.authentication, this.ctl.compiled.input.topology, sw, port) : undefined,
      send: (sw, port, frame) => this.sendFrame(sw, port, frame),
      settled: () => this.settled(),
      knownUser: (id) => this.users().ids.has(id),
      deviceOwner: (mac) => this.users().owners.get(mac),
      event: (type, data) => this.ctl.relay(type, data),
      conflictMode: () => this.ctl.loaded?.policy.firstContact?.roaming.conflict ?? 'deny-both',
    });
    this.auth.start();
    this.ctl.on('event', (e: ControllerEvent) => {
      if (e.type !== 'port-status' || typeof e.switch !== 'string' || typeof e.port !== 'number') return;
      this.newWork.drain(); // frames that came before the port changed are seen before it
      if (e.down) this.auth.portDown(e.switch, e.port);
      else this.auth.portUp(e.switch, e.port);
    });
  }

  private users(): { ids: Set<string>; owners: Map<string, string> } {
    const dir = this.ctl.directory;
    if (this.userMemo?.dir !== dir) {
      const owners = new Map<string, string>();
      for (const u of dir.users) for (const d of u.devices) owners.set(d.mac, u.id);
      this.userMemo = { dir, ids: new Set(dir.users.map((u) => u.id)), owners };
    }
    return this.userMemo;
  }

  /** The RADIUS client for the policy in force (rebuilt when the authentication block changes). */
  radius(): RadiusClient | undefined {
    const a = this.ctl.loaded?.policy.authentication;
    if (a !== this.radiusFor) {
      this.radiusClient?.close();
      this.radiusClient = undefined;
      this.radiusFor = a;
      if (a && a.servers.length) {
        try {
          this.radiusClient = radiusClientFor(a, this.ctl.loaded.paths.policy, { bindAddress: this.radiusBindAddress });
        } catch (e) {
          this.ctl.event('radius-config-error', { error: (e as Error).message });
        }
      }
    }
    return this.radiusClient;
  }

  /**
   * A packet-in at the edge: EAPOL goes to the authenticator; any other frame from an authenticating port is a
   * MAB candidate and is not learned by discovery. Returns true when the edge handled it.
   */
  packetIn(sw: string, port: number, frame: Buffer): boolean {
    if (frame.length < 14) return false;
    let ethType = frame.readUInt16BE(12);
    if (ethType === 0x8100 && frame.length >= 18) ethType = frame.readUInt16BE(16);
    if (ethType === 0x888e) {
      this.newWork.push(() => this.auth.eapol(sw, port, frame));
      return true;
    }
    const a = this.ctl.loaded?.policy.authentication;
    if (!a || !this.ctl.compiled || !portAuth(a, this.ctl.compiled.input.topology, sw, port)) return false;
    if (frame[6] & 1) return true;
    const mac = [...frame.subarray(6, 12)].map((x) => x.toString(16).padStart(2, '0')).join(':');
    this.newWork.push(() => this.auth.seenMac(sw, port, mac));
    return true;
  }

  private sendFrame(sw: string, port: number, frame: Buffer): void {
    const plan = this.ctl.compiled?.plan.switches.find((x) => x.name === sw);
    if (!plan) return;
    const s = this.ctl.sessions.get(`0x${plan.dpid.toString(16).padStart(16, '0')}`);
    if (!s || s.state !== 'ready') return;
    s.write(
      encode({
        type: 'packet_out',
        xid: s.xid(),
        bufferId: 0xffffffff,
        inPort: OFPP.CONTROLLER,
        actions: [{ type: 'output', port }],
        data: frame,
      }),
    );
  }

  /** Attaches an address lease table (DHCP snooping); its changes recompile like sessions do. */
  attachLeases(leases: LeaseSource): void {
    this.leases = leases;
    this.unevented = true; // another lease table: fold everything again
    if (this.pendingLeases !== undefined && leases.restore) {
      leases.restore(this.pendingLeases);
      this.pendingLeases = undefined;
    }
    leases.on('change', () => this.changed());
    this.changed();
  }

  edgeState(): EdgeState {
    return { sessions: this.sessions.list(), leases: this.leases ? this.leases.list() : [] };
  }

  /**
   * The directory and bindings to compile with: the directory as synced plus the edge (sessions make their MACs
   * devices of their users; leases give them addresses), and the learned bindings followed by the edge's.
   * The same bindings array comes back while its content is unchanged (the compiler's fast path needs that).
   */
  input(directory: Directory, learned: readonly Binding[]): { directory: Directory; bindings: Binding[] } {
    return this.inputWithHint(directory, learned).out;
  }

  private inputWithHint(
    directory: Directory,
    learned: readonly Binding[],
  ): { out: { directory: Directory; bindings: Binding[] }; hint?: EdgeHint } {
    const sv = this.sessions.version,
      lv = this.leases?.version ?? 0;
    const m = this.memo;
    if (m && m.dir === directory && m.sv === sv && m.lv === lv && sameBindings(m.learned, learned)) return m;
    // only sessions changed, each with an event: fold in just their MACs; anything else: the full fold
    const folded =
      (!this.unevented && this.seenVersion === sv
        ? this.fold.update(directory, lv, this.dirty, (mac) => this.sessions.byMac(mac))
        : undefined) ?? this.fold.full(directory, this.edgeState(), lv);
    this.dirty.clear();
    this.seenVersion = sv;
    this.unevented = false;
    const applied = folded.out;
    const leases = this.leases ? this.leases.list() : [];
    let bindings =
      learned.length === 0 ? [...applied.bindings] : [...learned.filter((b) => !this.sessions.byMac(b.mac)), ...applied.bindings];
    // learned IPv6 addresses join the binding of their MAC on their port (ND/DAD, DHCPv6 snooping)
    const topology = this.ctl.compiled?.input.topology ?? this.ctl.loaded?.topology;
    const plain = bindings;
    if (topology) bindings = [...withLearnedIpv6(bindings, leases, directory, topology)];
    const isPlain = learned.length === 0 && sameBindings(bindings, plain);
    const from = this.lastBindings;
    const hint = isPlain && this.lastPlain && folded.changed ? { from, bindings: folded.changed } : undefined;
    if (sameBindings(bindings, this.lastBindings)) bindings = this.lastBindings;
    this.lastBindings = bindings;
    this.lastPlain = isPlain;
    const out = { directory: applied.directory, bindings };
    this.memo = { dir: directory, learned, sv, lv, out, hint };
    return this.memo;
  }

  /** For the controller's state file. */
  state(): { sessions: LiveSession[]; leases?: unknown; vouchers?: unknown } {
    const leases = this.leases?.snapshot?.() ?? this.pendingLeases;
    const vouchers = this.vouchers.snapshot();
    return { sessions: this.sessions.snapshot(), ...(leases !== undefined ? { leases } : {}), ...(vouchers.length ? { vouchers } : {}) };
  }

  /** From the controller's state file (before the first compile): no events, no recompile. */
  restore(st: unknown): void {
    if (!st || typeof st !== 'object') return;
    const o = st as { sessions?: unknown; leases?: unknown; vouchers?: unknown };
    if (o.vouchers !== undefined) this.vouchers.restore(o.vouchers);
    this.unevented = true;
    const r = this.sessions.restore(o.sessions);
    if (r.dropped.length) this.ctl.event('sessions-dropped-on-restore', { dropped: r.dropped.slice(0, 20), count: r.dropped.length });
    if (o.leases !== undefined) {
      if (this.leases?.restore) this.leases.restore(o.leases);
      else this.pendingLeases = o.leases;
    }
  }

  /** After a directory change: sessions of users no longer in the directory end (their flows went with the compile). */
  directoryChanged(directory: Directory): void {
    const known = new Set(directory.users.map((u) => u.id));
    this.sessions.removeWhere((s) => s.user !== undefined && !known.has(s.user), 'user-removed', 'directory');
  }

  /** Sessions with whether they admit anything now. */
  view(): SessionView[] {
    const known = new Set(this.ctl.directory.users.map((u) => u.id));
    return this.sessions.list().map((s) => {
      const active = s.user === undefined || known.has(s.user);
      return { ...s, active, ...(active ? {} : { inactiveReason: `user '${s.user}' is not in the directory` }) };
    });
  }

  stop(): void {
    this.newWork.clear();
    this.sessions.stop();
    this.auth.stop();
    this.radiusClient?.close();
    this.emit('stop');
  }

  /** Resolves when every change so far is compiled and installed (each switch's barrier answered). */
  settled(): Promise<void> {
    if (!this.running && !this.scheduled) return Promise.resolve();
    return new Promise((res) => this.waiters.push(res));
  }

  private onSessionChange(c: SessionChange): void {
    const s = c.session;
    const base = {
      id: s.id,
      mac: s.mac,
      switch: s.switch,
      port: s.port,
      method: s.method,
      user: s.user,
      deviceGroup: s.deviceGroup,
      by: c.by,
    };
    if (c.kind === 'added') this.ctl.event('session-started', { ...base, expires: s.expires });
    else if (c.kind === 'replaced') {
      const p = c.previous!;
      const moved = p.switch !== s.switch || p.port !== s.port;
      this.ctl.event(moved ? 'session-moved' : 'session-renewed', {
        ...base,
        expires: s.expires,
        ...(moved ? { from: { switch: p.switch, port: p.port } } : {}),
        previousId: p.id,
      });
    } else this.ctl.event('session-ended', { ...base, reason: c.reason });
    this.dirty.add(s.mac);
    if (c.previous) this.dirty.add(c.previous.mac);
    // one change may tell of several sessions (a login that ends others) under one version step; a step with no
    // event in between (a restore) means MACs changed that nobody named
    const v = this.sessions.version;
    if (v - this.seenVersion > 1) this.unevented = true;
    this.seenVersion = v;
    this.changed();
  }

  /** Something at the edge changed: compile and sync once for everything that arrives until then. */
  changed(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.run();
    });
  }

  private async run(): Promise<void> {
    this.running = true;
    const waiters = this.waiters.splice(0);
    const t0 = performance.now();
    try {
      if (this.ctl.compiled) {
        const { out, hint } = this.inputWithHint(this.ctl.directory, [...this.ctl.bindings.values()]);
        const next = recompile(this.ctl.compiled, out, hint);
        const t1 = performance.now();
        this.phases.compileMs += t1 - t0;
        if (next !== this.ctl.compiled) {
          const before = this.ctl.compiled.plan;
          this.ctl.compiled = next;
          void this.ctl.saveState();
          // only the difference from the plan each switch was brought to (no table read), in parallel; a patch
          // knows it per switch (edgeDelta), a rebuilt switch is diffed
          const known = edgeDelta(next);
          const deltas = known?.from === before ? known.switches : undefined;
          const prevBy = new Map(before.switches.map((x) => [x.dpid, x]));
          await Promise.all(
            [...this.ctl.sessions.values()].flatMap((sess) => {
              if (sess.dpid === undefined) return [];
              const a = prevBy.get(sess.dpid),
                b = next.plan.switches.find((x) => x.dpid === sess.dpid);
              if (a && b && a.flows === b.flows) return [];
              // the edge path changes a few flows: send exactly those (one small batch + barrier), no table read
              const delta = a && b ? (deltas?.get(b.name) ?? planDelta(a.flows, b.flows)) : undefined;
              return [this.ctl.sync(sess.id, { assume: a?.flows, delta })];
            }),
          );
        }
        this.phases.syncMs += performance.now() - t1;
      }
    } catch (e) {
      // fail closed: the switches keep the last good plan (sessions that could not be compiled admit nothing new)
      const msg = e instanceof CompileError ? e.message : ((e as Error).stack ?? String(e));
      this.ctl.event('edge-compile-error', { error: msg });
    }
    this.runs++;
    this.lastRunMs = performance.now() - t0;
    this.running = false;
    for (const w of waiters) w();
    if (this.again) {
      this.again = false;
      this.changed();
      return;
    }
    if (!this.scheduled) for (const w of this.waiters.splice(0)) w();
  }
}

function sameBindings(a: readonly Binding[], b: readonly Binding[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i],
      y = b[i];
    if (x !== y && (x.mac !== y.mac || x.ip !== y.ip || x.switch !== y.switch || x.port !== y.port || !sameList(x.ipv6, y.ipv6)))
      return false;
  }
  return true;
}

function sameList(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
