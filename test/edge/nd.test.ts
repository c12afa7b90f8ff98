import { describe, expect, it } from 'vitest';
import { buildNd, checksum6, decodeNd, solicitedNode } from '../../edge/nd.js';
import { buildDhcpv6, decodeDhcpv6 } from '../../edge/dhcpv6.js';

const MAC = '02:00:00:00:f5:0a';

/**
 * A DAD probe recorded from the Linux kernel (`ip -6 addr add 2001:db8:f5::a/64 dev f5a`, captured with tcpdump
 * on the veth peer): the independent oracle for the decoder and the builder.
 */
const KERNEL_DAD = Buffer.from(
  [
    '3333ff00000a', // Ethernet destination: 33:33 + the solicited-node group's low 32 bits
    '02000000f50a', // Ethernet source: the prober
    '86dd', // IPv6
    '60000000', // version 6, traffic class 0, flow label 0
    '0020', // payload length 32
    '3a', // next header 58 (ICMPv6)
    'ff', // hop limit 255
    '00000000000000000000000000000000', // source :: (DAD)
    'ff0200000000000000000001ff00000a', // destination ff02::1:ff00:a
    '87', // type 135 (NS)
    '00', // code 0
    'bc82', // checksum
    '00000000', // reserved
    '20010db800f50000000000000000000a', // target 2001:db8:f5::a
    '0e01708d3df4d2d8', // option 14 (nonce, RFC 7527), 1×8 bytes
  ].join(''),
  'hex',
);

describe('ND decoder', () => {
  it('reads a DAD probe recorded from the Linux kernel', () => {
    const r = decodeNd(KERNEL_DAD);
    expect(r).toEqual({
      ok: true,
      value: {
        ethDst: '33:33:ff:00:00:0a',
        ethSrc: MAC,
        ipSrc: '::',
        ipDst: 'ff02::1:ff00:a',
        type: 'ns',
        target: '2001:db8:f5::a',
        nonce: true,
      },
    });
  });

  it('builds the same bytes as the kernel for the same probe', () => {
    expect(buildNd({ type: 'ns', ethSrc: MAC, target: '2001:db8:f5::a', nonce: '708d3df4d2d8' }).toString('hex')).toBe(
      KERNEL_DAD.toString('hex'),
    );
    expect(solicitedNode('2001:db8:f5::a')).toEqual({ ip: 'ff02::1:ff00:a', mac: '33:33:ff:00:00:0a' });
  });

  it('reads an unsolicited NA with its target link-layer option and flags', () => {
    const r = decodeNd(buildNd({ type: 'na', ethSrc: MAC, target: '2001:db8:f5::a', lla: MAC }));
    expect(r.ok && r.value).toMatchObject({
      type: 'na',
      target: '2001:db8:f5::a',
      ipSrc: '2001:db8:f5::a',
      lla: MAC,
      override: true,
      solicited: false,
    });
  });

  it('refuses each broken field with its own code', () => {
    const cases: Array<[string, (b: Buffer) => void, string]> = [
      ['hop limit 64', (b) => (b[21] = 64), 'bad-hop-limit'],
      ['code 1', (b) => (b[55] = 1), 'bad-code'],
      ['checksum', (b) => (b[56] ^= 1), 'bad-checksum'],
      ['checksum of a changed target', (b) => (b[70] ^= 1), 'bad-checksum'],
      ['payload length past the frame', (b) => b.writeUInt16BE(200, 18), 'truncated'],
      ['version 4', (b) => (b[14] = 0x40), 'bad-ip-header'],
      ['next header UDP', (b) => (b[20] = 17), 'not-icmpv6'],
      ['hop-by-hop header', (b) => (b[20] = 0), 'extension-headers'],
      ['ethertype IPv4', (b) => b.writeUInt16BE(0x0800, 12), 'not-ipv6'],
      ['option length 0', (b) => (b[79] = 0), 'bad-option'],
      ['option past the end', (b) => (b[79] = 2), 'bad-option'],
    ];
    for (const [what, edit, code] of cases) {
      const b = Buffer.from(KERNEL_DAD);
      edit(b);
      // every other field's check is reached with a right checksum
      if (!what.startsWith('checksum') && b.readUInt16BE(18) === 32) {
        b.writeUInt16BE(0, 56);
        b.writeUInt16BE(checksum6(b, 14, 54, 86, 58), 56);
      }
      const r = decodeNd(b);
      expect(r.ok ? 'ok' : r.code, what).toBe(code);
    }
    expect(decodeNd(KERNEL_DAD.subarray(0, 60)).ok).toBe(false);
  });

  it('refuses a DAD probe with a link-layer option or sent elsewhere than the solicited-node group', () => {
    const withLla = buildNd({ type: 'ns', ethSrc: MAC, target: '2001:db8:f5::a', lla: MAC });
    expect(decodeNd(withLla)).toMatchObject({ ok: false, code: 'bad-dad' });
    const elsewhere = buildNd({ type: 'ns', ethSrc: MAC, target: '2001:db8:f5::a', ipDst: 'ff02::1' });
    expect(decodeNd(elsewhere)).toMatchObject({ ok: false, code: 'bad-dad' });
    expect(decodeNd(buildNd({ type: 'na', ethSrc: MAC, target: 'ff02::1' }))).toMatchObject({ ok: false, code: 'bad-target' });
    expect(decodeNd(buildNd({ type: 'na', ethSrc: MAC, target: '2001:db8::1', ipSrc: '::' }))).toMatchObject({
      ok: false,
      code: 'bad-source',
    });
  });
});

