/**
 * Addresses learned at the edge (DHCP snooping): which MAC holds which IPv4 address on which switch port, until
 * when. The table owns its expiry timer and tells listeners about every change; the controller's edge hook folds
 * the leases into the compile through `applyEdge` (a lease gives the device admitted on that port its address).
 *
 * Invariants: an address is held by at most one MAC, a MAC holds at most one address. A new lease of an address
 * to another MAC removes the old holder in the same step; a MAC leasing a new address (or the same one on another
 * port: roaming) replaces its old lease in the same step. Values are plain and JSON-serialisable.
 */
import type { AddressLease } from '../compiler/model.js';
import { parseIpv4 } from '../compiler/addr.js';
import { BindingTable, MAC_RE, checkPlace, checkTime } from './binding-table.js';

export type LeaseChangeKind = 'added' | 'renewed' | 'replaced' | 'removed';
export type LeaseEndReason =
  'release' | 'nak' | 'decline' | 'expired' | 'reassigned' | 'replaced' | 'admin' | 'port-down' | 'conflict' | 'logoff' | 'withdrawn';

export interface LeaseChange {
  readonly kind: LeaseChangeKind;
  readonly lease: AddressLease;
  /** For 'replaced': this MAC's previous lease (another address or port). */
  readonly previous?: AddressLease;
  /** For 'removed': why. */
  readonly reason?: LeaseEndReason;
}

export interface LeaseTableOptions {
  readonly now?: () => number;
  /** Upper bound on leases held; beyond it a new lease is refused (fail closed: no address, no access). */
  readonly maxLeases?: number;
  /** Longest lease honoured (s); a longer or infinite DHCP lease is cut to this. Default 7 days. */
  readonly maxLeaseSeconds?: number;
}

export type LeaseResult =
  | { ok: true; lease: AddressLease; change: LeaseChange; removed: AddressLease[] }
  | { ok: false; code: 'bad-lease' | 'table-full'; message: string };

/**
 * Checks the fields every address lease has (MAC, switch, port, source, expiry) around a family's address check
 * (`ip` gives an error message for a bad address); an error message, or undefined.
 */
export function checkLeaseWith(v: unknown, ip: (text: string) => string | undefined, sources: readonly string[]): string | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return 'not an object';
  const l = v as Record<string, unknown>;
  if (typeof l.mac !== 'string' || !MAC_RE.test(l.mac)) return 'bad mac';
  if (l.mac === '00:00:00:00:00:00' || l.mac === 'ff:ff:ff:ff:ff:ff' || parseInt(l.mac.slice(0, 2), 16) & 1) return 'not a unicast mac';
  if (typeof l.ip !== 'string') return 'bad ip';
  const badIp = ip(l.ip);
  if (badIp) return badIp;
  return checkPlace(l) ?? (typeof l.source !== 'string' || !sources.includes(l.source) ? 'bad source' : checkTime(l, 'expires'));
}

function checkIpv4Host(text: string): string | undefined {
  const a = parseIpv4(text);
  if (a === undefined) return 'bad ip';
  if (a === 0 || a === 0xffffffff || a >>> 24 === 127 || a >>> 28 === 14) return 'not a unicast host address';
  return undefined;
}

/** Checks a value that claims to be a lease (state file, API): an error message, or undefined. */
export const checkLease = (v: unknown): string | undefined => checkLeaseWith(v, checkIpv4Host, ['dhcp', 'dhcpv6', 'nd']);

/** A lease with only the fields a lease has, its address written as `ip` says, frozen. */
export const cleanLease = (l: AddressLease, ip: string = l.ip): AddressLease =>
  Object.freeze({
    mac: l.mac,
    ip,
    switch: l.switch,
    port: l.port,
    source: l.source,
    ...(l.expires !== undefined ? { expires: l.expires } : {}),
  });

