/**
 * IPv6 addresses learned at the edge (ND/DAD snooping, DHCPv6 snooping): which MAC holds which IPv6 address on
 * which switch port, until when. Unlike IPv4 (one lease per MAC) a device holds several IPv6 addresses at once
 * (link-local, SLAAC, temporary, DHCPv6), up to a limit per MAC.
 *
 * Invariants: an address is held by at most one MAC (a learner asking for an address another MAC holds is refused
 * unless it says `reassign`: a DHCPv6 server's word over its own earlier lease); all addresses of one MAC are on one
 * port (an address learned on another port moves them all: the old port's go in the same step). Values are plain
 * and JSON-serialisable, the same `AddressLease` shape as IPv4 leases (source 'nd' or 'dhcpv6').
 */
import type { AddressLease } from '../compiler/model.js';
import { isLinkLocal6, parseIpv6, ipv6Text } from '../compiler/addr.js';
import { AddressTable, checkLeaseWith, cleanLease, type LeaseChange, type LeaseEndReason } from './leases.js';

export interface Lease6TableOptions {
  readonly now?: () => number;
  /** Most addresses one MAC holds (default 8). */
  readonly maxPerMac?: number;
  /** Most addresses held at once (default 200,000). */
  readonly maxLeases?: number;
  /** Longest lifetime honoured (s), default 7 days. */
  readonly maxSeconds?: number;
}

export type Lease6Result =
  | { ok: true; lease: AddressLease; change: LeaseChange; removed: AddressLease[] }
  | { ok: false; code: 'bad-lease' | 'held' | 'too-many' | 'table-full'; message: string; holder?: AddressLease };

function checkIpv6Unicast(text: string): string | undefined {
  const a = parseIpv6(text);
  if (a === undefined) return 'bad ip';
  // unicast only: not ::, not ::1, not multicast ff00::/8
  if (a === 0n || a === 1n || a >> 120n === 0xffn) return 'not a unicast address';
  return undefined;
}

/** Checks a value that claims to be an IPv6 lease: an error message, or undefined. */
export const checkLease6 = (v: unknown): string | undefined => checkLeaseWith(v, checkIpv6Unicast, ['nd', 'dhcpv6']);

/** A lease with its address in canonical text (the key). */
const cleanLease6 = (l: AddressLease): AddressLease => cleanLease(l, ipv6Text(parseIpv6(l.ip)!));

export class Lease6Table extends AddressTable {
  /** The addresses of each MAC. */
  private readonly byMacMap = new Map<string, Set<string>>();
  /** Most addresses one MAC holds (the policy may change it). */
  perMacLimit: number;
  private readonly maxSeconds: number;

  constructor(opts: Lease6TableOptions = {}) {
    super(opts.now, opts.maxLeases ?? 200_000, { plural: 'leases', key: (l) => l.ip, check: checkLease6, clean: cleanLease6 });
    this.perMacLimit = opts.maxPerMac ?? 8;
    this.maxSeconds = opts.maxSeconds ?? 7 * 86400;
  }

  byIp(ip: string): AddressLease | undefined {
    const v = parseIpv6(ip);
    return v === undefined ? undefined : this.primary.get(ipv6Text(v));
  }
  byMac(mac: string): AddressLease[] {
    return [...(this.byMacMap.get(mac) ?? [])].map((ip) => this.primary.get(ip)!);
  }
  /** The limit per MAC (the snooper counts pending addresses against it too). */
  get perMac(): number {
    return this.perMacLimit;
  }

  /**
   * Records an address: `seconds` from now (cut to the maximum). The same address, MAC and port renews; the same
   * MAC on another port moves all its addresses (the old ones end, 'replaced'); another MAC's address is refused
   * unless `reassign`.
   */
  add(input: {
    mac: string;
    ip: string;
    switch: string;
    port: number;
    seconds: number;
    source: 'nd' | 'dhcpv6';
    reassign?: boolean;
  }): Lease6Result {
    const expires = this.expiry(input.seconds, this.maxSeconds);
    const l0: AddressLease = { mac: input.mac, ip: input.ip, switch: input.switch, port: input.port, source: input.source, expires };
    const bad = checkLease6(l0);
    if (bad) return { ok: false, code: 'bad-lease', message: bad };
    const l = this.spec.clean(l0);
    const holder = this.primary.get(l.ip);
    if (holder && holder.mac !== l.mac && !input.reassign)
      return { ok: false, code: 'held', message: `${l.ip} is held by ${holder.mac}`, holder };
    const mine = this.byMac(l.mac);
    const elsewhere = mine.filter((x) => x.switch !== l.switch || x.port !== l.port);
    const here = mine.length - elsewhere.length;
    const renew = holder?.mac === l.mac && !elsewhere.includes(holder);
    if (!renew && here >= this.perMacLimit)
      return { ok: false, code: 'too-many', message: `${l.mac} already holds ${here} IPv6 addresses (limit ${this.perMacLimit})` };
    if (!holder && this.primary.size - elsewhere.length >= this.max)
      return { ok: false, code: 'table-full', message: `the IPv6 lease table holds ${this.max} addresses` };
    const removed: AddressLease[] = [];
    const ends: LeaseChange[] = [];
    if (holder && holder.mac !== l.mac) {
      this.drop(holder);
      removed.push(holder);
      ends.push({ kind: 'removed', lease: holder, reason: 'reassigned' });
    }
    for (const x of elsewhere) {
      this.drop(x);
      removed.push(x);
      if (x.ip !== l.ip) ends.push({ kind: 'removed', lease: x, reason: 'replaced' });
    }
    if (holder?.mac === l.mac) this.drop(holder);
    const change: LeaseChange =
      holder?.mac === l.mac
        ? renew
          ? { kind: 'renewed', lease: l, previous: holder }
          : { kind: 'replaced', lease: l, previous: holder }
        : { kind: 'added', lease: l };
    this.store(l, ends, change);
    return { ok: true, lease: l, change, removed };
  }

  /** Removes one address (only when `mac` holds it, if given); the removed lease or undefined. */
  remove(ip: string, reason: LeaseEndReason, mac?: string): AddressLease | undefined {
    const l = this.byIp(ip);
    if (!l || (mac !== undefined && l.mac !== mac)) return undefined;
    this.end(l, reason);
    return l;
  }

  protected index(l: AddressLease): void {
    (this.byMacMap.get(l.mac) ?? this.byMacMap.set(l.mac, new Set()).get(l.mac)!).add(l.ip);
  }
  protected unindex(l: AddressLease): void {
    const s = this.byMacMap.get(l.mac);
    if (s) {
      s.delete(l.ip);
      if (!s.size) this.byMacMap.delete(l.mac);
    }
  }
  /** A restored address is refused (not replaced) when it clashes: the file holds both sides of a conflict. */
  protected admit(l: AddressLease): string | undefined {
    const mine = this.byMac(l.mac);
    if (this.primary.has(l.ip)) return 'address held twice';
    if (mine.some((x) => x.switch !== l.switch || x.port !== l.port)) return 'one MAC on two ports';
    if (mine.length >= this.perMacLimit || this.primary.size >= this.max) return 'over the limit';
    this.put(l);
    return undefined;
  }
}

/** Whether an address is link-local (fe80::/10). */
export const isLinkLocalText = (ip: string): boolean => {
  const v = parseIpv6(ip);
  return v !== undefined && isLinkLocal6(v);
};
