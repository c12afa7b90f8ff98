/**
 * Controller events: every event name, once, with what it is (an alert the status shows, a change the audit log
 * records), and the typed union `ControllerEvent` discriminated by `type` that the controller emits, the API streams
 * (GET /api/v1/events, one SSE `event:` per type) and the web console reads.
 *
 * Self-contained (imports only types from the API contract's parts) so that the browser build can import it. Not from
 * api/contract.ts itself: that file imports the alert names from here (no import cycle, test/architecture.test.ts).
 */
import type { AccessChange, Diagnostic } from './api/contract/common.js';
import type { AuthMethod } from './api/contract/edge.js';
import type { Denial } from './api/contract/observe.js';
import { DHCP_ALERTS, IPV6_ALERTS } from './alert-names.js';

export interface EventInfo {
  /** Kept in the status's alerts (the last 200). */
  readonly alert?: boolean;
  /** Written to the audit log. */
  readonly audited?: boolean;
}

type Where = { readonly switch: string; readonly port: number };
type Opt<T> = T | undefined;
/** The same object with its array fields readonly (emitters hold readonly arrays). */
type ReadonlyArrays<T> = { [K in keyof T]: ReadonlyArray_<T[K]> };
type ReadonlyArray_<V> = V extends Array<infer U> ? readonly U[] : V;

