/**
 * The REST API's contract: request and reply schemas (TypeBox, i.e. JSON Schema) and their TypeScript types, in one
 * place. The fastify routes take their schemas from here (requests are validated, replies serialized by them), the
 * CLI client and the web console import the types (`import type`), and test/controller/contract.test.ts checks real
 * replies of every GET route against them.
 *
 * Self-contained on purpose: it imports nothing but TypeBox, its parts in contract/ (one file per resource,
 * re-exported here) and the event names of ../events.ts (itself self-contained), so the browser build
 * (tsconfig.web.json) can import its types; the console imports them with `import type` only, so no schema code
 * reaches the browser bundle.
 * Shapes are the wire form: 64-bit numbers (dpids, cookies) are hex strings ("0x…"), times are ISO 8601 strings.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { ALERT_EVENTS, AUDITED_EVENTS, type Alert, type AuditedEvent } from '../events.js';
import { Nullable, Str, Int, Bool, Opt } from './contract/kit.js';
import { DirectoryStatus, ErrorReply, LastChange, ReconcileResult } from './contract/common.js';
import {
  ApplyBody,
  ApplyReply,
  ChangeRefusal,
  DiffReply,
  LintBody,
  LintInvalidReply,
  LintReply,
  OkReply,
  PendingCreatedReply,
  PendingReply,
  PolicyReply,
  RollbackBody,
  VersionReply,
  VersionsReply,
} from './contract/policy.js';
import { DirectoryReply, ExplainReply, MatrixReply } from './contract/query.js';
import {
  HoldReleasedReply,
  LeasesReply,
  SessionEndedReply,
  SessionsReply,
  VoucherCreateBody,
  VoucherCreatedReply,
  VoucherRevokedReply,
  VouchersReply,
} from './contract/edge.js';
import {
  DenialsReply,
  PollReply,
  RuleTrafficReply,
  RulesTrafficReply,
  TrafficMatrixReply,
  UnusedReply,
  UserTrafficReply,
  WhyReply,
} from './contract/observe.js';
import { MonitorReply, MonitorStartedReply, MonitorStoppedReply } from './contract/monitor.js';

export * from './contract/common.js';
export * from './contract/policy.js';
export * from './contract/query.js';
export * from './contract/edge.js';
export * from './contract/observe.js';
export * from './contract/monitor.js';

// ---------------------------------------------------------------- health

export const HealthReply = Type.Object({ ok: Type.Literal(true) });
export const ReadyReply = Type.Object({ ready: Bool, version: Int });

// ---------------------------------------------------------------- status and switches

export const ForeignOverride = Type.Object(
  { table: Opt(Int), priority: Opt(Int), cookie: Opt(Str), match: Opt(Str) },
  { additionalProperties: true },
);
export const SwitchStatus = Type.Object({
  name: Opt(Str),
  dpid: Str,
  connected: Bool,
  known: Bool,
  remote: Opt(Str),
  flowsDesired: Int,
  flowsInstalled: Opt(Int),
  lastSync: Opt(Str),
  lastResult: Opt(Type.Composite([ReconcileResult, Type.Object({ at: Opt(Str) })])),
  errors: Type.Array(Str),
  ports: Int,
  /** Foreign flows (other cookies) that can override the policy: where they sit and the flow as ovs-ofctl prints it. */
  foreignOverrides: Opt(Type.Array(Type.Object({ tableId: Int, priority: Int, cookie: Str, text: Str }))),
  profile: Opt(Str),
  limits: Opt(Type.Array(Str)),
});
export type SwitchStatus = Static<typeof SwitchStatus>;
export const SwitchesReply = Type.Array(SwitchStatus);

/**
 * An alert as GET /status shows it: one of the controller's events marked `alert` (controller/events.ts), typed as
 * that event union; the schema checks its type and time (the payload is the event's own, see EventPayloads).
 */
export const AlertRecord = Type.Unsafe<Alert>(
  Type.Object({ type: Type.Union(ALERT_EVENTS.map((t) => Type.Literal(t))), at: Str }, { additionalProperties: true }),
);

