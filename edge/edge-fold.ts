/**
 * The edge folded into the compile input, kept up to date per changed MAC. `applyEdge` (compiler/edge.ts) folds
 * every session and lease at each change; during a login storm that is the same 5,000 sessions sorted again for
 * every batch of 40 logins. EdgeFold does it once, keeps what applyEdge derives (the admitted MACs, each user's
 * sessions in session-id order, the session bindings in session-id order) and then applies only the sessions of
 * the MACs that changed: the affected users are folded again (`foldUser`, the same code applyEdge runs) and the
 * other users stay the same objects, which is what lets the compiler's edge patch skip them.
 *
 * The incremental step covers sessions only. A change of the directory or of the leases, a session of a MAC
 * that holds a lease, or an index that does not line up with applyEdge's result falls back to the full fold.
 * The result always equals applyEdge's (test/edge/edge-fold.test.ts checks this on random sequences).
 */
import type { Binding, Directory, EdgeSession, EdgeState, User } from '../compiler/model.js';
import { applyEdge, deviceUserId, foldUser, type EdgeApplied } from '../compiler/edge.js';
import { UNAUTHENTICATED_ROLE } from '../compiler/first-contact.js';

/** An admitted session that binds its MAC (in session-id order). */
interface Row {
  readonly id: string;
  readonly mac: string;
  readonly binding: Binding;
  /** The address the session gives its device (the binding's). */
  readonly ip?: string;
  /** For an ownerless device in a device group: its synthetic user. */
  readonly group?: User;
  readonly user?: string;
}

interface Index {
  readonly directory: Directory;
  readonly leases: unknown;
  readonly userAt: Map<string, number>;
  /** Directory device MAC → ids of the users listing it. */
  readonly owners: Map<string, string[]>;
  /** Users as folded (same positions as the directory's). */
  readonly users: User[];
  readonly rows: Row[];
  /** The group-device rows' users, in row order (kept apart for a cheap concatenation). */
  readonly groupRows: Row[];
  /** Users and bindings made from leases (unauthenticated devices): unchanged while the leases are. */
  readonly tailUsers: readonly User[];
  readonly tailBindings: readonly Binding[];
  readonly byUser: Map<string, Row[]>;
  readonly admitted: Map<string, string>;
  readonly unauth: ReadonlySet<string>;
  readonly leaseMacs: ReadonlySet<string>;
  readonly sessions: Map<string, EdgeSession>;
}

/** A fold result, and for an incremental one the MACs whose binding may have changed with their new binding. */
export interface FoldResult {
  readonly out: EdgeApplied;
  readonly changed?: ReadonlyMap<string, Binding | undefined>;
}

const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Position of `id` in rows sorted by id: found (>= 0) or -1 - insertion point. */
function find(rows: readonly Row[], id: string): number {
  let lo = 0,
    hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = rows[mid].id;
    if (c === id) return mid;
    if (c < id) lo = mid + 1;
    else hi = mid;
  }
  return -1 - lo;
}

export class EdgeFold {
  private ix?: Index;

  /** The full fold (applyEdge), indexed for the incremental steps that follow. `leases` identifies the lease state. */
  full(directory: Directory, edge: EdgeState, leases: unknown): FoldResult {
    const out = applyEdge(directory, edge);
    this.ix = index(directory, edge, leases, out);
    return { out };
  }

  /**
   * The fold after the sessions of `macs` changed (`session(mac)`: the session now, if any), nothing else; or
   * undefined when only a full fold can tell (the caller then calls `full`).
   */
  update(
    directory: Directory,
    leases: unknown,
    macs: Iterable<string>,
    session: (mac: string) => EdgeSession | undefined,
  ): FoldResult | undefined {
    const ix = this.ix;
    if (!ix || ix.directory !== directory || ix.leases !== leases) return undefined;
    const list = [...macs];
    if (list.some((m) => ix.leaseMacs.has(m))) return undefined; // a session meets a lease: full fold
    const affected = new Set<string>();
    const changed = new Map<string, Binding | undefined>();
    for (const mac of list) {
      const was = ix.sessions.get(mac),
        now = session(mac);
      if (was === now) continue;
      for (const id of ix.owners.get(mac) ?? []) affected.add(id);
      if (was) unrow(ix, was, affected);
      if (now) row(ix, now, affected);
      changed.set(mac, ix.admitted.has(mac) ? ix.rows[find(ix.rows, now!.id)].binding : undefined);
    }
    for (const id of affected) {
      const n = ix.userAt.get(id)!;
      ix.users[n] = foldUser(directory.users[n], ix.byUser.get(id), ix.unauth, ix.admitted);
    }
    return { out: output(ix), changed };
  }
}

function output(ix: Index): EdgeApplied {
  const users = ix.users.concat(
    ix.groupRows.map((r) => r.group!),
    ix.tailUsers,
  );
  const bindings = ix.rows.map((r) => r.binding).concat(ix.tailBindings);
  return { directory: { ...ix.directory, users }, bindings };
}

