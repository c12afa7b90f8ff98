import { describe, expect, it } from 'vitest';
import { buildNd } from '../../edge/nd.js';
import { buildDhcpv6 } from '../../edge/dhcpv6.js';
import { Lease6Table } from '../../edge/leases6.js';
import { NdSnooper, type Nd6Context } from '../../edge/nd-snooping.js';
import type { PortRef } from '../../edge/snooping.js';

const A = '02:00:00:00:f5:0a',
  B = '02:00:00:00:f5:0b',
  SRV = '02:00:00:00:f5:01';
const p3 = { switch: 'e1', port: 3 },
  p4 = { switch: 'e1', port: 4 },
  srv = { switch: 'e1', port: 9 };
const T = '2001:db8:f5::a';

function setup(opts: { maxPerMac?: number; rate?: number } = {}) {
  let t = Date.parse('2026-12-02T12:00:00Z');
  const now = () => t;
  const timers: Array<() => void> = [];
  const leases = new Lease6Table({ now, maxPerMac: opts.maxPerMac });
  const s = new NdSnooper(leases, { now, rate: opts.rate ?? 1000, schedule: (fn) => timers.push(fn), lifetimeSeconds: 3600 });
  const alerts: Array<Record<string, unknown>> = [];
  s.on('alert', (a) => alerts.push(a));
  const admitted = new Map<string, PortRef>([
    [A, p3],
    [B, p4],
  ]);
  const owners = new Map<string, string>();
  const ctx: Nd6Context = { admittedAt: (m) => admitted.get(m), staticOwner: (ip) => owners.get(ip) };
  const fire = () => timers.splice(0).forEach((f) => f());
  return { leases, s, alerts, admitted, owners, ctx, fire, advance: (ms: number) => (t += ms) };
}
const dad = (mac: string, target = T) => buildNd({ type: 'ns', ethSrc: mac, target, nonce: true });
const na = (mac: string, target = T) => buildNd({ type: 'na', ethSrc: mac, target, lla: mac });

describe('ND/DAD snooping', () => {
  it('binds the probed address to the admitted MAC on its port once the DAD time passes without conflict', () => {
    const { s, leases, ctx, fire } = setup();
    expect(s.onNd(p3, dad(A), ctx)).toEqual({ forward: true, reason: 'pending' });
    expect(leases.byIp(T)).toBeUndefined(); // not before the DAD time
    fire();
    expect(leases.byIp(T)).toMatchObject({ mac: A, ip: T, switch: 'e1', port: 3, source: 'nd', expires: '2026-12-02T13:00:00.000Z' });
  });

  it('binds at once when the device announces the address (unsolicited NA), and the NA goes on', () => {
    const { s, leases, ctx } = setup();
    s.onNd(p3, dad(A, 'fe80::1234'), ctx);
    expect(s.onNd(p3, na(A, 'fe80::1234'), ctx)).toEqual({ forward: true, reason: 'learned' });
    expect(leases.byMac(A).map((l) => l.ip)).toEqual(['fe80::1234']);
  });

  it('learns nothing from a MAC not admitted on that port (before login, or from another port)', () => {
    const { s, leases, ctx, fire } = setup();
    expect(s.onNd(p4, dad(A), ctx)).toEqual({ forward: false, reason: 'not-admitted' });
    expect(s.onNd(p3, dad('02:00:00:00:f5:99'), ctx)).toEqual({ forward: false, reason: 'not-admitted' });
    fire();
    expect(leases.size).toBe(0);
  });

  it("refuses and alerts a probe for someone else's address (directory or learned); the probe goes on so the holder defends it", () => {
    const { s, leases, ctx, fire, owners, alerts } = setup();
    owners.set(T, B);
    expect(s.onNd(p3, dad(A), ctx)).toEqual({ forward: true, reason: 'conflict' });
    owners.clear();
    s.onNd(p4, dad(B, '2001:db8:f5::b'), ctx);
    fire();
    expect(s.onNd(p3, dad(A, '2001:db8:f5::b'), ctx).reason).toBe('conflict');
    fire();
    expect(leases.byIp('2001:db8:f5::b')?.mac).toBe(B);
    expect(leases.byIp(T)).toBeUndefined();
    expect(alerts.map((a) => a.type)).toEqual(['ipv6-conflict', 'ipv6-conflict']);
  });

  it('an advertisement from another device during the DAD time is a conflict: nothing is bound', () => {
    const { s, leases, ctx, fire, alerts } = setup();
    s.onNd(p3, dad(A), ctx);
    expect(s.onNd(p4, na(B), ctx)).toEqual({ forward: false, reason: 'dad-conflict' });
    fire();
    expect(leases.size).toBe(0);
    expect(alerts[0]).toMatchObject({ type: 'ipv6-dad-conflict', mac: A, inUseBy: B });
  });

  it('limits the addresses per MAC (pending probes count) and alerts', () => {
    const { s, leases, ctx, fire, alerts } = setup({ maxPerMac: 2 });
    expect(s.onNd(p3, dad(A, '2001:db8:f5::1'), ctx).reason).toBe('pending');
    expect(s.onNd(p3, dad(A, '2001:db8:f5::2'), ctx).reason).toBe('pending');
    expect(s.onNd(p3, dad(A, '2001:db8:f5::3'), ctx)).toEqual({ forward: false, reason: 'too-many' });
    fire();
    expect(leases.byMac(A)).toHaveLength(2);
    expect(s.onNd(p3, dad(A, '2001:db8:f5::3'), ctx).reason).toBe('too-many');
    expect(alerts.some((a) => a.type === 'ipv6-too-many')).toBe(true);
  });

  it('ND-learned addresses expire after their lifetime; a new probe on the same port renews', () => {
    const { s, leases, ctx, fire, advance } = setup();
    s.onNd(p3, dad(A), ctx);
    fire();
    advance(1800_000);
    expect(s.onNd(p3, dad(A), ctx).reason).toBe('renewed');
    advance(3000_000);
    expect(leases.expire()).toHaveLength(0);
    advance(700_000);
    expect(leases.expire().map((l) => l.ip)).toEqual([T]);
    expect(leases.size).toBe(0);
  });

  it('a MAC learned on another port moves all its addresses in one step', () => {
    const { s, leases, ctx, fire, admitted } = setup();
    s.onNd(p3, dad(A, '2001:db8:f5::1'), ctx);
    s.onNd(p3, dad(A, '2001:db8:f5::2'), ctx);
    fire();
    admitted.set(A, p4);
    s.onNd(p4, dad(A, '2001:db8:f5::3'), ctx);
    fire();
    expect(leases.byMac(A).map((l) => `${l.ip}@${l.port}`)).toEqual(['2001:db8:f5::3@4']);
  });
});

