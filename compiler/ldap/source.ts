/** Reads a complete Directory snapshot from an LDAP server (paged searches; nested groups). */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Client, type Entry } from 'ldapts';
import type { Device, Directory, DirectorySource, Organization, User } from '../model.js';
import { normalizeMac, parseIpv4 } from '../addr.js';
import { escapeFilterValue, type LdapConfig } from './config.js';

function values(e: Entry, attr: string): string[] {
  const key = Object.keys(e).find((k) => k.toLowerCase() === attr.toLowerCase());
  if (!key) return [];
  const v = e[key];
  const arr = Array.isArray(v) ? v : [v];
  return arr.map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : String(x)));
}

const normDn = (dn: string) => dn.split(',').map((p) => p.trim().toLowerCase()).join(',');

/** RDNs as [attr, value] pairs, most specific first. */
function rdns(dn: string): Array<[string, string]> {
  return dn.split(/,(?=\s*[a-zA-Z0-9.-]+=)/).map((p) => { const i = p.indexOf('='); return [p.slice(0, i).trim().toLowerCase(), p.slice(i + 1).trim()] as [string, string]; });
}

class BindRefused extends Error {}

export class LdapDirectorySource implements DirectorySource {
  readonly kind = 'ldap' as const;
  readonly description: string;
  constructor(readonly config: LdapConfig, private readonly baseDir: string) {
    this.description = `${config.url}/${config.baseDn}`;
  }

  private password(): string | undefined {
    const c = this.config;
    if (c.passwordEnv) {
      const v = process.env[c.passwordEnv];
      if (v === undefined) throw new Error(`LDAP password: environment variable ${c.passwordEnv} is not set`);
      return v;
    }
    if (c.passwordFile) {
      try { return readFileSync(resolve(this.baseDir, c.passwordFile), 'utf8').trim(); } catch (e) { throw new Error(`LDAP password file ${c.passwordFile}: ${(e as Error).message}`); }
    }
    return undefined;
  }

  private async connect(): Promise<Client> {
    const c = this.config;
    const ca = c.caFile ? readFileSync(resolve(this.baseDir, c.caFile)) : undefined;
    // tlsOptions only for ldaps:// (with them ldapts would speak TLS at once, even on an ldap:// port meant for StartTLS)
    const client = new Client({ url: c.url, timeout: c.timeoutMs, connectTimeout: c.timeoutMs, tlsOptions: ca && c.url.startsWith('ldaps:') ? { ca } : undefined });
    try {
      if (c.startTls) await client.startTLS(ca ? { ca } : {});
      if (c.bindDn) {
        try {
          await client.bind(c.bindDn, this.password() ?? '');
        } catch (e) {
          const code = (e as { code?: number }).code;
          if (typeof code !== 'number') throw e; // not an LDAP answer: network trouble
          throw new BindRefused(`LDAP bind as ${c.bindDn} to ${c.url} refused: ${code === 49 ? 'invalid credentials (49)' : `${(e as Error).message} (${code})`}`);
        }
      }
      return client;
    } catch (e) {
      await client.unbind().catch(() => undefined);
      const m = (e as Error).message;
      if (e instanceof BindRefused) throw e;
      throw new Error(`cannot reach LDAP server ${c.url}: ${m}`);
    }
  }

  /** Raw entries of the last full read, by DN, so that later polls can fetch only what changed. */
  private cache?: { people: Map<string, Entry>; groups: Map<string, Entry>; ous: Map<string, Entry>; since: string; polls: number };
  /** A complete re-read every this many loads (catches deleted entries, which carry no timestamp). */
  fullEvery = 12;

