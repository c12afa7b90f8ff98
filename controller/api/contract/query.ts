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
/** `family: 6`: the decision for the resource's IPv6 addresses (absent: IPv4); a dual-stack resource has both cells. */
export const MatrixCell = Type.Object({
  subject: Str,
  kind: SubjectKind,
  resource: Str,
  service: Str,
  decision: Verdict,
  rule: Str,
  family: Opt(Type.Literal(6)),
});
export const MatrixReply = Type.Object({
  subjects: Type.Array(Type.Object({ id: Str, name: Str, kind: SubjectKind, organization: Opt(Str), roles: Type.Array(Str) })),
  /** `addresses`: the resource's IPv4 and IPv6 addresses and prefixes, as compiled (hosts resolved). */
  resources: Type.Array(Type.Object({ name: Str, services: Type.Array(Str), addresses: Opt(Type.Array(Str)) })),
  organizations: Type.Array(Type.Object({ name: Str, parent: Opt(Str) })),
  cells: Type.Array(MatrixCell),
});
export type MatrixReply = Static<typeof MatrixReply>;

/** An address learned by snooping: `source` nd (DAD) or dhcpv6; `expires` when it ends unless renewed. */
export const LearnedAddress = Type.Object({ ip: Str, source: Str, switch: Str, port: Int, expires: Opt(Str) });
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
          {
            mac: Str,
            ip: Opt(Str),
            /** IPv6 addresses written in the directory. */
            ipv6: Opt(Type.Array(Str)),
            /** IPv6 addresses the controller learned for this MAC (ND/DAD, DHCPv6), with where and how. */
            learnedIpv6: Opt(Type.Array(LearnedAddress)),
            name: Opt(Str),
            switch: Nullable(Str),
            port: Nullable(Int),
            learned: Bool,
          },
          { additionalProperties: true },
        ),
      ),
    }),
  ),
  servers: Type.Array(Type.Object({ name: Str, mac: Str, ip: Str, ipv6: Opt(Type.Array(Str)), switch: Str, port: Int })),
});
export type DirectoryReply = Static<typeof DirectoryReply>;
export const ConfirmShrinkReply = Type.Object({ accepted: Bool, status: DirectoryStatus });

export type ExplainQuery = Static<typeof ExplainQuery>;
export type Hop = Static<typeof Hop>;
export type MatrixCell = Static<typeof MatrixCell>;
export type ConfirmShrinkReply = Static<typeof ConfirmShrinkReply>;
