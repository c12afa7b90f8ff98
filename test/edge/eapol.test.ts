import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeEap, decodeEapolFrame, eapFrame, encodeEap, encodeEapolFrame, PAE_GROUP } from '../../edge/eapol.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+|#[^\n]*/g, ''), 'hex');

describe('EAPOL/EAP framing, byte for byte', () => {
  it('EAPOL-Start as wpa_supplicant sends it (version 1, empty body, padded)', () => {
    const bytes = hex(`
      0180c2000003   # dst: PAE group
      02000000000a   # src
      888e           # ethertype EAPOL
      01 01 0000     # version 1, type Start, body length 0
    `);
    const padded = Buffer.concat([bytes, Buffer.alloc(60 - bytes.length)]);
    const r = decodeEapolFrame(padded);
    expect(r).toEqual({ ok: true, value: { dst: PAE_GROUP, src: '02:00:00:00:00:0a', version: 1, type: 'start', body: Buffer.alloc(0) } });
    expect(encodeEapolFrame({ dst: PAE_GROUP, src: '02:00:00:00:00:0a', version: 1, type: 'start' })).toEqual(padded);
  });

  it('EAP-Request/Identity from the authenticator', () => {
    const bytes = hex(`
      02000000000a 0e0000000001 888e
      02 00 0005         # version 2, EAP packet, body 5
      01 07 0005 01      # Request, id 7, length 5, type Identity
    `);
    const frame = eapFrame('02:00:00:00:00:0a', '0e:00:00:00:00:01', { code: 'request', id: 7, type: 1, data: Buffer.alloc(0) });
    expect(frame.subarray(0, bytes.length)).toEqual(bytes);
    expect(frame.length).toBe(60);
    expect(frame.subarray(bytes.length).every((x) => x === 0)).toBe(true);
  });

  it('EAP-Response/Identity "alice" decodes with its type and data', () => {
    const bytes = hex('0180c2000003 02000000000a 888e 01 00 000a 02 07 000a 01 616c696365');
    const r = decodeEapolFrame(bytes);
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.eap).toEqual({ code: 'response', id: 7, type: 1, data: Buffer.from('alice') });
    expect(encodeEap(r.value.eap!)).toEqual(hex('02 07 000a 01 616c696365'));
  });

  it('Success and Failure are 4 bytes; a VLAN tag is read', () => {
    expect(encodeEap({ code: 'success', id: 9, data: Buffer.alloc(0) })).toEqual(hex('03 09 0004'));
    expect(encodeEap({ code: 'failure', id: 9, data: Buffer.alloc(0) })).toEqual(hex('04 09 0004'));
    const tagged = encodeEapolFrame({ dst: PAE_GROUP, src: '02:00:00:00:00:0b', vlan: 42, type: 'logoff' });
    expect(tagged.subarray(12, 22)).toEqual(hex('8100 002a 888e 02 02 0000'));
    const r = decodeEapolFrame(tagged);
    expect(r.ok && r.value.vlan === 42 && r.value.type === 'logoff').toBe(true);
  });

  it('refuses with a code: truncated, lying lengths, wrong ethertype, unknown codes, group source', () => {
    const good = hex('0180c2000003 02000000000a 888e 01 00 000a 02 07 000a 01 616c696365');
    const code = (b: Buffer) => {
      const r = decodeEapolFrame(b);
      return r.ok ? 'ok' : r.error.code;
    };
    expect(code(good.subarray(0, 13))).toBe('truncated');
    expect(code(good.subarray(0, 16))).toBe('truncated');
    const longBody = Buffer.from(good);
    longBody.writeUInt16BE(200, 16);
    expect(code(longBody)).toBe('bad-length');
    const eapLies = Buffer.from(good);
    eapLies.writeUInt16BE(9, 20);
    expect(code(eapLies)).toBe('bad-eap-length');
    const ip = Buffer.from(good);
    ip.writeUInt16BE(0x0800, 12);
    expect(code(ip)).toBe('not-eapol');
    const badCode = Buffer.from(good);
    badCode[18] = 9;
    expect(code(badCode)).toBe('bad-eap-code');
    const badType = Buffer.from(good);
    badType[15] = 7;
    expect(code(badType)).toBe('bad-type');
    const group = Buffer.from(good);
    group[6] = 0x01;
    expect(code(group)).toBe('bad-mac');
    expect(decodeEap(hex('03 01 0005 00')).ok).toBe(false); // success with a body
    expect(decodeEap(hex('01 01 0004')).ok).toBe(false); // request without a type
  });
});

describe('EAPOL/EAP decoders under fuzzing', () => {
  const frameArb = fc.record({
    src: fc.uint8Array({ minLength: 6, maxLength: 6 }).map((a) => {
      a[0] &= 0xfe;
      return [...a].map((x) => x.toString(16).padStart(2, '0')).join(':');
    }),
    id: fc.integer({ min: 0, max: 255 }),
    type: fc.integer({ min: 1, max: 254 }),
    data: fc.uint8Array({ maxLength: 1400 }).map((a) => Buffer.from(a)),
    code: fc.constantFrom('request' as const, 'response' as const),
  });

  it('encode → decode round-trips every EAP-in-EAPOL frame', () => {
    fc.assert(
      fc.property(frameArb, (f) => {
        const b = eapFrame(PAE_GROUP, f.src, { code: f.code, id: f.id, type: f.type, data: f.data });
        const r = decodeEapolFrame(b);
        return (
          r.ok && r.value.src === f.src && r.value.eap!.id === f.id && r.value.eap!.type === f.type && r.value.eap!.data.equals(f.data)
        );
      }),
      { numRuns: 500 },
    );
  });

  it('every truncation of a valid frame is refused or decodes to the same packet, never throws', () => {
    fc.assert(
      fc.property(frameArb, fc.nat(), (f, cut) => {
        const b = eapFrame(PAE_GROUP, f.src, { code: f.code, id: f.id, type: f.type, data: f.data });
        const n = cut % b.length;
        const r = decodeEapolFrame(b.subarray(0, n));
        const needed = 18 + 5 + f.data.length;
        return n >= needed ? r.ok : !r.ok;
      }),
      { numRuns: 500 },
    );
  });

  it('lying length fields are refused, never read past the buffer', () => {
    fc.assert(
      fc.property(frameArb, fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }), (f, bodyLen, eapLen) => {
        const b = eapFrame(PAE_GROUP, f.src, { code: f.code, id: f.id, type: f.type, data: f.data });
        b.writeUInt16BE(bodyLen, 16);
        b.writeUInt16BE(eapLen, 20);
        const r = decodeEapolFrame(b);
        if (r.ok) return bodyLen === eapLen && r.value.eap!.data.length === eapLen - 5 && 18 + bodyLen <= b.length;
        return true;
      }),
      { numRuns: 1000 },
    );
  });

  it('random bytes (with and without the EAPOL ethertype) never throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (a, stamp) => {
        const b = Buffer.from(a);
        if (stamp && b.length >= 14) b.writeUInt16BE(0x888e, 12);
        const r = decodeEapolFrame(b);
        const e = decodeEap(b);
        return typeof r.ok === 'boolean' && typeof e.ok === 'boolean';
      }),
      { numRuns: 5000 },
    );
  });
});
