/** Edge: 802.1X/MAB sessions, MAC holds, DHCP leases, guest vouchers.
 * Part of the API contract: controller/api/contract.ts re-exports it. */
import { Type, type Static } from '@sinclair/typebox';
import { Str, Int, Num, Bool, Opt, Any } from './kit.js';

// ---------------------------------------------------------------- edge: sessions and leases

export const Session = Type.Object(
  {
    id: Str,
    mac: Str,
    switch: Str,
    port: Int,
    method: Str,
    user: Opt(Str),
    deviceGroup: Opt(Str),
    since: Str,
    expires: Opt(Str),
    ip: Opt(Str),
    /** IPv6 addresses learned for this MAC on this port (ND/DAD, DHCPv6) and those the directory lists for it. */
    ipv6: Opt(Type.Array(Str)),
    reauthAt: Opt(Str),
    attributes: Opt(Type.Record(Str, Str)),
    active: Opt(Bool),
    inactiveReason: Opt(Str),
  },
  { additionalProperties: true },
);
export type Session = Static<typeof Session>;
/** A MAC seen on two ports at once, admitted on neither until `until` or an admin releases it.
 * `source`: what saw it there (802.1X logins, DHCP snooping). */
export const MacHold = Type.Object({ mac: Str, until: Str, source: Type.Array(Type.Union([Type.Literal('dot1x'), Type.Literal('dhcp')])) });
export const SessionsReply = Type.Object({
  sessions: Type.Array(Session),
  conversations: Int,
  radius: Type.Array(Type.Object({ server: Str, up: Bool })),
  stats: Type.Record(Str, Any),
  holds: Opt(Type.Array(MacHold)),
});
export type SessionsReply = Static<typeof SessionsReply>;
export const SessionParams = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.:-]+$' }) },
  { additionalProperties: false },
);
export const SessionEndedReply = Type.Object({ ended: Session, by: Str });
export const HoldParams = Type.Object(
  { mac: Type.String({ pattern: '^[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}$' }) },
  { additionalProperties: false },
);
export const HoldReleasedReply = Type.Object({ released: MacHold, by: Str });

const Percentiles = Type.Object({ p50: Opt(Num), p99: Opt(Num), n: Int });
export const Lease = Type.Object({ mac: Str, ip: Str, switch: Str, port: Int, source: Str, expires: Opt(Str) });
export const LeasesReply = Type.Object({
  leases: Type.Array(Lease),
  /** Snooping counters: DHCP (edge/snooping.ts) and, in ipv6Counters, ND/DAD and DHCPv6 messages by verdict (edge/nd-snooping.ts). */
  dhcp: Type.Object({ counters: Type.Record(Str, Any), ackToFlowsMs: Percentiles, ipv6Counters: Opt(Type.Record(Str, Any)) }),
  signin: Opt(Type.Object({ counters: Type.Record(Str, Any), signinToFlowsMs: Percentiles })),
});
export type LeasesReply = Static<typeof LeasesReply>;

export type SessionParams = Static<typeof SessionParams>;
export type SessionEndedReply = Static<typeof SessionEndedReply>;
export type MacHold = Static<typeof MacHold>;
export type HoldReleasedReply = Static<typeof HoldReleasedReply>;
export type Lease = Static<typeof Lease>;
