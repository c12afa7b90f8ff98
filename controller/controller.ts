/**
 * The controller core: owns all mutable state (policy, compiled plan, directory snapshot, learned bindings,
 * switch sessions) and exposes the operations the API, CLI and web console call.
 */
import { EventEmitter } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import { readFile, rename, writeFile } from 'node:fs/promises';
import type { FlowStats, MessageOf } from '../openflow/index.js';
import { bytesToMac, u32ToIpv4 } from '../openflow/index.js';
import type { Binding, Diagnostic, Directory, FlowPlan, PlannedFlow, SwitchPlan } from '../compiler/model.js';
import { compile, recompile, CompileError, compileDiagnostic, type Compiled } from '../compiler/compile.js';
import type { PlanDelta } from '../compiler/edge-patch.js';
import { loadPolicy, formatDiagnostic, type LoadedPolicy, type LoadResult } from '../loader/index.js';
import { diffAccess, diffPlans, type AccessChange } from '../compiler/query.js';
import { SwitchSession, type SessionOptions } from './session.js';
import { installMeter, installOneMeter, readFlows, reconcile, type ReconcileResult } from './reconcile.js';
import { DirectorySync, LdapDirectorySource } from '../directory/ldap.js';
import { budgetGate, detectedProfile, profileStatus, refusedResult } from './switch-profile.js';
import { GlobalBudget, type MultipartLimits, type Violation } from './peer-limits.js';
import { PolicyGuard, type LdapAllowlist } from './policy-guard.js';
import { EdgeHook } from './edge-hook.js';
import { FirstContact } from './first-contact.js';
import { LearningGuard, type LearningLimits } from './learning-guard.js';
import { EAPOL_METER_ID } from '../compiler/auth.js';
import { certificateMismatch, contest } from './switch-identity.js';
import { StateWriter } from './state-file.js';
import { findOverrides, isOurs, type ForeignOverride } from './foreign-flows.js';
import { createHash } from 'node:crypto';
import { Scheduler, systemClock, type Clock } from './scheduler.js';
import { Observer, type ObserveOptions } from './observe.js';
import type { SharedLifecycle } from './lifecycle-cluster.js';
import { infoOf, isEventType, type ControllerEvent, type EventData, type EventType } from './events.js';

export interface ControllerOptions {
  readonly policyPath: string;
  readonly listen?: { host: string; port: number };
  readonly tls?: TlsOptions;
  readonly session?: SessionOptions;
  /** Periodic read-back and repair of every switch (ms); 0 disables. */
  readonly auditIntervalMs?: number;
  readonly useBundles?: boolean;
  readonly discoveryPps?: number;
  /** Rate of deny samples (copies of denied packets) each switch sends to the deny log (meter 2, packets/s). */
  readonly denySamplePps?: number;
  /** EAPOL packets per second per switch sent to the controller (meter 3). */
  readonly eapolPps?: number;
  readonly log?: (level: 'info' | 'warn' | 'error', msg: string, data?: Record<string, unknown>) => void;
  /** Switches (by name) whose flows are all ours: foreign flows on them are removed. Also `exclusive: true` in the topology. */
  readonly exclusiveSwitches?: readonly string[];
  /** JSON file keeping learned host bindings across restarts (so a restart changes no flows). */
  readonly stateFile?: string;
  /** Traffic counters per rule and the deny log (controller/observe.ts). */
  readonly observe?: ObserveOptions;
  /** Byte caps on unfinished multipart replies, per switch session and across all sessions. */
  readonly multipartLimits?: MultipartLimits;
  /** What a policy submitted through the API may name (files under these roots besides the policy folder; LDAP allowlist). */
  readonly submitted?: {
    readonly allowRoots?: readonly string[];
    readonly ldapAllow?: LdapAllowlist;
    readonly maxBytes?: number;
    readonly timeoutMs?: number;
  };
  /** Host-discovery limits: PACKET_INs per switch port, flapping MACs (see learning-guard.ts). */
  readonly learning?: Partial<LearningLimits>;
  /** TLS only: a switch's certificate must carry its name or dpid (CN or subjectAltName), else it is refused. */
  readonly tlsBindSwitch?: boolean;
  /** How long a connected switch has to answer the liveness echo when another connection claims its dpid (ms). */
  readonly contestTimeoutMs?: number;
  /** Cluster mode (controller/cluster-driver.ts): writes only to switches this node masters; changes go through etcd. */
  readonly cluster?: {
    mayWrite(dpid: string): boolean;
    submit(text: string, opts: ApplyOptions): Promise<ApplyResult>;
    initialIds?(): { classIds: Array<[string, number]>; dstClassIds: Array<[string, number]> } | undefined;
    /** Policy history and pending approvals kept in etcd (controller/lifecycle-cluster.ts). */
    readonly lifecycle?: SharedLifecycle;
  };
  /** The controller's clock (time windows, pending approvals); tests inject a ManualClock. */
  readonly clock?: Clock;
}

export interface SwitchStatus {
  readonly name?: string;
  readonly dpid: string;
  readonly connected: boolean;
  readonly known: boolean;
  readonly remote?: string;
  readonly flowsDesired: number;
  readonly flowsInstalled?: number;
  readonly lastSync?: string;
  readonly lastResult?: ReconcileResult;
  readonly errors: readonly string[];
  readonly ports: number;
  /** Foreign flows that can override the policy (non-exclusive switches; see foreign-flows.ts). */
  readonly foreignOverrides?: readonly ForeignOverride[];
  /** The profile the switch's flows are compiled for, and what that profile cannot enforce. */
  readonly profile?: string;
  readonly limits?: readonly string[];
}

export type { ControllerEvent } from './events.js';

/** Who and why, recorded with an applied version (audit log, history). */
export interface ApplyMeta {
  readonly reason?: 'apply' | 'rollback' | 'schedule';
  readonly approvedBy?: string;
  readonly rollbackTo?: number;
}

