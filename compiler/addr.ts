/** Addresses, prefixes and services as the policy language writes them. */
import { ipv4OrNaN, ipv6Groups, ipv6GroupsText, u32ToIpv4 } from '../openflow/addr-text.js';

export interface Prefix {
  /** Network address as an unsigned 32-bit number. */
  readonly addr: number;
  readonly len: number;
}

export function parseIpv4(s: string): number | undefined {
  const v = ipv4OrNaN(s);
  return v === v ? v : undefined;
}

export function maskOf(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

/** "10.0.2.0/28" or "10.0.2.10" (a /32). Host bits must be zero. */
export function parsePrefix(s: string): Prefix | { error: string } | undefined {
  const m = s.match(/^(\d{1,3}(?:\.\d{1,3}){3})(?:\/(\d{1,2}))?$/);
  if (!m) return undefined;
  const addr = parseIpv4(m[1]);
  if (addr === undefined) return { error: `'${s}' is not a valid IPv4 address` };
  const len = m[2] === undefined ? 32 : Number(m[2]);
  if (len > 32) return { error: `'${s}': prefix length must be 0..32` };
  if ((addr & ~maskOf(len)) >>> 0 !== 0)
    return { error: `'${s}' has host bits set; did you mean ${u32ToIpv4((addr & maskOf(len)) >>> 0)}/${len}?` };
  return { addr, len };
}

export function prefixText(p: Prefix): string {
  return p.len === 32 ? u32ToIpv4(p.addr) : `${u32ToIpv4(p.addr)}/${p.len}`;
}

export function prefixContains(outer: Prefix, inner: Prefix): boolean {
  return outer.len <= inner.len && (inner.addr & maskOf(outer.len)) >>> 0 === outer.addr;
}

export function prefixHas(p: Prefix, addr: number): boolean {
  return (addr & maskOf(p.len)) >>> 0 === p.addr;
}

const CANONICAL_MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
export function normalizeMac(s: string): string | undefined {
  if (CANONICAL_MAC.test(s)) return s; // already canonical: the usual case, without three copies
  const t = s.trim().toLowerCase().replace(/-/g, ':');
  return CANONICAL_MAC.test(t) ? t : undefined;
}

export type Proto = 'tcp' | 'udp' | 'icmp' | 'icmpv6' | 'any';

export interface Service {
  readonly proto: Proto;
  /** Port range for tcp/udp (inclusive); absent = all ports. */
  readonly from?: number;
  readonly to?: number;
  /** ICMPv6 type for `icmpv6/N` (e.g. 128 echo request); absent = every ICMPv6 type. */
  readonly icmpType?: number;
  readonly text: string;
}

export function parseService(s: string): Service | { error: string } {
  const t = s.trim().toLowerCase();
  if (t === 'any' || t === 'icmp' || t === 'icmpv6') return { proto: t, text: t };
  const i6 = t.match(/^icmpv6\/(\d{1,3})$/);
  if (i6)
    return Number(i6[1]) > 255
      ? { error: `'${s}': the ICMPv6 type must be 0..255` }
      : { proto: 'icmpv6', icmpType: Number(i6[1]), text: `icmpv6/${Number(i6[1])}` };
  const m = t.match(/^(tcp|udp)(?:\/(\d+)(?:-(\d+))?)?$/);
  if (!m) return { error: `'${s}' is not a service; write tcp/N, tcp/N-M, udp/N, udp/N-M, icmp, icmpv6, icmpv6/TYPE or any` };
  const proto = m[1] as 'tcp' | 'udp';
  if (m[2] === undefined) return { proto, from: 0, to: 65535, text: proto };
  const from = Number(m[2]);
  const to = m[3] === undefined ? from : Number(m[3]);
  if (from > 65535 || to > 65535) return { error: `'${s}': ports are 0..65535` };
  if (to < from) return { error: `'${s}': range end is below its start` };
  return { proto, from, to, text: from === to ? `${proto}/${from}` : `${proto}/${from}-${to}` };
}

/** Does `outer` cover every packet of `inner`? */
export function serviceCovers(outer: Service, inner: Service): boolean {
  if (outer.proto === 'any') return true;
  if (outer.proto !== inner.proto) return false;
  if (outer.proto === 'icmp') return true;
  if (outer.proto === 'icmpv6') return outer.icmpType === undefined || outer.icmpType === inner.icmpType;
  return (outer.from ?? 0) <= (inner.from ?? 0) && (outer.to ?? 65535) >= (inner.to ?? 65535);
}

/** Splits a port range into value/mask blocks (as few as possible). */
export function portBlocks(from: number, to: number): Array<{ value: number; mask?: number }> {
  const out: Array<{ value: number; mask?: number }> = [];
  let lo = from;
  while (lo <= to) {
    let size = 1;
    while ((lo & (size * 2 - 1)) === 0 && lo + size * 2 - 1 <= to && size < 65536) size *= 2;
    out.push(size === 1 ? { value: lo } : { value: lo, mask: (0xffff & ~(size - 1)) >>> 0 });
    lo += size;
  }
  return out;
}

// ---------- IPv6 ----------
// The text parser and RFC 5952 writer are the codec's (openflow/addr-text.ts, property-tested against the `ip-address`
// package, which validates every address an input file or the API brings: compiler/ipv6.ts); here: 128-bit values.

export interface Prefix6 {
  /** Network address as an unsigned 128-bit bigint. */
  readonly addr: bigint;
  readonly len: number;
}

// The compiler parses the same few thousand addresses many times (selection, destinations, per-switch tables): a
// bounded memo of text → value (absent texts are not stored).
const v6Memo = new Map<string, bigint>();

/** "2001:db8::1", "::", "::ffff:10.0.0.1" → 128-bit value; anything else (zones, brackets, prefixes) → undefined. */
export function parseIpv6(s: string): bigint | undefined {
  const hit = v6Memo.get(s);
  if (hit !== undefined) return hit;
  const v = parseIpv6Uncached(s);
  if (v !== undefined) {
    if (v6Memo.size >= 200_000) v6Memo.clear();
    v6Memo.set(s, v);
  }
  return v;
}

function parseIpv6Uncached(s: string): bigint | undefined {
  const groups = ipv6Groups(s);
  if (!groups) return undefined;
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(g);
  return v;
}

/** RFC 5952 canonical text of a 128-bit value. */
export function ipv6Text(a: bigint): string {
  const g: number[] = [];
  for (let i = 7; i >= 0; i--) g.push(Number((a >> BigInt(i * 16)) & 0xffffn));
  return ipv6GroupsText(g);
}

/** Canonical text of an IPv6 address text, or undefined when it is not one. */
export function canonicalIpv6(s: string): string | undefined {
  const v = parseIpv6(s);
  return v === undefined ? undefined : ipv6Text(v);
}

const ALL128 = (1n << 128n) - 1n;
const MASKS6: readonly bigint[] = Array.from({ length: 129 }, (_, len) => (len === 0 ? 0n : (ALL128 << BigInt(128 - len)) & ALL128));
export function maskOf6(len: number): bigint {
  return MASKS6[len];
}

/** "2001:db8:2::/64" or "2001:db8::10" (a /128); undefined when the text has no ':' (not IPv6). Host bits must be zero. */
export function parsePrefix6(s: string): Prefix6 | { error: string } | undefined {
  if (!s.includes(':') || /^[^:\s]+:\d+$/.test(s)) return undefined; // switch:port is not an address
  const m = s.match(/^([0-9a-fA-F:.]+)(?:\/(\d{1,3}))?$/);
  if (!m) return { error: `'${s}' is not a valid IPv6 address or prefix` };
  const addr = parseIpv6(m[1]);
  if (addr === undefined) return { error: `'${s}' is not a valid IPv6 address` };
  const len = m[2] === undefined ? 128 : Number(m[2]);
  if (len > 128) return { error: `'${s}': prefix length must be 0..128` };
  if ((addr & ~maskOf6(len) & ALL128) !== 0n)
    return { error: `'${s}' has host bits set; did you mean ${ipv6Text(addr & maskOf6(len))}/${len}?` };
  return { addr, len };
}

export function prefix6Text(p: Prefix6): string {
  return p.len === 128 ? ipv6Text(p.addr) : `${ipv6Text(p.addr)}/${p.len}`;
}

export function prefix6Has(p: Prefix6, addr: bigint): boolean {
  return (addr & maskOf6(p.len)) === p.addr;
}

export function prefix6Contains(outer: Prefix6, inner: Prefix6): boolean {
  return outer.len <= inner.len && (inner.addr & maskOf6(outer.len)) === outer.addr;
}

const LINK_LOCAL: Prefix6 = { addr: 0xfe80n << 112n, len: 10 };
export function isLinkLocal6(a: bigint): boolean {
  return prefix6Has(LINK_LOCAL, a);
}

/** The modified EUI-64 link-local address of a MAC (fe80::/64 + MAC with the U/L bit flipped and ff:fe inserted). */
export function eui64LinkLocal(mac: string): string {
  const b = mac.split(':').map((x) => parseInt(x, 16));
  b[0] ^= 0x02;
  const iid = [b[0], b[1], b[2], 0xff, 0xfe, b[3], b[4], b[5]].reduce((v, x) => (v << 8n) | BigInt(x), 0n);
  return ipv6Text((0xfe80n << 112n) | iid);
}

/**
 * The IPv6 addresses a device is bound to: its global (and unique-local) addresses and its link-local ones —
 * those listed, else the EUI-64 one derived from its MAC. None when the device has no IPv6 address at all.
 */
export function boundIpv6(mac: string, listed: readonly string[] | undefined): { global: string[]; linkLocal: string[] } {
  if (!listed?.length) return { global: [], linkLocal: [] };
  const global: string[] = [],
    linkLocal: string[] = [];
  for (const t of listed) {
    const v = parseIpv6(t);
    if (v === undefined) continue;
    (isLinkLocal6(v) ? linkLocal : global).push(ipv6Text(v));
  }
  if (!linkLocal.length) linkLocal.push(eui64LinkLocal(mac));
  return { global: [...new Set(global)], linkLocal: [...new Set(linkLocal)] };
}