/** The leases of one MAC, and of one address: shared by the IPv4 and IPv6 tables' event shapes. */
export abstract class AddressTable extends BindingTable<AddressLease, LeaseEndReason, LeaseChange> {
  protected removed(lease: AddressLease, reason: LeaseEndReason): LeaseChange {
    return { kind: 'removed', lease, reason };
  }
  /** The expiry of a lease of `seconds` from now, cut to `maxSeconds`. */
  protected expiry(seconds: number, maxSeconds: number): string {
    return new Date(this.now() + Math.min(Math.max(0, seconds), maxSeconds) * 1000).toISOString();
  }
  byPort(sw: string, port: number): AddressLease[] {
    return this.list().filter((l) => l.switch === sw && l.port === port);
  }
}

export class LeaseTable extends AddressTable {
  private readonly byIpMap = new Map<string, AddressLease>();
  private readonly maxSeconds: number;

  constructor(opts: LeaseTableOptions = {}) {
    super(opts.now, opts.maxLeases ?? 200_000, { plural: 'leases', key: (l) => l.mac, check: checkLease, clean: (l) => cleanLease(l) });
    this.maxSeconds = opts.maxLeaseSeconds ?? 7 * 86400;
  }

  byMac(mac: string): AddressLease | undefined {
    return this.primary.get(mac);
  }
  byIp(ip: string): AddressLease | undefined {
    return this.byIpMap.get(ip);
  }

  /**
   * Records a lease (DHCPACK): `seconds` from now, cut to the configured maximum. Renewing the same address on the
   * same port keeps the lease and moves its expiry; anything else replaces in one step.
   */
  add(input: {
    mac: string;
    ip: string;
    switch: string;
    port: number;
    seconds?: number;
    source?: AddressLease['source'];
    expires?: string;
  }): LeaseResult {
    const expires = input.expires ?? this.expiry(input.seconds ?? this.maxSeconds, this.maxSeconds);
    const l0: AddressLease = {
      mac: input.mac,
      ip: input.ip,
      switch: input.switch,
      port: input.port,
      source: input.source ?? 'dhcp',
      expires,
    };
    const bad = checkLease(l0);
    if (bad) return { ok: false, code: 'bad-lease', message: bad };
    const l = this.spec.clean(l0);
    const prev = this.primary.get(l.mac);
    const holder = this.byIpMap.get(l.ip);
    if (!prev && this.primary.size >= this.max)
      return { ok: false, code: 'table-full', message: `the lease table holds ${this.max} leases` };
    const removed: AddressLease[] = [];
    // the address was leased to another MAC: that holder loses it now (reassigned)
    if (holder && holder.mac !== l.mac) {
      this.drop(holder);
      removed.push(holder);
    }
    if (prev) this.drop(prev);
    const same = prev && prev.ip === l.ip && prev.switch === l.switch && prev.port === l.port;
    const change: LeaseChange = !prev
      ? { kind: 'added', lease: l }
      : same
        ? { kind: 'renewed', lease: l, previous: prev }
        : { kind: 'replaced', lease: l, previous: prev };
    this.store(
      l,
      removed.map((r) => this.removed(r, 'reassigned')),
      change,
    );
    return { ok: true, lease: l, change, removed };
  }

  /** Removes the lease of `mac` (if `ip` is given, only when it is that address); the removed lease or undefined. */
  remove(mac: string, reason: LeaseEndReason, ip?: string): AddressLease | undefined {
    const l = this.primary.get(mac);
    if (!l || (ip !== undefined && l.ip !== ip)) return undefined;
    this.end(l, reason);
    return l;
  }

  protected index(l: AddressLease): void {
    this.byIpMap.set(l.ip, l);
  }
  protected unindex(l: AddressLease): void {
    if (this.byIpMap.get(l.ip) === l) this.byIpMap.delete(l.ip);
  }
  /** A restored lease replaces the MAC's other lease and the address's other holder. */
  protected admit(l: AddressLease): string | undefined {
    if (this.primary.size >= this.max) return 'table full';
    const prev = this.primary.get(l.mac);
    if (prev) this.drop(prev);
    const holder = this.byIpMap.get(l.ip);
    if (holder) this.drop(holder);
    this.put(l);
    return undefined;
  }
}