export interface ApplyResult {
  readonly ok: boolean;
  readonly diagnostics: readonly Diagnostic[];
  readonly dryRun: boolean;
  readonly access: readonly AccessChange[];
  readonly flows: ReadonlyArray<{ switch: string; added: number; removed: number; unchanged: number }>;
  readonly version?: number;
  readonly results?: readonly ReconcileResult[];
}

/** A policy text validated and compiled against `base` (the plan at that moment), not yet applied. */
interface Prepared {
  readonly text: string;
  readonly trusted?: boolean;
  readonly base: Compiled;
  readonly madeAt: number;
  readonly r: Extract<LoadResult, { ok: true }>;
  readonly next: Compiled;
  readonly access: ApplyResult['access'];
  readonly flows: ApplyResult['flows'];
}

export interface ApplyOptions {
  readonly dryRun?: boolean;
  readonly by?: string;
  /** The operator's own file (SIGHUP reload): not checked by the policy guard. */
  readonly trusted?: boolean;
  /** Cluster mode: the change was committed through etcd (apply it here). */
  readonly committed?: boolean;
  /** Cluster mode: the committed version number. */
  readonly version?: number;
  readonly meta?: ApplyMeta;
  /** Class ids to keep (a rollback passes those of the version it returns to). */
  readonly ids?: Pick<Compiled, 'classIds' | 'dstClassIds'>;
  /** Apply only if the policy is still at this version (what the admin looked at); otherwise a 'conflict'. */
  readonly baseVersion?: number;
  /** Cluster mode: the pending change this applies (approval); consumed in the same etcd transaction as the commit. */
  readonly pendingId?: string;
}

/** Keeps a chain going whatever the previous link returned or threw. */
const ignore = () => undefined;
const hexDpid = (d: bigint) => `0x${d.toString(16).padStart(16, '0')}`;

export class Controller extends EventEmitter {
  loaded!: LoadedPolicy;
  compiled!: Compiled;
  version = 0;
  readonly startedAt = new Date();
  lastChange?: { at: string; by: string; version: number; summary: string };
  readonly sessions = new Map<string, SwitchSession>(); // by dpid hex
  private readonly results = new Map<string, ReconcileResult & { at: string }>();
  readonly bindings = new Map<string, Binding>(); // learned, by MAC
  readonly alerts: ControllerEvent[] = [];
  packetIns = 0;
  private server?: Server;
  private auditTimer?: NodeJS.Timeout;
  private readonly queues = new Map<
    string,
    {
      running: boolean;
      again: boolean;
      loud: boolean;
      assume?: readonly PlannedFlow[];
      delta?: PlanDelta;
      waiters: Array<(r: ReconcileResult | undefined) => void>;
    }
  >();
  private readonly log: NonNullable<ControllerOptions['log']>;
  directoryStatus: { source: string; lastSuccessAt?: string; entries: number; lastError?: string; heldShrink?: unknown } = {
    source: '',
    entries: 0,
  };
  directorySync?: DirectorySync;
  private savedIds?: { classIds: Map<string, number>; dstClassIds: Map<string, number> };
  private stateWriter?: StateWriter;
  readonly clock: Clock;
  scheduler?: Scheduler;
  /** Multipart bytes held by all switch sessions together (capped globally). */
  readonly peerBudget: GlobalBudget;
  /** The directory as loaded or synced (without the edge's sessions folded in: that is compiled.input.directory). */
  directory!: Directory;
  /** Login sessions and address leases at the edge (controller/edge-hook.ts). */
  readonly edge: EdgeHook;
  /** DHCP snooping, leases and web sign-in (controller/first-contact.ts). */
  readonly firstContact: FirstContact;
  /** Rate limits and flap damping for host discovery. */
  readonly learning: LearningGuard;
  /** Recompiles caused by learned bindings (batched: one per burst of learning, not one per packet). */
  bindingRecompiles = 0;
  private learnTimer?: NodeJS.Timeout;

  constructor(readonly opts: ControllerOptions) {
    super();
    this.setMaxListeners(1000);
    this.log = opts.log ?? (() => undefined);
    this.peerBudget = new GlobalBudget(opts.multipartLimits);
    this.edge = new EdgeHook(this);
    this.firstContact = new FirstContact(this);
    this.learning = new LearningGuard(opts.learning);
    this.clock = opts.clock ?? systemClock;
    this.observe = new Observer(this, opts.observe);
  }
  readonly observe: Observer;
  /** A policy applied in monitor mode: what it would deny is logged, nothing of it is enforced. */
  monitoring?: { readonly compiled: Compiled; readonly name: string };

  /** Loads and compiles the policy; throws with every diagnostic when it is invalid (nothing starts). */
  async load(): Promise<void> {
    if (this.opts.stateFile) {
      try {
        const st = JSON.parse(await readFile(this.opts.stateFile, 'utf8')) as {
          generation?: number;
          bindings?: Binding[];
          classIds?: Array<[string, number]>;
          dstClassIds?: Array<[string, number]>;
          edge?: unknown;
        };
        if (Number.isSafeInteger(st.generation)) this.restoredGeneration = st.generation!;
        this.edge.restore(st.edge);
        for (const b of st.bindings ?? [])
          if (b && typeof b.mac === 'string' && typeof b.switch === 'string' && Number.isInteger(b.port))
            this.bindings.set(b.mac, { ...b, learned: true });
        if (Array.isArray(st.classIds) && Array.isArray(st.dstClassIds))
          this.savedIds = { classIds: new Map(st.classIds), dstClassIds: new Map(st.dstClassIds) };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
          this.log('warn', `ignoring unreadable state file ${this.opts.stateFile}: ${(e as Error).message}`);
      }
    }
    const shared = this.opts.cluster?.initialIds?.();
    if (shared) this.savedIds = { classIds: new Map(shared.classIds), dstClassIds: new Map(shared.dstClassIds) };
    const r = await loadPolicy(this.opts.policyPath);
    if (!r.ok) throw new Error(r.diagnostics.map(formatDiagnostic).join('\n'));
    this.loaded = r.value;
    this.directory = r.value.directory;
    // Class ids from the last run keep every unchanged flow identical, so a restart sends no flow mods.
    // Restored login sessions and leases are part of the first compile, so a restart needs no new login.
    this.compiled = compile(
      { ...r.value, ...this.edge.input(r.value.directory, [...this.bindings.values()]), at: this.clock.now() },
      { previous: this.savedIds },
    );
    this.version = 1;
    void this.saveState();
    this.directoryStatus = {
      source: r.value.directorySource.description,
      lastSuccessAt: new Date().toISOString(),
      entries: r.value.directory.users.length,
    };
  }

