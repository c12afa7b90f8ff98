/**
 * Shared model types: the contract between the compiler, the directory adapters (file, LDAP) and the controller.
 * The policy model itself lives with the policy parser (compiler/policy.ts); these are the pieces other parts consume.
 */
import type { Instruction, Match } from '../openflow/types.js';

/** A place in an input file, 1-based line and column. */
export interface SourceLocation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/** An error or warning as a value: a code, a message for a person, where, and a hint. */
export interface Diagnostic {
  readonly severity: 'error' | 'warning';
  readonly code: string;
  readonly message: string;
  readonly location?: SourceLocation;
  readonly hint?: string;
}

// ---------- Directory (from directory.yaml or LDAP) ----------

export interface Device {
  /** Lower-case "aa:bb:cc:dd:ee:ff". */
  readonly mac: string;
  /** Dotted IPv4, optional (a device may be known by MAC only). */
  readonly ip?: string;
  /** IPv6 addresses (canonical text), global and link-local; absent = the device does not speak IPv6 here. */
  readonly ipv6?: readonly string[];
}

export interface User {
  readonly id: string;
  readonly name: string;
  /** Name of the organization the user belongs to directly (sub-organization membership is implied upward). */
  readonly organization?: string;
  readonly roles: readonly string[];
  readonly devices: readonly Device[];
  readonly location?: SourceLocation;
}

export interface Organization {
  readonly name: string;
  /** Name of the parent organization, absent for a root. */
  readonly parent?: string;
  readonly location?: SourceLocation;
}

export interface Directory {
  /** Flat list; the tree is given by `parent`. */
  readonly organizations: readonly Organization[];
  readonly users: readonly User[];
  /** Role names known even when nobody holds them now (directory.yaml `roles:`; LDAP group names). */
  readonly roles?: readonly string[];
  /** Where each of `roles` is declared (directory.yaml), same order; absent for LDAP. */
  readonly roleLocations?: readonly SourceLocation[];
  /** Where this snapshot came from, e.g. "file:/path/directory.yaml" or "ldap://host:389/dc=example,dc=org". */
  readonly source: string;
}

/** A source of directory snapshots (file or LDAP). */
export interface DirectorySource {
  readonly kind: 'file' | 'ldap';
  readonly description: string;
  /** Resolves with a complete snapshot or rejects with an Error whose message is fit for an admin. */
  load(): Promise<Directory>;
  close?(): Promise<void>;
}

// ---------- Topology ----------

export interface SwitchDef {
  readonly name: string;
  readonly dpid: bigint;
  readonly kind: 'edge' | 'core' | 'hypervisor';
  /** `exclusive: true` in the topology: every flow on this switch is ours (the controller removes foreign ones). */
  readonly exclusive?: boolean;
  /** What the switch can do (compiler/profile.ts): `profile:` in the topology, else detected at connect, else ovs. */
  readonly profile?: 'ovs' | 'ovs-stateless' | 'openflow13';
  /** Flow-table budget: most flows per table (`tables:` in the topology, or max_entries the switch reported). */
  readonly tables?: Readonly<Record<number, number>>;
  /** Conntrack zone of this switch (`conntrack_zone:`); default derived from the dpid. */
  readonly ctZone?: number;
  readonly location?: SourceLocation;
}

export interface PortRef {
  readonly switch: string;
  readonly port: number;
}

export interface Link {
  readonly a: PortRef;
  readonly b: PortRef;
}

/** A device's attachment point: from topology.yaml or learned by the controller. */
export interface Binding {
  readonly mac: string;
  readonly ip?: string;
  /** IPv6 addresses (canonical text). */
  readonly ipv6?: readonly string[];
  readonly switch: string;
  readonly port: number;
  readonly learned?: boolean;
}

export interface Server {
  readonly name: string;
  readonly switch: string;
  readonly port: number;
  readonly mac: string;
  readonly ip: string;
  /** IPv6 addresses (canonical text), global and link-local. */
  readonly ipv6?: readonly string[];
  readonly location?: SourceLocation;
}

