import { describe, expect, it } from 'vitest';
import { SessionTable, checkSession, type SessionChange } from '../../edge/sessions.js';
import { applyEdge } from '../../compiler/edge.js';

const base = { switch: 'edge1', port: 3, method: 'dot1x' as const };

describe('SessionTable', () => {
  it('adds, lists, finds by MAC/port/user, removes, with one change event each', () => {
    const t = new SessionTable();
    const seen: SessionChange[] = [];
    t.on('change', (c) => seen.push(c));
    const a = t.add({ ...base, mac: '02:00:00:00:00:01', user: 'alice' });
    const b = t.add({ ...base, mac: '02:00:00:00:00:02', user: 'bob' });
    expect(a.ok && b.ok).toBe(true);
    expect(t.size).toBe(2);
    expect(
      t
        .byPort('edge1', 3)
        .map((s) => s.user)
        .sort(),
    ).toEqual(['alice', 'bob']);
    expect(t.byMac('02:00:00:00:00:02')!.user).toBe('bob');
    expect(t.byUser('alice')).toHaveLength(1);
    const id = a.ok ? a.session.id : '';
    expect(t.remove(id, 'logoff', 'test')).toBe(true);
    expect(t.remove(id, 'logoff')).toBe(false);
    expect(seen.map((c) => c.kind)).toEqual(['added', 'added', 'removed']);
    expect(seen[2].reason).toBe('logoff');
    t.stop();
  });

  it('a second session for the same MAC replaces the first in one step (re-auth keeps the id; roaming moves it)', () => {
    const t = new SessionTable();
    const seen: SessionChange[] = [];
    t.on('change', (c) => seen.push(c));
    const a = t.add({ ...base, mac: '02:00:00:00:00:01', user: 'alice' });
    if (!a.ok) throw new Error('add failed');
    const moved = t.add({ ...base, port: 7, mac: '02:00:00:00:00:01', user: 'alice' });
    expect(moved.ok && moved.replaced?.id).toBe(a.session.id);
    expect(t.size).toBe(1);
    expect(t.byPort('edge1', 3)).toEqual([]);
    expect(t.byPort('edge1', 7)).toHaveLength(1);
    expect(seen.map((c) => c.kind)).toEqual(['added', 'replaced']);
    const cur = t.byMac('02:00:00:00:00:01')!;
    const renewed = t.add({ ...cur, expires: new Date(Date.now() + 60_000).toISOString() });
    expect(renewed.ok && renewed.session.id).toBe(cur.id);
    expect(t.size).toBe(1);
    t.stop();
  });

  it('byPort follows adds, moves, removals and restores (an index, not a scan)', () => {
    const t = new SessionTable();
    const macs = Array.from({ length: 6 }, (_, i) => `02:00:00:00:01:0${i}`);
    for (const [i, mac] of macs.entries()) t.add({ ...base, port: 1 + (i % 2), mac, user: `u${i}` });
    expect(t.byPort('edge1', 1).map((s) => s.mac)).toEqual([macs[0], macs[2], macs[4]]);
    t.add({ ...base, port: 2, mac: macs[0], user: 'u0' }); // moves to port 2
    expect(t.byPort('edge1', 1).map((s) => s.mac)).toEqual([macs[2], macs[4]]);
    expect(t.byPort('edge1', 2)).toHaveLength(4);
    t.removeWhere((s) => s.port === 2, 'port-down');
    expect(t.byPort('edge1', 2)).toEqual([]);
    expect(t.byPort('edge2', 1)).toEqual([]);
    const u = new SessionTable();
    u.restore(t.snapshot());
    expect(u.byPort('edge1', 1).map((s) => s.mac)).toEqual([macs[2], macs[4]]);
    t.stop();
    u.stop();
  });

  it('refuses malformed sessions with a reason and never stores them', () => {
    const t = new SessionTable();
    for (const bad of [
      { ...base, mac: 'nope', user: 'a' },
      { ...base, mac: '02:00:00:00:00:01' }, // neither user nor group
      { ...base, mac: '02:00:00:00:00:01', user: 'a', port: 0 },
      { ...base, mac: '02:00:00:00:00:01', user: 'a', method: 'magic' as 'dot1x' },
      { ...base, mac: '02:00:00:00:00:01', user: 'a', expires: 'tomorrow' },
      { ...base, mac: '02:00:00:00:00:01', user: 'a', ip: '10.0.0.256' },
    ]) {
      const r = t.add(bad);
      expect(r.ok).toBe(false);
    }
    expect(t.size).toBe(0);
    expect(checkSession(null)).toBe('not an object');
    t.stop();
  });

  it('expires sessions by their own timer', async () => {
    const t = new SessionTable();
    const ended: SessionChange[] = [];
    t.on('change', (c) => {
      if (c.kind === 'removed') ended.push(c);
    });
    t.add({ ...base, mac: '02:00:00:00:00:01', user: 'alice', expires: new Date(Date.now() + 80).toISOString() });
    t.add({ ...base, mac: '02:00:00:00:00:02', user: 'bob', expires: new Date(Date.now() + 60_000).toISOString() });
    await new Promise((r) => setTimeout(r, 250));
    expect(ended.map((c) => [c.session.user, c.reason])).toEqual([['alice', 'expired']]);
    expect(t.size).toBe(1);
    t.stop();
  });

  it('a table is bounded: beyond maxSessions a new MAC is refused (a known MAC is still replaced)', () => {
    const t = new SessionTable({ maxSessions: 2 });
    t.add({ ...base, mac: '02:00:00:00:00:01', user: 'a' });
    t.add({ ...base, mac: '02:00:00:00:00:02', user: 'b' });
    const r = t.add({ ...base, mac: '02:00:00:00:00:03', user: 'c' });
    expect(r.ok ? 'ok' : r.code).toBe('table-full');
    expect(t.add({ ...base, mac: '02:00:00:00:00:02', user: 'c' }).ok).toBe(true);
    t.stop();
  });

  it('snapshot/restore round-trips; restore skips malformed and expired entries', () => {
    const t = new SessionTable();
    t.add({ ...base, mac: '02:00:00:00:00:01', user: 'alice', attributes: { Class: 'x' } });
    t.add({ ...base, mac: '02:00:00:00:00:02', deviceGroup: 'printers', method: 'mab', ip: '10.0.5.5' });
    const snap = JSON.parse(JSON.stringify(t.snapshot()));
    const u = new SessionTable();
    const r = u.restore([
      ...snap,
      { id: 'x', mac: 'bad' },
      'junk',
      { ...snap[0], id: 'old', mac: '02:00:00:00:00:09', expires: '2000-01-01T00:00:00Z' },
    ]);
    expect(r.kept).toBe(2);
    expect(r.dropped.map((d) => d.reason)).toEqual(['bad mac (lower-case aa:bb:cc:dd:ee:ff)', 'not an object', 'expired']);
    expect(u.list()).toEqual(t.list());
    expect(u.restore('nonsense').dropped).toHaveLength(1);
    t.stop();
    u.stop();
  });
});

describe('applyEdge with sessions from the table', () => {
  it("a session address (Framed-IP) is used when no lease is known; a MAC admitted for one user leaves another user's devices", () => {
    const dir = {
      source: 't',
      organizations: [],
      users: [
        { id: 'alice', name: 'A', roles: ['r'], devices: [{ mac: '02:00:00:00:00:01', ip: '10.0.0.1' }] },
        { id: 'bob', name: 'B', roles: ['r'], devices: [] },
      ],
    };
    const t = new SessionTable();
    t.add({ ...base, mac: '02:00:00:00:00:01', user: 'bob', ip: '10.0.0.7' });
    const r = applyEdge(dir, { sessions: t.list(), leases: [] });
    expect(r.directory.users.find((u) => u.id === 'alice')!.devices).toEqual([]);
    expect(r.directory.users.find((u) => u.id === 'bob')!.devices).toEqual([{ mac: '02:00:00:00:00:01', ip: '10.0.0.7' }]);
    expect(r.bindings).toEqual([{ mac: '02:00:00:00:00:01', ip: '10.0.0.7', switch: 'edge1', port: 3, learned: true }]);
    t.stop();
  });
});
