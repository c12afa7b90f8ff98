/**
 * Hostile IPv6 input: addresses and prefixes in policy, directory and topology files (random and crafted) never
 * crash the parser or the compiler and are reported at their line; IPv6 packet-ins (deny samples) with lying
 * payload lengths, extension header chains and fragments decode to a value or a refusal, never an exception or a
 * read past the capture; and a packet whose IPv6 source is not an address is never forwarded by the tables.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compile, FlowTables, parseDirectoryText, parsePolicyText, parseTopologyText } from '../../compiler/index.js';
import { decodeFrame } from '../../controller/packet.js';
import { build, DIRECTORY, MAC, POLICY, topology, V6 } from '../compiler/ipv6-fixture.js';

const v6ish = fc
  .array(
    fc.constantFrom(
      '0',
      '1',
      'f',
      'F',
      ':',
      ':',
      '::',
      '.',
      '/',
      '%',
      '9',
      'z',
      '1234',
      'ffff',
      '12',
      '8',
      ' ',
      '-',
      '[',
      ']',
      '64',
      '128',
      '129',
    ),
    { maxLength: 16 },
  )
  .map((a) => a.join(''));

describe('hostile IPv6 addresses in input files', () => {
  it('random text as a resource host, a device ipv6, a server ipv6: a diagnostic at its line or a valid compile, never a crash', () => {
    fc.assert(
      fc.property(v6ish, v6ish, v6ish, (host, dev, srv) => {
        const q = (s: string) => JSON.stringify(s);
        const p = parsePolicyText(POLICY.replace('"2001:db8:2::11"', q(host.includes(':') ? host : `${host}:`)), 'p.yaml');
        const d = parseDirectoryText(DIRECTORY.replace(`ipv6: "${V6.bob}"`, `ipv6: ${q(dev)}`), 'd.yaml');
        const t = parseTopologyText(topology().replace(`ipv6: ["${V6.db}"]`, `ipv6: [${q(srv)}]`), 't.yaml');
        for (const r of [p, d, t])
          if (!r.ok)
            for (const x of r.diagnostics.filter((y) => y.severity === 'error')) expect(x.location?.line, x.message).toBeGreaterThan(0);
        if (p.ok && d.ok && t.ok) {
          const c = compile({ policy: p.value, directory: d.value, topology: t.value });
          expect(c.plan.switches.length).toBe(2);
        }
      }),
      { numRuns: 300 },
    );
  });
  it('crafted cases: zone ids, brackets, embedded IPv4 out of range, huge prefix lengths, multicast and unspecified device addresses, 17 addresses', () => {
    for (const bad of [
      'fe80::1%eth0',
      '[2001:db8::1]',
      '::ffff:300.1.1.1',
      '2001:db8::/999',
      '2001:db8::/-1',
      '1:2:3:4:5:6:7:8:9',
      '2001:db8:::1',
      '2001:db8::1/64',
    ]) {
      const p = parsePolicyText(POLICY.replace('"2001:db8:2::11"', JSON.stringify(bad)), 'p.yaml');
      expect(p.ok, bad).toBe(false);
      expect(!p.ok && p.diagnostics.some((x) => x.code === 'bad-address' && x.location?.line === 6), bad).toBe(true);
    }
    for (const bad of ['ff02::1', '::', 'ff05::2']) {
      const d = parseDirectoryText(DIRECTORY.replace(`ipv6: "${V6.bob}"`, `ipv6: "${bad}"`), 'd.yaml');
      expect(d.ok, bad).toBe(false);
    }
    const many = Array.from({ length: 17 }, (_, i) => `"2001:db8:1::${(i + 100).toString(16)}"`).join(', ');
    const d = parseDirectoryText(DIRECTORY.replace(`ipv6: "${V6.bob}"`, `ipv6: [${many}]`), 'd.yaml');
    expect(!d.ok && d.diagnostics.some((x) => x.message.includes('at most 16'))).toBe(true);
  });
});

const ETH6 = Buffer.from('33330000000102000000010286dd', 'hex');
function ipv6(payloadLen: number, next: number, body: Buffer): Buffer {
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  h.writeUInt16BE(payloadLen, 4);
  h[6] = next;
  h[7] = 64;
  Buffer.from('20010db8000100000000000000000a00', 'hex').copy(h, 8);
  Buffer.from('20010db8000200000000000000000010', 'hex').copy(h, 24);
  return Buffer.concat([ETH6, h, body]);
}

describe('hostile IPv6 packet-ins (deny-sample decoder)', () => {
  it('a payload length larger or smaller than what arrived, and extension headers running past the packet, are bounded', () => {
    const tcp = Buffer.alloc(20);
    tcp.writeUInt16BE(40000, 0);
    tcp.writeUInt16BE(443, 2);
    tcp[12] = 5 << 4;
    const lying = decodeFrame(ipv6(60000, 6, tcp));
    expect(lying).toMatchObject({ ok: true, frame: { l3: 'ipv6', proto: 6, dstPort: 443 } });
    const short = decodeFrame(ipv6(2, 6, tcp)); // claims 2 bytes of payload: no port is read beyond them
    expect(short.ok && short.frame.l3 === 'ipv6' && (short.frame as { dstPort?: number }).dstPort).toBeFalsy();
    const hbh = Buffer.alloc(8);
    hbh[0] = 6;
    hbh[1] = 200; // hop-by-hop claiming 1608 bytes
    expect(decodeFrame(ipv6(28, 0, Buffer.concat([hbh, tcp])))).toMatchObject({ ok: false, code: 'bad-ipv6-extension' });
    const frag = Buffer.alloc(8);
    frag[0] = 6;
    frag.writeUInt16BE(0x0008, 2); // a non-first fragment
    expect(decodeFrame(ipv6(28, 44, Buffer.concat([frag, tcp])))).toMatchObject({ ok: true, frame: { fragment: true } });
    const cut = ipv6(40, 0, Buffer.alloc(4)); // the extension header itself cut short
    expect(decodeFrame(cut)).toMatchObject({ ok: true, frame: { truncated: true } });
  });
  it('property: any chain of extension headers and any bytes after a valid IPv6 header decode to a value, never an exception', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffff }),
        fc.constantFrom(0, 6, 17, 43, 44, 58, 60, 59, 255),
        fc.uint8Array({ maxLength: 200 }),
        (len, next, body) => {
          const r = decodeFrame(ipv6(len, next, Buffer.from(body)));
          expect(typeof r.ok).toBe('boolean');
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('the tables with a garbage IPv6 source', () => {
  it('an ipv6_src that is not an address matches no classification: never forwarded', () => {
    const c = build('ovs');
    const t = new FlowTables(c.plan.switches.find((s) => s.name === 'e1')!.flows);
    for (const src of ['zzz', '', '2001:db8:1::a%1', '2001:db8:1::a/128', '::ffff:999.1.1.1']) {
      expect(
        t.apply({ inPort: 1, ethSrc: MAC.alice, ethType: 0x86dd, ipSrc: src, ipDst: V6.web, ipProto: 6, tpSrc: 1, tpDst: 443, tcpFlags: 2 })
          .verdict,
        src,
      ).not.toBe('forward');
    }
  });
});
