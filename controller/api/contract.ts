/**
 * The REST API's contract: request and reply schemas (TypeBox, i.e. JSON Schema) and their TypeScript types, in one
 * place. The fastify routes take their schemas from here (requests are validated, replies serialized by them), the
 * CLI client and the web console import the types (`import type`), and test/controller/contract.test.ts checks real
 * replies of every GET route against them.
 *
 * Self-contained on purpose: it imports nothing but TypeBox, so the browser build (tsconfig.web.json) can import it.
 * Shapes are the wire form: 64-bit numbers (dpids, cookies) are hex strings ("0x…"), times are ISO 8601 strings.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { LeasesReply, SessionsReply } from './contract-edge.js';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Str = Type.String();
const Int = Type.Integer();
const Num = Type.Number();
const Bool = Type.Boolean();
const Opt = Type.Optional;
/** A JSON value the contract does not pin down further (passed through as is). */
const Any = Type.Unknown();

// ---------------------------------------------------------------- errors

/** Stable error codes of API error replies (docs/error-codes.md lists them with their HTTP status). */
export const API_ERROR_CODES = [
  'unauthorized',
  'forbidden',
  'read-only',
  'no-admin-token',
  'bad-request',
  'unsupported-media-type',
  'not-found',
  'conflict',
  'cluster-unavailable',
  'invalid-policy',
  'not-cluster',
  'not-ldap',
  'no-approval',
  'own-change',
  'expired',
  'stale',
  'invalid',
  'too-many',
  'bad-host',
  'bad-origin',
  'payload-too-large',
  'internal',
] as const;
export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

/** Every error reply: a message for a person and a code for a program. */
export const ErrorReply = Type.Object({
  error: Str,
  code: Type.Union(API_ERROR_CODES.map((c) => Type.Literal(c))),
  /** Diagnostics formatted as `file:line:column: severity code: message` (invalid policy). */
  errors: Opt(Type.Array(Str)),
});
export type ErrorReply = Static<typeof ErrorReply>;

// ---------------------------------------------------------------- shared pieces

export const SourceLocation = Type.Object({ file: Str, line: Int, column: Int });
export const Diagnostic = Type.Object({
  severity: Type.Union([Type.Literal('error'), Type.Literal('warning')]),
  code: Str,
  message: Str,
  location: Opt(SourceLocation),
  hint: Opt(Str),
});
export type Diagnostic = Static<typeof Diagnostic>;

export const AccessChange = Type.Object({
  subject: Str,
  resource: Str,
  service: Str,
  change: Type.Union([Type.Literal('gain'), Type.Literal('lose')]),
  rule: Str,
});
export type AccessChange = Static<typeof AccessChange>;
export const FlowCount = Type.Object({ switch: Str, added: Int, removed: Int, unchanged: Int });
export const ReconcileResult = Type.Object({
  switch: Str,
  added: Int,
  changed: Int,
  removed: Int,
  unchanged: Int,
  installed: Int,
  desired: Int,
  atomic: Bool,
  errors: Type.Array(Str),
  ms: Num,
  /** The switch refused bundles (the change went in without one). */
  bundleUnsupported: Opt(Bool),
});
export type ReconcileResult = Static<typeof ReconcileResult>;
export const LastChange = Type.Object({ at: Str, by: Str, version: Int, summary: Str });

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
  foreignOverrides: Opt(Type.Array(Any)),
  profile: Opt(Str),
  limits: Opt(Type.Array(Str)),
});
export type SwitchStatus = Static<typeof SwitchStatus>;
export const SwitchesReply = Type.Array(SwitchStatus);

export const DirectoryStatus = Type.Object({
  source: Str,
  lastSuccessAt: Opt(Str),
  lastAttemptAt: Opt(Str),
  entries: Int,
  consecutiveErrors: Opt(Int),
  lastError: Opt(Str),
  heldShrink: Opt(Any),
  lastDurationMs: Opt(Num),
  mode: Opt(Type.Union([Type.Literal('push'), Type.Literal('poll')])),
  pushError: Opt(Str),
});
export type DirectoryStatus = Static<typeof DirectoryStatus>;

