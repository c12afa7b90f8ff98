/**
 * What the controller is configured with and what its operations return: the options a deployment passes (listen
 * address, TLS, limits, cluster hooks), a switch's status, and the result and options of a policy apply. Also the
 * small pieces of the controller its parts share (emit an event, follow events, log): each part declares the
 * controller it needs (e.g. `ControllerForSync` in switch-sync.ts) from these, and never imports controller.ts.
 */
import type { TlsOptions } from 'node:tls';
import type { Diagnostic } from '../compiler/model.js';
import type { Compiled } from '../compiler/compile.js';
import type { AccessChange } from '../compiler/query.js';
import type { SessionOptions } from './session.js';
import type { ReconcileResult } from './reconcile.js';
import type { MultipartLimits } from './peer-limits.js';
import type { LdapAllowlist } from './policy-guard.js';
import type { LearningLimits } from './learning-guard.js';
import type { ForeignOverride } from './foreign-flows.js';
import type { Clock } from './clock.js';
import type { ObserveOptions } from './observe.js';
import type { SharedLifecycle } from './lifecycle-cluster.js';
import type { ControllerEvent, EventData, EventType } from './events.js';

/** The controller's logger (ControllerOptions.log; silent without one). */
export type ControllerLog = (level: 'info' | 'warn' | 'error', msg: string, data?: Record<string, unknown>) => void;

/** Emits a defined event (Controller.event). */
export interface EventSink {
  event<K extends EventType>(type: K, data: EventData<K>): void;
}

/** Emits an event named by a layer below the controller that cannot import its types (Controller.relay). */
export interface EventRelay {
  relay(type: string, data: Record<string, unknown>): void;
}

/** Follows the controller's events. */
export interface EventFeed {
  on(type: 'event', fn: (e: ControllerEvent) => void): unknown;
  off(type: 'event', fn: (e: ControllerEvent) => void): unknown;
}

/** The directory source and how its last sync went (GET /api/v1/status). */
export interface DirectoryStatus {
  source: string;
  lastSuccessAt?: string;
  entries: number;
  lastError?: string;
  heldShrink?: { before: number; after: number };
}

/** The last applied change: when, by whom, which version, what it changed. */
export interface LastChange {
  readonly at: string;
  readonly by: string;
  readonly version: number;
  readonly summary: string;
}

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
  readonly log?: ControllerLog;
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
    /** A time boundary: committed through etcd by one node, applied by all (cluster-driver.ts). */
    scheduleAt?(at: number): Promise<void>;
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
  /** Called with the compiled change once it is valid (a dry run's impact on seen traffic needs it); nothing is kept. */
  readonly onCompiled?: (next: Compiled) => void;
}