describe('DHCPv6 decoder', () => {
  const reply = (addresses: Array<{ ip: string; valid: number }>) =>
    buildDhcpv6({
      type: 'reply',
      ethSrc: '02:00:00:00:f5:01',
      ethDst: MAC,
      ipSrc: 'fe80::1',
      ipDst: 'fe80::ff:fe00:f50a',
      xid: 0xabcdef,
      clientMac: MAC,
      addresses,
    });

  it('reads a reply: type, xid, the client DUID-LL and its MAC, every IA_NA address with lifetimes', () => {
    const r = decodeDhcpv6(reply([{ ip: '2001:db8:f5::100', valid: 3600 }]));
    expect(r).toEqual({
      ok: true,
      value: {
        ethSrc: '02:00:00:00:f5:01',
        ethDst: MAC,
        ipSrc: 'fe80::1',
        ipDst: 'fe80::ff:fe00:f50a',
        udpSrc: 547,
        udpDst: 546,
        type: 'reply',
        xid: 0xabcdef,
        clientDuid: '00030001' + MAC.replaceAll(':', ''),
        duidMac: MAC,
        addresses: [{ ip: '2001:db8:f5::100', preferred: 3600, valid: 3600 }],
      },
    });
  });

  it('checks the bytes of the envelope and of nested options', () => {
    const good = reply([{ ip: '2001:db8:f5::100', valid: 3600 }]);
    // offsets: Ethernet 14, IPv6 40, UDP 8 → message at 62: type, xid(3), then options
    const cases: Array<[string, (b: Buffer) => void, string]> = [
      ['udp checksum', (b) => (b[60] ^= 1), 'bad-checksum'],
      ['udp length', (b) => b.writeUInt16BE(b.readUInt16BE(58) - 1, 58), 'bad-udp-length'],
      ['ports', (b) => b.writeUInt16BE(53, 54), 'not-dhcpv6-port'],
      ['message type 0', (b) => (b[62] = 0), 'bad-message-type'],
      ['relay-reply', (b) => (b[62] = 13), 'relayed'],
      ['option past the end', (b) => b.writeUInt16BE(0x4000, 68), 'bad-option'],
      ['IA_NA shorter than 12', (b) => b.writeUInt16BE(4, 82), 'bad-option'],
      ['IA Address past its IA_NA', (b) => b.writeUInt16BE(0x100, 98), 'bad-option'],
    ];
    for (const [what, edit, code] of cases) {
      const b = Buffer.from(good);
      edit(b);
      if (!what.startsWith('udp')) {
        b.writeUInt16BE(0, 60);
        b.writeUInt16BE(checksum6(b, 14, 54, b.length, 17), 60);
      }
      const r = decodeDhcpv6(b);
      expect(r.ok ? 'ok' : r.code, what).toBe(code);
    }
  });
});
