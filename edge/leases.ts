/**
 * Addresses learned at the edge (DHCP snooping): which MAC holds which IPv4 address on which switch port, until
 * when. The table owns its expiry timer and tells listeners about every change; the controller's edge hook folds
 * the leases into the compile through `applyEdge` (a lease gives the device admitted on that port its address).
 *
 * Invariants: an address is held by at most one MAC, a MAC holds at most one address. A new lease of an address
 * to another MAC removes the old holder in the same step; a MAC leasing a new address (or the same one on another
 * port: roaming) replaces its old lease in the same step. Values are plain and JSON-serialisable.
 */
import { EventEmitter } from 'node:events';
import type { AddressLease } from '../compiler/model.js';
import { parseIpv4 } from '../compiler/addr.js';

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

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** Checks a value that claims to be a lease (state file, API): an error message, or undefined. */
export function checkLease(v: unknown): string | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return 'not an object';
  const l = v as Record<string, unknown>;
  if (typeof l.mac !== 'string' || !MAC_RE.test(l.mac)) return 'bad mac';
  if (l.mac === '00:00:00:00:00:00' || l.mac === 'ff:ff:ff:ff:ff:ff' || parseInt(l.mac.slice(0, 2), 16) & 1) return 'not a unicast mac';
  if (typeof l.ip !== 'string' || parseIpv4(l.ip) === undefined) return 'bad ip';
  const a = parseIpv4(l.ip)!;
  if (a === 0 || a === 0xffffffff || a >>> 24 === 127 || a >>> 28 === 14) return 'not a unicast host address';
  if (typeof l.switch !== 'string' || !l.switch || l.switch.length > 128) return 'bad switch';
  if (typeof l.port !== 'number' || !Number.isInteger(l.port) || l.port < 1 || l.port > 0xffffff00) return 'bad port';
  if (l.source !== 'dhcp' && l.source !== 'dhcpv6' && l.source !== 'nd') return 'bad source';
  if (l.expires !== undefined && (typeof l.expires !== 'string' || Number.isNaN(Date.parse(l.expires)))) return 'bad expires';
  return undefined;
}

const clean = (l: AddressLease): AddressLease =>
  Object.freeze({
    mac: l.mac,
    ip: l.ip,
    switch: l.switch,
    port: l.port,
    source: l.source,
    ...(l.expires !== undefined ? { expires: l.expires } : {}),
  });

export class LeaseTable extends EventEmitter {
  private readonly byMacMap = new Map<string, AddressLease>();
  private readonly byIpMap = new Map<string, AddressLease>();
  private readonly now: () => number;
  private readonly max: number;
  private readonly maxSeconds: number;
  private timer?: NodeJS.Timeout;
  private timerAt = Infinity;
  private stopped = false;
  /** Increments on every change. */
  version = 0;

  constructor(opts: LeaseTableOptions = {}) {
    super();
    this.setMaxListeners(100);
    this.now = opts.now ?? Date.now;
    this.max = opts.maxLeases ?? 200_000;
    this.maxSeconds = opts.maxLeaseSeconds ?? 7 * 86400;
  }

  get size(): number {
    return this.byMacMap.size;
  }
  list(): AddressLease[] {
    return [...this.byMacMap.values()];
  }
  byMac(mac: string): AddressLease | undefined {
    return this.byMacMap.get(mac);
  }
  byIp(ip: string): AddressLease | undefined {
    return this.byIpMap.get(ip);
  }
  byPort(sw: string, port: number): AddressLease[] {
    return this.list().filter((l) => l.switch === sw && l.port === port);
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
    const secs = input.seconds === undefined ? undefined : Math.min(Math.max(0, input.seconds), this.maxSeconds);
    const expires = input.expires ?? new Date(this.now() + (secs ?? this.maxSeconds) * 1000).toISOString();
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
    const l = clean(l0);
    const prev = this.byMacMap.get(l.mac);
    const holder = this.byIpMap.get(l.ip);
    if (!prev && this.byMacMap.size >= this.max)
      return { ok: false, code: 'table-full', message: `the lease table holds ${this.max} leases` };
    const removed: AddressLease[] = [];
    // the address was leased to another MAC: that holder loses it now (reassigned)
    if (holder && holder.mac !== l.mac) {
      this.drop(holder);
      removed.push(holder);
    }
    if (prev) this.drop(prev);
    this.byMacMap.set(l.mac, l);
    this.byIpMap.set(l.ip, l);
    this.version++;
    this.schedule();
    for (const r of removed) this.emit('change', { kind: 'removed', lease: r, reason: 'reassigned' } satisfies LeaseChange);
    const same = prev && prev.ip === l.ip && prev.switch === l.switch && prev.port === l.port;
    const change: LeaseChange = !prev
      ? { kind: 'added', lease: l }
      : same
        ? { kind: 'renewed', lease: l, previous: prev }
        : { kind: 'replaced', lease: l, previous: prev };
    this.emit('change', change);
    return { ok: true, lease: l, change, removed };
  }

