import { describe, expect, it } from 'vitest';
import { applyEdge, deviceUserId, unauthenticatedUserId } from '../../compiler/edge.js';
import type { Directory, EdgeState } from '../../compiler/model.js';

const dir: Directory = {
  source: 'test',
  organizations: [{ name: 'finance' }],
  users: [
    { id: 'alice', name: 'Alice', organization: 'finance', roles: ['employee'], devices: [{ mac: '02:00:00:00:00:01', ip: '10.0.0.1' }] },
    { id: 'bob', name: 'Bob', roles: [], devices: [] },
  ],
};
const s = (id: string, mac: string, user?: string, deviceGroup?: string) => ({
  id,
  mac,
  switch: 'edge1',
  port: 3,
  method: 'dot1x' as const,
  user,
  deviceGroup,
  since: '2026-12-02T00:00:00Z',
});

describe('applyEdge', () => {
  it('a session adds its MAC to its user, bound to the port, with the address leased there', () => {
    const edge: EdgeState = {
      sessions: [s('a', '02:00:00:00:00:0b', 'bob')],
      leases: [{ mac: '02:00:00:00:00:0b', ip: '10.0.9.9', switch: 'edge1', port: 3, source: 'dhcp' }],
    };
    const r = applyEdge(dir, edge);
    expect(r.directory.users.find((u) => u.id === 'bob')!.devices).toEqual([{ mac: '02:00:00:00:00:0b', ip: '10.0.9.9' }]);
    expect(r.bindings).toEqual([{ mac: '02:00:00:00:00:0b', ip: '10.0.9.9', switch: 'edge1', port: 3, learned: true }]);
  });
  it('a lease on another port: the device has moved there (unauthenticated until it logs in there); an unknown user admits nothing', () => {
    const r = applyEdge(dir, {
      sessions: [s('a', '02:00:00:00:00:0b', 'bob'), s('b', '02:00:00:00:00:0c', 'mallory')],
      leases: [{ mac: '02:00:00:00:00:0b', ip: '10.0.9.9', switch: 'edge1', port: 4, source: 'dhcp' }],
    });
    expect(r.directory.users.find((u) => u.id === 'bob')!.devices).toEqual([]);
    expect(r.bindings).toEqual([{ mac: '02:00:00:00:00:0b', ip: '10.0.9.9', switch: 'edge1', port: 4, learned: true }]);
    expect(r.directory.users.find((u) => u.id === unauthenticatedUserId('02:00:00:00:00:0b'))!.roles).toEqual(['unauthenticated']);
    expect(r.directory.users.some((u) => u.id === 'mallory')).toBe(false);
  });
  it('a lease without a session: the built-in role unauthenticated, bound where the lease was seen', () => {
    const r = applyEdge(dir, {
      sessions: [],
      leases: [{ mac: '02:00:00:00:00:0d', ip: '10.0.9.10', switch: 'edge2', port: 7, source: 'dhcp' }],
    });
    const u = r.directory.users.find((x) => x.id === unauthenticatedUserId('02:00:00:00:00:0d'))!;
    expect(u.roles).toEqual(['unauthenticated']);
    expect(u.devices).toEqual([{ mac: '02:00:00:00:00:0d', ip: '10.0.9.10' }]);
    expect(r.bindings).toEqual([{ mac: '02:00:00:00:00:0d', ip: '10.0.9.10', switch: 'edge2', port: 7, learned: true }]);
  });
  it('a lease of an address the directory gives another device is ignored (fail closed)', () => {
    const r = applyEdge(dir, {
      sessions: [s('a', '02:00:00:00:00:0b', 'bob')],
      leases: [
        { mac: '02:00:00:00:00:0b', ip: '10.0.0.1', switch: 'edge1', port: 3, source: 'dhcp' },
        { mac: '02:00:00:00:00:0e', ip: '10.0.0.1', switch: 'edge1', port: 5, source: 'dhcp' },
      ],
    });
    expect(r.directory.users.find((u) => u.id === 'bob')!.devices).toEqual([{ mac: '02:00:00:00:00:0b' }]);
    expect(r.bindings.map((b) => b.ip)).toEqual([undefined]);
  });
  it('a static address is kept; a device group becomes a synthetic user holding the group as a role', () => {
    const r = applyEdge(dir, {
      sessions: [s('a', '02:00:00:00:00:01', 'alice'), s('p', '02:00:00:00:00:99', undefined, 'printers')],
      leases: [],
    });
    expect(r.directory.users.find((u) => u.id === 'alice')!.devices).toEqual([{ mac: '02:00:00:00:00:01', ip: '10.0.0.1' }]);
    const printer = r.directory.users.find((u) => u.id === deviceUserId('02:00:00:00:00:99'))!;
    expect(printer.roles).toEqual(['printers']);
  });
  it('no sessions: the directory is returned as it is', () => {
    expect(applyEdge(dir, { sessions: [], leases: [] }).directory).toBe(dir);
  });
});
