/** A policy version in monitor mode (controller/monitor-version.ts): status, start, stop, promote.
 * Part of the API contract: controller/api/contract.ts re-exports it. */
import { Type, type Static } from '@sinclair/typebox';
import { Nullable, Str, Int, Bool, Opt } from './kit.js';
import { AccessChange } from './common.js';

export const MonitoredVersion = Type.Object({
  /** How the deny log names it (`monitor` of its would-deny entries). */
  name: Str,
  textSha256: Str,
  by: Str,
  approvedBy: Opt(Str),
  since: Str,
  /** The enforced version it was compiled against. */
  baseVersion: Int,
  /** Who would gain or lose access if it were applied. */
  access: Type.Array(AccessChange),
});
export type MonitoredVersion = Static<typeof MonitoredVersion>;

/** What a monitored version would have cut: would-deny entries naming it, grouped by user, resource and rule. */
export const WouldCut = Type.Object({
  user: Nullable(Str),
  resources: Type.Array(Str),
  dst: Nullable(Str),
  services: Type.Array(Str),
  rule: Str,
  count: Int,
  lastSeen: Str,
});
export type WouldCut = Static<typeof WouldCut>;

export const MonitorQuery = Type.Object({ since: Opt(Str) }, { additionalProperties: false });
export type MonitorQuery = Static<typeof MonitorQuery>;

/** GET /policy/monitor: the monitored version (null: none) and what it would have cut since `since` (default 6h). */
export const MonitorReply = Type.Object({
  active: Bool,
  monitor: Nullable(MonitoredVersion),
  since: Str,
  wouldCut: Type.Array(WouldCut),
  /** Rule-level monitored deny rules (`mode: monitor`) of the enforced policy. */
  monitoredRules: Type.Array(Str),
});
export type MonitorReply = Static<typeof MonitorReply>;

/** POST /policy/monitor: the version now monitored and the dry run's diagnostics. */
export const MonitorStartedReply = Type.Object({
  ok: Type.Literal(true),
  monitor: MonitoredVersion,
  errors: Type.Array(Str),
  warnings: Type.Array(Str),
});
export type MonitorStartedReply = Static<typeof MonitorStartedReply>;

/** DELETE /policy/monitor: the version that was monitored (null: none was). */
export const MonitorStoppedReply = Type.Object({ ok: Type.Literal(true), stopped: Nullable(Str) });
export type MonitorStoppedReply = Static<typeof MonitorStoppedReply>;