  /** Removes the lease of `mac` (if `ip` is given, only when it is that address); the removed lease or undefined. */
  remove(mac: string, reason: LeaseEndReason, ip?: string): AddressLease | undefined {
    const l = this.byMacMap.get(mac);
    if (!l || (ip !== undefined && l.ip !== ip)) return undefined;
    this.drop(l);
    this.version++;
    this.schedule();
    this.emit('change', { kind: 'removed', lease: l, reason } satisfies LeaseChange);
    return l;
  }

  removeWhere(pred: (l: AddressLease) => boolean, reason: LeaseEndReason): number {
    let n = 0;
    for (const l of this.list()) if (pred(l) && this.remove(l.mac, reason)) n++;
    return n;
  }

  /** Ends the leases whose expiry has passed; returns them. */
  expire(now = this.now()): AddressLease[] {
    const out: AddressLease[] = [];
    for (const l of this.list()) if (l.expires !== undefined && Date.parse(l.expires) <= now && this.remove(l.mac, 'expired')) out.push(l);
    this.schedule();
    return out;
  }

  snapshot(): AddressLease[] {
    return this.list();
  }

  /** Restores persisted leases without events; malformed and expired ones are skipped. */
  restore(values: unknown): { kept: number; dropped: Array<{ index: number; reason: string }> } {
    const dropped: Array<{ index: number; reason: string }> = [];
    if (!Array.isArray(values)) return { kept: 0, dropped: values === undefined ? [] : [{ index: -1, reason: 'leases is not a list' }] };
    const now = this.now();
    values.forEach((v, index) => {
      const bad = checkLease(v);
      if (bad) {
        dropped.push({ index, reason: bad });
        return;
      }
      const l = clean(v as AddressLease);
      if (l.expires !== undefined && Date.parse(l.expires) <= now) {
        dropped.push({ index, reason: 'expired' });
        return;
      }
      if (this.byMacMap.size >= this.max) {
        dropped.push({ index, reason: 'table full' });
        return;
      }
      const prev = this.byMacMap.get(l.mac);
      if (prev) this.drop(prev);
      const holder = this.byIpMap.get(l.ip);
      if (holder) this.drop(holder);
      this.byMacMap.set(l.mac, l);
      this.byIpMap.set(l.ip, l);
    });
    this.version++;
    this.schedule();
    return { kept: this.byMacMap.size, dropped };
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }

  private drop(l: AddressLease): void {
    if (this.byMacMap.get(l.mac) === l) this.byMacMap.delete(l.mac);
    if (this.byIpMap.get(l.ip) === l) this.byIpMap.delete(l.ip);
  }

  private schedule(): void {
    if (this.stopped) return;
    let next = Infinity;
    for (const l of this.byMacMap.values())
      if (l.expires !== undefined) {
        const t = Date.parse(l.expires);
        if (t < next) next = t;
      }
    if (next === this.timerAt && this.timer) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = next;
    if (next === Infinity) return;
    const delay = Math.max(0, Math.min(next - this.now(), 0x7fffffff));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.expire();
    }, delay);
    this.timer.unref();
  }
}
