/**
 * Names from LDAP with bidi controls or zero-width characters are refused like names in YAML files (issue #11,
 * item 9): an entry whose id has one is no user; such a role (group) or organization (ou) is left out. A private
 * slapd holds the campus directory plus hostile entries (values base64-encoded in the LDIF).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Slapd, haveSlapd } from '../helpers/slapd.js';
import { CAMPUS, ldapSource } from '../helpers/ldap.js';
import { describeWith } from '../helpers/needs.js';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const ZW = '\u200b';
const RLO = '\u202e';
const hostile = `
dn:: ${b64(`uid=al${ZW}ice,ou=finance,ou=people,dc=campus,dc=example`)}
objectClass: inetOrgPerson
objectClass: ieee802Device
objectClass: ipHost
uid:: ${b64(`al${ZW}ice`)}
cn: Not Alice
sn: X
macAddress: 02:00:00:00:0e:01
ipHostNumber: 10.0.1.201

dn:: ${b64(`ou=fin${RLO}ance,ou=people,dc=campus,dc=example`)}
objectClass: organizationalUnit
ou:: ${b64(`fin${RLO}ance`)}

dn:: ${b64(`uid=mallory,ou=fin${RLO}ance,ou=people,dc=campus,dc=example`)}
objectClass: inetOrgPerson
uid: mallory
cn: Mallory
sn: M

dn:: ${b64(`cn=adm${ZW}in,ou=groups,dc=campus,dc=example`)}
objectClass: groupOfNames
cn:: ${b64(`adm${ZW}in`)}
member: uid=mallory,ou=fin${RLO}ance,ou=people,dc=campus,dc=example
`;

describeWith({ slapd: haveSlapd() }, 'LDAP names with hidden characters', () => {
  let s: Slapd;
  beforeAll(async () => {
    s = new Slapd({ ldif: [readFileSync(join(CAMPUS, 'campus.ldif'), 'utf8'), hostile] });
    await s.start();
  }, 60_000);
  afterAll(async () => {
    await s?.destroy();
  });

  it('no user, role or organization in the snapshot carries a hidden character; the real alice is untouched', async () => {
    const d = await ldapSource(s).load();
    const hidden = /[\u200b\u202e]/;
    expect(d.users.filter((u) => hidden.test(u.id) || hidden.test(u.organization ?? '') || u.roles.some((r) => hidden.test(r)))).toEqual(
      [],
    );
    expect(d.organizations.filter((o) => hidden.test(o.name))).toEqual([]);
    expect((d.roles ?? []).filter((r) => hidden.test(r))).toEqual([]);
    expect(d.users.find((u) => u.id === 'alice')?.organization).toBe('finance');
    expect(d.users.some((u) => u.devices.some((x) => x.mac === '02:00:00:00:0e:01'))).toBe(false);
    const mallory = d.users.find((u) => u.id === 'mallory');
    expect(mallory?.roles ?? []).toEqual([]);
  });
});
