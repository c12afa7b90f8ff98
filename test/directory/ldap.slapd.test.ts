/**
 * Needs Debian slapd: each suite starts its own private slapd on a loopback port (test/helpers/slapd.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync, cpSync } from 'node:fs';
import { tempDir } from '../helpers/tmp.js';
import { join } from 'node:path';
import { Attribute, Change } from 'ldapts';
import { Slapd, haveSlapd } from '../helpers/slapd.js';
import { BASE, CAMPUS, ldapSource } from '../helpers/ldap.js';
import { DirectorySync, LdapDirectorySource, escapeFilterValue, readLdapConfig } from '../../directory/ldap.js';
import { accessMatrix, compile, parsePolicyText } from '../../compiler/index.js';
import { loadPolicy } from '../../loader/index.js';
import type { Directory } from '../../compiler/model.js';
import { describeWith } from '../helpers/needs.js';

const campusLdif = readFileSync(join(CAMPUS, 'campus.ldif'), 'utf8');

const source = ldapSource;

describeWith({ slapd: !!haveSlapd() }, 'LDAP directory against a private slapd', () => {
  let s: Slapd;
  beforeAll(async () => {
    s = new Slapd({ ldif: campusLdif, tls: true });
    await s.start();
  });
  afterAll(async () => {
    await s?.destroy();
  });

  it('the campus LDIF gives the same directory, and the same access, as directory.yaml', async () => {
    const viaLdap = await source(s).load();
    const file = await loadPolicy(join(CAMPUS, 'policy.yaml'));
    expect(file.ok).toBe(true);
    if (!file.ok) return;
    const strip = (d: Directory) => ({
      orgs: d.organizations.map((o) => `${o.name}<${o.parent ?? ''}`).sort(),
      users: d.users
        .map((u) => ({ id: u.id, name: u.name, organization: u.organization, roles: [...u.roles].sort(), devices: u.devices }))
        .sort((a, b) => a.id.localeCompare(b.id)),
    });
    expect(strip(viaLdap)).toEqual(strip(file.value.directory));
    const a = accessMatrix(compile(file.value));
    const b = accessMatrix(compile({ ...file.value, directory: viaLdap }));
    const key = (x: { subject: string; resource: string; service: string }) => `${x.subject} ${x.resource} ${x.service}`;
    expect([...b.cells].sort((x, y) => key(x).localeCompare(key(y)))).toEqual([...a.cells].sort((x, y) => key(x).localeCompare(key(y))));
  });

  it('a policy with an ldap: block loads, compiles and explains like a file directory', async () => {
    const dir = tempDir('acl-ldap-');
    cpSync(CAMPUS, dir, { recursive: true });
    const text = readFileSync(join(dir, 'policy-ldap.yaml'), 'utf8').replace('ldap://127.0.0.1:3389', s.url);
    writeFileSync(join(dir, 'policy-ldap.yaml'), text);
    process.env.ACL_LDAP_PASSWORD = s.rootPassword;
    const r = await loadPolicy(join(dir, 'policy-ldap.yaml'));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.directorySource.kind).toBe('ldap');
    const c = compile(r.value);
    expect(c.stats.users).toBe(12);
  });

  it('resolves nested groups and roles from attributes', async () => {
    const c = await s.client();
    await c.add(`cn=staff,ou=groups,${BASE}`, {
      objectClass: 'groupOfNames',
      cn: 'staff',
      member: [`cn=employee,ou=groups,${BASE}`, `cn=manager,ou=groups,${BASE}`],
    });
    await c.add(`cn=everyone,ou=groups,${BASE}`, {
      objectClass: 'groupOfNames',
      cn: 'everyone',
      member: [`cn=staff,ou=groups,${BASE}`, `cn=contractor,ou=groups,${BASE}`],
    });
    await c.modify(
      `uid=tom,ou=sales,ou=people,${BASE}`,
      new Change({ operation: 'add', modification: new Attribute({ type: 'title', values: ['auditor'] }) }),
    );
    await c.unbind();
    const d = await source(s, { users: { roleAttributes: ['title'] } }).load();
    const roles = (id: string) => d.users.find((u) => u.id === id)!.roles;
    expect(roles('alice')).toEqual(['employee', 'everyone', 'manager', 'staff']);
    expect(roles('tom')).toEqual(['auditor', 'contractor', 'everyone']);
  });

  it('every group name is a known role, even a group nobody is in, so a policy may name it; a made-up role is still an error', async () => {
    const c = await s.client();
    // groupOfNames needs a member: this one only holds another empty-of-users group's DN
    await c.add(`cn=auditors,ou=groups,${BASE}`, { objectClass: 'groupOfNames', cn: 'auditors', member: [`cn=nobody,ou=groups,${BASE}`] });
    await c.unbind();
    const d = await source(s).load();
    expect(d.users.some((u) => u.roles.includes('auditors'))).toBe(false);
    expect(d.roles).toEqual(expect.arrayContaining(['auditors', 'contractor', 'employee']));
    const dir = tempDir('acl-ldap-');
    cpSync(CAMPUS, dir, { recursive: true });
    process.env.ACL_LDAP_PASSWORD = s.rootPassword;
    const policyFile = join(dir, 'policy-ldap.yaml');
    const text = readFileSync(policyFile, 'utf8').replace('ldap://127.0.0.1:3389', s.url);
    const withRule = (role: string) =>
      text.replace('rules:\n', `rules:\n  - { name: audit, from: { roles: [${role}] }, to: payroll-db }\n`);
    writeFileSync(policyFile, withRule('auditors'));
    expect((await loadPolicy(policyFile)).ok).toBe(true);
    writeFileSync(policyFile, withRule('auditorz'));
    const bad = await loadPolicy(policyFile);
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.diagnostics.find((x) => x.code === 'unknown-role')?.hint).toBe("did you mean 'auditors'?");
  });

  it('takes the organization from an attribute when configured', async () => {
    const c = await s.client();
    await c.modify(
      `uid=sam,ou=sales,ou=people,${BASE}`,
      new Change({ operation: 'add', modification: new Attribute({ type: 'departmentNumber', values: ['marketing'] }) }),
    );
    await c.unbind();
    const d = await source(s, { users: { organization: 'departmentNumber' } }).load();
    expect(d.users.find((u) => u.id === 'sam')!.organization).toBe('marketing');
    expect(d.organizations.some((o) => o.name === 'marketing')).toBe(true);
  });

  it('escapes filter metacharacters: a user id with * ( ) \\ matches only itself', async () => {
    expect(escapeFilterValue('o*brien(x)\\')).toBe('o\\2abrien\\28x\\29\\5c');
    const c = await s.client();
    for (const uid of ['o*brien(x)', 'obrienx', 'o-brien']) {
      await c
        .add(`uid=${uid.replace(/([*()\\])/g, '\\$1')},ou=sales,ou=people,${BASE}`, { objectClass: 'inetOrgPerson', uid, cn: uid, sn: 'x' })
        .catch(async () => {
          await c.add(`cn=${uid.replace(/[*()]/g, '_')},ou=sales,ou=people,${BASE}`, {
            objectClass: 'inetOrgPerson',
            uid,
            cn: uid.replace(/[*()]/g, '_'),
            sn: 'x',
          });
        });
    }
    await c.unbind();
    const src = source(s);
    expect((await src.lookup('o*brien(x)'))?.id).toBe('o*brien(x)');
    expect(await src.lookup('o*')).toBeUndefined(); // would match all three if not escaped
    const all = await src.load();
    expect(
      all.users
        .filter((u) => u.id.includes('brien'))
        .map((u) => u.id)
        .sort(),
    ).toEqual(['o*brien(x)', 'o-brien', 'obrienx']);
  });

  it('a wrong password is a clear error', async () => {
    process.env.ACL_TEST_LDAP_PW_BAD = 'nope';
    const { config } = readLdapConfig({ url: s.url, baseDn: BASE, bindDn: s.rootDn, passwordEnv: 'ACL_TEST_LDAP_PW_BAD' }, () => undefined);
    await expect(new LdapDirectorySource(config!, '.').load()).rejects.toThrow(
      /LDAP bind as cn=admin,dc=campus,dc=example to ldap:\/\/127\.0\.0\.1:\d+ refused: invalid credentials \(49\)/,
    );
  });

  it('connects over ldaps:// and StartTLS with a self-signed CA, and refuses an unknown CA', async () => {
    const viaLdaps = await source(s, { url: s.ldapsUrl, caFile: s.caFile }).load();
    expect(viaLdaps.users.length).toBeGreaterThanOrEqual(12);
    const viaStartTls = await source(s, { startTls: true, caFile: s.caFile }).load();
    expect(viaStartTls.users.length).toBe(viaLdaps.users.length);
    await expect(source(s, { url: s.ldapsUrl }).load()).rejects.toThrow(/cannot reach LDAP server|certificate/i);
  });

  it('sees a changed group membership at the next sync, and reports only that change', async () => {
    const sync = new DirectorySync(source(s), { intervalMs: 100_000 });
    await sync.syncOnce();
    const c = await s.client();
    await c.modify(
      `cn=employee,ou=groups,${BASE}`,
      new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [`uid=tom,ou=sales,ou=people,${BASE}`] }) }),
    );
    await c.unbind();
    let diff: unknown;
    const sync2 = new DirectorySync(
      source(s),
      {
        intervalMs: 100_000,
        onSnapshot: (_d, df) => {
          diff = df;
        },
      },
      sync.snapshot,
    );
    expect(await sync2.syncOnce()).toBe(true);
    expect(diff).toMatchObject({ usersAdded: [], usersRemoved: [], usersChanged: [{ id: 'tom', fields: ['roles'] }] });
    expect(sync2.snapshot!.users.find((u) => u.id === 'tom')!.roles).toContain('employee');
  });

  it('keeps the last good snapshot while slapd is down, and recovers when it returns', async () => {
    const errors: string[] = [];
    const sync = new DirectorySync(source(s, { timeout: '1s' }), { intervalMs: 100_000, onError: (e) => errors.push(e.message) });
    expect(await sync.syncOnce()).toBe(true);
    const good = sync.snapshot!;
    await s.stop();
    expect(await sync.syncOnce()).toBe(false);
    expect(sync.snapshot).toBe(good);
    expect(sync.status()).toMatchObject({ consecutiveErrors: 1, entries: good.users.length });
    expect(errors[0]).toMatch(/cannot reach LDAP server/);
    await s.start();
    expect(await sync.syncOnce()).toBe(true);
    expect(sync.status().consecutiveErrors).toBe(0);
  });

  it('holds a large shrink until confirmed (never "everyone left" by accident)', async () => {
    const sync = new DirectorySync(source(s), { intervalMs: 100_000, maxShrink: 0.2 });
    await sync.syncOnce();
    const n = sync.snapshot!.users.length;
    const c = await s.client();
    for (const [uid, ou] of [
      ['alice', 'finance'],
      ['frank', 'finance'],
      ['carl', 'finance'],
      ['sam', 'sales'],
      ['sara', 'sales'],
    ])
      await c.del(`uid=${uid},ou=${ou},ou=people,${BASE}`);
    await c.unbind();
    expect(await sync.syncOnce()).toBe(false);
    expect(sync.snapshot!.users.length).toBe(n);
    expect(sync.status().heldShrink).toMatchObject({ before: n, after: n - 5 });
    expect(await sync.confirmShrink()).toBe(true);
    expect(sync.snapshot!.users.length).toBe(n - 5);
  });
});

describeWith({ slapd: !!haveSlapd() }, 'LDAP paging', () => {
  let s: Slapd;
  beforeAll(async () => {
    let ldif = `dn: ${BASE}\nobjectClass: dcObject\nobjectClass: organization\no: x\ndc: campus\n\ndn: ou=people,${BASE}\nobjectClass: organizationalUnit\nou: people\n\ndn: ou=groups,${BASE}\nobjectClass: organizationalUnit\nou: groups\n\n`;
    for (let i = 0; i < 5000; i++)
      ldif += `dn: uid=u${i},ou=people,${BASE}\nobjectClass: inetOrgPerson\nuid: u${i}\ncn: User ${i}\nsn: ${i}\n\n`;
    s = new Slapd({ ldif });
    await s.start();
  }, 60_000);
  afterAll(async () => {
    await s?.destroy();
  });

  it('reads 5,000 users past the server size limit of 500', async () => {
    const d = await source(s).load();
    expect(d.users).toHaveLength(5000);
  });
});

describe('ldap block validation', () => {
  it('reports mistakes in the ldap: block at their line, and refuses inline passwords', async () => {
    const dir = tempDir('acl-ldapcfg-');
    writeFileSync(join(dir, 'topology.yaml'), 'switches: []\n');
    writeFileSync(
      join(dir, 'policy.yaml'),
      'version: 1\ndirectory:\n  ldap:\n    url: http://x\n    baseDn: dc=x\n    password: hunter2\n    pollInterval: soon\ntopology: topology.yaml\n',
    );
    const r = await loadPolicy(join(dir, 'policy.yaml'));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const by = (code: string) => r.diagnostics.find((d) => d.code === code);
    expect(by('bad-url')?.location?.line).toBe(4);
    expect(by('inline-password')?.location?.line).toBe(6);
    expect(by('bad-duration')?.location?.line).toBe(7);
    expect(parsePolicyText('version: 1\ndirectory: { ldap: {} }\ntopology: t\n', 'p').ok).toBe(true);
  });
});
