/**
 * MAC and IP address text ⇄ values, once for the whole code base: the codec (OXM fields), the compiler (policy
 * addresses, compiler/addr.ts) and the controller's and edge's frame decoders (controller/packet.ts, edge/dhcp.ts,
 * edge/nd.ts) all call these. Pure and allocation-light; the parsers are property-tested against the `ip-address`
 * package (test/openflow/addr-text.test.ts, test/compiler/ipv6.test.ts).
 */

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** aa:bb:cc:dd:ee:ff text of the 6 bytes at `at`. */
export function macAt(b: Uint8Array, at = 0): string {
  return `${HEX[b[at]]}:${HEX[b[at + 1]]}:${HEX[b[at + 2]]}:${HEX[b[at + 3]]}:${HEX[b[at + 4]]}:${HEX[b[at + 5]]}`;
}

/** Dotted-quad text of the 4 bytes at `at`. */
export function ipv4At(b: Uint8Array, at = 0): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/** Dotted quad → unsigned 32-bit, or NaN (hot paths test `v !== v`): exactly four parts of 1–3 decimal digits, each at most 255. No allocation. */
export function ipv4OrNaN(ip: string): number {
  const n = ip.length;
  if (n < 7 || n > 15) return NaN;
  let v = 0,
    part = 0,
    digits = 0,
    dots = 0;
  for (let i = 0; i < n; i++) {
    const c = ip.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (++digits > 3) return NaN;
      part = part * 10 + (c - 48);
    } else if (c === 46) {
      if (digits === 0 || part > 255 || ++dots > 3) return NaN;
      v = v * 256 + part;
      part = 0;
      digits = 0;
    } else return NaN;
  }
  if (dots !== 3 || digits === 0 || part > 255) return NaN;
  return v * 256 + part;
}

export function u32ToIpv4(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

const HEX4 = /^[0-9a-fA-F]{1,4}$/;

/**
 * "2001:db8::1", "::", "::ffff:10.0.0.1" → its eight 16-bit groups; anything else (zones, brackets, prefixes,
 * spaces) → undefined. Hex digits in either case.
 */
export function ipv6Groups(s: string): number[] | undefined {
  if (s.length < 2 || s.length > 45) return undefined;
  let text = s;
  if (text.indexOf('.') >= 0) {
    // an embedded IPv4 tail (::ffff:10.0.0.1) becomes two hex groups
    const c = text.lastIndexOf(':');
    const v4 = c < 0 ? NaN : ipv4OrNaN(text.slice(c + 1));
    if (v4 !== v4) return undefined;
    text = `${text.slice(0, c + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const dbl = text.indexOf('::');
  if (dbl >= 0 && text.indexOf('::', dbl + 1) >= 0) return undefined;
  const head = dbl < 0 ? text.split(':') : text.slice(0, dbl) === '' ? [] : text.slice(0, dbl).split(':');
  const rest = dbl < 0 ? [] : text.slice(dbl + 2) === '' ? [] : text.slice(dbl + 2).split(':');
  for (const g of head) if (!HEX4.test(g)) return undefined;
  for (const g of rest) if (!HEX4.test(g)) return undefined;
  const n = head.length + rest.length;
  if (dbl < 0 ? n !== 8 : n > 7) return undefined;
  return [...head.map((g) => parseInt(g, 16)), ...Array<number>(dbl < 0 ? 0 : 8 - n).fill(0), ...rest.map((g) => parseInt(g, 16))];
}

/** RFC 5952 canonical text of eight 16-bit groups: lower case, no leading zeros, the longest run (≥ 2, first if tied) of zero groups as ::. */
export function ipv6GroupsText(g: readonly number[]): string {
  let bestStart = -1,
    bestLen = 0;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** RFC 5952 text of the 16 bytes at `at`. */
export function ipv6At(b: Uint8Array, at = 0): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[at + 2 * i] << 8) | b[at + 2 * i + 1]);
  return ipv6GroupsText(g);
}