  async start(): Promise<{ port: number }> {
    if (!this.loaded) await this.load();
    const onSocket = (sock: Socket) => this.accept(sock);
    this.server = this.opts.tls ? createTlsServer(this.opts.tls, onSocket) : createServer(onSocket);
    const l = this.opts.listen ?? { host: '0.0.0.0', port: 6653 };
    await new Promise<void>((res, rej) => {
      this.server!.once('error', rej);
      this.server!.listen(l.port, l.host, () => res());
    });
    if (this.opts.auditIntervalMs) {
      this.auditTimer = setInterval(() => {
        for (const dpid of this.sessions.keys()) void this.sync(dpid, { quiet: true });
      }, this.opts.auditIntervalMs);
      this.auditTimer.unref();
    }
    this.startDirectorySync();
    const signin = await this.firstContact.start();
    if (signin) this.log('info', `web sign-in page on ${signin.host}:${signin.port}`);
    (this.scheduler = new Scheduler(this, this.clock)).start();
    await this.observe.start();
    const port = (this.server.address() as { port: number }).port;
    this.log('info', `listening for OpenFlow switches on ${l.host}:${port}${this.opts.tls ? ' (TLS)' : ''}`);
    return { port };
  }

  /** LDAP directories are polled; a change recompiles and re-syncs only what changed. Errors keep the last snapshot. */
  private startDirectorySync(): void {
    const src = this.loaded.directorySource;
    if (!(src instanceof LdapDirectorySource)) return;
    this.directorySync = new DirectorySync(
      src,
      {
        intervalMs: src.config.pollIntervalMs,
        maxShrink: src.config.maxShrink,
        onSnapshot: async (dir, diff) => {
          this.log('info', `directory changed: +${diff.usersAdded.length} -${diff.usersRemoved.length} ~${diff.usersChanged.length} users`);
          await this.setDirectory(dir, 'directory sync');
        },
        onError: (e) => {
          this.directoryStatus = { ...this.directoryStatus, lastError: e.message };
          this.log('warn', `directory sync failed (keeping the last good snapshot): ${e.message}`);
          this.event('directory-failed', { error: e.message });
        },
        onHeld: (info) => {
          this.directoryStatus = { ...this.directoryStatus, heldShrink: info };
          this.log(
            'warn',
            `directory shrank from ${info.before} to ${info.after} users: held until confirmed (POST /api/v1/directory/confirm-shrink)`,
          );
          this.event('directory-shrink-held', info);
        },
      },
      this.loaded.directory,
    );
    this.directorySync.start();
  }

  async stop(): Promise<void> {
    this.directorySync?.stop();
    this.edge.stop();
    await this.firstContact.stop();
    this.scheduler?.stop();
    await this.observe.stop();
    if (this.auditTimer) clearInterval(this.auditTimer);
    if (this.learnTimer) clearTimeout(this.learnTimer);
    for (const s of this.sessions.values()) s.close('controller stopping');
    await new Promise<void>((res) => (this.server ? this.server.close(() => res()) : res()));
  }

  /** Emits an event; whether it is kept as an alert comes from its definition in events.ts. */
  event<K extends EventType>(type: K, data: EventData<K>): void {
    // the event's own time always wins: a payload field named `at` cannot replace it
    const { at: _payloadAt, type: _payloadType, ...rest } = data as Record<string, unknown>;
    const e = { type, at: new Date().toISOString(), ...rest } as ControllerEvent;
    if (infoOf(type).alert) {
      this.alerts.push(e);
      if (this.alerts.length > 200) this.alerts.shift();
    }
    this.emit('event', e);
  }

  /**
   * An event named by a layer below the controller (edge/, the DHCP snooper) that cannot import its types. A name
   * events.ts does not define is a programming error: under test (ACL_CHECK_REPLIES=1) it throws; in production it
   * is streamed but never an alert.
   */
  relay(type: string, data: Record<string, unknown>): void {
    if (isEventType(type)) return this.event(type, data as EventData<typeof type>);
    if (process.env.ACL_CHECK_REPLIES === '1') throw new Error(`event '${type}' is not defined in controller/events.ts`);
    const { at: _payloadAt, type: _payloadType, ...rest } = data;
    this.emit('event', { type, at: new Date().toISOString(), ...rest });
  }

  /** A switch that is exclusively ours: flows outside our cookie space are removed too (off by default). */
  isExclusive(name: string): boolean {
    if (this.opts.exclusiveSwitches?.includes(name)) return true;
    const def = this.compiled.input.topology.switches.find((s) => s.name === name) as { exclusive?: unknown } | undefined;
    return def?.exclusive === true;
  }

  planFor(dpid: bigint): SwitchPlan | undefined {
    return this.compiled.plan.switches.find((s) => s.dpid === dpid);
  }

