/**
 * EdgeFold (edge/edge-fold.ts) keeps the edge folded into the directory per changed MAC. Whatever it does
 * incrementally must equal applyEdge over the whole state: random logins (known users, unknown users, device
 * groups, a MAC listed as another user's device), re-authentications with new ids, moves, logoffs, leases and
 * directory changes, checked after every step; both the incremental step and the full fold must be exercised.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EdgeFold } from '../../edge/edge-fold.js';
import { applyEdge } from '../../compiler/edge.js';
import type { AddressLease, Directory, EdgeSession } from '../../compiler/model.js';

const MACS = ['02:00:00:00:00:01', '02:00:00:00:00:02', '02:00:00:00:00:03', '02:00:00:00:00:04', '02:00:00:00:00:05'];
const directory: Directory = {
  organizations: [{ name: 'corp' }],
  roles: ['staff', 'admin'],
  users: [
    { id: 'alice', organization: 'corp', roles: ['staff'], devices: [{ mac: MACS[0], ip: '10.1.0.1' }] },
    { id: 'bob', organization: 'corp', roles: ['staff'], devices: [] },
    { id: 'carol', organization: 'corp', roles: ['admin'], devices: [{ mac: MACS[2] }, { mac: MACS[3], ip: '10.1.0.4' }] },
  ],
} as unknown as Directory;

const step = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('login' as const),
      mac: fc.constantFrom(...MACS),
      user: fc.constantFrom('alice', 'bob', 'carol', 'mallory', undefined),
      port: fc.integer({ min: 1, max: 3 }),
      ip: fc.constantFrom(undefined, '10.1.0.9', '10.1.0.1'),
      keepId: fc.boolean(),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('logoff' as const), mac: fc.constantFrom(...MACS) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('lease' as const),
      mac: fc.constantFrom(...MACS),
      ip: fc.constantFrom('10.1.0.7', '10.1.0.8'),
      port: fc.integer({ min: 1, max: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('release' as const), mac: fc.constantFrom(...MACS) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('directory' as const), drop: fc.boolean() }) },
);
type Step = typeof step extends fc.Arbitrary<infer T> ? T : never;

function run(steps: Step[], tally: { incremental: number; full: number }): void {
  const fold = new EdgeFold();
  const sessions = new Map<string, EdgeSession>();
  let leases: AddressLease[] = [];
  let leaseVersion = 0;
  let dir = directory;
  let n = 0;
  const state = () => ({ sessions: [...sessions.values()], leases });
  fold.full(dir, state(), leaseVersion);
  for (const s of steps) {
    const dirty = new Set<string>();
    if (s.kind === 'login') {
      const was = sessions.get(s.mac);
      sessions.set(s.mac, {
        id: s.keepId && was ? was.id : `s${(n++ * 7919) % 1000}`, // ids in no particular order
        mac: s.mac,
        switch: 'edge1',
        port: s.port,
        method: 'dot1x',
        since: '2026-12-02T00:00:00Z',
        ...(s.ip ? { ip: s.ip } : {}),
        ...(s.user ? { user: s.user } : { deviceGroup: 'printers' }),
      });
      dirty.add(s.mac);
    } else if (s.kind === 'logoff') {
      if (sessions.delete(s.mac)) dirty.add(s.mac);
    } else if (s.kind === 'lease') {
      leases = [
        ...leases.filter((l) => l.mac !== s.mac && l.ip !== s.ip),
        { mac: s.mac, ip: s.ip, switch: 'edge1', port: s.port, source: 'dhcp' },
      ];
      leaseVersion++;
    } else if (s.kind === 'release') {
      leases = leases.filter((l) => l.mac !== s.mac);
      leaseVersion++;
    } else dir = { ...dir, users: s.drop ? dir.users.filter((u) => u.id !== 'bob') : directory.users };
    const inc = fold.update(dir, leaseVersion, dirty, (mac) => sessions.get(mac));
    if (inc) tally.incremental++;
    else tally.full++;
    const got = inc ?? fold.full(dir, state(), leaseVersion);
    const want = applyEdge(dir, state());
    expect(got.out.directory).toEqual(want.directory);
    expect(got.out.bindings).toEqual(want.bindings);
    // the MACs it reports are exactly those whose binding in force changed, with the new one
    if (inc) for (const [mac, b] of inc.changed!) expect(b).toEqual(want.bindings.filter((x) => x.mac === mac).at(-1));
  }
}

describe('EdgeFold: the edge folded in per changed MAC', () => {
  it('equals applyEdge after every random login, logoff, move, lease and directory change', () => {
    const tally = { incremental: 0, full: 0 };
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 25 }), (steps) => run(steps, tally)),
      { numRuns: 300 },
    );
    expect(tally.incremental).toBeGreaterThan(1000);
    expect(tally.full).toBeGreaterThan(100);
  });

  it('leaves every user whose sessions did not change the same object (what lets the compiler skip them)', () => {
    const fold = new EdgeFold();
    const s1: EdgeSession = { id: 'a', mac: MACS[1], switch: 'edge1', port: 1, method: 'dot1x', since: 'x', user: 'bob' };
    const first = fold.full(directory, { sessions: [s1], leases: [] }, 0);
    const s2: EdgeSession = { id: 'b', mac: MACS[4], switch: 'edge1', port: 2, method: 'mab', since: 'x', deviceGroup: 'printers' };
    const next = fold.update(directory, 0, [MACS[4]], (m) => (m === MACS[4] ? s2 : m === MACS[1] ? s1 : undefined));
    expect(next).toBeDefined();
    expect(next!.out.directory.users.slice(0, 3)).toEqual(first.out.directory.users.slice(0, 3));
    next!.out.directory.users.slice(0, 3).forEach((u, i) => expect(u).toBe(first.out.directory.users[i]));
    expect(next!.out.directory.users[3].id).toBe(`device:${MACS[4]}`);
    expect([...next!.changed!.keys()]).toEqual([MACS[4]]);
    // a session of a MAC that holds a lease: only the full fold can tell
    fold.full(directory, { sessions: [s1], leases: [{ mac: MACS[4], ip: '10.1.0.7', switch: 'edge1', port: 2, source: 'dhcp' }] }, 1);
    expect(fold.update(directory, 1, [MACS[4]], () => s2)).toBeUndefined();
  });
});
