/**
 * The controller core: owns all mutable state (policy, compiled plan, directory snapshot, learned bindings,
 * switch sessions) and exposes the operations the API, CLI and web console call.
 */
import { EventEmitter } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import type { Binding, Directory, SwitchPlan } from '../compiler/model.js';
import { compile, type Compiled } from '../compiler/compile.js';
import { loadPolicy, formatDiagnostic, type LoadedPolicy } from '../loader/index.js';
import type { AccessChange } from '../compiler/query.js';
import type { SwitchSession } from './session.js';
import type { ReconcileResult } from './reconcile.js';
import type { DirectorySync } from '../directory/ldap.js';
import { GlobalBudget } from './peer-limits.js';
import { EdgeHook, type ControllerForEdge } from './edge-hook.js';
import { FirstContact, type ControllerForFirstContact } from './first-contact.js';
import { LearningGuard } from './learning-guard.js';
import { StateWriter, readSavedState } from './state-file.js';
import type { ForeignOverride } from './foreign-flows.js';
import { Scheduler, type ControllerForScheduler } from './scheduler.js';
import { systemClock, type Clock } from './clock.js';
import { Observer } from './observe.js';
import { infoOf, isEventType, type Alert, type ControllerEvent, type EventData, type EventType } from './events.js';
import type {
  ApplyOptions,
  ApplyResult,
  ControllerLog,
  ControllerOptions,
  DirectoryStatus,
  LastChange,
  SwitchStatus,
} from './controller-types.js';
import { SwitchSync, type ControllerForSync, type SyncHow } from './switch-sync.js';
import { acceptSwitch, type ControllerForAccept } from './switch-accept.js';
import { HostLearning, type ControllerForHosts } from './host-learning.js';
import { PolicyApplier, type ControllerForPolicy } from './policy-apply.js';
import { DirectoryLink, type ControllerForDirectory } from './directory-link.js';
import { VersionMonitor } from './monitor-version.js';

export type { ApplyMeta, ApplyOptions, ApplyResult, ControllerOptions, SwitchStatus } from './controller-types.js';
export type { ControllerEvent } from './events.js';

/**
 * Each part of the controller (edge-hook.ts, switch-sync.ts, ...) declares the members it uses as an interface of
 * its own and never imports this file; the class implements them all.
 */