/** Forgets a session's part (its row, its user's device, its admission). */
function unrow(ix: Index, s: EdgeSession, affected: Set<string>): void {
  ix.sessions.delete(s.mac);
  if (!ix.admitted.has(s.mac)) return;
  ix.admitted.delete(s.mac);
  const at = find(ix.rows, s.id);
  if (at < 0) return;
  const r = ix.rows[at];
  ix.rows.splice(at, 1);
  if (r.group) ix.groupRows.splice(find(ix.groupRows, s.id), 1);
  if (r.user !== undefined) {
    affected.add(r.user);
    const l = ix.byUser.get(r.user)!.filter((x) => x !== r);
    if (l.length) ix.byUser.set(r.user, l);
    else ix.byUser.delete(r.user);
  }
}

/** A session's part, as applyEdge makes it (a session of an unknown user admits nothing). */
function row(ix: Index, s: EdgeSession, affected: Set<string>): void {
  ix.sessions.set(s.mac, s);
  const known = s.user !== undefined ? ix.userAt.has(s.user) : s.deviceGroup !== undefined;
  if (!known) return;
  ix.admitted.set(s.mac, s.user ?? '');
  const ip = s.ip;
  const binding: Binding = { mac: s.mac, ip, switch: s.switch, port: s.port, learned: true };
  const group =
    s.user === undefined ? { id: deviceUserId(s.mac), name: s.mac, roles: [s.deviceGroup!], devices: [{ mac: s.mac, ip }] } : undefined;
  const r: Row = { id: s.id, mac: s.mac, binding, ip, ...(group ? { group } : {}), ...(s.user !== undefined ? { user: s.user } : {}) };
  ix.rows.splice(-1 - find(ix.rows, s.id), 0, r);
  if (group) ix.groupRows.splice(-1 - find(ix.groupRows, s.id), 0, r);
  if (s.user !== undefined) {
    affected.add(s.user);
    const l = ix.byUser.get(s.user) ?? [];
    l.splice(-1 - find(l, s.id), 0, r);
    ix.byUser.set(s.user, l);
  }
}

/** The index of a full fold, checked against applyEdge's result; undefined when it does not line up. */
function index(directory: Directory, edge: EdgeState, leases: unknown, out: EdgeApplied): Index | undefined {
  const n = directory.users.length;
  const userAt = new Map<string, number>();
  const owners = new Map<string, string[]>();
  directory.users.forEach((u, i) => {
    userAt.set(u.id, i);
    for (const d of u.devices) owners.set(d.mac, [...(owners.get(d.mac) ?? []), u.id]);
  });
  const tail = out.directory.users
    .slice(n)
    .filter((u) => u.roles.length === 1 && u.roles[0] === UNAUTHENTICATED_ROLE && u.id.startsWith('unauthenticated:'));
  const unauth = new Set(tail.map((u) => u.devices[0].mac));
  const sessions = new Map<string, EdgeSession>();
  for (const s of edge.sessions) {
    if (sessions.has(s.mac)) return undefined; // one session per MAC (the session table's rule)
    sessions.set(s.mac, s);
  }
  const admitted = new Map<string, string>();
  const sorted = [...edge.sessions].sort(byId);
  for (const s of sorted) if (s.user !== undefined ? userAt.has(s.user) : s.deviceGroup !== undefined) admitted.set(s.mac, s.user ?? '');
  const rows: Row[] = [];
  const groupRows: Row[] = [];
  const byUser = new Map<string, Row[]>();
  let g = n;
  for (const s of sorted) {
    if (!admitted.has(s.mac) || unauth.has(s.mac)) continue;
    const binding = out.bindings[rows.length];
    if (binding?.mac !== s.mac) return undefined;
    const group = s.user === undefined ? out.directory.users[g++] : undefined;
    if (group && group.id !== deviceUserId(s.mac)) return undefined;
    const r: Row = {
      id: s.id,
      mac: s.mac,
      binding,
      ip: binding.ip,
      ...(group ? { group } : {}),
      ...(s.user !== undefined ? { user: s.user } : {}),
    };
    rows.push(r);
    if (group) groupRows.push(r);
    if (s.user !== undefined) byUser.set(s.user, [...(byUser.get(s.user) ?? []), r]);
  }
  const tailUsers = out.directory.users.slice(g);
  const tailBindings = out.bindings.slice(rows.length);
  if (tailUsers.length !== tail.length || tailBindings.length !== tail.length) return undefined;
  const leaseMacs = new Set(edge.leases.map((l) => l.mac));
  const users = out.directory.users.slice(0, n);
  return {
    directory,
    leases,
    userAt,
    owners,
    users,
    rows,
    groupRows,
    tailUsers,
    tailBindings,
    byUser,
    admitted,
    unauth,
    leaseMacs,
    sessions,
  };
}