export interface Topology {
  readonly switches: readonly SwitchDef[];
  readonly links: readonly Link[];
  readonly hosts: readonly Binding[];
  readonly servers: readonly Server[];
  /** IPv6 RA guard: the only ports Router Advertisements (and redirects) are accepted from (`routers:`). */
  readonly routers?: readonly PortRef[];
  /** The only ports DHCPv6 server replies (udp 547→546) are accepted from (`dhcpv6:`, servers or switch:port). */
  readonly dhcpv6?: readonly PortRef[];
}

// ---------- Flow plan (compiler output, controller input) ----------

/**
 * All cookies we install carry this tag in their top 16 bits; the controller reads, diffs and deletes
 * only flows whose `cookie & COOKIE_TAG_MASK === COOKIE_TAG`.
 */
export const COOKIE_TAG = 0x5ac1_0000_0000_0000n;
export const COOKIE_TAG_MASK = 0xffff_0000_0000_0000n;

export interface PlannedFlow {
  readonly tableId: number;
  readonly priority: number;
  readonly cookie: bigint;
  readonly match: Match;
  readonly instructions: readonly Instruction[];
  /** Why this flow exists: the policy rule name, or a built-in purpose like 'anti-spoofing' / 'arp' / 'default-deny'. */
  readonly origin: string;
  readonly idleTimeout?: number;
  /**
   * Epoch ms: the instant this flow must leave the switch (the next change of a time-bound rule of its class,
   * compiler/schedule.ts). Absolute, so a plan means the same whenever it is sent: the controller turns it into the
   * hard_timeout remaining at send time (compiler/schedule.ts hardTimeoutAt) and does not install it once it has passed.
   */
  readonly expiresAt?: number;
}

export interface SwitchPlan {
  readonly name: string;
  readonly dpid: bigint;
  readonly kind: SwitchDef['kind'];
  /** The profile the flows were compiled for (absent: the stateless Open vSwitch pipeline). */
  readonly profile?: SwitchDef['profile'];
  readonly flows: readonly PlannedFlow[];
}

export interface FlowPlan {
  readonly switches: readonly SwitchPlan[];
}

// ---------- The edge: who logged in where, and which addresses their devices hold ----------
// Produced by the edge/ folder (802.1X/RADIUS, MAC bypass, web sign-in, DHCP/ND snooping) as plain values;
// `applyEdge` (compiler/edge.ts) folds them into the directory and bindings the compiler already takes.

export type AuthMethod = 'dot1x' | 'mab' | 'web' | 'admin';

/** A device admitted at the edge: one login session (802.1X, MAB, web sign-in) of one MAC on one switch port. */
export interface EdgeSession {
  readonly id: string;
  /** Lower-case "aa:bb:cc:dd:ee:ff". */
  readonly mac: string;
  readonly switch: string;
  readonly port: number;
  readonly method: AuthMethod;
  /** The directory user the device acts for; absent for an ownerless device in a device group. */
  readonly user?: string;
  /** A device group named in the policy (e.g. `printers`), usable in selectors like a role. */
  readonly deviceGroup?: string;
  /** ISO 8601. */
  readonly since: string;
  /** ISO 8601; absent = until logoff. */
  readonly expires?: string;
  /** An address assigned with the login (RADIUS Framed-IP-Address); a lease on the same port takes precedence. */
  readonly ip?: string;
}

/** An address a device holds, learned at the edge (DHCP, DHCPv6, ND) on one switch port. */
export interface AddressLease {
  readonly mac: string;
  readonly ip: string;
  readonly switch: string;
  readonly port: number;
  readonly source: 'dhcp' | 'dhcpv6' | 'nd';
  /** ISO 8601. */
  readonly expires?: string;
}

export interface EdgeState {
  readonly sessions: readonly EdgeSession[];
  readonly leases: readonly AddressLease[];
}
