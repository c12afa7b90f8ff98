/** Reply shapes of the directory, sessions, traffic and denials pages (see types.ts). Type-only. */
// ---------- directory ----------
export interface DirectoryReply {
  readonly source: string;
  readonly roles: readonly string[];
  readonly organizations: ReadonlyArray<{ readonly name: string; readonly parent: string | null }>;
  readonly users: ReadonlyArray<{
    readonly id: string;
    readonly name: string;
    readonly organization: string | null;
    readonly roles: readonly string[];
    readonly devices: ReadonlyArray<{
      readonly mac: string;
      readonly ip?: string;
      readonly ipv6?: readonly string[];
      readonly learnedIpv6?: ReadonlyArray<{
        readonly ip: string;
        readonly source: string;
        readonly switch: string;
        readonly port: number;
      }>;
      readonly switch: string | null;
      readonly port: number | null;
      readonly learned: boolean;
    }>;
  }>;
  readonly servers: ReadonlyArray<{
    readonly name: string;
    readonly ip: string;
    readonly ipv6?: readonly string[];
    readonly mac: string;
    readonly switch: string;
    readonly port: number;
  }>;
}

// ---------- sessions ----------
export type AuthMethod = 'dot1x' | 'mab' | 'web' | 'admin';
export interface Session {
  readonly id: string;
  readonly mac: string;
  readonly switch: string;
  readonly port: number;
  readonly method: AuthMethod;
  readonly user?: string;
  readonly deviceGroup?: string;
  readonly since: string;
  readonly expires?: string;
  readonly ip?: string;
  readonly ipv6?: readonly string[];
  readonly active: boolean;
  readonly inactiveReason?: string;
}
/** A MAC seen on two ports at once: admitted nowhere until `until` or an admin's release. */
export interface MacHold {
  readonly mac: string;
  readonly until: string;
  readonly source: readonly ('dot1x' | 'dhcp')[];
}
export interface SessionsReply {
  readonly sessions: readonly Session[];
  readonly holds?: readonly MacHold[];
}

// ---------- traffic and denials ----------
export interface RuleTrafficRow {
  readonly rule: string;
  readonly action: string;
  readonly packets: number;
  readonly bytes: number;
  readonly replyPackets: number;
  readonly lastHit: string | null;
}
export interface SeriesPoint {
  readonly t: number;
  readonly packets: number;
  readonly bytes: number;
}
export interface RuleTraffic {
  readonly rule: string;
  readonly packets: number;
  readonly bytes: number;
  readonly replyPackets: number;
  readonly replyBytes: number;
  readonly lastHit: string | null;
  readonly trackedSince: string;
  readonly intervalMs: number;
  readonly series: readonly SeriesPoint[];
}
export interface UnusedReply {
  readonly days: number;
  readonly trackedSince: string;
  readonly rules: ReadonlyArray<{ readonly rule: string; readonly lastHit: string | null }>;
}

export interface Denial {
  readonly id: number;
  readonly kind: 'deny' | 'would-deny';
  readonly user?: string;
  readonly name?: string;
  readonly subjectKind: 'user' | 'server' | 'unknown';
  readonly organization?: string;
  readonly roles?: readonly string[];
  readonly mac: string;
  readonly srcIp?: string;
  readonly switch: string;
  readonly port: number;
  readonly dst?: string;
  readonly resources: readonly string[];
  readonly service: string;
  readonly services: readonly string[];
  readonly distinctServices: number;
  readonly proto: string;
  readonly rule: string;
  readonly reason: string;
  readonly monitor?: string;
  readonly firstSeen: string;
  readonly lastSeen: string;
  readonly count: number;
}
export interface DenialsReply {
  readonly total: number;
  readonly denials: readonly Denial[];
}
