/**
 * Hostile input at the edge: malformed DHCP/ARP (fuzzed), spoofed chaddr, starvation floods from one port, rogue
 * servers, releases and gratuitous ARP for someone else's address, a MAC on two ports at once. Nothing is
 * forwarded or bound on bad input; each refusal is counted; nothing throws.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { buildArp, buildDhcp, decodeArp, decodeDhcp } from '../../edge/dhcp.js';
import { LeaseTable } from '../../edge/leases.js';
import { DhcpSnooper } from '../../edge/snooping.js';

const A = '02:00:00:00:00:0a',
  B = '02:00:00:00:00:0b',
  SRV = '02:00:00:00:00:01';
const p3 = { switch: 'e1', port: 3 },
  p4 = { switch: 'e1', port: 4 },
  srv = { switch: 'e1', port: 9 };
const ack = (mac: string, ip: string) =>
  buildDhcp({ type: 'ack', chaddr: mac, ethSrc: SRV, ipSrc: '10.9.0.1', yiaddr: ip, serverId: '10.9.0.1', leaseSeconds: 600 });

function setup(now = () => Date.now()) {
  const leases = new LeaseTable({ now });
  const s = new DhcpSnooper(leases, { clientRate: 5, now });
  const alerts: Array<{ type: string }> = [];
  s.on('alert', (a) => alerts.push(a));
  return { leases, s, alerts };
}

describe('DHCP/ARP decoders on hostile bytes', () => {
  it('never throw: random bytes, and valid frames with random corruption, give a value or an error code', () => {
    const base = buildDhcp({ type: 'request', chaddr: A, requestedIp: '10.9.0.5', serverId: '10.9.0.1' });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 700 }), (bytes) => {
        const r = decodeDhcp(Buffer.from(bytes));
        expect(typeof r.ok).toBe('boolean');
        const a = decodeArp(Buffer.from(bytes));
        expect(typeof a.ok).toBe('boolean');
      }),
      { numRuns: 3000 },
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.nat(base.length),
        (edits, cut) => {
          const b = Buffer.from(base);
          for (const [i, v] of edits) b[i] = v;
          const r = decodeDhcp(b.subarray(0, Math.max(cut, 0)));
          if (r.ok) {
            // whatever decodes is internally consistent
            expect(['discover', 'offer', 'request', 'decline', 'ack', 'nak', 'release', 'inform']).toContain(r.value.type);
            expect(r.value.chaddr).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
          } else expect(r.code).toMatch(/^[a-z0-9-]+$/);
        },
      ),
      { numRuns: 5000 },
    );
  });
});

describe('DHCP snooping against hostile clients and servers', () => {
  it('binds an ACK to the port its client asked from; the client is forwarded; a NAK and a RELEASE remove it', () => {
    const { s, leases } = setup();
    expect(s.onDhcp(p3, buildDhcp({ type: 'discover', chaddr: A }), false)).toEqual({ forward: true, reason: 'client' });
    expect(s.onDhcp(srv, ack(A, '10.9.0.5'), true).reason).toBe('lease');
    expect(leases.byMac(A)).toMatchObject({ ip: '10.9.0.5', switch: 'e1', port: 3 });
    expect(s.onDhcp(srv, buildDhcp({ type: 'nak', chaddr: A, ethSrc: SRV, ipSrc: '10.9.0.1' }), true).reason).toBe('nak');
    expect(leases.byMac(A)).toBeUndefined();
    s.onDhcp(p3, buildDhcp({ type: 'request', chaddr: A, requestedIp: '10.9.0.5' }), false);
    s.onDhcp(srv, ack(A, '10.9.0.5'), true);
    expect(
      s.onDhcp(p3, buildDhcp({ type: 'release', chaddr: A, ciaddr: '10.9.0.5', ipSrc: '10.9.0.5', ipDst: '10.9.0.1' }), false).forward,
    ).toBe(true);
    expect(leases.byMac(A)).toBeUndefined();
    leases.stop();
  });

  it('spoofed chaddr (a client asking for another MAC) is dropped, counted and alerted; nothing is bound', () => {
    const { s, leases, alerts } = setup();
    expect(s.onDhcp(p3, buildDhcp({ type: 'discover', chaddr: B, ethSrc: A }), false)).toEqual({
      forward: false,
      reason: 'spoofed-chaddr',
    });
    expect(s.onDhcp(srv, ack(B, '10.9.0.6'), true).reason).toBe('ack-unknown-client');
    expect(leases.size).toBe(0);
    expect(s.counters['spoofed-chaddr']).toBe(1);
    expect(alerts.map((a) => a.type)).toContain('dhcp-spoofed-chaddr');
    leases.stop();
  });

  it('a starvation flood from one port is cut to the port rate; another port still gets through', () => {
    let now = 0;
    const { s, leases, alerts } = setup(() => now);
    let fwd = 0;
    for (let i = 0; i < 1000; i++) {
      const mac = `02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
      if (s.onDhcp(p3, buildDhcp({ type: 'discover', chaddr: mac }), false).forward) fwd++;
      now += 1; // 1000 messages per second
    }
    expect(fwd).toBeLessThanOrEqual(10 + 5 + 1); // burst (2 × 5) + 5/s for one second
    expect(s.counters['rate-limited']).toBeGreaterThan(980);
    expect(alerts.filter((a) => a.type === 'dhcp-rate-limited').length).toBeLessThanOrEqual(5);
    expect(s.onDhcp(p4, buildDhcp({ type: 'discover', chaddr: B }), false).forward).toBe(true);
    leases.stop();
  });

  it('a rogue server (reply from an untrusted port) is dropped and alerted, its ACK binds nothing; garbage from it too', () => {
    const { s, leases, alerts } = setup();
    s.onDhcp(p3, buildDhcp({ type: 'discover', chaddr: A }), false);
    expect(s.onDhcp(p4, ack(A, '10.66.0.5'), false)).toEqual({ forward: false, reason: 'rogue-server' });
    expect(s.onDhcp(p4, Buffer.from(ack(A, '10.66.0.5')).subarray(0, 100), false)).toEqual({ forward: false, reason: 'malformed' });
    expect(leases.size).toBe(0);
    expect(alerts.map((a) => a.type)).toEqual(['dhcp-rogue-server', 'dhcp-malformed']);
    leases.stop();
  });

  it('a RELEASE for someone else’s lease from another port is refused; the lease stays', () => {
    const { s, leases } = setup();
    s.onDhcp(p3, buildDhcp({ type: 'discover', chaddr: A }), false);
    s.onDhcp(srv, ack(A, '10.9.0.5'), true);
    // the attacker on port 4 forges A's MAC and releases A's address
    expect(s.onDhcp(p4, buildDhcp({ type: 'release', chaddr: A, ciaddr: '10.9.0.5' }), false).reason).toBe('release-elsewhere');
    expect(leases.byMac(A)).toMatchObject({ ip: '10.9.0.5', port: 3 });
    leases.stop();
  });

  it('gratuitous ARP claiming an address leased to someone else is counted and alerted', () => {
    const { s, leases, alerts } = setup();
    s.onDhcp(p3, buildDhcp({ type: 'discover', chaddr: A }), false);
    s.onDhcp(srv, ack(A, '10.9.0.5'), true);
    const garp = buildArp({ op: 2, sha: B, spa: '10.9.0.5', tpa: '10.9.0.5' });
    expect(s.onUnadmitted(p4, garp, B).reason).toBe('arp-spoof');
    expect(s.onUnadmitted(p4, buildArp({ op: 1, sha: A, ethSrc: B, spa: '0.0.0.0', tpa: '10.9.0.9' }), B).reason).toBe('arp-spoof');
    expect(s.onUnadmitted(p4, buildArp({ op: 1, sha: B, spa: '0.0.0.0', tpa: '10.9.0.9' }), B).reason).toBe('arp-ok');
    expect(s.onUnadmitted(p4, Buffer.from(garp).subarray(0, 30), B).reason).toBe('arp-malformed');
    expect(s.counters['arp-spoof']).toBe(2);
    expect(alerts.some((a) => a.type === 'dhcp-arp-spoof')).toBe(true);
    leases.stop();
  });

  it('a MAC seen on two ports at once (A → B → A) loses its lease and is refused on both for a while; a move (A → B) is not a conflict', () => {
    const { s, leases, alerts } = setup();
    s.onDhcp(p3, buildDhcp({ type: 'discover', chaddr: A }), false);
    s.onDhcp(srv, ack(A, '10.9.0.5'), true);
    // moves to port 4 and asks again: a roam
    expect(s.onDhcp(p4, buildDhcp({ type: 'request', chaddr: A, requestedIp: '10.9.0.5' }), false).forward).toBe(true);
    s.onDhcp(srv, ack(A, '10.9.0.5'), true);
    expect(leases.byMac(A)).toMatchObject({ port: 4 });
    // …and is seen on port 3 again while on 4: two places at once
    expect(s.onUnadmitted(p3, buildArp({ op: 1, sha: A, spa: '10.9.0.5', tpa: '10.9.0.1' }), A).reason).toBe('mac-conflict');
    expect(leases.byMac(A)).toBeUndefined();
    expect(s.onDhcp(p4, buildDhcp({ type: 'request', chaddr: A, requestedIp: '10.9.0.5' }), false).reason).toBe('mac-conflict');
    expect(alerts.some((a) => a.type === 'dhcp-mac-conflict')).toBe(true);
    expect(s.holds()).toEqual([{ mac: A, until: expect.any(Number) }]);
    // an admin releases it (DELETE /api/v1/sessions/holds/:mac): it may ask for a lease again, where it is now
    expect(s.release(A)).toBe(true);
    expect(s.holds()).toEqual([]);
    expect(s.onDhcp(p4, buildDhcp({ type: 'request', chaddr: A, requestedIp: '10.9.0.5' }), false).forward).toBe(true);
    expect(s.release(A)).toBe(false);
    leases.stop();
  });
});
