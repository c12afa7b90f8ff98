/**
 * Folding the edge (login sessions, learned addresses) into the values the compiler already takes: a session
 * makes its MAC one of its user's devices, bound to the session's switch port; a lease gives that device its
 * address. Pure: values in, values out.
 */
import type { AddressLease, Binding, Directory, EdgeState, Topology, User } from './model.js';
import { UNAUTHENTICATED_ROLE } from './first-contact.js';

/** Synthetic user id for an ownerless device in a device group (MAB printers, cameras). */
export const deviceUserId = (mac: string) => `device:${mac}`;
/** Synthetic user id for a device that holds an address but has not logged in (role `unauthenticated`). */
export const unauthenticatedUserId = (mac: string) => `unauthenticated:${mac}`;

/** Whether a directory device leaves user `uid`: it is unauthenticated here, or logged in for someone else. */
function isOut(mac: string, uid: string, unauth: ReadonlySet<string>, admitted: ReadonlyMap<string, string>): boolean {
  if (unauth.has(mac)) return true;
  const a = admitted.get(mac);
  return a !== undefined && a !== uid;
}

/**
 * One directory user with the edge folded in: its devices minus those that left it (unauthenticated here, or
 * logged in for someone else), plus the MACs its sessions admit (`extra`, in session-id order). The user itself
 * when nothing changes.
 */
export function foldUser(
  u: User,
  extra: ReadonlyArray<{ readonly mac: string; readonly ip?: string }> | undefined,
  unauth: ReadonlySet<string>,
  admitted: ReadonlyMap<string, string>,
): User {
  let foreign = false;
  if (unauth.size || admitted.size)
    for (const d of u.devices)
      if (isOut(d.mac, u.id, unauth, admitted)) {
        foreign = true;
        break;
      }
  if (!extra && !foreign) return u;
  const devices = foreign ? u.devices.filter((d) => !isOut(d.mac, u.id, unauth, admitted)) : [...u.devices];
  if (!extra) return { ...u, devices };
  for (const d of extra) {
    let i = 0;
    while (i < devices.length && devices[i].mac !== d.mac) i++;
    if (i === devices.length) devices.push(d.ip ? { mac: d.mac, ip: d.ip } : { mac: d.mac });
    else if (!devices[i].ip && d.ip) devices[i] = { mac: d.mac, ip: d.ip };
  }
  return { ...u, devices };
}

export interface EdgeApplied {
  readonly directory: Directory;
  /** One binding per admitted MAC (switch:port, and its leased address where one is known). */
  readonly bindings: readonly Binding[];
}

/**
 * Sessions whose user is not in the directory admit nothing (fail closed). A lease counts for a MAC admitted
 * by a session on the same switch port; a lease without one makes the MAC `unauthenticated` there (it leaves
 * any directory user's devices: fail closed until it logs in). A device already listed in the directory keeps its static address
 * unless it has none.
 */
