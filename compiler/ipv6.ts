/**
 * IPv6 validation for input files and API bodies, with the `ip-address` package (the reference parser); the
 * compiler's hot paths use the fast parser in addr.ts, property-tested against this one (test/compiler/ipv6.test.ts).
 */
import { createRequire } from 'node:module';
import type { Address6 as Address6Class } from 'ip-address';
import { ipv6Text, maskOf6, parseIpv6, type Prefix6 } from './addr.js';

/** The reference parser, loaded on first use: input without IPv6 text never needs it (`acl validate`'s start-up). */
let ipLib: typeof import('ip-address') | undefined;
const address6 = (): typeof Address6Class =>
  (ipLib ??= createRequire(import.meta.url)('ip-address') as typeof import('ip-address')).Address6;

/** An IPv6 address as the reference parser reads it: 128-bit value, or an error for a person. */
export function checkIpv6(text: string): { addr: bigint } | { error: string } {
  const t = text.trim();
  if (t.includes('%')) return { error: `'${text}': a zone index (%eth0) has no meaning in a policy; write the address alone` };
  if (t.includes('/')) return { error: `'${text}' is a prefix; a device or server takes single addresses` };
  const Address6 = address6();
  if (!Address6.isValid(t)) return { error: `'${text}' is not an IPv6 address` };
  const a = new Address6(t);
  return { addr: a.bigInt() };
}

/** An IPv6 prefix "2001:db8::/64" or address (/128) with the reference parser; host bits must be zero. */
export function checkPrefix6(text: string): Prefix6 | { error: string } {
  const t = text.trim();
  if (t.includes('%')) return { error: `'${text}': a zone index (%eth0) has no meaning in a policy` };
  const m = t.match(/^([^/]+)(?:\/(\d{1,3}))?$/);
  const Address6 = address6();
  if (!m || !Address6.isValid(m[1])) return { error: `'${text}' is not a valid IPv6 address or prefix` };
  const len = m[2] === undefined ? 128 : Number(m[2]);
  if (len > 128) return { error: `'${text}': prefix length must be 0..128` };
  const addr = new Address6(m[1]).bigInt();
  const net = addr & maskOf6(len);
  if (net !== addr) return { error: `'${text}' has host bits set; did you mean ${ipv6Text(net)}/${len}?` };
  // the fast parser must agree (it is what the compiler uses later)
  if (parseIpv6(m[1]) !== addr)
    return { error: `'${text}' is not an IPv6 address this compiler reads; write it in the usual form (RFC 5952)` };
  return { addr, len };
}

/** Canonical text of a valid IPv6 address (RFC 5952). */
export function ipv6Canonical(addr: bigint): string {
  return ipv6Text(addr);
}
