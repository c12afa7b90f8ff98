/**
 * The one address text module (openflow/addr-text.ts) that the codec, the compiler and the frame decoders share,
 * checked against the `ip-address` package: IPv4 and IPv6 parsing (valid exactly when the reference says so, same
 * value), RFC 5952 text of any 16 bytes, and the byte-to-text writers for MAC and IPv4.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Address4, Address6 } from 'ip-address';
import { ipv4At, ipv4OrNaN, ipv6At, ipv6Groups, ipv6GroupsText, macAt, u32ToIpv4 } from '../../openflow/addr-text.js';
import { bytesToIpv6, ipv6ToBytes, macToBytes } from '../../openflow/buffer.js';
import { parseIpv6 } from '../../compiler/addr.js';

/**
 * ip-address's answer for a dotted quad. Its one difference from ours is leading zeros ("010.1.1.1": it refuses,
 * we read decimal 10, as the policy language always has), so each part of at most 3 digits is stripped first.
 */
function reference4(s: string): number | undefined {
  if (!/^[0-9.]*$/.test(s) || s.split('.').some((p) => p.length > 3)) return undefined;
  const norm = s.replace(/(^|\.)0+(\d)/g, '$1$2');
  return Address4.isValid(norm) ? Number(new Address4(norm).bigInt()) : undefined;
}

function reference6(s: string): Buffer | undefined {
  if (s.includes('%') || s.includes('/') || !Address6.isValid(s)) return undefined;
  return Buffer.from(new Address6(s).toByteArray().slice(-16).map(Number)).subarray(0, 16);
}

const bytes16 = (v: bigint): Buffer => Buffer.from(v.toString(16).padStart(32, '0'), 'hex');

function codec6(s: string): Buffer | undefined {
  const b = Buffer.alloc(16);
  try {
    ipv6ToBytes(s, b, 0);
    return b;
  } catch (e) {
    expect(e).toBeInstanceOf(RangeError);
    return undefined;
  }
}

describe('address text shared by codec, compiler and decoders (vs ip-address)', () => {
  it('IPv4: random strings over digits and dots parse exactly when ip-address accepts them, to the same value', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('0', '1', '2', '5', '9', '.', '.', '/', 'x'), { maxLength: 17 }).map((a) => a.join('')),
        (s) => {
          const v = ipv4OrNaN(s);
          expect(Number.isNaN(v) ? undefined : v, s).toBe(reference4(s));
        },
      ),
      { numRuns: 5000 },
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (v) => {
        const t = u32ToIpv4(v);
        expect(t).toBe(Address4.fromInteger(v).correctForm());
        expect(ipv4OrNaN(t)).toBe(v);
        const b = Buffer.alloc(4);
        b.writeUInt32BE(v);
        expect(ipv4At(b)).toBe(t);
      }),
      { numRuns: 3000 },
    );
  });

  it('IPv6: the codec and the compiler read random and structured texts as ip-address does (upper case, v4 tails, ::)', () => {
    const check = (s: string) => {
      const ref = reference6(s);
      expect(codec6(s), s).toEqual(ref);
      const v = parseIpv6(s);
      expect(v === undefined ? undefined : bytes16(v), s).toEqual(ref);
    };
    for (const s of ['::', '::1', '2001:DB8::1', '::ffff:10.0.0.1', '1:2:3:4:5:6:1.2.3.4', '::1.2.3.4', '1::2::3', '1.2.3.4', ':1.2.3.4'])
      check(s);
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('0', '1', 'a', 'F', ':', ':', ':', '.', '.', '2', '5', 'g'), { maxLength: 30 }).map((a) => a.join('')),
        check,
      ),
      { numRuns: 5000 },
    );
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }),
        fc.integer({ min: 0, max: 8 }),
        fc.integer({ min: 0, max: 8 }),
        fc.boolean(),
        fc.boolean(),
        (g0, a, b, upper, v4tail) => {
          const [lo, hi] = [Math.min(a, b), Math.max(a, b)];
          // the groups :: stands for are zero
          const g = g0.map((x, i) => (hi - lo >= 2 && i >= lo && i < hi ? 0 : x));
          let hex = g.map((x) => x.toString(16));
          if (upper) hex = hex.map((x) => x.toUpperCase());
          let s = hi - lo >= 2 ? `${hex.slice(0, lo).join(':')}::${hex.slice(hi).join(':')}` : hex.join(':');
          if (v4tail && hi - lo < 2) s = `${hex.slice(0, 6).join(':')}:${g[6] >> 8}.${g[6] & 255}.${g[7] >> 8}.${g[7] & 255}`;
          check(s);
          expect(ipv6Groups(s)).toEqual(g);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('IPv6: any 16 bytes are written in RFC 5952 text (as ip-address writes it) and read back to the same bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.boolean(), (u, sparse) => {
        const b = Buffer.from(u);
        if (sparse) for (let i = 0; i < 16; i++) if (b[i] < 200) b[i] = 0; // runs of zero groups
        const t = bytesToIpv6(b);
        expect(t).toBe(new Address6(t).correctForm());
        expect(ipv6At(Buffer.concat([Buffer.alloc(3), b]), 3)).toBe(t);
        const g = Array.from({ length: 8 }, (_, i) => b.readUInt16BE(i * 2));
        expect(ipv6GroupsText(g)).toBe(t);
        expect(codec6(t)).toEqual(b);
      }),
      { numRuns: 3000 },
    );
  });

  it('MAC: 6 bytes → lower-case text → the same bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 6, maxLength: 6 }), (u) => {
        const t = macAt(u);
        expect(t).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
        const out = Buffer.alloc(6);
        macToBytes(t.toUpperCase(), out, 0);
        expect([...out]).toEqual([...u]);
      }),
    );
  });
});