export class Controller
  extends EventEmitter
  implements
    ControllerForAccept,
    ControllerForDirectory,
    ControllerForEdge,
    ControllerForFirstContact,
    ControllerForHosts,
    ControllerForPolicy,
    ControllerForScheduler,
    ControllerForSync
{
  loaded!: LoadedPolicy;
  compiled!: Compiled;
  version = 0;
  readonly startedAt = new Date();
  lastChange?: LastChange;
  readonly sessions = new Map<string, SwitchSession>(); // by dpid hex
  readonly bindings = new Map<string, Binding>(); // learned, by MAC
  readonly alerts: Alert[] = [];
  packetIns = 0;
  private server?: Server;
  private auditTimer?: NodeJS.Timeout;
  /** The controller's logger (ControllerOptions.log; silent without one). */
  readonly log: ControllerLog;
  directoryStatus: DirectoryStatus = {
    source: '',
    entries: 0,
  };
  directorySync?: DirectorySync;
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
  /** Reconcile queues and last results per switch (controller/switch-sync.ts). */
  readonly switches: SwitchSync;
  /** Host discovery from PACKET_INs and learned bindings (controller/host-learning.ts). */
  readonly hosts: HostLearning;
  private readonly policy: PolicyApplier;
  private readonly directoryLink: DirectoryLink;

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
    this.switches = new SwitchSync(this);
    this.foreignOverrides = this.switches.foreignOverrides;
    this.hosts = new HostLearning(this);
    this.policy = new PolicyApplier(this);
    this.directoryLink = new DirectoryLink(this);
    this.monitorMode = new VersionMonitor(this);
  }
  readonly observe: Observer;
  /** A policy version in monitor mode (controller/monitor-version.ts): what it would deny is logged, nothing of it is enforced. */
  readonly monitorMode: VersionMonitor;
  get monitoring(): { readonly compiled: Compiled; readonly name: string } | undefined {
    return this.monitorMode.monitoring;
  }

  /** Loads and compiles the policy; throws with every diagnostic when it is invalid (nothing starts). */
  async load(): Promise<void> {
    let savedIds: { classIds: Map<string, number>; dstClassIds: Map<string, number> } | undefined;
    const saved = this.opts.stateFile ? await readSavedState(this.opts.stateFile, (m) => this.log('warn', m)) : undefined;
    if (saved) {
      if (saved.generation !== undefined) this.restoredGeneration = saved.generation;
      this.edge.restore(saved.edge);
      for (const b of saved.bindings) this.bindings.set(b.mac, { ...b, learned: true });
      savedIds = saved.ids;
    }
    const shared = this.opts.cluster?.initialIds?.();
    if (shared) savedIds = { classIds: new Map(shared.classIds), dstClassIds: new Map(shared.dstClassIds) };
    const r = await loadPolicy(this.opts.policyPath);
    if (!r.ok) throw new Error(r.diagnostics.map(formatDiagnostic).join('\n'));
    this.loaded = r.value;
    this.directory = r.value.directory;
    // Class ids from the last run keep every unchanged flow identical, so a restart sends no flow mods.
    // Restored login sessions and leases are part of the first compile, so a restart needs no new login.
    this.compiled = compile(
      { ...r.value, ...this.edge.input(r.value.directory, [...this.bindings.values()]), at: this.clock.now() },
      { previous: savedIds },
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
    const onSocket = (sock: Socket) => acceptSwitch(this, sock);
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
    this.directorySync = this.directoryLink.start();
    const signin = await this.firstContact.start();
    if (signin) this.log('info', `web sign-in page on ${signin.host}:${signin.port}`);
    (this.scheduler = new Scheduler(this, this.clock)).start();
    await this.observe.start();
    const port = (this.server.address() as { port: number }).port;
    this.log('info', `listening for OpenFlow switches on ${l.host}:${port}${this.opts.tls ? ' (TLS)' : ''}`);
    return { port };
  }

  async stop(): Promise<void> {
    this.directorySync?.stop();
    this.edge.stop();
    await this.firstContact.stop();
    this.scheduler?.stop();
    await this.observe.stop();
    if (this.auditTimer) clearInterval(this.auditTimer);
    this.hosts.stop();
    for (const s of this.sessions.values()) s.close('controller stopping');
    await new Promise<void>((res) => (this.server ? this.server.close(() => res()) : res()));
  }

  /** Emits an event; whether it is kept as an alert comes from its definition in events.ts. */
  event<K extends EventType>(type: K, data: EventData<K>): void {
    // the event's own time always wins: a payload field named `at` cannot replace it
    const { at: _payloadAt, type: _payloadType, ...rest } = data as Record<string, unknown>;
    const e = { type, at: new Date().toISOString(), ...rest } as ControllerEvent;
    if (infoOf(type).alert) {
      this.alerts.push(e as Alert);
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

  /** Foreign flows that can override the policy, per connected switch (from its last sync). */
  readonly foreignOverrides: ReadonlyMap<string, readonly ForeignOverride[]>;

  /** Accepts a held directory shrink on behalf of `by` (the audit log records them, not the directory sync). */
  confirmShrink(by: string): Promise<boolean> {
    return this.directoryLink.confirmShrink(by);
  }

  /** Replaces the directory snapshot (from a directory sync) and recompiles. */
  setDirectory(directory: Directory, reason = 'directory changed'): Promise<AccessChange[]> {
    return this.directoryLink.set(directory, reason);
  }

  /** PACKET_INs dropped by sessions that have since closed (acl_packet_ins_dropped keeps counting them). */
  packetInsDroppedClosed = 0;

  /** All PACKET_INs dropped by session queue bounds, of connected and of closed sessions. */
  packetInsDropped(): number {
    let n = this.packetInsDroppedClosed;
    for (const s of this.sessions.values()) n += s.packetInsDropped;
    return n;
  }

  /** Reconciles one switch; concurrent calls coalesce into one follow-up run with the newest plan. */
  sync(dpid: string, how: SyncHow = {}): Promise<ReconcileResult | undefined> {
    return this.switches.sync(dpid, how);
  }

  syncAll(): Promise<ReconcileResult[]> {
    return this.switches.syncAll();
  }

  /** Validates and compiles a new policy text; unless dryRun, writes it (atomically) and applies it everywhere. */
  applyPolicy(text: string, opts: ApplyOptions = {}): Promise<ApplyResult> {
    // In a cluster a change is committed through etcd first; every node then applies the committed version.
    if (this.opts.cluster && !opts.committed) return this.opts.cluster.submit(text, opts);
    return this.policy.apply(text, opts);
  }

  /**
   * Re-evaluates time-windowed rules at `at` (the scheduler calls this at each boundary). When access changes it is
   * an apply like any other: a new version, recorded "by schedule"; the switches are re-synced either way. In a
   * cluster a boundary is committed through etcd by one node and then applied by every node with its `version`.
   */
  applyAt(at: number, by = 'schedule', version?: number): Promise<void> {
    if (version === undefined && by === 'schedule' && this.opts.cluster?.scheduleAt) return this.opts.cluster.scheduleAt(at);
    return this.policy.applyAt(at, by, version);
  }

  async reloadPolicyFile(): Promise<ApplyResult> {
    return this.applyPolicy(await readFile(this.opts.policyPath, 'utf8'), { by: 'reload', trusted: true });
  }

  /** Class ids as saved in the state file (shared through etcd in a cluster). */
  classIdState(): { classIds: Array<[string, number]>; dstClassIds: Array<[string, number]> } {
    return { classIds: [...this.compiled.classIds], dstClassIds: [...this.compiled.dstClassIds] };
  }

  /** A binding learned by another cluster node (or its removal): recompile and reconcile what changed. */
  adoptBinding(mac: string, b: Binding | undefined): void {
    this.hosts.adopt(mac, b);
  }

  /** Recompiles caused by learned bindings (batched: one per burst of learning, not one per packet). */
  get bindingRecompiles(): number {
    return this.hosts.recompiles;
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
    return this.switches.status();
  }
}