  private accept(sock: Socket): void {
    const s = new SwitchSession(sock, { ...this.opts.session, budget: this.peerBudget });
    s.on('violation', (v: Violation) => {
      this.log('warn', `disconnected OpenFlow peer ${s.dpid !== undefined ? s.id : s.remote}: ${v.message}`);
      this.event('peer-violation', { dpid: s.dpid !== undefined ? s.id : undefined, remote: s.remote, kind: v.kind, error: v.message });
    });
    s.on('ready', () => void this.adopt(s));
    s.on('closed', (reason: string) => {
      this.packetInsDroppedClosed += s.packetInsDropped;
      if (s.dpid !== undefined && this.sessions.get(s.id) === s) {
        this.sessions.delete(s.id);
        const name = this.planFor(s.dpid)?.name;
        this.log('info', `switch ${name ?? s.id} disconnected: ${reason}`);
        this.event('switch-down', { switch: name, dpid: s.id, reason });
        this.foreignOverrides.delete(s.id);
        // per-dpid state of a switch not in the topology is not kept once it is gone (no growth per dpid ever seen)
        if (!name) {
          this.results.delete(s.id);
          if (!this.queues.get(s.id)?.running) this.queues.delete(s.id);
        }
      } else this.log('warn', `connection from ${s.remote} dropped: ${reason}`);
    });
    // only the session that speaks for its dpid is listened to (not a newcomer being checked)
    s.on('packet_in', (m: MessageOf<'packet_in'>) => {
      if (this.sessions.get(s.id) === s) this.onPacketIn(s, m);
    });
    s.on('switch_error', (e: { error: string }) => this.event('switch-error', { dpid: s.id, error: e.error }));
    s.on('port_status', (m: MessageOf<'port_status'>) =>
      this.event('port-status', {
        dpid: s.id,
        switch: s.dpid !== undefined ? this.planFor(s.dpid)?.name : undefined,
        port: m.desc.portNo,
        name: m.desc.name,
        reason: m.reason,
        down: m.reason === 'delete' || (m.desc.state & 1) !== 0 || (m.desc.config & 1) !== 0,
      }),
    );
  }

  /** Foreign flows that can override the policy, per connected switch (from its last sync). */
  readonly foreignOverrides = new Map<string, readonly ForeignOverride[]>();

  private noteForeign(dpid: string, name: string, found: readonly ForeignOverride[]): void {
    const before = this.foreignOverrides.get(dpid) ?? [];
    const key = (l: readonly ForeignOverride[]) => l.map((f) => f.text).join('\n');
    if (found.length) this.foreignOverrides.set(dpid, found);
    else this.foreignOverrides.delete(dpid);
    if (key(before) === key(found)) return;
    if (found.length) {
      this.log('warn', `switch ${name}: ${found.length} foreign flow(s) can override the policy, e.g. ${found[0].text}`);
      this.event('foreign-override', { switch: name, dpid, count: found.length, flows: found.slice(0, 10) });
    } else this.event('foreign-flows-cleared', { switch: name, dpid });
  }

  /** Who confirmed a held directory shrink: the snapshot it lets through is audited as theirs. */
  private shrinkConfirmedBy?: string;

  /** Accepts a held directory shrink on behalf of `by` (the audit log records them, not the directory sync). */
  async confirmShrink(by: string): Promise<boolean> {
    if (!this.directorySync) return false;
    this.shrinkConfirmedBy = by;
    try {
      return await this.directorySync.confirmShrink();
    } finally {
      this.shrinkConfirmedBy = undefined;
    }
  }

  /** PACKET_INs dropped by sessions that have since closed (acl_packet_ins_dropped keeps counting them). */
  packetInsDroppedClosed = 0;

  /** All PACKET_INs dropped by session queue bounds, of connected and of closed sessions. */
  packetInsDropped(): number {
    let n = this.packetInsDroppedClosed;
    for (const s of this.sessions.values()) n += s.packetInsDropped;
    return n;
  }

  /** A session finished its handshake: check who it claims to be, then make it the switch's session. */
  private async adopt(s: SwitchSession): Promise<void> {
    const id = s.id;
    if (this.opts.tls && this.opts.tlsBindSwitch) {
      const why = certificateMismatch(s.socket, s.dpid!, this.planFor(s.dpid!)?.name);
      if (why) {
        this.log('warn', `refused ${s.remote} claiming ${id}: ${why}`);
        this.event('switch-impostor', { dpid: id, remote: s.remote, reason: why });
        s.close(`certificate does not match the switch: ${why}`);
        return;
      }
    }
    const old = this.sessions.get(id);
    if (old && old !== s) {
      // The live switch keeps its session unless it no longer answers.
      const verdict = await contest(old, this.opts.contestTimeoutMs ?? 3000);
      if (s.state !== 'ready') return;
      if (verdict === 'keep' && this.sessions.get(id) === old) {
        this.log('warn', `refused ${s.remote} claiming ${id}: the switch is connected from ${old.remote} and answers`);
        this.event('switch-impostor', {
          dpid: id,
          switch: this.planFor(s.dpid!)?.name,
          remote: s.remote,
          live: old.remote,
          reason: 'dpid already connected and alive',
        });
        s.close('dpid already connected (the live session answered)');
        return;
      }
      if (this.sessions.get(id) === old) old.close(`replaced by ${s.remote}: did not answer an echo`);
    }
    this.sessions.set(id, s);
    const plan = this.planFor(s.dpid!);
    if (!plan) {
      this.log('warn', `unknown switch ${id} from ${s.remote}: held (nothing of ours installed)`);
      this.event('unknown-switch', { dpid: id, remote: s.remote });
      void this.sync(id);
      return;
    }
    this.log('info', `switch ${plan.name} (${id}) connected from ${s.remote}`);
    this.event('switch-up', { switch: plan.name, dpid: id });
    const prof = detectedProfile(this.compiled.input.topology, plan, s);
    if (prof) {
      this.log('info', `switch ${plan.name} reports ${s.desc?.mfrDesc} ${s.desc?.hwDesc}: compiling its flows for profile ${prof}`);
      try {
        this.compiled = recompile(this.compiled, { detected: new Map([...(this.compiled.input.detected ?? []), [plan.name, prof]]) });
      } catch (e) {
        this.log('error', `recompile for profile ${prof}: ${(e as Error).message}`);
      }
    }
    void this.sync(id);
  }