/** The payload of each event (besides `type` and `at`). */
export interface EventPayloads {
  // switches
  'switch-up': { switch: string; dpid: string };
  'switch-down': { switch: Opt<string>; dpid: string; reason: string };
  'switch-synced': {
    switch: string;
    dpid: string;
    added: number;
    removed: number;
    changed: number;
    /** the change went in one ONF bundle (all or nothing) */
    atomic: boolean;
    errors: readonly string[];
  };
  'switch-error': { switch?: string; dpid?: string; error: string };
  'switch-impostor': { dpid: string; switch?: string; remote: Opt<string>; live?: Opt<string>; reason: string };
  'unknown-switch': { dpid: string; remote: Opt<string> };
  'port-status': { dpid: string; switch: Opt<string>; port: number; name: string; reason: string; down: boolean };
  'peer-violation': { dpid: Opt<string>; remote: Opt<string>; kind: string; error: string };
  'budget-refused': { switch: string; dpid: string; report: unknown };
  'foreign-override': { switch: string; dpid: string; count: number; flows: readonly unknown[] };
  'foreign-flows-cleared': { switch: string; dpid: string };
  // policy and its lifecycle
  'policy-applied': {
    version: number;
    by: Opt<string>;
    reason: string;
    summary: string;
    access: readonly AccessChange[];
    flows: readonly unknown[];
    approvedBy?: string;
    rollbackTo?: number;
    effectiveAt?: string;
  };
  'policy-pending': {
    id: string;
    kind: string;
    by: string;
    baseVersion: number;
    rollbackTo: Opt<number>;
    textSha256: string;
    expiresAt: string;
    summary: string;
    access: readonly AccessChange[];
    flows: readonly unknown[];
  };
  /** A candidate policy version entered monitor mode: what it would deny is logged as would-deny, nothing enforced. */
  'policy-monitor-started': {
    name: string;
    by: string;
    approvedBy: Opt<string>;
    baseVersion: number;
    textSha256: string;
    summary: string;
    access: readonly AccessChange[];
  };
  /** Monitor mode ended: `promoted` (its text was applied), `replaced` (another apply or candidate), `stopped`. */
  'policy-monitor-stopped': { name: string; by: string; reason: 'promoted' | 'replaced' | 'stopped' };
  'policy-approved': { id: string; by: string; submittedBy: string; ok: boolean; version: Opt<number> };
  'policy-rejected': { id: string; by: string; submittedBy: string; reason?: string };
  'policy-expired': { id: string; submittedBy: string; expiresAt: string };
  'approval-refused': { id: string; by: string; reason: string };
  'schedule-rejected': { error: string };
  /** This cluster node committed a time boundary through etcd (one node per boundary; every node then applies it). */
  'schedule-committed': { node: string; version: number; effectiveAt: string };
  // directory and discovery
  'directory-synced': { reason: string; users: number; access: readonly AccessChange[]; by?: string };
  'directory-failed': { error: string };
  'directory-rejected': { reason: string; error: string };
  'directory-shrink-held': { before: number; after: number; since?: string };
  'binding-learned': { mac: string; switch: string; port: number; ip?: string; owner: string; at?: string };
  'unknown-device': { switch: string; port: number; mac: string; ip: Opt<string> };
  'device-wrong-port': { mac: string; ip: Opt<string>; seenAt: Where; expected?: Where; owner: Opt<string>; reason?: string };
  'device-moved': { mac: string; owner: string; from: unknown; to: Where };
  'mac-flapping': { mac: string; owner: string; heldAt: unknown; seenAt: Where; heldForMs: number };
  'state-saved': { generation: number; bindings: number; digest: string };
  denial: { denial: ReadonlyArrays<Denial> };
  // cluster
  'cluster-fenced': { node: string; reason: string };
  'cluster-joined': { node: string };
  'cluster-paused': { node: string; reason: string };
  'cluster-resumed': { node: string };
  'cluster-apply-failed': { version: number; diagnostics: readonly Diagnostic[] };
  'role-changed': { dpid: string; node: string; role: string; generationId: string };
  'role-refused': { dpid: string; node: string; role: string; generationId: string; error: string; stale: boolean };
  // edge: 802.1X / MAB sessions
  'radius-config-error': { error: string };
  'mac-conflict': { mac: string; switch: string; port: number; alsoAt: string; action: string; holdSeconds: number; message: string };
  'radius-unreachable': { switch: string; port: number; mac: string; error: string };
  'auth-accept': {
    switch: string;
    port: number;
    mac: string;
    method: AuthMethod;
    user: Opt<string>;
    deviceGroup: Opt<string>;
    session: string;
    reauth: Opt<boolean>;
    radiusMs: number;
  };
  'auth-reject': {
    switch: string;
    port: number;
    mac: string;
    method: AuthMethod;
    identity: Opt<string>;
    user: Opt<string>;
    reason: string;
    server: Opt<string>;
  };
  'auth-failures-alert': { switch: string; port: number; failures: number; withinSeconds: number; message: string };
  'eapol-flood': { switch: string; port: number; rate: number; message: string };
  'edge-compile-error': { error: string };
  'sessions-dropped-on-restore': { dropped: readonly unknown[]; count: number };
  'session-started': SessionEventBase & { expires: Opt<string> };
  'session-ended': SessionEventBase & { reason: Opt<string> };
  'session-moved': SessionEventBase & { expires: Opt<string>; from?: Where; previousId: string };
  'session-renewed': SessionEventBase & { expires: Opt<string>; previousId: string };
  'mac-hold-released': { mac: string; by: string; source: readonly string[]; until: string };
  // first contact: DHCP leases, snooping alerts, sign-in page
  'lease-bound': LeaseEvent;
  'lease-renewed': LeaseEvent;
  'lease-ended': LeaseEvent;
  'signin-signout': { mac: string; switch: string; port: number; user: Opt<string> };
  'signin-locked': { user?: string; ip: string; mac: string; voucher?: boolean };
  'signin-failed': { user: string; ip: string; mac: string; switch: string; port: number; reason: string };
  'signin-accepted': { user: string; mac: string; switch: string; port: number; ip: string; expires: Opt<string>; ms: number };
  // guest vouchers (controller/voucher-api.ts)
  'voucher-created': { voucher: string; expires: string; uses: number; by: string };
  'voucher-revoked': { voucher: string; by: string; sessionsEnded: number };
  'voucher-redeemed': { voucher: string; mac: string; switch: string; port: number; ip: string; expires: string; again: boolean };
  'voucher-failed': { ip: string; mac: string; switch: string; port: number };
  'voucher-guessing-alert': { failures: number; pausedUntil: string };
  // policy history and pending changes kept in a file (controller/lifecycle-store.ts)
  'lifecycle-restore': { file: Opt<string>; error: Opt<string>; dropped: Opt<number> };
  'lifecycle-save-error': { file: Opt<string>; error: string };
}
type SessionEventBase = {
  id: string;
  mac: string;
  switch: string;
  port: number;
  method: AuthMethod;
  user?: string;
  deviceGroup?: string;
  by?: string;
  [k: string]: unknown;
};
type LeaseEvent = {
  mac: string;
  ip: string;
  switch: string;
  port: number;
  expires: Opt<string>;
  reason: Opt<string>;
  /** dhcp, dhcpv6 or nd. */
  source?: string;
  from?: { ip: string; switch: string; port: number };
};

export { DHCP_ALERTS, IPV6_ALERTS };
export type DhcpAlertType = `dhcp-${(typeof DHCP_ALERTS)[number]}`;
export type Ipv6AlertType = `ipv6-${(typeof IPV6_ALERTS)[number]}`;

export type EventType = keyof EventPayloads | DhcpAlertType | Ipv6AlertType;
export type EventData<K extends EventType> = K extends keyof EventPayloads
  ? EventPayloads[K]
  : { switch: string; port: number; [k: string]: unknown };