/** A controller event as shown in alerts and the event stream (see controller/events.ts for the typed union). */
export const EventRecord = Type.Object({ type: Str, at: Str }, { additionalProperties: true });
export type EventRecord = Static<typeof EventRecord>;

export const StatusReply = Type.Object({
  version: Int,
  startedAt: Str,
  policy: Str,
  canMutate: Bool,
  switches: Type.Object({ total: Int, connected: Int, known: Int, inSync: Int }),
  directory: DirectoryStatus,
  lastChange: Nullable(LastChange),
  alerts: Type.Array(EventRecord),
  stats: Type.Record(Str, Any),
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

// ---------------------------------------------------------------- policy

export const PolicyReply = Type.Object({ version: Int, path: Str, text: Str, lastChange: Nullable(LastChange) });
export type PolicyReply = Static<typeof PolicyReply>;
/** Audit-log lines (newest last), or `{corrupt}` for a line that is not JSON. */
export const HistoryReply = Type.Array(Type.Record(Str, Any));
export type HistoryReply = Static<typeof HistoryReply>;

export const ApplyQuery = Type.Object(
  { dryRun: Opt(Bool), baseVersion: Opt(Type.Integer({ minimum: 0 })) },
  { additionalProperties: false },
);
export const ApplyBody = Type.Union([
  Type.String({ minLength: 1 }),
  Type.Object({ text: Type.String({ minLength: 1 }) }, { additionalProperties: false }),
]);
export const SeenChange = Type.Object({
  subject: Str,
  resource: Str,
  service: Str,
  rule: Str,
  lastSeen: Str,
  evidence: Type.Union([Type.Literal('counters'), Type.Literal('deny-log')]),
  denied: Opt(Int),
  userLastSeen: Opt(Str),
});
/** A dry run: the accesses it changes that carried (cut) or were denied (open) traffic recently (controller/impact.ts). */
export const SeenImpact = Type.Object({ since: Str, cut: Type.Array(SeenChange), open: Type.Array(SeenChange) });
export type SeenImpact = Static<typeof SeenImpact>;
export const ApplyReply = Type.Object({
  ok: Bool,
  dryRun: Bool,
  diagnostics: Type.Array(Diagnostic),
  access: Type.Array(AccessChange),
  flows: Type.Array(FlowCount),
  version: Opt(Int),
  results: Opt(Type.Array(ReconcileResult)),
  errors: Opt(Type.Array(Str)),
  /** Rollbacks: the version returned to, and the hash of the plan now running. */
  rollbackTo: Opt(Int),
  planHash: Opt(Str),
  /** Dry runs of POST /policy: the impact on traffic seen recently. */
  seen: Opt(SeenImpact),
});
export type ApplyReply = Static<typeof ApplyReply>;

export const PendingChange = Type.Object({
  id: Str,
  kind: Type.Union([Type.Literal('policy'), Type.Literal('rollback')]),
  by: Str,
  at: Str,
  expiresAt: Str,
  baseVersion: Int,
  text: Str,
  textSha256: Str,
  rollbackTo: Opt(Int),
  access: Type.Array(AccessChange),
  flows: Type.Array(FlowCount),
  summary: Str,
});
export type PendingChange = Static<typeof PendingChange>;
/** 202: the change waits for a second admin (two-person rule). */
export const PendingCreatedReply = Type.Object({ ok: Type.Literal(true), pending: PendingChange, message: Str });
export type PendingCreatedReply = Static<typeof PendingCreatedReply>;
export const PendingReply = Type.Object({ requireApproval: Bool, pending: Type.Array(PendingChange) });
export type PendingReply = Static<typeof PendingReply>;
export const PendingParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }) });
export const OkReply = Type.Object({ ok: Type.Literal(true) });