  /** Reconciles one switch; concurrent calls coalesce into one follow-up run with the newest plan. */
  sync(
    dpid: string,
    how: { quiet?: boolean; assume?: readonly PlannedFlow[]; delta?: PlanDelta } = {},
  ): Promise<ReconcileResult | undefined> {
    let q = this.queues.get(dpid);
    if (!q) this.queues.set(dpid, (q = { running: false, again: false, loud: false, waiters: [] }));
    const queue = q;
    return new Promise((resolve) => {
      // `assume`: what the switch holds (the plan it was last brought to); only for a lone request on an idle
      // queue of a switch synced before: then only the difference is sent, without reading the table (edge changes)
      queue.assume = how.assume && !queue.running && !queue.waiters.length && this.results.has(dpid) ? how.assume : undefined;
      queue.delta = queue.assume ? how.delta : undefined; // the edge path's known difference from `assume`
      queue.waiters.push(resolve);
      if (!how.quiet) queue.loud = true;
      if (queue.running) {
        queue.again = true;
        return;
      }
      const run = async () => {
        queue.running = true;
        queue.again = false;
        const waiters = queue.waiters.splice(0);
        const loud = queue.loud;
        queue.loud = false;
        let result: ReconcileResult | undefined;
        const s = this.sessions.get(dpid);
        // A switch not in the topology is held fail-closed: its plan is empty, so any of our flows left on it go.
        const plan =
          s?.dpid !== undefined ? (this.planFor(s.dpid) ?? { name: dpid, dpid: s.dpid, kind: 'edge' as const, flows: [] }) : undefined;
        if (s && plan && s.state === 'ready' && (this.opts.cluster?.mayWrite(dpid) ?? true)) {
          try {
            if (!(s as SwitchSession & { meterDone?: boolean }).meterDone) {
              const err = await installMeter(s, this.opts.discoveryPps ?? 100, this.opts.denySamplePps ?? 50);
              if (err) this.event('switch-error', { switch: plan.name, error: `discovery meter: ${err}` });
              const err2 = await installOneMeter(s, EAPOL_METER_ID, this.opts.eapolPps ?? 1000);
              if (err2) this.event('switch-error', { switch: plan.name, error: `EAPOL meter: ${err2}` });
              (s as SwitchSession & { meterDone?: boolean }).meterDone = true;
            }
            const over = budgetGate(this.compiled.input.topology, plan, s);
            if (over) {
              result = refusedResult(plan, over);
              this.results.set(dpid, { ...result, at: new Date().toISOString() });
              this.log('error', result.errors[0]);
              this.event('budget-refused', { switch: plan.name, dpid, report: over });
              for (const w of waiters) w(result);
              queue.running = false;
              if (queue.again) void run();
              return;
            }
            const assume = queue.assume,
              delta = queue.delta;
            queue.assume = undefined;
            queue.delta = undefined;
            // On a shared switch, one read of all flows: ours are reconciled, foreign ones checked for overrides.
            const exclusive = this.isExclusive(plan.name);
            // a planned flow without hardTimeout is installed without one (0): say so, so that gaining a timeout is a change
            if (assume)
              result = await reconcile(s, plan, {
                installed: delta
                  ? (assume as unknown as FlowStats[])
                  : (assume.map((f) => (f.hardTimeout === undefined ? { ...f, hardTimeout: 0 } : f)) as unknown as FlowStats[]),
                verify: false,
                useBundle: false,
                exclusive,
                delta,
              });
            else {
              let installed: FlowStats[] | undefined;
              if (!exclusive && plan.flows.length) {
                const all = await readFlows(s, true);
                this.noteForeign(dpid, plan.name, findOverrides(all, plan));
                installed = all.filter(isOurs);
              }
              result = await reconcile(s, plan, { useBundle: this.opts.useBundles, exclusive, installed });
            }
            this.results.set(dpid, { ...result, at: new Date().toISOString() });
            if (result.added || result.removed || result.changed || result.errors.length) {
              this.log(
                result.errors.length ? 'warn' : 'info',
                `switch ${plan.name}: +${result.added} ~${result.changed} -${result.removed} (${result.unchanged} unchanged) in ${result.ms.toFixed(0)} ms${result.atomic ? ' (bundle)' : ''}`,
                { errors: result.errors },
              );
            }
            // Periodic read-backs that find nothing to do stay quiet (no event every few seconds per switch).
            if (loud || result.added || result.removed || result.changed || result.errors.length) {
              this.event('switch-synced', {
                switch: plan.name,
                dpid,
                added: result.added,
                removed: result.removed,
                changed: result.changed,
                errors: result.errors,
              });
            }
          } catch (e) {
            this.log('error', `reconcile of ${plan.name} failed: ${(e as Error).message}`);
            this.event('switch-error', { switch: plan.name, error: (e as Error).message });
          }
        }
        for (const w of waiters) w(result);
        queue.running = false;
        if (queue.again) void run();
      };
      void run();
    });
  }

  async syncAll(): Promise<ReconcileResult[]> {
    const r = await Promise.all([...this.sessions.keys()].map((d) => this.sync(d)));
    return r.filter((x): x is ReconcileResult => !!x);
  }

  /** Validates and compiles a new policy text; unless dryRun, writes it (atomically) and applies it everywhere. */
  applyPolicy(text: string, opts: ApplyOptions = {}): Promise<ApplyResult> {
    // In a cluster a change is committed through etcd first; every node then applies the committed version.
    if (this.opts.cluster && !opts.committed) return this.opts.cluster.submit(text, opts);
    // One change at a time: each compiles against the plan the previous one left.
    const run = this.applyChain.then(() => this.applyPolicyNow(text, opts));
    this.applyChain = run.then(ignore, ignore);
    return run;
  }
  private applyChain: Promise<void> = Promise.resolve();
  private guard?: PolicyGuard;

