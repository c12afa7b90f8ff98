/** Edge: 802.1X/MAB sessions, MAC holds, DHCP leases, guest vouchers.
 * Part of the API contract: controller/api/contract.ts re-exports it (the snoopers' alert names come from ../../alert-names.ts,
 * self-contained as the contract is). */
import { Type, type Static } from '@sinclair/typebox';
import { DHCP_ALERTS, IPV6_ALERTS } from '../../alert-names.js';
import { Str, Int, Num, Bool, Opt, Counts } from './kit.js';

// ---------------------------------------------------------------- edge: sessions and leases

/** How a device was admitted: 802.1X, MAC bypass, web sign-in, or by an admin (compiler/model.ts AuthMethod; a type
 * test keeps the two equal). */
export const AuthMethod = Type.Union([Type.Literal('dot1x'), Type.Literal('mab'), Type.Literal('web'), Type.Literal('admin')]);
export type AuthMethod = Static<typeof AuthMethod>;

export const Session = Type.Object(
  {
    id: Str,
    mac: Str,
    switch: Str,
    port: Int,
    method: AuthMethod,
    user: Opt(Str),
    deviceGroup: Opt(Str),
    since: Str,
    expires: Opt(Str),
    ip: Opt(Str),
    /** IPv6 addresses learned for this MAC on this port (ND/DAD, DHCPv6) and those the directory lists for it. */
    ipv6: Opt(Type.Array(Str)),
    reauthAt: Opt(Str),
    attributes: Opt(Type.Record(Str, Str)),
  },
  { additionalProperties: true },
);
export type Session = Static<typeof Session>;
/** A session as GET /sessions lists it: whether it admits anything now (its user may have left the directory), and why not. */
export const SessionView = Type.Composite([Session, Type.Object({ active: Bool, inactiveReason: Opt(Str) })], {
  additionalProperties: true,
});
export type SessionView = Static<typeof SessionView>;
/** A MAC seen on two ports at once, admitted on neither until `until` or an admin releases it.
 * `source`: what saw it there (802.1X logins, DHCP snooping). */
export const MacHold = Type.Object({ mac: Str, until: Str, source: Type.Array(Type.Union([Type.Literal('dot1x'), Type.Literal('dhcp')])) });
export const SessionsReply = Type.Object({
  sessions: Type.Array(SessionView),
  conversations: Int,
  radius: Type.Array(Type.Object({ server: Str, up: Bool })),
  /** The 802.1X/MAB authenticator's counters (edge/authenticator.ts AuthenticatorStats, without the latency list). */
  stats: Type.Object({
    eapolIn: Int,
    malformed: Int,
    rateLimited: Int,
    ignored: Int,
    accepts: Int,
    rejects: Int,
    timeouts: Int,
    mab: Int,
  }),
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
/** DHCP snooping's counters (edge/snooping.ts DhcpCounter; a type test keeps the keys equal): drops by reason (the
 * reasons it alerts, DHCP_ALERTS), frames that were not DHCP, forwarded client messages and copied server replies by type. */
export const DhcpCounters = Counts(
  ...DHCP_ALERTS,
  'not-dhcp',
  'client-discover',
  'client-request',
  'client-decline',
  'client-release',
  'client-inform',
  'server-offer',
  'server-ack',
  'server-nak',
);
export type DhcpCounters = Static<typeof DhcpCounters>;
/** ND/DAD and DHCPv6 messages by verdict (edge/nd-snooping.ts Nd6Reason; a type test keeps the keys equal): the
 * verdicts it alerts (IPV6_ALERTS) and the others. */
export const Ipv6Counters = Counts(
  ...IPV6_ALERTS,
  'not-admitted',
  'unbound-source',
  'pending',
  'learned',
  'renewed',
  'client',
  'copy',
  'lease',
);
export type Ipv6Counters = Static<typeof Ipv6Counters>;
/** The sign-in page's requests by outcome (edge/signin.ts SigninCounter; a type test keeps the keys equal). */
export const SigninCounters = Counts(
  'accepted',
  'rejected',
  'unavailable',
  'bad-input',
  'locked-out',
  'lease-changed',
  'session-refused',
  'voucher-accepted',
  'voucher-rejected',
  'voucher-paused',
  'rate-limited',
  'no-lease',
  'cross-origin',
  'bad-body',
  'bad-csrf',
  'not-found',
);
export type SigninCounters = Static<typeof SigninCounters>;
export const LeasesReply = Type.Object({
  leases: Type.Array(Lease),
  /** Snooping counters: DHCP and, in ipv6Counters, ND/DAD and DHCPv6; a counter is present once counted. */
  dhcp: Type.Object({ counters: DhcpCounters, ackToFlowsMs: Percentiles, ipv6Counters: Opt(Ipv6Counters) }),
  signin: Opt(Type.Object({ counters: SigninCounters, signinToFlowsMs: Percentiles })),
});
export type LeasesReply = Static<typeof LeasesReply>;

export type SessionParams = Static<typeof SessionParams>;
export type SessionEndedReply = Static<typeof SessionEndedReply>;
export type MacHold = Static<typeof MacHold>;
export type HoldReleasedReply = Static<typeof HoldReleasedReply>;
export type Lease = Static<typeof Lease>;

// ---------------------------------------------------------------- edge: guest vouchers

export const VoucherState = Type.Union([Type.Literal('valid'), Type.Literal('used-up'), Type.Literal('expired'), Type.Literal('revoked')]);
/** A voucher as the API shows it: never its code (only a hash is kept, and not shown either). */
export const Voucher = Type.Object({
  id: Str,
  created: Str,
  createdBy: Str,
  /** The code cannot be redeemed after this. */
  expires: Str,
  /** Devices it admits at most, and the MACs that redeemed it. */
  uses: Int,
  usedBy: Type.Array(Str),
  /** How long a device admitted by it stays (ms). */
  sessionMs: Num,
  note: Opt(Str),
  revoked: Opt(Bool),
  state: VoucherState,
});
export const VouchersReply = Type.Object({ vouchers: Type.Array(Voucher) });
export const VoucherCreateBody = Type.Object(
  {
    /** How long the code can be redeemed: a duration such as 8h, 30m or 2d. */
    validFor: Type.String({ minLength: 1, maxLength: 16 }),
    /** How long an admitted device stays (default: the validity, at most a day). */
    sessionTime: Opt(Type.String({ minLength: 1, maxLength: 16 })),
    uses: Opt(Type.Integer({ minimum: 1, maximum: 10_000 })),
    note: Opt(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);
/** 201: the code, shown this once. */
export const VoucherCreatedReply = Type.Object({ voucher: Voucher, code: Str });
export const VoucherParams = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.:-]+$' }) },
  { additionalProperties: false },
);
/** The revoked voucher and how many guest sessions it admitted were ended with it. */
export const VoucherRevokedReply = Type.Object({ revoked: Voucher, sessionsEnded: Int });

export type VoucherState = Static<typeof VoucherState>;
export type Voucher = Static<typeof Voucher>;
export type VouchersReply = Static<typeof VouchersReply>;
export type VoucherCreateBody = Static<typeof VoucherCreateBody>;
export type VoucherCreatedReply = Static<typeof VoucherCreatedReply>;
export type VoucherParams = Static<typeof VoucherParams>;
export type VoucherRevokedReply = Static<typeof VoucherRevokedReply>;
