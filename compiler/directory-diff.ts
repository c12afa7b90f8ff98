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
  devices: u.devices.map((d) => `${d.mac}/${d.ip ?? ''}`).sort().join(','),
});

export function diffDirectories(before: Directory, after: Directory): DirectoryDiff {
  const a = new Map(before.users.map((u) => [u.id, u]));
  const b = new Map(after.users.map((u) => [u.id, u]));
  const usersAdded = [...b.keys()].filter((id) => !a.has(id)).sort();
  const usersRemoved = [...a.keys()].filter((id) => !b.has(id)).sort();
  const usersChanged: Array<{ id: string; fields: Array<'name' | 'organization' | 'roles' | 'devices'> }> = [];
  for (const [id, u] of b) {
    const old = a.get(id);
    if (!old) continue;
    const ka = key(old), kb = key(u);
    const fields = (['name', 'organization', 'roles', 'devices'] as const).filter((f) => ka[f] !== kb[f]);
    if (fields.length) usersChanged.push({ id, fields });
  }
  const orgKey = (d: Directory) => d.organizations.map((o) => `${o.name}<${o.parent ?? ''}`).sort().join(',');
  const organizationsChanged = orgKey(before) !== orgKey(after);
  return { usersAdded, usersRemoved, usersChanged, organizationsChanged, empty: !usersAdded.length && !usersRemoved.length && !usersChanged.length && !organizationsChanged };
}
