/**
 * The shared base of the edge's binding tables (edge/binding-table.ts): what every family gets from it, checked
 * on each of the three (sessions by id, IPv4 leases by MAC, IPv6 addresses by address).
 */
import { describe, expect, it } from 'vitest';
import { SessionTable, type SessionChange } from '../../edge/sessions.js';
import { LeaseTable, checkLease, type LeaseChange } from '../../edge/leases.js';
import { Lease6Table, checkLease6 } from '../../edge/leases6.js';

const A = '02:00:00:00:00:0a',
  B = '02:00:00:00:00:0b';
const inMs = (ms: number): string => new Date(Date.now() + ms).toISOString();
const removedWithin = <C extends { kind: string }>(t: { on(e: 'change', f: (c: C) => void): unknown }, ms: number): Promise<C[]> => {
  const out: C[] = [];
  t.on('change', (c) => {
    if (c.kind === 'removed') out.push(c);
  });
  return new Promise((res) => setTimeout(() => res(out), ms));
};

describe('BindingTable (shared by sessions, IPv4 leases, IPv6 addresses)', () => {
  it('removing the record the timer was set for does not lose the expiry of the next one', async () => {
    const t = new SessionTable();
    const a = t.add({ switch: 'e1', port: 1, method: 'mab', mac: A, deviceGroup: 'g', expires: inMs(40) });
    t.add({ switch: 'e1', port: 2, method: 'mab', mac: B, deviceGroup: 'g', expires: inMs(150) });
    if (!a.ok) throw new Error(a.message);
    t.remove(a.session.id, 'admin');
    const ended = await removedWithin<SessionChange>(t, 1500);
    expect(ended.map((c) => [c.session.mac, c.reason, c.by])).toEqual([[B, 'expired', 'timer']]);
    expect(t.size).toBe(0);
    t.stop();
  });

  it('IPv4 and IPv6 leases expire on the same timer rules; removeWhere ends each match once with its reason', async () => {
    const v4 = new LeaseTable();
    const v6 = new Lease6Table();
    v4.add({ mac: A, ip: '10.1.0.1', switch: 'e1', port: 1, seconds: 0.05 });
    v4.add({ mac: B, ip: '10.1.0.2', switch: 'e1', port: 2, seconds: 60 });
    v6.add({ mac: A, ip: '2001:db8::1', switch: 'e1', port: 1, seconds: 0.05, source: 'nd' });
    v6.add({ mac: A, ip: '2001:db8::2', switch: 'e1', port: 1, seconds: 60, source: 'nd' });
    const [e4, e6] = await Promise.all([removedWithin<LeaseChange>(v4, 1500), removedWithin<LeaseChange>(v6, 1500)]);
    expect(e4.map((c) => [c.lease.ip, c.reason])).toEqual([['10.1.0.1', 'expired']]);
    expect(e6.map((c) => [c.lease.ip, c.reason])).toEqual([['2001:db8::1', 'expired']]);
    expect(v4.removeWhere((l) => l.port === 2, 'port-down')).toBe(1);
    expect(v6.removeWhere((l) => l.mac === A, 'port-down')).toBe(1);
    expect(v4.size + v6.size).toBe(0);
    expect(v4.version).toBeGreaterThan(0);
    v4.stop();
    v6.stop();
  });

  it('restore: a non-list is one error naming the records; the indexes stay one-to-one when a file repeats an id', () => {
    expect(new LeaseTable().restore({}).dropped).toEqual([{ index: -1, reason: 'leases is not a list' }]);
    expect(new Lease6Table().restore(7).dropped).toEqual([{ index: -1, reason: 'leases is not a list' }]);
    expect(new SessionTable().restore('x').dropped).toEqual([{ index: -1, reason: 'sessions is not a list' }]);
    const t = new SessionTable();
    const s = { switch: 'e1', port: 1, method: 'mab', deviceGroup: 'g', since: new Date().toISOString() };
    const r = t.restore([
      { ...s, id: 'same', mac: A },
      { ...s, id: 'same', mac: B },
    ]);
    expect(r.kept).toBe(1);
    expect(t.byMac(A)).toBeUndefined();
    expect(t.byMac(B)!.id).toBe('same');
    t.stop();
  });

  it('both lease families check the common fields alike; each keeps its own address and source rules', () => {
    const l = { mac: A, switch: 'e1', port: 3, expires: inMs(1000) };
    expect(checkLease({ ...l, ip: '10.0.0.1', source: 'dhcp' })).toBeUndefined();
    expect(checkLease6({ ...l, ip: '2001:db8::1', source: 'nd' })).toBeUndefined();
    for (const [field, value, message] of [
      ['mac', '01:00:00:00:00:01', 'not a unicast mac'],
      ['mac', 'AA:BB', 'bad mac'],
      ['switch', '', 'bad switch'],
      ['port', 0, 'bad port'],
      ['expires', 'soon', 'bad expires'],
    ] as const) {
      expect(checkLease({ ...l, ip: '10.0.0.1', source: 'dhcp', [field]: value })).toBe(message);
      expect(checkLease6({ ...l, ip: '2001:db8::1', source: 'nd', [field]: value })).toBe(message);
    }
    expect(checkLease({ ...l, ip: '127.0.0.1', source: 'dhcp' })).toBe('not a unicast host address');
    expect(checkLease6({ ...l, ip: 'ff02::1', source: 'nd' })).toBe('not a unicast address');
    expect(checkLease6({ ...l, ip: '10.0.0.1', source: 'nd' })).toBe('bad ip');
    expect(checkLease6({ ...l, ip: '2001:db8::1', source: 'dhcp' })).toBe('bad source');
  });
});