  /**
   * Validates and compiles a policy text against the current plan. A cluster node compiles a change twice (the preview
   * before the etcd commit, then the committed version): when nothing changed in between (same text, same plan, a few
   * seconds), the second use takes the first's result instead of compiling again.
   */
  private async preparePolicy(text: string, opts: ApplyOptions): Promise<Prepared | ApplyResult> {
    const p = this.prepared;
    this.prepared = undefined;
    if (
      p &&
      !opts.ids &&
      p.text === text &&
      p.base === this.compiled &&
      !!p.trusted === !!opts.trusted &&
      this.clock.now() - p.madeAt < 5000
    )
      return p;
    // Unless the text is the operator's own file (SIGHUP reload), it may name only allowed files and no new secrets.
    const guard = opts.trusted ? undefined : (this.guard ??= new PolicyGuard({ policyPath: this.opts.policyPath, ...this.opts.submitted }));
    const refused = guard?.checkSecrets(text, this.loaded.policy) ?? [];
    if (refused.length) return { ok: false, diagnostics: refused, dryRun: !!opts.dryRun, access: [], flows: [] };
    // An LDAP directory keeps its latest synced snapshot (not the one from start-up); a file directory is re-read.
    // (the sync's latest accepted snapshot: it also carries group names that changed no user, e.g. a new empty group)
    const r0 = await loadPolicy(this.opts.policyPath, {
      policyText: text,
      readFile: guard?.readFile,
      directory: this.loaded.policy.directory.kind === 'ldap' ? (this.directorySync?.snapshot ?? this.directory) : undefined,
    });
    const r = !guard ? r0 : r0.ok ? { ...r0, warnings: guard.redact(r0.warnings) } : { ...r0, diagnostics: guard.redact(r0.diagnostics) };
    if (!r.ok) return { ok: false, diagnostics: r.diagnostics, dryRun: !!opts.dryRun, access: [], flows: [] };
    const base = this.compiled;
    // a rollback reuses the class ids of the version it returns to, so its flows come back identical
    const ids = opts.ids ? { ...base, ...opts.ids } : base;
    let next: Compiled;
    try {
      next = recompile(ids, {
        policy: r.value.policy,
        topology: r.value.topology,
        ...this.edge.input(r.value.directory, [...this.bindings.values()]),
        at: this.clock.now(),
      });
    } catch (e) {
      if (!(e instanceof CompileError)) throw e;
      return { ok: false, diagnostics: [compileDiagnostic(e, r.value.paths.policy)], dryRun: !!opts.dryRun, access: [], flows: [] };
    }
    const access = diffAccess(base, next);
    const flows = diffPlans(this.compiled.plan, next.plan).map((d) => ({
      switch: d.switch,
      added: d.added.length,
      removed: d.removed.length,
      unchanged: d.unchanged,
    }));
    const prepared: Prepared = { text, trusted: opts.trusted, base, madeAt: this.clock.now(), r, next, access, flows };
    // kept for the commit that follows a cluster node's preview
    if (opts.dryRun && opts.committed && !opts.ids) this.prepared = prepared;
    return prepared;
  }
  private prepared?: Prepared;

  private async applyPolicyNow(text: string, opts: ApplyOptions): Promise<ApplyResult> {
    if (opts.baseVersion !== undefined && !opts.committed && opts.baseVersion !== this.version) {
      return {
        ok: false,
        diagnostics: [
          {
            severity: 'error',
            code: 'conflict',
            message: `policy changed meanwhile (based on version ${opts.baseVersion}, now ${this.version}): reload and apply again`,
          },
        ],
        dryRun: !!opts.dryRun,
        access: [],
        flows: [],
      };
    }
    const prep = await this.preparePolicy(text, opts);
    if (!('next' in prep)) return prep;
    const { r, base, access, flows } = prep;
    let next = prep.next;
    if (opts.dryRun) return { ok: true, diagnostics: r.warnings, dryRun: true, access, flows };
    const tmp = `${r.value.paths.policy}.tmp-${process.pid}`;
    await writeFile(tmp, text);
    await rename(tmp, r.value.paths.policy);
    // A binding learned or a directory synced while the file was written is kept: compile again on top of it.
    if (this.compiled !== base) {
      const directory = this.loaded.policy.directory.kind === 'ldap' ? this.directory : r.value.directory;
      next = recompile(opts.ids ? { ...this.compiled, ...opts.ids } : this.compiled, {
        policy: r.value.policy,
        topology: r.value.topology,
        ...this.edge.input(directory, [...this.bindings.values()]),
        at: this.clock.now(),
      });
    }
    this.loaded = r.value;
    if (this.loaded.policy.directory.kind !== 'ldap') this.directory = r.value.directory;
    this.compiled = next;
    this.version = opts.version ?? this.version + 1;
    const summary = `${access.filter((a) => a.change === 'gain').length} gained, ${access.filter((a) => a.change === 'lose').length} lost; flows ${flows.map((f) => `${f.switch} +${f.added}/-${f.removed}`).join(' ')}`;
    this.lastChange = { at: new Date().toISOString(), by: opts.by ?? 'unknown', version: this.version, summary };
    this.event('policy-applied', {
      version: this.version,
      by: opts.by,
      reason: opts.meta?.reason ?? 'apply',
      ...opts.meta,
      summary,
      access,
      flows,
    });
    void this.saveState();
    const results = await this.syncAll();
    return { ok: true, diagnostics: r.warnings, dryRun: false, access, flows, version: this.version, results };
  }

  /**
   * Re-evaluates time-windowed rules at `at` (the scheduler calls this at each boundary). When access changes it is
   * an apply like any other: a new version, recorded "by schedule"; the switches are re-synced either way (a moved
   * hard_timeout is re-armed).
   */
  applyAt(at: number, by = 'schedule'): Promise<void> {
    const run = this.applyChain.then(async () => {
      const base = this.compiled;
      let next: Compiled;
      try {
        next = recompile(base, { at });
      } catch (e) {
        if (!(e instanceof CompileError)) throw e;
        this.log('error', `time window change not applied, keeping the last good plan: ${e.message}`);
        this.event('schedule-rejected', { error: e.message });
        return;
      }
      const access = diffAccess(base, next);
      const flows = diffPlans(base.plan, next.plan).map((d) => ({
        switch: d.switch,
        added: d.added.length,
        removed: d.removed.length,
        unchanged: d.unchanged,
      }));
      this.compiled = next;
      if (access.length || flows.some((f) => f.added || f.removed)) {
        this.version++;
        const summary = `${access.filter((a) => a.change === 'gain').length} gained, ${access.filter((a) => a.change === 'lose').length} lost at ${new Date(at).toISOString()}; flows ${flows.map((f) => `${f.switch} +${f.added}/-${f.removed}`).join(' ')}`;
        this.lastChange = { at: new Date().toISOString(), by, version: this.version, summary };
        this.log('info', `time window: ${summary}`);
        this.event('policy-applied', {
          version: this.version,
          by,
          reason: 'schedule',
          effectiveAt: new Date(at).toISOString(),
          summary,
          access,
          flows,
        });
        void this.saveState();
      }
      await this.syncFrom(base.plan);
    });
    this.applyChain = run.then(ignore, ignore);
    return run;
  }

