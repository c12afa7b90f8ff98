/** Addresses, prefixes and services as the policy language writes them. */
import { ipv4OrNaN, u32ToIpv4 } from '../openflow/buffer.js';

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
  if ((addr & ~maskOf(len)) >>> 0 !== 0) return { error: `'${s}' has host bits set; did you mean ${u32ToIpv4((addr & maskOf(len)) >>> 0)}/${len}?` };
  return { addr, len };
}

export function prefixText(p: Prefix): string {
  return p.len === 32 ? u32ToIpv4(p.addr) : `${u32ToIpv4(p.addr)}/${p.len}`;
}

export function prefixContains(outer: Prefix, inner: Prefix): boolean {
  return outer.len <= inner.len && ((inner.addr & maskOf(outer.len)) >>> 0) === outer.addr;
}

export function prefixHas(p: Prefix, addr: number): boolean {
  return ((addr & maskOf(p.len)) >>> 0) === p.addr;
}

export function normalizeMac(s: string): string | undefined {
  const t = s.trim().toLowerCase().replace(/-/g, ':');
  return /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(t) ? t : undefined;
}

export type Proto = 'tcp' | 'udp' | 'icmp' | 'any';

export interface Service {
  readonly proto: Proto;
  /** Port range for tcp/udp (inclusive); absent = all ports. */
  readonly from?: number;
  readonly to?: number;
  readonly text: string;
}

export function parseService(s: string): Service | { error: string } {
  const t = s.trim().toLowerCase();
  if (t === 'any' || t === 'icmp') return { proto: t, text: t };
  const m = t.match(/^(tcp|udp)(?:\/(\d+)(?:-(\d+))?)?$/);
  if (!m) return { error: `'${s}' is not a service; write tcp/N, tcp/N-M, udp/N, udp/N-M, icmp or any` };
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
