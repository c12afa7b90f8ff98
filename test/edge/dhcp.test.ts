import { describe, expect, it } from 'vitest';
import { buildArp, buildDhcp, decodeArp, decodeDhcp } from '../../edge/dhcp.js';

const MAC = '02:00:00:00:00:0a';

describe('DHCP decoder', () => {
  it('round-trips every message type the builders make', () => {
    for (const type of ['discover', 'request', 'release', 'decline', 'inform'] as const) {
      const r = decodeDhcp(
        buildDhcp({ type, chaddr: MAC, xid: 0x1234, requestedIp: '10.9.0.5', ciaddr: type === 'release' ? '10.9.0.5' : undefined }),
      );
      expect(r.ok, JSON.stringify(r)).toBe(true);
      if (!r.ok) continue;
      expect(r.value).toMatchObject({
        type,
        op: 1,
        chaddr: MAC,
        ethSrc: MAC,
        xid: 0x1234,
        udpSrc: 68,
        udpDst: 67,
        requestedIp: '10.9.0.5',
      });
    }
    const ack = decodeDhcp(
      buildDhcp({
        type: 'ack',
        chaddr: MAC,
        ethSrc: '02:00:00:00:00:01',
        ipSrc: '10.9.0.1',
        yiaddr: '10.9.0.5',
        serverId: '10.9.0.1',
        leaseSeconds: 600,
      }),
    );
    expect(ack.ok && ack.value).toMatchObject({
      op: 2,
      type: 'ack',
      yiaddr: '10.9.0.5',
      serverId: '10.9.0.1',
      leaseSeconds: 600,
      ethSrc: '02:00:00:00:00:01',
      ipSrc: '10.9.0.1',
    });
  });

  it('parses a DHCPDISCOVER byte for byte as dhclient sends it (fixed part, magic, options)', () => {
    const f = buildDhcp({ type: 'discover', chaddr: MAC });
    // Ethernet 14 + IPv4 20 + UDP 8 + BOOTP 236 + magic 4 + options
    expect(f.readUInt16BE(12)).toBe(0x0800);
    expect(f[14 + 9]).toBe(17);
    expect(f.readUInt16BE(34)).toBe(68);
    expect(f.readUInt16BE(36)).toBe(67);
    expect(f.readUInt32BE(42 + 236)).toBe(0x63825363);
    expect([...f.subarray(42 + 240, 42 + 244)]).toEqual([53, 1, 1, 255]);
  });

  it('refuses with a code: truncation at every length, lying lengths, wrong ports, missing type, bad options', () => {
    const f = buildDhcp({ type: 'request', chaddr: MAC, requestedIp: '10.9.0.5' });
    for (let n = 0; n < f.length; n++) {
      const r = decodeDhcp(f.subarray(0, n));
      // cutting inside the padding after the end option is still a whole message; anything shorter is refused
      if (!r.ok) expect(['truncated', 'bad-udp-length', 'bad-option', 'bad-magic']).toContain(r.code);
    }
    const lie = Buffer.from(f);
    lie.writeUInt16BE(1400, 16);
    expect(decodeDhcp(lie)).toMatchObject({ ok: false, code: 'truncated' });
    const udpLie = Buffer.from(f);
    udpLie.writeUInt16BE(100, 38);
    expect(decodeDhcp(udpLie)).toMatchObject({ ok: false, code: 'bad-udp-length' });
    const port = Buffer.from(f);
    port.writeUInt16BE(1234, 36);
    expect(decodeDhcp(port)).toMatchObject({ ok: false, code: 'not-dhcp-port' });
    const noType = Buffer.from(f);
    noType[42 + 240] = 0;
    noType[42 + 241] = 0;
    noType[42 + 242] = 0;
    expect(decodeDhcp(noType)).toMatchObject({ ok: false, code: 'missing-message-type' });
    const badType = Buffer.from(f);
    badType[42 + 242] = 42;
    expect(decodeDhcp(badType)).toMatchObject({ ok: false, code: 'bad-message-type' });
    const longOpt = Buffer.from(f);
    longOpt[42 + 241] = 200;
    expect(decodeDhcp(longOpt)).toMatchObject({ ok: false, code: 'bad-option' });
    const magic = Buffer.from(f);
    magic[42 + 236] = 0;
    expect(decodeDhcp(magic)).toMatchObject({ ok: false, code: 'bad-magic' });
    const frag = Buffer.from(f);
    frag.writeUInt16BE(0x2000, 20);
    expect(decodeDhcp(frag)).toMatchObject({ ok: false, code: 'ip-fragment' });
    const mismatch = Buffer.from(f);
    mismatch[42] = 2;
    expect(decodeDhcp(mismatch)).toMatchObject({ ok: false, code: 'op-type-mismatch' });
    const noEnd = Buffer.from(buildDhcp({ type: 'discover', chaddr: MAC }));
    noEnd.fill(0, 42 + 243);
    expect(decodeDhcp(noEnd)).toMatchObject({ ok: false, code: 'bad-option' });
  });

  it('decodes ARP and refuses non-Ethernet/IPv4 ARP', () => {
    const a = decodeArp(buildArp({ op: 1, sha: MAC, spa: '0.0.0.0', tpa: '10.9.0.5' }));
    expect(a.ok && a.value).toMatchObject({ op: 1, sha: MAC, spa: '0.0.0.0', tpa: '10.9.0.5', ethSrc: MAC });
    const bad = buildArp({ op: 1, sha: MAC, spa: '10.0.0.1', tpa: '10.0.0.2' });
    bad[19] = 16;
    expect(decodeArp(bad)).toMatchObject({ ok: false, code: 'bad-arp' });
    expect(decodeArp(Buffer.alloc(20))).toMatchObject({ ok: false });
  });
});
