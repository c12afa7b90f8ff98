/**
 * The private FreeRADIUS of the tests with its users from a private slapd (rlm_ldap, Debian freeradius-ldap),
 * checked with eapol_test (Debian eapoltest) alone, before any switch is involved: EAP-MD5, PEAP/MSCHAPv2 and
 * TTLS/PAP accept the LDAP password and refuse a wrong one; a user outside the required group is refused; a
 * user removed from that group is refused at the next login (no cache); the users file still serves MAB devices.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeWith, haveCommand } from '../helpers/needs.js';
import { haveFreeradius, startFreeRadius, type FreeRadius } from '../helpers/freeradius.js';
import { Slapd, haveSlapd } from '../helpers/slapd.js';
import { memberChange } from '../helpers/ldap.js';
import { tempDir } from '../helpers/tmp.js';

const PORT = 21610;
const BASE = 'dc=dx,dc=example';

/** eapol_test against the server: true on Access-Accept (EAP SUCCESS), false on reject. */
export function eapolTest(fr: FreeRadius, dir: string, net: string, extra: string[] = []): Promise<{ ok: boolean; out: string }> {
  const f = join(dir, `eapol-${Math.random().toString(36).slice(2)}.conf`);
  writeFileSync(f, `network={\n${net}\n}\n`);
  return new Promise((res) => {
    const c = spawn('eapol_test', ['-c', f, '-a', '127.0.0.1', '-p', String(fr.port), '-s', fr.secret, '-t', '10', ...extra], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    c.stdout.on('data', (d) => {
      out += d;
    });
    c.stderr.on('data', (d) => {
      out += d;
    });
    c.on('close', (code) => res({ ok: code === 0 && /^SUCCESS$/m.test(out), out: out.slice(-3000) }));
  });
}

export const eapConf = {
  md5: (user: string, pw: string) => `key_mgmt=IEEE8021X\neap=MD5\nidentity="${user}"\npassword="${pw}"`,
  peap: (user: string, pw: string, ca: string) =>
    `key_mgmt=IEEE8021X\neap=PEAP\nidentity="${user}"\npassword="${pw}"\nca_cert="${ca}"\nphase2="auth=MSCHAPV2"`,
  ttls: (user: string, pw: string, ca: string) =>
    `key_mgmt=IEEE8021X\neap=TTLS\nidentity="${user}"\nanonymous_identity="anonymous"\npassword="${pw}"\nca_cert="${ca}"\nphase2="auth=PAP"`,
};

describeWith(
  { freeradius: haveFreeradius, slapd: haveSlapd(), eapol_test: haveCommand('eapol_test') },
  'FreeRADIUS with users from LDAP (eapol_test)',
  () => {
    let slapd: Slapd;
    let fr: FreeRadius;
    let dir: string;
    beforeAll(async () => {
      dir = tempDir('dx-rl-');
      slapd = new Slapd({
        suffix: BASE,
        ldif:
          `dn: ${BASE}\nobjectClass: dcObject\nobjectClass: organization\no: DX\ndc: dx\n\n` +
          `dn: ou=people,${BASE}\nobjectClass: organizationalUnit\nou: people\n\ndn: ou=groups,${BASE}\nobjectClass: organizationalUnit\nou: groups\n\n` +
          `dn: uid=ann,ou=people,${BASE}\nobjectClass: inetOrgPerson\nuid: ann\ncn: Ann\nsn: A\nuserPassword: ann-pw-1\n\n` +
          `dn: uid=ben,ou=people,${BASE}\nobjectClass: inetOrgPerson\nuid: ben\ncn: Ben\nsn: B\nuserPassword: ben-pw-1\n\n` +
          `dn: cn=network,ou=groups,${BASE}\nobjectClass: groupOfNames\ncn: network\nmember: uid=ann,ou=people,${BASE}\n`,
      });
      await slapd.start();
      fr = await startFreeRadius({
        port: PORT,
        innerPort: PORT + 1,
        users: [{ name: '0200000000aa', password: '0200000000aa', reply: { 'Filter-Id': 'printers' } }],
        ldap: {
          port: slapd.port,
          bindDn: slapd.rootDn,
          password: slapd.rootPassword,
          usersBase: `ou=people,${BASE}`,
          groupsBase: `ou=groups,${BASE}`,
          requireGroup: 'network',
        },
      });
    }, 90_000);
    afterAll(async () => {
      await fr?.stop();
      await slapd?.destroy();
    });

    it('EAP-MD5, PEAP/MSCHAPv2 and TTLS/PAP accept the LDAP password and refuse a wrong one', async () => {
      for (const [name, conf, extra] of [
        ['md5', eapConf.md5, ['-n']],
        ['peap', eapConf.peap, []],
        ['ttls', eapConf.ttls, []],
      ] as const) {
        const good = await eapolTest(fr, dir, conf('ann', 'ann-pw-1', fr.caFile), [...extra]);
        expect(good.ok, `${name}: ${good.out}\n${fr.log().slice(-3000)}`).toBe(true);
        // the Accept names the user who proved the password, once (the inner identity, not TTLS's outer 'anonymous')
        const accept = good.out.slice(good.out.lastIndexOf('(Access-Accept)'));
        expect(
          [...accept.slice(0, accept.indexOf('Received RADIUS packet')).matchAll(/\(User-Name\) length=\d+\s+Value: '([^']*)'/g)].map(
            (m) => m[1],
          ),
          name,
        ).toEqual(['ann']);
        const bad = await eapolTest(fr, dir, conf('ann', 'not-her-pw', fr.caFile), [...extra]);
        expect(bad.ok, `${name} wrong password`).toBe(false);
      }
    }, 120_000);

    it('a user outside the required group is refused; removed from the group, refused at the next login', async () => {
      expect((await eapolTest(fr, dir, eapConf.md5('ben', 'ben-pw-1'), ['-n'])).ok).toBe(false);
      const c = await slapd.client();
      try {
        await c.modify(`cn=network,ou=groups,${BASE}`, memberChange('add', [`uid=ben,ou=people,${BASE}`]));
        expect((await eapolTest(fr, dir, eapConf.md5('ben', 'ben-pw-1'), ['-n'])).ok).toBe(true);
        // a tunnel whose outer identity names someone else: the Accept names the inner one, who proved the password
        const lying = await eapolTest(
          fr,
          dir,
          eapConf.ttls('ann', 'ann-pw-1', fr.caFile).replace('anonymous_identity="anonymous"', 'anonymous_identity="ben"'),
        );
        expect(lying.ok).toBe(true);
        const accept = lying.out.slice(lying.out.lastIndexOf('(Access-Accept)'));
        expect(
          [...accept.slice(0, accept.indexOf('Received RADIUS packet')).matchAll(/\(User-Name\) length=\d+\s+Value: '([^']*)'/g)].map(
            (m) => m[1],
          ),
        ).toEqual(['ann']);
        await c.modify(`cn=network,ou=groups,${BASE}`, memberChange('delete', [`uid=ben,ou=people,${BASE}`]));
        expect((await eapolTest(fr, dir, eapConf.peap('ben', 'ben-pw-1', fr.caFile))).ok).toBe(false);
      } finally {
        await c.unbind();
      }
    }, 60_000);

    it('the users file still answers MAB (MAC as user name and password)', async () => {
      const r = await eapolTest(fr, dir, eapConf.md5('0200000000aa', '0200000000aa'), ['-n']);
      expect(r.ok, r.out).toBe(true);
    }, 30_000);
  },
);