  /**
   * Brings every switch from `before` (the plan it was last synced to) to the current plan by sending only the
   * difference, without reading its table first (as edge changes do); a switch never synced, or busy, gets a full
   * reconcile. The periodic audit still reads every table back.
   */
  private async syncFrom(before: FlowPlan): Promise<void> {
    const prev = new Map(before.switches.map((x) => [x.dpid, x]));
    const now = new Map(this.compiled.plan.switches.map((x) => [x.dpid, x]));
    await Promise.all(
      [...this.sessions.entries()].flatMap(([id, sess]) => {
        const a = sess.dpid === undefined ? undefined : prev.get(sess.dpid),
          b = sess.dpid === undefined ? undefined : now.get(sess.dpid);
        if (a && b && a.flows === b.flows && this.results.get(id)?.errors.length === 0) return [];
        return [this.sync(id, { assume: a?.flows })];
      }),
    );
  }

  /** Replaces the directory snapshot (from a directory sync) and recompiles. */
  async setDirectory(directory: Directory, reason = 'directory changed'): Promise<AccessChange[]> {
    let next: Compiled;
    try {
      next = recompile(this.compiled, this.edge.input(directory, [...this.bindings.values()]));
    } catch (e) {
      if (!(e instanceof CompileError)) throw e;
      // fail closed: the switches keep the last good plan; the next snapshot is compiled in full again
      this.directoryStatus = { ...this.directoryStatus, lastError: `directory not applied: ${e.message}` };
      this.log('error', `directory change not applied, keeping the last good plan: ${e.message}`);
      this.event('directory-rejected', { reason, error: e.message });
      return [];
    }
    const access = diffAccess(this.compiled, next);
    this.compiled = next;
    this.directory = directory;
    this.edge.directoryChanged(directory);
    this.directoryStatus = {
      ...this.directoryStatus,
      lastSuccessAt: new Date().toISOString(),
      entries: directory.users.length,
      lastError: undefined,
    };
    this.event('directory-synced', {
      reason,
      users: directory.users.length,
      access,
      ...(this.shrinkConfirmedBy ? { by: this.shrinkConfirmedBy } : {}),
    });
    void this.saveState();
    await this.syncAll();
    return access;
  }

  async reloadPolicyFile(): Promise<ApplyResult> {
    return this.applyPolicy(await readFile(this.opts.policyPath, 'utf8'), { by: 'reload', trusted: true });
  }

  private onPacketIn(s: SwitchSession, m: MessageOf<'packet_in'>): void {
    this.packetIns++;
    if (this.observe.onPacketIn(s, m)) return; // a deny sample: logged, not discovery
    const inPort = m.match.find((e) => e.field === 'in_port')?.value as number | undefined;
    const d = m.data;
    if (inPort === undefined || d.length < 14 || s.dpid === undefined) return;
    const plan = this.planFor(s.dpid);
    if (!plan) return;
    // DHCP snooping first (it must see DHCP on 802.1X ports too); the edge hook still sees the MAC (MAB) and EAPOL
    if (this.firstContact.onPacketIn(s, plan.name, inPort, m)) {
      this.edge.packetIn(plan.name, inPort, d);
      return;
    }
    if (this.edge.packetIn(plan.name, inPort, d)) return; // EAPOL, and devices on authenticating ports
    if (!this.learning.admit(s.id, inPort)) return; // over this port's rate: counted, not looked at
    const mac = bytesToMac(d, 6);
    let off = 12;
    let ethType = d.readUInt16BE(off);
    if (ethType === 0x8100 && d.length >= 18) {
      off += 4;
      ethType = d.readUInt16BE(off);
    }
    let ip: string | undefined;
    if (ethType === 0x0800 && d.length >= off + 2 + 16) ip = u32ToIpv4(d.readUInt32BE(off + 2 + 12));
    else if (ethType === 0x0806 && d.length >= off + 2 + 18) ip = u32ToIpv4(d.readUInt32BE(off + 2 + 14));
    if (ip === '0.0.0.0') ip = undefined;
    const user = this.compiled.input.directory.users.find((u) => u.devices.some((dv) => dv.mac === mac));
    const server = this.compiled.input.topology.servers.find((sv) => sv.mac === mac);
    const bound = this.compiled.subjects.flatMap((x) => x.endpoints.map((e) => ({ x, e }))).find(({ e }) => e.mac === mac);
    if (!user && !server) {
      if (this.learning.report('unknown', mac)) this.event('unknown-device', { switch: plan.name, port: inPort, mac, ip });
      return;
    }
    const isLink = this.compiled.input.topology.links.some(
      (l) => (l.a.switch === plan.name && l.a.port === inPort) || (l.b.switch === plan.name && l.b.port === inPort),
    );
    if (isLink) return;
    const staticHost = this.compiled.input.topology.hosts.find((h) => h.mac === mac);
    if (server || staticHost) {
      const at = server ? { switch: server.switch, port: server.port } : staticHost!;
      if ((at.switch !== plan.name || at.port !== inPort) && this.learning.report('wrong-port', `${mac}@${plan.name}:${inPort}`))
        this.event('device-wrong-port', {
          mac,
          ip,
          seenAt: { switch: plan.name, port: inPort },
          expected: at,
          owner: user?.id ?? server?.name,
        });
      return; // statically bound: never moved by learning
    }
    const expectIp = user!.devices.find((dv) => dv.mac === mac)?.ip;
    if (expectIp && ip && ip !== expectIp) {
      if (this.learning.report('wrong-ip', `${mac}/${ip}`))
        this.event('device-wrong-port', {
          mac,
          ip,
          seenAt: { switch: plan.name, port: inPort },
          owner: user!.id,
          reason: `uses ${ip} instead of ${expectIp}`,
        });
      return;
    }
    // where the device is now: the newest learned binding (applied in batches), else the compiled one
    const learnedAt = this.bindings.get(mac);
    const cur = learnedAt
      ? { switch: learnedAt.switch, port: learnedAt.port }
      : bound?.e.switch
        ? { switch: bound.e.switch, port: bound.e.port }
        : undefined;
    if (cur?.switch === plan.name && cur.port === inPort) return; // already known here
    if (cur && learnedAt) {
      // A MAC moving back and forth (spoofed, or a loop) is held where it was: one alert, no recompile per packet.
      const verdict = this.learning.move(mac);
      if (verdict === 'held') return;
      if (verdict === 'flapping') {
        this.log(
          'warn',
          `MAC ${mac} (${user!.id}) is flapping between ports: held at ${cur.switch}:${cur.port} for ${this.learning.limits.holdMs} ms`,
        );
        this.event('mac-flapping', {
          mac,
          owner: user!.id,
          heldAt: cur,
          seenAt: { switch: plan.name, port: inPort },
          heldForMs: this.learning.limits.holdMs,
        });
        return;
      }
      this.event('device-moved', { mac, owner: user!.id, from: cur, to: { switch: plan.name, port: inPort } });
    }
    const b: Binding = { mac, ip: expectIp ?? ip, switch: plan.name, port: inPort, learned: true };
    this.bindings.set(mac, b);
    this.event('binding-learned', { ...b, owner: user!.id });
    this.scheduleLearned();
  }