/** One event: `{ type, at, ...payload }`; narrow it with `e.type === '…'`. */
export type ControllerEvent = { [K in EventType]: { readonly type: K; readonly at: string } & Readonly<EventData<K>> }[EventType];
/** The event of one type. */
export type EventOf<K extends EventType> = Extract<ControllerEvent, { type: K }>;

const A = { alert: true } as const;
const AU = { audited: true } as const;
const A_AU = { alert: true, audited: true } as const;
/** Every event name and what it is. A name missing here, or here but not in EventPayloads, does not compile. */
export const EVENTS = {
  'switch-up': {},
  'switch-down': {},
  'switch-synced': {},
  'switch-error': A,
  'switch-impostor': A,
  'unknown-switch': A,
  'port-status': {},
  'peer-violation': A,
  'budget-refused': A,
  'foreign-override': A,
  'foreign-flows-cleared': {},
  'policy-applied': AU,
  'policy-pending': AU,
  'policy-monitor-started': AU,
  'policy-monitor-stopped': AU,
  'policy-approved': AU,
  'policy-rejected': AU,
  'policy-expired': AU,
  'approval-refused': AU,
  'schedule-rejected': {},
  'schedule-committed': {},
  'directory-synced': AU,
  'directory-failed': A,
  'directory-rejected': {},
  'directory-shrink-held': {},
  'binding-learned': AU,
  'unknown-device': {},
  'device-wrong-port': A,
  'device-moved': {},
  'mac-flapping': A,
  'state-saved': {},
  denial: {},
  'cluster-fenced': {},
  'cluster-joined': {},
  'cluster-paused': {},
  'cluster-resumed': {},
  'cluster-apply-failed': {},
  'role-changed': {},
  'role-refused': {},
  'radius-config-error': A,
  'mac-conflict': A,
  'radius-unreachable': {},
  'auth-accept': {},
  'auth-reject': AU,
  'auth-failures-alert': A_AU,
  'eapol-flood': A,
  'edge-compile-error': A,
  'sessions-dropped-on-restore': {},
  'session-started': AU,
  'session-ended': AU,
  'session-moved': AU,
  'session-renewed': AU,
  'mac-hold-released': AU,
  'lease-bound': {},
  'lease-renewed': {},
  'lease-ended': {},
  'signin-signout': {},
  'signin-locked': A,
  'signin-failed': {},
  'signin-accepted': {},
  'voucher-created': AU,
  'voucher-revoked': AU,
  'voucher-redeemed': AU,
  'voucher-failed': {},
  'voucher-guessing-alert': A_AU,
  'lifecycle-restore': {},
  'lifecycle-save-error': A,
} as const satisfies { readonly [K in keyof EventPayloads]: EventInfo };

/** The events kept as alerts (in GET /status `alerts`): those marked `alert` above, and every DHCP and IPv6 alert. */
export type AlertType =
  | { [K in keyof typeof EVENTS]: (typeof EVENTS)[K] extends { readonly alert: true } ? K : never }[keyof typeof EVENTS]
  | DhcpAlertType
  | Ipv6AlertType;
/** An alert: one of the events above, narrowed by `type`. */
export type Alert = EventOf<AlertType>;

/** The events written to the audit log (GET /policy/history lists its lines): those marked `audited` above. */
export type AuditedType = {
  [K in keyof typeof EVENTS]: (typeof EVENTS)[K] extends { readonly audited: true } ? K : never;
}[keyof typeof EVENTS];
/** An audited event. */
export type AuditedEvent = EventOf<AuditedType>;

/** Every event name (the DHCP and IPv6 learning alerts included). */
export const EVENT_TYPES: readonly EventType[] = [
  ...(Object.keys(EVENTS) as Array<keyof EventPayloads>),
  ...DHCP_ALERTS.map((k) => `dhcp-${k}` as const),
  ...IPV6_ALERTS.map((k) => `ipv6-${k}` as const),
];
const KNOWN: ReadonlySet<string> = new Set(EVENT_TYPES);
export const isEventType = (t: string): t is EventType => KNOWN.has(t);
export const infoOf = (t: EventType): EventInfo => (t.startsWith('dhcp-') || t.startsWith('ipv6-') ? A : EVENTS[t as keyof EventPayloads]);
export const AUDITED_EVENTS: readonly AuditedType[] = EVENT_TYPES.filter((t): t is AuditedType => !!infoOf(t).audited);
export const ALERT_EVENTS: readonly AlertType[] = EVENT_TYPES.filter((t): t is AlertType => !!infoOf(t).alert);
