/**
 * Folding the edge (login sessions, learned addresses) into the values the compiler already takes: a session
 * makes its MAC one of its user's devices, bound to the session's switch port; a lease gives that device its
 * address. Pure: values in, values out.
 */
import type { Binding, Directory, EdgeState, User } from './model.js';

/** Synthetic user id for an ownerless device in a device group (MAB printers, cameras). */
export const deviceUserId = (mac: string) => `device:${mac}`;

export interface EdgeApplied {
  readonly directory: Directory;
  /** One binding per admitted MAC (switch:port, and its leased address where one is known). */
  readonly bindings: readonly Binding[];
}

/**
 * Sessions whose user is not in the directory admit nothing (fail closed). A lease counts only for a MAC admitted
 * by a session on the same switch port. A device already listed in the directory keeps its static address
 * unless it has none.
 */
export function applyEdge(directory: Directory, edge: EdgeState): EdgeApplied {
  if (edge.sessions.length === 0) return { directory, bindings: [] };
  const leaseOf = new Map<string, string>();
  for (const l of edge.leases) leaseOf.set(`${l.mac}@${l.switch}:${l.port}`, l.ip);
  const byUser = new Map<string, Array<{ mac: string; ip?: string }>>();
  const groupDevices: User[] = [];
  const bindings: Binding[] = [];
  const known = new Set(directory.users.map((u) => u.id));
  const sorted = [...edge.sessions].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const s of sorted) {
    const ip = leaseOf.get(`${s.mac}@${s.switch}:${s.port}`) ?? s.ip;
    if (s.user !== undefined) {
      if (!known.has(s.user)) continue;
      const list = byUser.get(s.user) ?? [];
      list.push({ mac: s.mac, ip });
      byUser.set(s.user, list);
    } else if (s.deviceGroup !== undefined) {
      groupDevices.push({ id: deviceUserId(s.mac), name: s.mac, roles: [s.deviceGroup], devices: [{ mac: s.mac, ip }] });
    } else continue;
    bindings.push({ mac: s.mac, ip, switch: s.switch, port: s.port, learned: true });
  }
  // A MAC admitted by a session acts for that session's user (or device group) only: it leaves any other
  // user's device list (with the address pinned there), so one MAC never lands in two classes.
  const admitted = new Map<string, string>();
  for (const s of sorted) if (s.user !== undefined ? known.has(s.user) : s.deviceGroup !== undefined) admitted.set(s.mac, s.user ?? '');
  const users = directory.users.map((u) => {
    const extra = byUser.get(u.id);
    const foreign = u.devices.some((d) => admitted.has(d.mac) && admitted.get(d.mac) !== u.id);
    if (!extra && !foreign) return u;
    const devices = foreign ? u.devices.filter((d) => !admitted.has(d.mac) || admitted.get(d.mac) === u.id) : [...u.devices];
    if (!extra) return { ...u, devices };
    for (const d of extra) {
      const i = devices.findIndex((x) => x.mac === d.mac);
      if (i < 0) devices.push(d.ip ? { mac: d.mac, ip: d.ip } : { mac: d.mac });
      else if (!devices[i].ip && d.ip) devices[i] = { mac: d.mac, ip: d.ip };
    }
    return { ...u, devices };
  });
  return { directory: { ...directory, users: [...users, ...groupDevices] }, bindings };
}