export const StatusReply = Type.Object({
  version: Int,
  startedAt: Str,
  policy: Str,
  canMutate: Bool,
  switches: Type.Object({ total: Int, connected: Int, known: Int, inSync: Int }),
  directory: DirectoryStatus,
  lastChange: Nullable(LastChange),
  alerts: Type.Array(AlertRecord),
  /** The running plan (compiler/compiled.ts CompileStats): subjects, classes, flows, and the flows a naive plan would need. */
  stats: Type.Object({ users: Int, servers: Int, classes: Int, dstClasses: Int, flows: Int, naive: Int }),
  packetIns: Int,
  learning: Type.Object({
    rateLimited: Int,
    flapsHeld: Int,
    recompiles: Int,
    tracked: Type.Object({ ports: Int, macs: Int, reports: Int }),
  }),
});
export type StatusReply = Static<typeof StatusReply>;

export const FlowsParams = Type.Object({ dpid: Type.String({ minLength: 1, maxLength: 64 }) });
export const FlowsReply = Type.Object({
  switch: Str,
  dpid: Str,
  connected: Bool,
  desired: Type.Array(Type.Object({ text: Str, origin: Str })),
  installed: Nullable(Type.Array(Str)),
  diff: Nullable(
    Type.Object({ inSync: Bool, missing: Type.Array(Str), differing: Type.Array(Str), extra: Type.Array(Str), unchanged: Int }),
  ),
});
export type FlowsReply = Static<typeof FlowsReply>;

// ---------------------------------------------------------------- policy history (the audit log)

/**
 * An audit-log line (controller/api/audit.ts): an audited event as the event stream has it, who made the change and,
 * for policy-applied, the policy text. The schema fixes the envelope (`type` one of the audited events, `at`, `by`,
 * `text`) and leaves the rest open on purpose: those are the event's own payload, whose keys depend on `type` and
 * are typed by the event union (controller/events.ts EventPayloads), as AlertRecord does for alerts.
 */
export type AuditEntry = AuditedEvent & { readonly by: string; readonly text?: string };
export const AuditEntry = Type.Unsafe<AuditEntry>(
  Type.Object(
    { type: Type.Union(AUDITED_EVENTS.map((t) => Type.Literal(t))), at: Str, by: Str, text: Opt(Str) },
    { additionalProperties: true },
  ),
);
/** A line of the audit log that is not an entry of this version (not JSON, or no audited event): its first 100 characters. */
export const UnreadableEntry = Type.Object({ corrupt: Str });
export type UnreadableEntry = Static<typeof UnreadableEntry>;
/** The last 200 lines of the audit log, newest last. */
export const HistoryReply = Type.Array(Type.Union([AuditEntry, UnreadableEntry]));
export type HistoryReply = Static<typeof HistoryReply>;

// ---------------------------------------------------------------- cluster

export const ClusterReply = Type.Object({
  node: Str,
  healthy: Bool,
  lastError: Opt(Str),
  nodes: Type.Array(Type.Object({ name: Str }, { additionalProperties: true })),
  switches: Type.Array(Type.Object({ dpid: Str, master: Opt(Str), generationId: Opt(Str), localRole: Opt(Str) })),
  policyVersion: Opt(Int),
  scheduleLeader: Opt(Str),
  roleRequests: Int,
  staleRefusals: Int,
});
export type ClusterReply = Static<typeof ClusterReply>;

// ---------------------------------------------------------------- the remaining types

export type HealthReply = Static<typeof HealthReply>;
export type ReadyReply = Static<typeof ReadyReply>;
export type ForeignOverride = Static<typeof ForeignOverride>;
export type SwitchesReply = Static<typeof SwitchesReply>;
export type FlowsParams = Static<typeof FlowsParams>;

// ---------------------------------------------------------------- the route table

/**
 * Every JSON GET route and the schema of its 200 reply. The contract test requests each of them and checks the
 * reply; the CLI client's `get()` is typed by it.
 */
