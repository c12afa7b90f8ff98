/**
 * Hostile input to IPv6 address learning: random and corrupted ND/DHCPv6 bytes, lying lengths, malformed ND
 * options, NA/NS for someone else's address, DAD spoofed from another port or with a forged link-layer option,
 * an address flood from one port, DHCPv6 replies from an access port. Nothing is bound, nothing foreign is
 * forwarded, each refusal is counted, memory stays bounded and nothing throws.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { buildNd, checksum6, decodeNd } from '../../edge/nd.js';
import { buildDhcpv6, decodeDhcpv6 } from '../../edge/dhcpv6.js';
import { Lease6Table } from '../../edge/leases6.js';
import { NdSnooper, type Nd6Context } from '../../edge/nd-snooping.js';
import type { PortRef } from '../../edge/snooping.js';

const A = '02:00:00:00:f5:0a',
  B = '02:00:00:00:f5:0b',
  SRV = '02:00:00:00:f5:01';
const p3 = { switch: 'e1', port: 3 },
  p4 = { switch: 'e1', port: 4 },
  srv = { switch: 'e1', port: 9 };

function setup(rate = 5) {
  let t = 1_700_000_000_000;
  const now = () => t;
  const timers: Array<() => void> = [];
  const leases = new Lease6Table({ now, maxPerMac: 4 });
  const s = new NdSnooper(leases, { now, rate, schedule: (fn) => timers.push(fn), maxPending: 100 });
  const alerts: Array<Record<string, unknown>> = [];
  s.on('alert', (a) => alerts.push(a));
  const admitted = new Map<string, PortRef>([
    [A, p3],
    [B, p4],
  ]);
  const owners = new Map<string, string>([['2001:db8:f5::b', B]]);
  const ctx: Nd6Context = { admittedAt: (m) => admitted.get(m), staticOwner: (ip) => owners.get(ip) };
  return { leases, s, alerts, ctx, fire: () => timers.splice(0).forEach((f) => f()), advance: (ms: number) => (t += ms) };
}

describe('ND and DHCPv6 decoders on hostile bytes', () => {
  it('never throw: random bytes and corrupted valid frames give a value or an error code', () => {
    const nd = buildNd({ type: 'ns', ethSrc: A, target: '2001:db8:f5::a', nonce: true });
    const d6 = buildDhcpv6({
      type: 'reply',
      ethSrc: SRV,
      ethDst: A,
      ipSrc: 'fe80::1',
      ipDst: 'fe80::2',
      clientMac: A,
      addresses: [{ ip: '2001:db8:f5::100', valid: 60 }],
    });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        expect(typeof decodeNd(Buffer.from(bytes)).ok).toBe('boolean');
        expect(typeof decodeDhcpv6(Buffer.from(bytes)).ok).toBe('boolean');
      }),
      { numRuns: 3000 },
    );
    for (const base of [nd, d6])
      fc.assert(
        fc.property(
          fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
          fc.nat(base.length),
          fc.boolean(),
          (edits, cut, fixSum) => {
            const b = Buffer.from(base);
            for (const [i, v] of edits) b[i] = v;
            // with the checksum made right again, the structural checks behind it are reached too
            if (fixSum && b.readUInt16BE(12) === 0x86dd && 54 + b.readUInt16BE(18) <= b.length) {
              const at = base === nd ? 56 : 60;
              b.writeUInt16BE(0, at);
              b.writeUInt16BE(checksum6(b, 14, 54, 54 + b.readUInt16BE(18), b[20]), at);
            }
            const c = b.subarray(0, cut);
            const r = base === nd ? decodeNd(c) : decodeDhcpv6(c);
            if (!r.ok) expect(r.code).toMatch(/^[a-z0-9-]+$/);
          },
        ),
        { numRuns: 4000 },
      );
  });

  it('lying lengths: an IPv6 payload length past the capture, a UDP length that disagrees, an ND option of length 0', () => {
    const nd = buildNd({ type: 'na', ethSrc: A, target: '2001:db8:f5::a', lla: A });
    const long = Buffer.from(nd);
    long.writeUInt16BE(1000, 18);
    expect(decodeNd(long)).toMatchObject({ ok: false, code: 'truncated' });
    const zero = Buffer.from(nd);
    zero[54 + 25] = 0; // the TLLA option's length
    zero.writeUInt16BE(0, 56);
    zero.writeUInt16BE(checksum6(zero, 14, 54, zero.length, 58), 56);
    expect(decodeNd(zero)).toMatchObject({ ok: false, code: 'bad-option' });
    const d6 = buildDhcpv6({
      type: 'reply',
      ethSrc: SRV,
      ethDst: A,
      ipSrc: 'fe80::1',
      ipDst: 'fe80::2',
      addresses: [{ ip: '2001:db8::1', valid: 1 }],
    });
    const lie = Buffer.from(d6);
    lie.writeUInt16BE(lie.readUInt16BE(58) + 40, 58);
    expect(decodeDhcpv6(lie)).toMatchObject({ ok: false, code: 'bad-udp-length' });
  });
});

describe('ND/DAD snooping against hostile devices', () => {
  it("NA or NS for someone else's address: dropped, alerted, nothing bound, not forwarded", () => {
    const { s, leases, ctx, alerts } = setup();
    expect(s.onNd(p3, buildNd({ type: 'na', ethSrc: A, target: '2001:db8:f5::b', lla: A }), ctx)).toEqual({
      forward: false,
      reason: 'na-for-other',
    });
    expect(
      s.onNd(p3, buildNd({ type: 'ns', ethSrc: A, target: 'fe80::1', ipSrc: '2001:db8:f5::b', ipDst: 'ff02::1:ff00:1' }), ctx),
    ).toEqual({
      forward: false,
      reason: 'ns-from-other',
    });
    expect(leases.size).toBe(0);
    expect(alerts.map((a) => a.type)).toEqual(['ipv6-na-for-other', 'ipv6-ns-from-other']);
  });

  it('DAD spoofing: a probe in the name of a MAC admitted elsewhere, or with a forged link-layer option, binds nothing', () => {
    const { s, leases, ctx, fire } = setup();
    // B's MAC sent from A's port: B is admitted on port 4, not here
    expect(s.onNd(p3, buildNd({ type: 'ns', ethSrc: B, target: '2001:db8:f5::99', nonce: true }), ctx).reason).toBe('not-admitted');
    // an NA whose link-layer option names another MAC than the frame's source
    expect(s.onNd(p3, buildNd({ type: 'na', ethSrc: A, target: '2001:db8:f5::98', lla: B }), ctx).reason).toBe('spoofed-lla');
    // a forged NA (from B's port) during A's DAD time: a conflict, nothing bound for either
    s.onNd(p3, buildNd({ type: 'ns', ethSrc: A, target: '2001:db8:f5::97', nonce: true }), ctx);
    s.onNd(p4, buildNd({ type: 'na', ethSrc: B, target: '2001:db8:f5::97', lla: B }), ctx);
    fire();
    expect(leases.size).toBe(0);
  });

  it('an address flood from one port: rate-limited and capped per MAC; memory bounded; the other port still learns', () => {
    const { s, leases, ctx, fire, advance, alerts } = setup(5);
    const verdicts: Record<string, number> = {};
    for (let i = 0; i < 5000; i++) {
      const v = s.onNd(p3, buildNd({ type: 'ns', ethSrc: A, target: `2001:db8:f5::${(i + 0x100).toString(16)}` }), ctx);
      verdicts[v.reason] = (verdicts[v.reason] ?? 0) + 1;
      if (i % 50 === 0) advance(1000);
    }
    fire();
    expect(leases.byMac(A).length).toBeLessThanOrEqual(4);
    expect(verdicts['rate-limited']).toBeGreaterThan(4000);
    expect(verdicts['too-many']).toBeGreaterThan(0);
    expect(alerts.filter((a) => a.type === 'ipv6-rate-limited').length).toBeLessThanOrEqual(5 * 90);
    advance(1000);
    expect(s.onNd(p4, buildNd({ type: 'ns', ethSrc: B, target: '2001:db8:f5::c' }), ctx).reason).toBe('pending');
    fire();
    expect(leases.byIp('2001:db8:f5::c')?.mac).toBe(B);
  });

  it('malformed ND (bad hop limit, bad checksum, truncated) is dropped and counted, never learned', () => {
    const { s, leases, ctx, fire } = setup(1000);
    const bad = [
      buildNd({ type: 'ns', ethSrc: A, target: '2001:db8:f5::1', hopLimit: 64 }),
      (() => {
        const b = buildNd({ type: 'ns', ethSrc: A, target: '2001:db8:f5::2' });
        b[57] ^= 0xff;
        return b;
      })(),
      buildNd({ type: 'ns', ethSrc: A, target: '2001:db8:f5::3' }).subarray(0, 70),
    ];
    for (const b of bad) expect(s.onNd(p3, b, ctx)).toEqual({ forward: false, reason: 'malformed' });
    fire();
    expect(leases.size).toBe(0);
    expect(s.counters.malformed).toBe(3);
  });
});

describe('DHCPv6 snooping against hostile devices', () => {
  const reply = (to: string, ip: string) =>
    buildDhcpv6({
      type: 'reply',
      ethSrc: B,
      ethDst: to,
      ipSrc: 'fe80::b',
      ipDst: 'fe80::a',
      clientMac: to,
      addresses: [{ ip, valid: 600 }],
    });

  it('a reply from an access port is a rogue server: dropped, alerted, nothing bound', () => {
    const { s, leases, ctx, alerts } = setup();
    expect(s.onDhcpv6(p4, reply(A, '2001:db8:f5::100'), false, ctx)).toEqual({ forward: false, reason: 'rogue-server' });
    expect(leases.size).toBe(0);
    expect(alerts[0]).toMatchObject({ type: 'ipv6-rogue-server', switch: 'e1', port: 4 });
  });

  it('a reply for a MAC admitted nowhere, or for multicast, binds nothing; a client message from the server port is refused', () => {
    const { s, leases, ctx } = setup();
    expect(s.onDhcpv6(srv, reply('02:00:00:00:f5:99', '2001:db8:f5::100'), true, ctx).reason).toBe('lease-refused');
    expect(s.onDhcpv6(srv, reply('33:33:00:01:00:02', '2001:db8:f5::100'), true, ctx).reason).toBe('lease-refused');
    const solicit = buildDhcpv6({
      type: 'solicit',
      ethSrc: SRV,
      ethDst: '33:33:00:01:00:02',
      ipSrc: 'fe80::1',
      ipDst: 'ff02::1:2',
      clientMac: SRV,
    });
    expect(s.onDhcpv6(srv, solicit, true, ctx).reason).toBe('client-message-from-server');
    expect(leases.size).toBe(0);
  });

  it("a release for another device's address changes nothing", () => {
    const { s, leases, ctx } = setup();
    s.onDhcpv6(srv, reply(B, '2001:db8:f5::200'), true, ctx);
    const rel = buildDhcpv6({
      type: 'release',
      ethSrc: A,
      ethDst: '33:33:00:01:00:02',
      ipSrc: 'fe80::a',
      ipDst: 'ff02::1:2',
      clientMac: A,
      addresses: [{ ip: '2001:db8:f5::200', valid: 0 }],
    });
    expect(s.onDhcpv6(p3, rel, false, ctx)).toEqual({ forward: true, reason: 'client' });
    expect(leases.byIp('2001:db8:f5::200')?.mac).toBe(B);
  });
});
