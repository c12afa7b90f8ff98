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
import { EventEmitter } from 'node:events';
import type { AddressLease } from '../compiler/model.js';
import { isLinkLocal6, parseIpv6, ipv6Text } from '../compiler/addr.js';
import { checkLease, type LeaseChange, type LeaseEndReason } from './leases.js';

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

/** Checks a value that claims to be an IPv6 lease: an error message, or undefined. */
export function checkLease6(v: unknown): string | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return 'not an object';
  const l = v as Record<string, unknown>;
  if (typeof l.ip !== 'string') return 'bad ip';
  const a = parseIpv6(l.ip);
  if (a === undefined) return 'bad ip';
  // unicast only: not ::, not ::1, not multicast ff00::/8
  if (a === 0n || a === 1n || a >> 120n === 0xffn) return 'not a unicast address';
  if (l.source !== 'nd' && l.source !== 'dhcpv6') return 'bad source';
  // the rest (mac, switch, port, expires) as for IPv4, with a stand-in address
  return checkLease({ ...l, ip: '192.0.2.1', source: 'dhcp' });
}

const clean = (l: AddressLease): AddressLease =>
  Object.freeze({
    mac: l.mac,
    ip: ipv6Text(parseIpv6(l.ip)!),
    switch: l.switch,
    port: l.port,
    source: l.source,
    ...(l.expires !== undefined ? { expires: l.expires } : {}),
  });

export class Lease6Table extends EventEmitter {
  private readonly byIpMap = new Map<string, AddressLease>();
  private readonly byMacMap = new Map<string, Set<string>>();
  private readonly now: () => number;
  /** Most addresses one MAC holds (the policy may change it). */
  perMacLimit: number;
  private readonly max: number;
  private readonly maxSeconds: number;
  private timer?: NodeJS.Timeout;
  private timerAt = Infinity;
  private stopped = false;
  version = 0;

  constructor(opts: Lease6TableOptions = {}) {
    super();
    this.setMaxListeners(100);
    this.now = opts.now ?? Date.now;
    this.perMacLimit = opts.maxPerMac ?? 8;
    this.max = opts.maxLeases ?? 200_000;
    this.maxSeconds = opts.maxSeconds ?? 7 * 86400;
  }

  get size(): number {
    return this.byIpMap.size;
  }
  list(): AddressLease[] {
    return [...this.byIpMap.values()];
  }
  byIp(ip: string): AddressLease | undefined {
    const v = parseIpv6(ip);
    return v === undefined ? undefined : this.byIpMap.get(ipv6Text(v));
  }
  byMac(mac: string): AddressLease[] {
    return [...(this.byMacMap.get(mac) ?? [])].map((ip) => this.byIpMap.get(ip)!);
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
    const secs = Math.min(Math.max(0, input.seconds), this.maxSeconds);
    const l0: AddressLease = {
      mac: input.mac,
      ip: input.ip,
      switch: input.switch,
      port: input.port,
      source: input.source,
      expires: new Date(this.now() + secs * 1000).toISOString(),
    };
    const bad = checkLease6(l0);
    if (bad) return { ok: false, code: 'bad-lease', message: bad };
    const l = clean(l0);
    const holder = this.byIpMap.get(l.ip);
    if (holder && holder.mac !== l.mac && !input.reassign)
      return { ok: false, code: 'held', message: `${l.ip} is held by ${holder.mac}`, holder };
    const mine = this.byMac(l.mac);
    const elsewhere = mine.filter((x) => x.switch !== l.switch || x.port !== l.port);
    const here = mine.length - elsewhere.length;
    const renew = holder?.mac === l.mac && !elsewhere.includes(holder);
    if (!renew && here >= this.perMacLimit)
      return { ok: false, code: 'too-many', message: `${l.mac} already holds ${here} IPv6 addresses (limit ${this.perMacLimit})` };
    if (!holder && this.byIpMap.size - elsewhere.length >= this.max)
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
    this.byIpMap.set(l.ip, l);
    (this.byMacMap.get(l.mac) ?? this.byMacMap.set(l.mac, new Set()).get(l.mac)!).add(l.ip);
    this.version++;
    this.schedule();
    for (const c of ends) this.emit('change', c);
    const change: LeaseChange =
      holder?.mac === l.mac
        ? renew
          ? { kind: 'renewed', lease: l, previous: holder }
          : { kind: 'replaced', lease: l, previous: holder }
        : { kind: 'added', lease: l };
    this.emit('change', change);
    return { ok: true, lease: l, change, removed };
  }

