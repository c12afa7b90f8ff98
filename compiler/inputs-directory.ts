/** Parsing and validation of directory.yaml: organizations (a tree), users with their roles and devices. */
import type { Device, Directory, Organization, SourceLocation, User } from './model.js';
import { YamlSource, suggest, type Path } from './yaml-source.js';
import { normalizeMac } from './addr.js';
import { ipField, ipv6List } from './input-addresses.js';
import { DIRECTORY_KEYS } from './input-keys.js';
import { fail, finish, type Parsed } from './input-result.js';

export function parseDirectoryText(text: string, file: string): Parsed<Directory> {
  const src = new YamlSource(file, text);
  if (src.value === undefined) return fail(src);
  const top = src.object([], src.value, DIRECTORY_KEYS.top, 'the directory');
  if (!top) return fail(src);
  const organizations: Organization[] = [];
  const orgNames = new Set<string>();
  const walk = (list: unknown, path: Path, parent: string | undefined) => {
    src.list(path, list, 'organizations').forEach((ov, i) => {
      const p = [...path, i];
      if (typeof ov === 'string') ov = { name: ov };
      const o = src.object(p, ov, DIRECTORY_KEYS.organization, 'an organization');
      if (!o) return;
      const name = src.string([...p, 'name'], o.name, 'organization name');
      if (!name) return;
      if (orgNames.has(name)) src.error([...p, 'name'], 'duplicate-name', `organization '${name}' is defined twice`);
      orgNames.add(name);
      organizations.push({ name, parent, location: src.where(p) });
      walk(o.children, [...p, 'children'], name);
    });
  };
  walk(top.organizations, ['organizations'], undefined);

  const users: User[] = [];
  const ids = new Set<string>();
  const macOwner = new Map<string, string>();
  const ipOwner = new Map<string, string>();
  const owners = { mac: macOwner, ip: ipOwner };
  src.list(['users'], top.users, 'users').forEach((uv, i) => {
    const p = ['users', i];
    const o = src.object(p, uv, DIRECTORY_KEYS.user, 'a user');
    if (!o) return;
    const id = src.string(['users', i, 'id'], o.id, 'user id');
    if (!id) return;
    if (ids.has(id)) src.error(['users', i, 'id'], 'duplicate-name', `user id '${id}' is used twice`);
    ids.add(id);
    const organization =
      o.organization === undefined ? undefined : src.string(['users', i, 'organization'], o.organization, 'organization');
    if (organization && !orgNames.has(organization))
      src.error(
        ['users', i, 'organization'],
        'unknown-organization',
        `unknown organization '${organization}'`,
        suggest(organization, orgNames),
      );
    const roles = src.strings(['users', i, 'roles'], o.roles, 'roles');
    const devices = src.list(['users', i, 'devices'], o.devices, 'devices').flatMap((dv, j) => parseDevice(src, i, j, dv, id, owners));
    users.push({ id, name: typeof o.name === 'string' ? o.name : id, organization, roles, devices, location: src.where(p) });
  });
  const roleLocations: SourceLocation[] = []; // where each declared role is written
  const declared = top.roles !== undefined ? src.strings(['roles'], top.roles, 'roles', roleLocations) : undefined;
  return finish(src, {
    organizations,
    users,
    ...(declared ? { roles: declared, roleLocations } : {}),
    source: `file:${file}`,
  });
}

/** One device of user `id` (users[i].devices[j]); MAC and address owners are checked across the directory. */
function parseDevice(
  src: YamlSource,
  i: number,
  j: number,
  dv: unknown,
  id: string,
  owners: { readonly mac: Map<string, string>; readonly ip: Map<string, string> },
): Device[] {
  const { mac: macOwner, ip: ipOwner } = owners;
  const dp = ['users', i, 'devices', j];
  const d = src.object(dp, dv, DIRECTORY_KEYS.device, 'a device');
  if (!d) return [];
  const mac = typeof d.mac === 'string' ? normalizeMac(d.mac) : undefined;
  if (!mac) {
    src.error(
      ['users', i, 'devices', j, 'mac'],
      'bad-mac',
      `'${String(d.mac ?? '')}' is not a MAC address`,
      'write it as 02:00:00:00:01:01',
    );
    return [];
  }
  const prevMac = macOwner.get(mac);
  if (prevMac) src.error(['users', i, 'devices', j, 'mac'], 'device-conflict', `device ${mac} is already bound to user '${prevMac}'`);
  macOwner.set(mac, id);
  let ip: string | undefined;
  let v6FromIp: string | undefined;
  if (d.ip !== undefined) {
    const f = ipField(d.ip);
    if (f.bad) {
      src.error(
        ['users', i, 'devices', j, 'ip'],
        'bad-address',
        `'${String(d.ip)}' is not an IPv4 address`,
        'IPv6 addresses go under ipv6: [2001:db8::10]',
      );
      return [];
    }
    ip = f.v4;
    v6FromIp = f.v6;
    if (ip !== undefined) {
      const prevIp = ipOwner.get(ip);
      if (prevIp) src.error(['users', i, 'devices', j, 'ip'], 'device-conflict', `address ${ip} is already bound to user '${prevIp}'`);
      ipOwner.set(ip, id);
    }
  }
  const ipv6 =
    d.ipv6 === undefined && v6FromIp === undefined ? undefined : ipv6List(src, ['users', i, 'devices', j, 'ipv6'], d.ipv6, v6FromIp);
  if (d.ipv6 !== undefined && !ipv6) return [];
  for (const a of ipv6 ?? []) {
    if (a.startsWith('fe80:')) continue; // link-local addresses are only unique per link
    const prev = ipOwner.get(a);
    if (prev) src.error(['users', i, 'devices', j, 'ipv6'], 'device-conflict', `address ${a} is already bound to user '${prev}'`);
    ipOwner.set(a, id);
  }
  // (paths and devices written out: spreads are slow in the cold code that reads a large directory once)
  return [ip !== undefined ? (ipv6 ? { mac, ip, ipv6 } : { mac, ip }) : ipv6 ? { mac, ipv6 } : { mac }];
}
