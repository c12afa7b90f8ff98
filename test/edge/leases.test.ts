import { describe, expect, it, vi } from 'vitest';
import { LeaseTable, type LeaseChange } from '../../edge/leases.js';

const A = '02:00:00:00:00:0a',
  B = '02:00:00:00:00:0b';

describe('LeaseTable', () => {
  it('add, renew, replace on another port (roaming), release; one change event each', () => {
    let now = 1_000_000;
    const t = new LeaseTable({ now: () => now });
    const ev: LeaseChange[] = [];
    t.on('change', (c) => ev.push(c));
    expect(t.add({ mac: A, ip: '10.9.0.5', switch: 'e1', port: 3, seconds: 60 }).ok).toBe(true);
    now += 1000;
    t.add({ mac: A, ip: '10.9.0.5', switch: 'e1', port: 3, seconds: 60 });
    t.add({ mac: A, ip: '10.9.0.5', switch: 'e2', port: 4, seconds: 60 });
    expect(ev.map((e) => e.kind)).toEqual(['added', 'renewed', 'replaced']);
    expect(t.byIp('10.9.0.5')).toMatchObject({ mac: A, switch: 'e2', port: 4 });
    expect(t.remove(A, 'release', '10.9.0.6')).toBeUndefined(); // another address: nothing
    expect(t.remove(A, 'release', '10.9.0.5')).toBeDefined();
    expect(t.size).toBe(0);
    expect(ev.at(-1)).toMatchObject({ kind: 'removed', reason: 'release' });
    t.stop();
  });

  it('a new lease of an address to another MAC removes the old holder in the same step', () => {
    const t = new LeaseTable();
    const ev: LeaseChange[] = [];
    t.add({ mac: A, ip: '10.9.0.5', switch: 'e1', port: 3 });
    t.on('change', (c) => ev.push(c));
    const r = t.add({ mac: B, ip: '10.9.0.5', switch: 'e1', port: 4 });
    expect(r.ok && r.removed.map((l) => l.mac)).toEqual([A]);
    expect(t.byMac(A)).toBeUndefined();
    expect(t.byIp('10.9.0.5')!.mac).toBe(B);
    expect(ev.map((e) => `${e.kind}:${e.lease.mac}:${e.reason ?? ''}`)).toEqual([`removed:${A}:reassigned`, `added:${B}:`]);
    t.stop();
  });

  it('expires on its own timer, when the lease ends and not before (the timer and clock moved by the test)', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    try {
      const t = new LeaseTable(); // its clock is Date.now, faked from here on
      const removed: LeaseChange[] = [];
      t.on('change', (c: LeaseChange) => {
        if (c.kind === 'removed') removed.push(c);
      });
      t.add({ mac: A, ip: '10.9.0.5', switch: 'e1', port: 3, seconds: 0.2 });
      vi.advanceTimersByTime(199);
      expect(removed).toEqual([]);
      expect(t.byMac(A)).toBeDefined();
      vi.advanceTimersByTime(1);
      expect(removed.map((c) => c.reason)).toEqual(['expired']);
      expect(t.byMac(A)).toBeUndefined();
      t.stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it('refuses bad values and a full table (fail closed); restore skips bad and expired entries', () => {
    const t = new LeaseTable({ maxLeases: 1 });
    expect(t.add({ mac: 'ff:ff:ff:ff:ff:ff', ip: '10.9.0.5', switch: 'e1', port: 3 })).toMatchObject({ ok: false, code: 'bad-lease' });
    expect(t.add({ mac: A, ip: '255.255.255.255', switch: 'e1', port: 3 })).toMatchObject({ ok: false, code: 'bad-lease' });
    expect(t.add({ mac: A, ip: '10.9.0.5', switch: 'e1', port: 0 })).toMatchObject({ ok: false, code: 'bad-lease' });
    expect(t.add({ mac: A, ip: '10.9.0.5', switch: 'e1', port: 3 }).ok).toBe(true);
    expect(t.add({ mac: B, ip: '10.9.0.6', switch: 'e1', port: 3 })).toMatchObject({ ok: false, code: 'table-full' });
    const u = new LeaseTable();
    const r = u.restore([
      { mac: A, ip: '10.9.0.5', switch: 'e1', port: 3, source: 'dhcp', expires: new Date(Date.now() + 60_000).toISOString() },
      { mac: B, ip: 'x', switch: 'e1', port: 3, source: 'dhcp' },
      { mac: B, ip: '10.9.0.7', switch: 'e1', port: 3, source: 'dhcp', expires: '2000-01-01T00:00:00Z' },
      'junk',
    ]);
    expect(r.kept).toBe(1);
    expect(r.dropped.map((d) => d.reason)).toEqual(['bad ip', 'expired', 'not an object']);
    t.stop();
    u.stop();
  });
});