  /** Removes one address (only when `mac` holds it, if given); the removed lease or undefined. */
  remove(ip: string, reason: LeaseEndReason, mac?: string): AddressLease | undefined {
    const l = this.byIp(ip);
    if (!l || (mac !== undefined && l.mac !== mac)) return undefined;
    this.drop(l);
    this.version++;
    this.schedule();
    this.emit('change', { kind: 'removed', lease: l, reason } satisfies LeaseChange);
    return l;
  }

  removeWhere(pred: (l: AddressLease) => boolean, reason: LeaseEndReason): number {
    let n = 0;
    for (const l of this.list()) if (pred(l) && this.remove(l.ip, reason)) n++;
    return n;
  }

  /** Ends the addresses whose expiry has passed; returns them. */
  expire(now = this.now()): AddressLease[] {
    const out: AddressLease[] = [];
    for (const l of this.list()) if (l.expires !== undefined && Date.parse(l.expires) <= now && this.remove(l.ip, 'expired')) out.push(l);
    this.schedule();
    return out;
  }

  snapshot(): AddressLease[] {
    return this.list();
  }

  /** Restores persisted addresses without events; malformed, expired and over-limit ones are skipped. */
  restore(values: unknown): { kept: number; dropped: Array<{ index: number; reason: string }> } {
    const dropped: Array<{ index: number; reason: string }> = [];
    if (!Array.isArray(values)) return { kept: 0, dropped: values === undefined ? [] : [{ index: -1, reason: 'leases is not a list' }] };
    const now = this.now();
    values.forEach((v, index) => {
      const bad = checkLease6(v);
      if (bad) return void dropped.push({ index, reason: bad });
      const l = clean(v as AddressLease);
      if (l.expires !== undefined && Date.parse(l.expires) <= now) return void dropped.push({ index, reason: 'expired' });
      const mine = this.byMac(l.mac);
      if (this.byIpMap.has(l.ip)) return void dropped.push({ index, reason: 'address held twice' });
      if (mine.some((x) => x.switch !== l.switch || x.port !== l.port)) return void dropped.push({ index, reason: 'one MAC on two ports' });
      if (mine.length >= this.perMacLimit || this.byIpMap.size >= this.max) return void dropped.push({ index, reason: 'over the limit' });
      this.byIpMap.set(l.ip, l);
      (this.byMacMap.get(l.mac) ?? this.byMacMap.set(l.mac, new Set()).get(l.mac)!).add(l.ip);
    });
    this.version++;
    this.schedule();
    return { kept: this.byIpMap.size, dropped };
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }

  private drop(l: AddressLease): void {
    if (this.byIpMap.get(l.ip) === l) this.byIpMap.delete(l.ip);
    const s = this.byMacMap.get(l.mac);
    if (s) {
      s.delete(l.ip);
      if (!s.size) this.byMacMap.delete(l.mac);
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    let next = Infinity;
    for (const l of this.byIpMap.values())
      if (l.expires !== undefined) {
        const t = Date.parse(l.expires);
        if (t < next) next = t;
      }
    if (next === this.timerAt && this.timer) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = next;
    if (next === Infinity) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.timerAt = Infinity;
        this.expire();
      },
      Math.max(0, Math.min(next - this.now(), 0x7fffffff)),
    );
    this.timer.unref();
  }
}

/** Whether an address is link-local (fe80::/10). */
export const isLinkLocalText = (ip: string): boolean => {
  const v = parseIpv6(ip);
  return v !== undefined && isLinkLocal6(v);
};