describe('DHCPv6 snooping', () => {
  const reply = (mac: string, addresses: Array<{ ip: string; valid: number }>) =>
    buildDhcpv6({ type: 'reply', ethSrc: SRV, ethDst: mac, ipSrc: 'fe80::1', ipDst: 'fe80::2', clientMac: mac, addresses });
  const release = (mac: string, ip: string) =>
    buildDhcpv6({
      type: 'release',
      ethSrc: mac,
      ethDst: '33:33:00:01:00:02',
      ipSrc: 'fe80::2',
      ipDst: 'ff02::1:2',
      clientMac: mac,
      addresses: [{ ip, valid: 0 }],
    });

  it("binds a trusted server's IA_NA addresses to the client on the port where it is admitted; valid 0 withdraws", () => {
    const { s, leases, ctx } = setup();
    expect(s.onDhcpv6(srv, reply(A, [{ ip: '2001:db8:f5::100', valid: 600 }]), true, ctx)).toEqual({ forward: false, reason: 'lease' });
    expect(leases.byIp('2001:db8:f5::100')).toMatchObject({
      mac: A,
      switch: 'e1',
      port: 3,
      source: 'dhcpv6',
      expires: '2026-12-02T12:10:00.000Z',
    });
    s.onDhcpv6(srv, reply(A, [{ ip: '2001:db8:f5::100', valid: 0 }]), true, ctx);
    expect(leases.size).toBe(0);
  });

  it("a client's release from its own port ends the address; from another port it is refused", () => {
    const { s, leases, ctx, alerts } = setup();
    s.onDhcpv6(srv, reply(A, [{ ip: '2001:db8:f5::100', valid: 600 }]), true, ctx);
    expect(s.onDhcpv6(p4, release(A, '2001:db8:f5::100'), false, ctx)).toEqual({ forward: false, reason: 'release-elsewhere' });
    expect(leases.size).toBe(1);
    expect(s.onDhcpv6(p3, release(A, '2001:db8:f5::100'), false, ctx)).toEqual({ forward: true, reason: 'client' });
    expect(leases.size).toBe(0);
    expect(alerts.map((a) => a.type)).toEqual(['ipv6-release-elsewhere']);
  });

  it('never takes an ND-learned or directory address for another client', () => {
    const { s, leases, ctx, fire, owners } = setup();
    s.onNd(p4, dad(B), ctx);
    fire();
    owners.set('2001:db8:f5::77', B);
    expect(
      s.onDhcpv6(
        srv,
        reply(A, [
          { ip: T, valid: 600 },
          { ip: '2001:db8:f5::77', valid: 600 },
        ]),
        true,
        ctx,
      ).reason,
    ).toBe('lease-refused');
    expect(leases.byIp(T)?.mac).toBe(B);
    expect(leases.byMac(A)).toEqual([]);
  });
});