  /** Learned bindings are applied in batches: a burst of PACKET_INs costs one recompile and one sync. */
  private scheduleLearned(): void {
    if (this.learnTimer) return;
    this.learnTimer = setTimeout(() => {
      this.learnTimer = undefined;
      this.bindingRecompiles++;
      this.compiled = recompile(this.compiled, this.edge.input(this.directory, [...this.bindings.values()]));
      // durable first, then the switches: a restart never finds flows newer than the state file
      void this.saveState().finally(() => this.syncAll());
    }, 10);
  }

  /** Class ids as saved in the state file (shared through etcd in a cluster). */
  classIdState(): { classIds: Array<[string, number]>; dstClassIds: Array<[string, number]> } {
    return { classIds: [...this.compiled.classIds], dstClassIds: [...this.compiled.dstClassIds] };
  }

  /** A binding learned by another cluster node (or its removal): recompile and reconcile what changed. */
  adoptBinding(mac: string, b: Binding | undefined): void {
    const cur = this.bindings.get(mac);
    if (b ? cur && cur.switch === b.switch && cur.port === b.port && cur.ip === b.ip : !cur) return;
    if (b) this.bindings.set(mac, { ...b, learned: true });
    else this.bindings.delete(mac);
    void this.saveState();
    this.compiled = recompile(this.compiled, this.edge.input(this.directory, [...this.bindings.values()]));
    void this.syncAll();
  }

  /** Generation of the state file read at start (0 without one). */
  restoredGeneration = 0;

  /** Saves the state through the one ordered writer (controller/state-file.ts); resolves once it is durable. */
  saveState(): Promise<void> {
    if (!this.opts.stateFile) return Promise.resolve();
    this.stateWriter ??= new StateWriter(
      this.opts.stateFile,
      () => ({
        bindings: [...this.bindings.values()],
        classIds: [...this.compiled.classIds],
        dstClassIds: [...this.compiled.dstClassIds],
        edge: this.edge.state(),
      }),
      {
        onSaved: (generation, state) =>
          this.event('state-saved', {
            generation,
            bindings: (state.bindings as unknown[]).length,
            digest: createHash('sha256').update(JSON.stringify(state.bindings)).digest('hex').slice(0, 16),
          }),
        onError: (e) => this.log('warn', `cannot save state to ${this.opts.stateFile}: ${e.message}`),
      },
      this.restoredGeneration,
    );
    return this.stateWriter.save();
  }

  /** Host discovery counters: PACKET_INs over the per-port rate, moves held as flapping, batched recompiles. */
  learningStatus(): {
    rateLimited: number;
    flapsHeld: number;
    recompiles: number;
    tracked: { ports: number; macs: number; reports: number };
  } {
    return {
      rateLimited: this.learning.rateLimited,
      flapsHeld: this.learning.flapsHeld,
      recompiles: this.bindingRecompiles,
      tracked: this.learning.tracked,
    };
  }

  switchStatus(): SwitchStatus[] {
    const out: SwitchStatus[] = [];
    for (const p of this.compiled.plan.switches) {
      const id = hexDpid(p.dpid);
      const s = this.sessions.get(id);
      const r = this.results.get(id);
      const fo = s ? (this.foreignOverrides.get(id) ?? []) : [];
      const foErr = fo.length
        ? [
            `${fo.length} foreign flow(s) can override the policy: ${fo
              .slice(0, 3)
              .map((f) => f.text)
              .join('; ')}`,
          ]
        : [];
      out.push({
        ...profileStatus(p),
        name: p.name,
        dpid: id,
        connected: !!s,
        known: true,
        remote: s?.remote,
        flowsDesired: p.flows.length,
        flowsInstalled: s ? r?.installed : undefined,
        lastSync: r?.at,
        lastResult: r,
        errors: [...(r?.errors ?? []), ...foErr],
        ports: s?.ports.size ?? 0,
        foreignOverrides: fo,
      });
    }
    for (const [id, s] of this.sessions)
      if (!this.planFor(s.dpid!))
        out.push({
          dpid: id,
          connected: true,
          known: false,
          remote: s.remote,
          flowsDesired: 0,
          errors: ['unknown switch: held, nothing installed'],
          ports: s.ports.size,
        });
    return out;
  }
}