export const PolicyVersion = Type.Object({
  version: Int,
  at: Str,
  by: Str,
  reason: Str,
  approvedBy: Opt(Str),
  rollbackTo: Opt(Int),
  summary: Opt(Str),
  planHash: Str,
});
export type PolicyVersion = Static<typeof PolicyVersion>;
export const VersionsReply = Type.Object({ current: Int, requireApproval: Bool, versions: Type.Array(PolicyVersion) });
export type VersionsReply = Static<typeof VersionsReply>;
export const VersionParams = Type.Object({ v: Type.Integer({ minimum: 0, maximum: 1e9 }) });
export const VersionReply = Type.Composite([PolicyVersion, Type.Object({ text: Str })]);
export type VersionReply = Static<typeof VersionReply>;
export const DiffQuery = Type.Object(
  { from: Type.Integer({ minimum: 0, maximum: 1e9 }), to: Type.Integer({ minimum: 0, maximum: 1e9 }) },
  { additionalProperties: false },
);
export const DiffReply = Type.Object({
  from: Int,
  to: Int,
  access: Type.Array(AccessChange),
  flows: Type.Array(FlowCount),
  textChanged: Bool,
});
export type DiffReply = Static<typeof DiffReply>;
export const LintBody = Type.Object({ text: Type.String({ minLength: 1, maxLength: 4 * 1024 * 1024 }) }, { additionalProperties: false });
export const LintFinding = Type.Object(
  {
    severity: Str,
    code: Str,
    message: Str,
    location: Opt(SourceLocation),
    hint: Opt(Str),
    rule: Opt(Str),
    related: Opt(Type.Array(Str)),
  },
  { additionalProperties: true },
);
export const LintReply = Type.Object({ ok: Type.Literal(true), findings: Type.Array(LintFinding), counts: Type.Record(Str, Int) });
export type LintReply = Static<typeof LintReply>;
/** 422 of lint: the text does not even load. */
export const LintInvalidReply = Type.Object({ ok: Type.Literal(false), diagnostics: Type.Array(Diagnostic), errors: Type.Array(Str) });
export const RollbackBody = Type.Object(
  { version: Type.Integer({ minimum: 0, maximum: 1e9 }), dryRun: Opt(Bool) },
  { additionalProperties: false },
);

// ---------------------------------------------------------------- queries

export const ExplainQuery = Type.Object({
  from: Type.String({ minLength: 1 }),
  to: Type.String({ minLength: 1 }),
  service: Type.String({ minLength: 1 }),
});
const Verdict = Type.Union([Type.Literal('allow'), Type.Literal('deny')]);
export const Hop = Type.Object({
  switch: Str,
  inPort: Int,
  verdict: Str,
  flows: Type.Array(Type.Object({ table: Int, priority: Int, origin: Str, cookie: Str, match: Str })),
});
export const ExplainReply = Type.Object({
  decision: Verdict,
  rule: Str,
  reason: Str,
  from: Str,
  to: Str,
  ip: Str,
  service: Str,
  path: Type.Array(Hop),
  consistent: Bool,
});
export type ExplainReply = Static<typeof ExplainReply>;

const Kind = Type.Union([Type.Literal('user'), Type.Literal('server')]);
export const MatrixCell = Type.Object({ subject: Str, kind: Kind, resource: Str, service: Str, decision: Verdict, rule: Str });
export const MatrixReply = Type.Object({
  subjects: Type.Array(Type.Object({ id: Str, name: Str, kind: Kind, organization: Opt(Str), roles: Type.Array(Str) })),
  resources: Type.Array(Type.Object({ name: Str, services: Type.Array(Str) })),
  organizations: Type.Array(Type.Object({ name: Str, parent: Opt(Str) })),
  cells: Type.Array(MatrixCell),
});
export type MatrixReply = Static<typeof MatrixReply>;

export const DirectoryReply = Type.Object({
  source: Str,
  status: DirectoryStatus,
  organizations: Type.Array(Type.Object({ name: Str, parent: Nullable(Str) })),
  roles: Type.Array(Str),
  users: Type.Array(
    Type.Object({
      id: Str,
      name: Str,
      organization: Nullable(Str),
      roles: Type.Array(Str),
      devices: Type.Array(
        Type.Object(
          { mac: Str, ip: Opt(Str), name: Opt(Str), switch: Nullable(Str), port: Nullable(Int), learned: Bool },
          { additionalProperties: true },
        ),
      ),
    }),
  ),
  servers: Type.Array(Type.Object({ name: Str, mac: Str, ip: Str, switch: Str, port: Int })),
});
export type DirectoryReply = Static<typeof DirectoryReply>;
export const ConfirmShrinkReply = Type.Object({ accepted: Bool, status: DirectoryStatus });

