/** Policy: the running policy, apply/dry run, pending changes (two-person rule), versions, diff, lint, rollback.
 * Part of the API contract: controller/api/contract.ts re-exports it. */
import { Type, type Static } from '@sinclair/typebox';
import { Nullable, Str, Int, Bool, Opt } from './kit.js';
import { AccessChange, Diagnostic, ErrorReply, FlowCount, LastChange, ReconcileResult, SourceLocation } from './common.js';

// ---------------------------------------------------------------- policy

export const PolicyReply = Type.Object({ version: Int, path: Str, text: Str, lastChange: Nullable(LastChange) });
export type PolicyReply = Static<typeof PolicyReply>;

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
/**
 * A change the controller refused after compiling it: the apply result with `ok: false` and its diagnostics, also as
 * text (`file:line:column: severity code: message`). 422: the policy is invalid; 409: the running version is not the
 * one the change was based on (?baseVersion, monitor mode) or a concurrent change won; 503: etcd is unreachable.
 */
export const ApplyRefusedReply = Type.Composite([
  Type.Omit(ApplyReply, ['ok', 'errors']),
  Type.Object({ ok: Type.Literal(false), errors: Type.Array(Str) }),
]);
export type ApplyRefusedReply = Static<typeof ApplyRefusedReply>;

export const PendingChange = Type.Object({
  id: Str,
  kind: Type.Union([Type.Literal('policy'), Type.Literal('rollback'), Type.Literal('monitor')]),
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
/**
 * Any other answer of a policy change (apply, rollback, monitor, promote, approve): the refused change, or an error
 * reply (no or a read-only token, the two-person rule's refusals: stale, own change, too many pending; body too large).
 */
export const ChangeRefusal = Type.Union([ApplyRefusedReply, ErrorReply]);
export type ChangeRefusal = Static<typeof ChangeRefusal>;
/** The replies of a policy change route by status: its fastify response schema (POST /policy, rollback, promote, approve). */
export const ChangeReplies = { 200: ApplyReply, 202: PendingCreatedReply, '4xx': ChangeRefusal, 503: ChangeRefusal } as const;
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
/** How much a lint finding matters (compiler/lint.ts LintSeverity). */
export const LintSeverity = Type.Union([Type.Literal('error'), Type.Literal('warning'), Type.Literal('info')]);
export type LintSeverity = Static<typeof LintSeverity>;
export const LintFinding = Type.Object({
  severity: LintSeverity,
  code: Str,
  message: Str,
  location: Opt(SourceLocation),
  hint: Opt(Str),
  /** The rule the finding is about (absent for unused declarations). */
  rule: Opt(Str),
  /** Other rules involved (the denies that shadow, the allows that make redundant). */
  related: Opt(Type.Array(Str)),
  /** Users and servers concerned: how many, and a few ids. */
  subjects: Opt(Type.Object({ users: Int, servers: Int, examples: Type.Array(Str) })),
});
/** Findings in file and line order, and how many of each severity. */
export const LintReply = Type.Object({
  ok: Type.Literal(true),
  findings: Type.Array(LintFinding),
  counts: Type.Object({ error: Int, warning: Int, info: Int }),
});
export type LintReply = Static<typeof LintReply>;
/** 422 of lint: the text does not even load. */
export const LintInvalidReply = Type.Object({ ok: Type.Literal(false), diagnostics: Type.Array(Diagnostic), errors: Type.Array(Str) });
export const RollbackBody = Type.Object(
  { version: Type.Integer({ minimum: 0, maximum: 1e9 }), dryRun: Opt(Bool) },
  { additionalProperties: false },
);

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
