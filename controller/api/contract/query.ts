/** Queries: explain, the access matrix, the directory.
 * Part of the API contract: controller/api/contract.ts re-exports it. */
import { Type, type Static } from '@sinclair/typebox';
import { Nullable, Str, Int, Bool, Opt } from './kit.js';
import { DirectoryStatus } from './common.js';

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
  /** Allowed, but a monitored deny rule (mode: monitor) would deny it. */
  wouldDeny: Opt(Type.Object({ rule: Str, reason: Str })),
});
export type ExplainReply = Static<typeof ExplainReply>;

export const SubjectKind = Type.Union([Type.Literal('user'), Type.Literal('server')]);
export const MatrixCell = Type.Object({ subject: Str, kind: SubjectKind, resource: Str, service: Str, decision: Verdict, rule: Str });
export const MatrixReply = Type.Object({
  subjects: Type.Array(Type.Object({ id: Str, name: Str, kind: SubjectKind, organization: Opt(Str), roles: Type.Array(Str) })),
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

export type ExplainQuery = Static<typeof ExplainQuery>;
export type Hop = Static<typeof Hop>;
export type MatrixCell = Static<typeof MatrixCell>;
export type ConfirmShrinkReply = Static<typeof ConfirmShrinkReply>;