// ---------------------------------------------------------------- edge: sessions and leases (contract-edge.ts)

export * from './contract-edge.js';

// ---------------------------------------------------------------- cluster

export const ClusterReply = Type.Object({
  node: Str,
  healthy: Bool,
  lastError: Opt(Str),
  nodes: Type.Array(Type.Object({ name: Str }, { additionalProperties: true })),
  switches: Type.Array(Type.Object({ dpid: Str, master: Opt(Str), generationId: Opt(Str), localRole: Opt(Str) })),
  policyVersion: Opt(Int),
  roleRequests: Int,
  staleRefusals: Int,
});
export type ClusterReply = Static<typeof ClusterReply>;

// ---------------------------------------------------------------- observe: traffic, denials, why

/** One poll interval: its start (epoch ms) and what the rule carried in it. */
const Sample = Type.Object({ t: Num, packets: Int, bytes: Int });
export const RuleTrafficReply = Type.Object({
  rule: Str,
  packets: Int,
  bytes: Int,
  replyPackets: Int,
  replyBytes: Int,
  lastHit: Nullable(Str),
  trackedSince: Str,
  intervalMs: Num,
  series: Type.Array(Sample),
});
export type RuleTrafficReply = Static<typeof RuleTrafficReply>;
export const RuleTrafficParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 200 }) });
export const SinceQuery = Type.Object({ since: Opt(Type.String({ minLength: 1, maxLength: 40 })) }, { additionalProperties: false });
export const RulesTrafficReply = Type.Array(
  Type.Object({ rule: Str, action: Str, packets: Int, bytes: Int, replyPackets: Int, lastHit: Nullable(Str) }),
);
export type RulesTrafficReply = Static<typeof RulesTrafficReply>;
export const UnusedQuery = Type.Object({ days: Opt(Type.Number({ minimum: 0, maximum: 3650 })) }, { additionalProperties: false });
export const UnusedReply = Type.Object({
  days: Num,
  trackedSince: Str,
  rules: Type.Array(Type.Object({ rule: Str, lastHit: Nullable(Str) })),
});
export type UnusedReply = Static<typeof UnusedReply>;

export const DenialKind = Type.Union([Type.Literal('deny'), Type.Literal('would-deny')]);
export const Denial = Type.Object({
  id: Int,
  kind: DenialKind,
  user: Opt(Str),
  name: Opt(Str),
  subjectKind: Type.Union([Type.Literal('user'), Type.Literal('server'), Type.Literal('unknown')]),
  organization: Opt(Str),
  roles: Opt(Type.Array(Str)),
  mac: Str,
  srcIp: Opt(Str),
  switch: Str,
  port: Int,
  dst: Opt(Str),
  resources: Type.Array(Str),
  service: Str,
  services: Type.Array(Str),
  distinctServices: Int,
  proto: Str,
  rule: Str,
  reason: Str,
  monitor: Opt(Str),
  firstSeen: Str,
  lastSeen: Str,
  count: Int,
});
export type Denial = Static<typeof Denial>;
const Text = (max = 256) => Type.String({ minLength: 1, maxLength: max });
export const DenialsQuery = Type.Object(
  {
    user: Opt(Text()),
    resource: Opt(Text()),
    since: Opt(Text(40)),
    switch: Opt(Text()),
    rule: Opt(Text()),
    dst: Opt(Text(64)),
    kind: Opt(DenialKind),
    limit: Opt(Type.Integer({ minimum: 1, maximum: 10000 })),
  },
  { additionalProperties: false },
);
export const DenialsReply = Type.Object({ total: Int, counters: Type.Record(Str, Any), denials: Type.Array(Denial) });
export type DenialsReply = Static<typeof DenialsReply>;

