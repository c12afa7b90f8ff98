import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ipv4ToU32, ipv4OrNaN, u32ToIpv4 } from '../../openflow/buffer.js';
import { parseIpv4 } from '../../compiler/addr.js';

/** The rule, written the slow obvious way: four dot-separated parts of 1–3 digits, each at most 255. */
function reference(s: string): number | undefined {
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(s)) return undefined;
  const p = s.split('.').map(Number);
  return p.some((n) => n > 255) ? undefined : p[0] * 2 ** 24 + (p[1] << 16) + (p[2] << 8) + p[3];
}

describe('IPv4 text parsing', () => {
  it('accepts dotted quads and rejects everything else, like the reference rule', () => {
    const cases = [
      '10.0.0.1',
      '0.0.0.0',
      '255.255.255.255',
      '256.0.0.1',
      '1.2.3',
      '1.2.3.4.5',
      '1..2.3',
      '.1.2.3',
      '1.2.3.',
      '01.002.3.4',
      '1.2.3.1000',
      '1.2.3.4 ',
      ' 1.2.3.4',
      '1.2.3.-4',
      '1.2.3.4/32',
      'a.b.c.d',
      '',
      '１.2.3.4',
      '999.1.1.1',
      '1.2.3.255',
    ];
    for (const s of cases) {
      expect(parseIpv4(s), s).toBe(reference(s));
      const v = ipv4OrNaN(s);
      expect(Number.isNaN(v) ? undefined : v, s).toBe(reference(s));
      if (reference(s) === undefined) expect(() => ipv4ToU32(s), s).toThrow(RangeError);
      else expect(ipv4ToU32(s)).toBe(reference(s));
    }
  });
  it('property: random strings over digits and dots agree with the reference; every u32 round-trips', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('0', '1', '2', '5', '9', '.', '.', 'x'), { maxLength: 17 }).map((a) => a.join('')),
        (s) => {
          expect(parseIpv4(s)).toBe(reference(s));
        },
      ),
      { numRuns: 5000 },
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (v) => {
        expect(ipv4ToU32(u32ToIpv4(v))).toBe(v);
      }),
    );
  });
});
