/** Error replies and the pieces several resources share (diagnostics, access changes, reconcile results).
 * Part of the API contract: controller/api/contract.ts re-exports it. */
import { Type, type Static } from '@sinclair/typebox';
import { Str, Int, Num, Bool, Opt } from './kit.js';

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

export type SourceLocation = Static<typeof SourceLocation>;
export type FlowCount = Static<typeof FlowCount>;
export type LastChange = Static<typeof LastChange>;

export const DirectoryStatus = Type.Object({
  source: Str,
  lastSuccessAt: Opt(Str),
  lastAttemptAt: Opt(Str),
  entries: Int,
  consecutiveErrors: Opt(Int),
  lastError: Opt(Str),
  /** A shrink of the directory held until an admin confirms it (POST /directory/confirm-shrink): users before and after. */
  heldShrink: Opt(Type.Object({ before: Int, after: Int, since: Opt(Str) })),
  lastDurationMs: Opt(Num),
  mode: Opt(Type.Union([Type.Literal('push'), Type.Literal('poll')])),
  pushError: Opt(Str),
});
export type DirectoryStatus = Static<typeof DirectoryStatus>;