export const UserTrafficParams = Type.Object({ id: Text(200) });
const Traffic = Type.Object({ packets: Int, bytes: Int, lastHit: Nullable(Str) });
export const UserTrafficReply = Type.Object({
  subject: Str,
  kind: Kind,
  classId: Int,
  sent: Traffic,
  classTraffic: Type.Composite([Traffic, Type.Object({ sharedWith: Int })]),
  rules: Type.Array(Type.Object({ rule: Str, packets: Int, bytes: Int, lastHit: Nullable(Str) })),
  denials: Type.Array(Denial),
});
export type UserTrafficReply = Static<typeof UserTrafficReply>;
export const TrafficMatrixReply = Type.Composite([
  Type.Omit(MatrixReply, ['cells']),
  Type.Object({ cells: Type.Array(Type.Composite([MatrixCell, Type.Object({ inUse: Bool, lastHit: Nullable(Str) })])) }),
]);
export type TrafficMatrixReply = Static<typeof TrafficMatrixReply>;

export const WhyQuery = Type.Object({ user: Text(), resource: Text(), service: Text(32) }, { additionalProperties: false });
export const Suggestion = Type.Object({
  size: Int,
  kind: Str,
  rule: Opt(Str),
  role: Opt(Str),
  organization: Opt(Str),
  text: Str,
  alsoAffects: Opt(Str),
});
export const WhyReply = Type.Composite([ExplainReply, Type.Object({ suggestions: Type.Array(Suggestion), denials: Type.Array(Denial) })]);
export type WhyReply = Static<typeof WhyReply>;
export const PollReply = Type.Record(Str, Any);

// ---------------------------------------------------------------- the remaining types

export type SourceLocation = Static<typeof SourceLocation>;
export type FlowCount = Static<typeof FlowCount>;
export type LastChange = Static<typeof LastChange>;
export type HealthReply = Static<typeof HealthReply>;
export type ReadyReply = Static<typeof ReadyReply>;
export type ForeignOverride = Static<typeof ForeignOverride>;
export type SwitchesReply = Static<typeof SwitchesReply>;
export type FlowsParams = Static<typeof FlowsParams>;
export type ApplyQuery = Static<typeof ApplyQuery>;
export type ApplyBody = Static<typeof ApplyBody>;
export type PendingParams = Static<typeof PendingParams>;
export type OkReply = Static<typeof OkReply>;
export type VersionParams = Static<typeof VersionParams>;
export type DiffQuery = Static<typeof DiffQuery>;
export type LintBody = Static<typeof LintBody>;
export type LintFinding = Static<typeof LintFinding>;
export type LintInvalidReply = Static<typeof LintInvalidReply>;
export type RollbackBody = Static<typeof RollbackBody>;
export type ExplainQuery = Static<typeof ExplainQuery>;
export type Hop = Static<typeof Hop>;
export type MatrixCell = Static<typeof MatrixCell>;
export type ConfirmShrinkReply = Static<typeof ConfirmShrinkReply>;
export type RuleTrafficParams = Static<typeof RuleTrafficParams>;
export type SinceQuery = Static<typeof SinceQuery>;
export type UnusedQuery = Static<typeof UnusedQuery>;
export type DenialKind = Static<typeof DenialKind>;
export type DenialsQuery = Static<typeof DenialsQuery>;
export type UserTrafficParams = Static<typeof UserTrafficParams>;
export type WhyQuery = Static<typeof WhyQuery>;
export type Suggestion = Static<typeof Suggestion>;
export type PollReply = Static<typeof PollReply>;

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
  '/api/v1/cluster': ClusterReply,
  '/api/v1/rules/traffic': RulesTrafficReply,
  '/api/v1/rules/unused': UnusedReply,
  '/api/v1/rules/:name/traffic': RuleTrafficReply,
  '/api/v1/users/:id/traffic': UserTrafficReply,
  '/api/v1/traffic/matrix': TrafficMatrixReply,
  '/api/v1/denials': DenialsReply,
  '/api/v1/why': WhyReply,
} as const;
export type GetRoute = keyof typeof GET_ROUTES;
export type GetReply<R extends GetRoute> = Static<(typeof GET_ROUTES)[R]>;
