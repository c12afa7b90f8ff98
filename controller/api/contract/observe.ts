/** Observation: rule and user traffic, unused rules, denials, why.
 * Part of the API contract: controller/api/contract.ts re-exports it. */
import { Type, type Static } from '@sinclair/typebox';
import { Nullable, Str, Int, Num, Bool, Opt } from './kit.js';
import { ExplainReply, SubjectKind, MatrixCell, MatrixReply } from './query.js';

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
/** How many sampled frames could not be decoded, by why (controller/packet.ts DecodeErrorCode; a type test keeps the
 * two equal); a code is present once it has been seen. */
export const DecodeErrorCounts = Type.Object({
  'short-ethernet': Opt(Int),
  'bad-vlan': Opt(Int),
  'short-arp': Opt(Int),
  'bad-arp': Opt(Int),
  'short-ipv4': Opt(Int),
  'bad-ipv4-version': Opt(Int),
  'bad-ipv4-ihl': Opt(Int),
  'bad-ipv4-length': Opt(Int),
  'short-ipv6': Opt(Int),
  'bad-ipv6-version': Opt(Int),
  'bad-ipv6-extension': Opt(Int),
  'too-many-extensions': Opt(Int),
});
export type DecodeErrorCounts = Static<typeof DecodeErrorCounts>;
/** The deny log's intake (controller/denials.ts IngestCounters): frames sampled, undecodable (and why), not a denial. */
export const DenialCounters = Type.Object({ samples: Int, decodeErrors: Int, ignored: Int, byCode: DecodeErrorCounts });
export type DenialCounters = Static<typeof DenialCounters>;
export const DenialsReply = Type.Object({ total: Int, counters: DenialCounters, denials: Type.Array(Denial) });
export type DenialsReply = Static<typeof DenialsReply>;

export const UserTrafficParams = Type.Object({ id: Text(200) });
const Traffic = Type.Object({ packets: Int, bytes: Int, lastHit: Nullable(Str) });
export const UserTrafficReply = Type.Object({
  subject: Str,
  kind: SubjectKind,
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
/** POST /stats/poll: switches and flows read now, how long it took (ms), and the switches that could not be read. */
export const PollReply = Type.Object({ switches: Int, flows: Int, ms: Num, errors: Type.Array(Str) });

export type RuleTrafficParams = Static<typeof RuleTrafficParams>;
export type SinceQuery = Static<typeof SinceQuery>;
export type UnusedQuery = Static<typeof UnusedQuery>;
export type DenialKind = Static<typeof DenialKind>;
export type DenialsQuery = Static<typeof DenialsQuery>;
export type UserTrafficParams = Static<typeof UserTrafficParams>;
export type WhyQuery = Static<typeof WhyQuery>;
export type Suggestion = Static<typeof Suggestion>;
export type PollReply = Static<typeof PollReply>;