export const GET_ROUTES = {
  '/healthz': HealthReply,
  '/readyz': ReadyReply,
  '/api/v1/status': StatusReply,
  '/api/v1/switches': SwitchesReply,
  '/api/v1/switches/:dpid/flows': FlowsReply,
  '/api/v1/policy': PolicyReply,
  '/api/v1/policy/history': HistoryReply,
  '/api/v1/policy/versions': VersionsReply,
  '/api/v1/policy/versions/:v': VersionReply,
  '/api/v1/policy/diff': DiffReply,
  '/api/v1/pending': PendingReply,
  '/api/v1/explain': ExplainReply,
  '/api/v1/matrix': MatrixReply,
  '/api/v1/directory': DirectoryReply,
  '/api/v1/sessions': SessionsReply,
  '/api/v1/leases': LeasesReply,
  '/api/v1/vouchers': VouchersReply,
  '/api/v1/cluster': ClusterReply,
  '/api/v1/rules/traffic': RulesTrafficReply,
  '/api/v1/rules/unused': UnusedReply,
  '/api/v1/rules/:name/traffic': RuleTrafficReply,
  '/api/v1/users/:id/traffic': UserTrafficReply,
  '/api/v1/traffic/matrix': TrafficMatrixReply,
  '/api/v1/denials': DenialsReply,
  '/api/v1/why': WhyReply,
  '/api/v1/policy/monitor': MonitorReply,
} as const;
export type GetRoute = keyof typeof GET_ROUTES;
export type GetReply<R extends GetRoute> = Static<(typeof GET_ROUTES)[R]>;

/** A change that may wait for a second admin: applied (200) or pending under the two-person rule (202). */
const AppliedOrPending = Type.Union([ApplyReply, PendingCreatedReply]);
/** Entering monitor mode: the version now monitored (200) or pending under the two-person rule (202). */
const MonitoringOrPending = Type.Union([MonitorStartedReply, PendingCreatedReply]);

/**
 * Change routes the CLI (`write()` and `change()` in cli/client.ts) and the web console (`change()` in
 * controller/web/src/api.ts) call through their typed clients: the request body, if the route takes one, the reply of
 * success (2xx) and, in `refused`, the reply of any other status (ErrorReply if not given: every error reply is one).
 * The key is the method and the route pattern; the policy change routes take their response schemas from the same
 * schemas (ChangeReplies).
 */
export const WRITE_ROUTES = {
  'POST /api/v1/vouchers': { body: VoucherCreateBody, reply: VoucherCreatedReply },
  'DELETE /api/v1/vouchers/:id': { reply: VoucherRevokedReply },
  'POST /api/v1/policy/monitor': { body: ApplyBody, reply: MonitoringOrPending, refused: ChangeRefusal },
  'POST /api/v1/policy/monitor/promote': { reply: AppliedOrPending, refused: ChangeRefusal },
  'DELETE /api/v1/policy/monitor': { reply: MonitorStoppedReply },
  'POST /api/v1/policy': { body: ApplyBody, reply: AppliedOrPending, refused: ChangeRefusal },
  'POST /api/v1/policy/lint': { body: LintBody, reply: LintReply, refused: Type.Union([LintInvalidReply, ErrorReply]) },
  'POST /api/v1/policy/rollback': { body: RollbackBody, reply: AppliedOrPending, refused: ChangeRefusal },
  'POST /api/v1/pending/:id/approve': { reply: ApplyReply, refused: ChangeRefusal },
  'POST /api/v1/pending/:id/reject': { reply: OkReply },
  'DELETE /api/v1/sessions/:id': { reply: SessionEndedReply },
  'DELETE /api/v1/sessions/holds/:mac': { reply: HoldReleasedReply },
  'POST /api/v1/stats/poll': { reply: PollReply },
} as const;
export type WriteRoute = keyof typeof WRITE_ROUTES;
type RouteSpec<R extends WriteRoute> = (typeof WRITE_ROUTES)[R];
/** The body a write route takes (undefined for one without). */
export type WriteBody<R extends WriteRoute> = RouteSpec<R> extends { body: infer B extends TSchema } ? Static<B> : undefined;
export type WriteReply<R extends WriteRoute> = Static<RouteSpec<R>['reply']>;
/** What a write route answers with any status but 2xx. */
export type WriteRefusal<R extends WriteRoute> = RouteSpec<R> extends { refused: infer F extends TSchema } ? Static<F> : ErrorReply;
