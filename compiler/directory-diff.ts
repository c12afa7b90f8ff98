/** What changed between two directory snapshots (drives incremental recompiles and the audit trail). */
import type { Directory, User } from './model.js';

export interface DirectoryDiff {
  readonly usersAdded: readonly string[];
  readonly usersRemoved: readonly string[];
  readonly usersChanged: ReadonlyArray<{ id: string; fields: ReadonlyArray<'name' | 'organization' | 'roles' | 'devices'> }>;
  readonly organizationsChanged: boolean;
  readonly empty: boolean;
}

const key = (u: User) => ({
  name: u.name,
  organization: u.organization ?? '',
  roles: [...u.roles].sort().join(','),
  devices: u.devices
    .map((d) => `${d.mac}/${d.ip ?? ''}`)
    .sort()
    .join(','),
});

type Field = 'name' | 'organization' | 'roles' | 'devices';
const FIELDS = ['name', 'organization', 'roles', 'devices'] as const;
function changedFields(old: User, u: User): Field[] {
  const ka = key(old),
    kb = key(u);
  return FIELDS.filter((f) => ka[f] !== kb[f]);
}

export function diffDirectories(before: Directory, after: Directory): DirectoryDiff {
  const orgKey = (d: Directory) =>
    d.organizations
      .map((o) => `${o.name}<${o.parent ?? ''}`)
      .sort()
      .join(',');
  const organizationsChanged = before.organizations !== after.organizations && orgKey(before) !== orgKey(after);
  // Fast path: the same users in the same order, unchanged ones the same objects (an LDAP sync's snapshots).
  if (before.users.length === after.users.length) {
    const usersChanged: Array<{ id: string; fields: Field[] }> = [];
    let aligned = true;
    for (let i = 0; i < after.users.length; i++) {
      const old = before.users[i],
        u = after.users[i];
      if (old === u) continue;
      if (old.id !== u.id) {
        aligned = false;
        break;
      }
      const fields = changedFields(old, u);
      if (fields.length) usersChanged.push({ id: u.id, fields });
    }
    if (aligned)
      return { usersAdded: [], usersRemoved: [], usersChanged, organizationsChanged, empty: !usersChanged.length && !organizationsChanged };
  }
  const a = new Map(before.users.map((u) => [u.id, u]));
  const b = new Map(after.users.map((u) => [u.id, u]));
  const usersAdded = [...b.keys()].filter((id) => !a.has(id)).sort();
  const usersRemoved = [...a.keys()].filter((id) => !b.has(id)).sort();
  const usersChanged: Array<{ id: string; fields: Field[] }> = [];
  for (const [id, u] of b) {
    const old = a.get(id);
    if (!old || old === u) continue; // the same object: unchanged (sync keeps unchanged users' objects)
    const fields = changedFields(old, u);
    if (fields.length) usersChanged.push({ id, fields });
  }
  return {
    usersAdded,
    usersRemoved,
    usersChanged,
    organizationsChanged,
    empty: !usersAdded.length && !usersRemoved.length && !usersChanged.length && !organizationsChanged,
  };
}