export function applyEdge(directory: Directory, edge: EdgeState): EdgeApplied {
  // IPv6 leases (DHCPv6, ND snooping) never admit a device by themselves: they join the binding of a device
  // admitted on the same port afterwards (withLearnedIpv6)
  if (edge.leases.some((l) => l.ip.includes(':'))) edge = { ...edge, leases: edge.leases.filter((l) => !l.ip.includes(':')) };
  if (edge.sessions.length === 0 && edge.leases.length === 0) return { directory, bindings: [] };
  // An address written in the directory for another device is never taken by a lease (fail closed).
  const staticIp = new Map<string, string>();
  for (const u of directory.users) for (const d of u.devices) if (d.ip) staticIp.set(d.ip, d.mac);
  const leaseOf = new Map<string, string>();
  for (const l of edge.leases) {
    const owner = staticIp.get(l.ip);
    if (owner === undefined || owner === l.mac) leaseOf.set(`${l.mac}@${l.switch}:${l.port}`, l.ip);
  }
  const byUser = new Map<string, Array<{ mac: string; ip?: string }>>();
  const groupDevices: User[] = [];
  const bindings: Binding[] = [];
  const known = new Set(directory.users.map((u) => u.id));
  const inSession = new Set<string>();
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
    inSession.add(s.mac);
  }
  // A device that holds an address on a port where no session admits it: the built-in role `unauthenticated`
  // (DHCP, DNS, the sign-in page — whatever the policy's `unauthenticated:` grants). A MAC whose session is on
  // another port has moved: its lease here wins, the session there admits nothing until it is renewed here.
  const sessionAt = new Map<string, string>();
  const unauth = new Set<string>();
  for (const s of sorted) sessionAt.set(s.mac, `${s.switch}:${s.port}`);
  for (const l of [...edge.leases].sort((a, b) => (a.mac < b.mac ? -1 : a.mac > b.mac ? 1 : 0))) {
    if (!leaseOf.has(`${l.mac}@${l.switch}:${l.port}`)) continue;
    if (inSession.has(l.mac) && sessionAt.get(l.mac) === `${l.switch}:${l.port}`) continue;
    if (inSession.has(l.mac)) {
      // moved: drop the session's binding (and its device) from the old port
      const i = bindings.findIndex((b) => b.mac === l.mac);
      if (i >= 0) bindings.splice(i, 1);
      for (const [uid, list] of byUser) {
        const j = list.findIndex((d) => d.mac === l.mac);
        if (j >= 0) {
          list.splice(j, 1);
          if (!list.length) byUser.delete(uid);
        }
      }
      const g = groupDevices.findIndex((u) => u.devices[0]?.mac === l.mac);
      if (g >= 0) groupDevices.splice(g, 1);
    }
    unauth.add(l.mac);
    groupDevices.push({
      id: unauthenticatedUserId(l.mac),
      name: l.mac,
      roles: [UNAUTHENTICATED_ROLE],
      devices: [{ mac: l.mac, ip: l.ip }],
    });
    bindings.push({ mac: l.mac, ip: l.ip, switch: l.switch, port: l.port, learned: true });
  }
  // A MAC admitted by a session acts for that session's user (or device group) only: it leaves any other
  // user's device list (with the address pinned there), so one MAC never lands in two classes.
  const admitted = new Map<string, string>();
  for (const s of sorted) if (s.user !== undefined ? known.has(s.user) : s.deviceGroup !== undefined) admitted.set(s.mac, s.user ?? '');
  // (plain loops, no closure per user: this runs for every user on every edge change)
  const users: User[] = new Array(directory.users.length);
  for (let n = 0; n < directory.users.length; n++)
    users[n] = foldUser(directory.users[n], byUser.get(directory.users[n].id), unauth, admitted);
  return { directory: { ...directory, users: [...users, ...groupDevices] }, bindings };
}

/**
 * Learned IPv6 addresses (ND/DAD and DHCPv6 snooping) join the binding of their MAC on the same switch port (a
 * binding from the edge, a learned one, or a topology host's): an IPv6 lease never admits a device by itself, and
 * never takes an address the directory or topology gives another device (fail closed). Returns `bindings` itself
 * when no IPv6 lease applies.
 */
export function withLearnedIpv6(
  bindings: readonly Binding[],
  leases: readonly AddressLease[],
  directory: Directory,
  topology: Pick<Topology, 'hosts' | 'servers'>,
): readonly Binding[] {
  const v6 = leases.filter((l) => l.ip.includes(':'));
  if (!v6.length) return bindings;
  const owner = new Map<string, string>();
  for (const u of directory.users) for (const d of u.devices) for (const a of d.ipv6 ?? []) owner.set(a, d.mac);
  for (const h of [...topology.hosts, ...topology.servers]) for (const a of h.ipv6 ?? []) owner.set(a, h.mac);
  const byMac = new Map<string, AddressLease[]>();
  for (const l of [...v6].sort((a, b) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0))) {
    const o = owner.get(l.ip);
    if (o !== undefined && o !== l.mac) continue;
    (byMac.get(l.mac) ?? byMac.set(l.mac, []).get(l.mac)!).push(l);
  }
  if (!byMac.size) return bindings;
  // the binding in force per MAC is the last one (select.ts: later bindings win)
  const last = new Map<string, number>();
  bindings.forEach((b, i) => last.set(b.mac, i));
  const out = [...bindings];
  let changed = false;
  const extra = (b: Binding) => {
    const here = (byMac.get(b.mac) ?? []).filter((l) => l.switch === b.switch && l.port === b.port).map((l) => l.ip);
    const add = here.filter((a) => !b.ipv6?.includes(a));
    return add.length ? { ...b, ipv6: [...(b.ipv6 ?? []), ...add] } : undefined;
  };
  for (const [mac, i] of last) {
    const n = extra(out[i]);
    if (n) {
      out[i] = n;
      changed = true;
    }
    byMac.delete(mac);
  }
  for (const h of topology.hosts) {
    if (!byMac.has(h.mac)) continue;
    const n = extra(h);
    if (n) {
      out.push({ ...n, learned: true });
      changed = true;
    }
  }
  return changed ? out : bindings;
}