  async load(): Promise<Directory> {
    const c = this.config;
    const client = await this.connect();
    try {
      const paged = { pageSize: c.pageSize };
      const uattrs = [c.users.id, c.users.name, c.users.mac, c.users.ip, 'modifyTimestamp', ...c.users.roleAttributes, ...(c.users.deviceAttribute ? [c.users.deviceAttribute] : []), ...(c.users.organization !== 'dn' ? [c.users.organization] : [])];
      const gattrs = [c.groups.name, 'member', 'uniqueMember', 'memberUid', 'objectClass', 'modifyTimestamp'];
      const incremental = this.cache && this.cache.polls < this.fullEvery;
      // Only entries created or modified since the newest timestamp seen (escaped: it is a value in a filter).
      const since = (f: string) => (incremental ? `(&${f}(modifyTimestamp>=${escapeFilterValue(this.cache!.since)}))` : f);
      // One paged search at a time: a connection carries one paging cookie per search.
      const people = await client.search(c.users.base, { scope: 'sub', filter: since(c.users.filter), attributes: uattrs, paged });
      const groups = await client.search(c.groups.base, { scope: 'sub', filter: since(c.groups.filter), attributes: gattrs, paged });
      const ous = c.users.organization === 'dn' ? await client.search(c.users.base, { scope: 'sub', filter: since('(objectClass=organizationalUnit)'), attributes: ['ou', 'modifyTimestamp'], paged }) : { searchEntries: [] as Entry[] };
      const cache = incremental ? this.cache! : { people: new Map<string, Entry>(), groups: new Map<string, Entry>(), ous: new Map<string, Entry>(), since: '', polls: 0 };
      let newest = incremental ? cache.since : '';
      for (const [map, list] of [[cache.people, people.searchEntries], [cache.groups, groups.searchEntries], [cache.ous, ous.searchEntries]] as const) {
        for (const e of list) {
          map.set(normDn(e.dn), e);
          const ts = values(e, 'modifyTimestamp')[0];
          if (ts && ts > newest) newest = ts;
        }
      }
      if (incremental) {
        // Deleted entries carry no timestamp: a names-only search (no attributes) tells which are gone.
        for (const [map, base, filter] of [[cache.people, c.users.base, c.users.filter], [cache.groups, c.groups.base, c.groups.filter]] as const) {
          const present = await client.search(base, { scope: 'sub', filter, attributes: ['1.1'], paged });
          const alive = new Set(present.searchEntries.map((e) => normDn(e.dn)));
          for (const dn of [...map.keys()]) if (!alive.has(dn)) map.delete(dn);
        }
      }
      cache.since = newest;
      cache.polls = incremental ? cache.polls + 1 : 0;
      this.cache = cache;
      return this.build([...cache.people.values()], [...cache.groups.values()], [...cache.ous.values()]);
    } catch (e) {
      this.cache = undefined; // next time, read everything again
      const m = (e as Error).message;
      throw new Error(`LDAP search on ${c.url} failed: ${m}`);
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }

  /** One user by id, with the id escaped into the filter (RFC 4515). */
  async lookup(id: string): Promise<User | undefined> {
    const c = this.config;
    const client = await this.connect();
    try {
      const r = await client.search(c.users.base, { scope: 'sub', filter: `(&${c.users.filter}(${c.users.id}=${escapeFilterValue(id)}))`, attributes: [c.users.id, c.users.name, c.users.mac, c.users.ip] });
      const d = this.build(r.searchEntries, [], []);
      return d.users.find((u) => u.id === id);
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }

  build(people: Entry[], groups: Entry[], ous: Entry[]): Directory {
    const c = this.config;
    const base = normDn(c.users.base);
    // organizations from the OU tree under the users base
    const orgs = new Map<string, Organization>();
    if (c.rootOrganization) orgs.set(c.rootOrganization, { name: c.rootOrganization });
    for (const e of ous) {
      const n = normDn(e.dn);
      if (n === base || !n.endsWith(base)) continue;
      const parts = rdns(e.dn.slice(0, e.dn.length - c.users.base.length).replace(/,\s*$/, '')).filter(([a]) => a === 'ou');
      if (!parts.length) continue;
      orgs.set(parts[0][1], { name: parts[0][1], parent: parts[1]?.[1] ?? c.rootOrganization });
    }
    // group membership, with nested groups resolved transitively
    const groupByDn = new Map<string, { name: string; members: string[]; memberUids: string[] }>();
    for (const g of groups) groupByDn.set(normDn(g.dn), { name: values(g, c.groups.name)[0] ?? rdns(g.dn)[0][1], members: [...values(g, 'member'), ...values(g, 'uniqueMember')].map(normDn), memberUids: values(g, 'memberUid') });
    const rolesOfDn = new Map<string, Set<string>>();
    const rolesOfUid = new Map<string, Set<string>>();
    for (const [gdn, g] of groupByDn) {
      const seen = new Set<string>([gdn]);
      const stack = [...g.members];
      const uids = [...g.memberUids];
      while (stack.length) {
        const m = stack.pop()!;
        const nested = groupByDn.get(m);
        if (nested) { if (!seen.has(m)) { seen.add(m); stack.push(...nested.members); uids.push(...nested.memberUids); } continue; }
        (rolesOfDn.get(m) ?? rolesOfDn.set(m, new Set()).get(m)!).add(g.name);
      }
      for (const u of uids) (rolesOfUid.get(u) ?? rolesOfUid.set(u, new Set()).get(u)!).add(g.name);
    }
    const users: User[] = [];
    for (const e of people) {
      const id = values(e, c.users.id)[0];
      if (!id) continue;
      let organization: string | undefined;
      if (c.users.organization === 'dn') {
        organization = rdns(e.dn).find(([a]) => a === 'ou')?.[1];
        if (organization && normDn(`ou=${organization},${c.users.base}`) === base) organization = c.rootOrganization;
      } else organization = values(e, c.users.organization)[0];
      if (organization && !orgs.has(organization)) orgs.set(organization, { name: organization, parent: c.rootOrganization !== organization ? c.rootOrganization : undefined });
      const roles = new Set<string>([...(rolesOfDn.get(normDn(e.dn)) ?? []), ...(rolesOfUid.get(id) ?? [])]);
      for (const a of c.users.roleAttributes) for (const v of values(e, a)) roles.add(v);
      const devices: Device[] = [];
      if (c.users.deviceAttribute) {
        for (const v of values(e, c.users.deviceAttribute)) {
          const mac = normalizeMac(v.match(/mac=([^,;\s]+)/i)?.[1] ?? '');
          const ip = v.match(/ip=([\d.]+)/i)?.[1];
          if (mac) devices.push({ mac, ip: ip && parseIpv4(ip) !== undefined ? ip : undefined });
        }
      } else {
        const macs = values(e, c.users.mac);
        const ips = values(e, c.users.ip);
        macs.forEach((m, i) => { const mac = normalizeMac(m); if (mac) devices.push({ mac, ip: ips[i] && parseIpv4(ips[i]) !== undefined ? ips[i] : undefined }); });
      }
      users.push({ id, name: values(e, c.users.name)[0] ?? id, organization, roles: [...roles].sort(), devices });
    }
    users.sort((a, b) => a.id.localeCompare(b.id));
    const roles = [...new Set([...groupByDn.values()].map((g) => g.name))].sort(); // every group is a known role, even an empty one
    return { organizations: [...orgs.values()].sort((a, b) => a.name.localeCompare(b.name)), users, roles, source: this.description };
  }
}
