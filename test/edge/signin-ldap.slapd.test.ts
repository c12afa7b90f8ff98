/** The sign-in credential check is a real LDAP bind as the user, against a private slapd (plain and StartTLS-less ldap://, and ldaps:// with its CA). */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LdapBindChecker } from '../../edge/signin-ldap.js';
import { readLdapConfig } from '../../directory/ldap-config.js';
import { Slapd, haveSlapd } from '../helpers/slapd.js';
import { describeWith } from '../helpers/needs.js';

const SUFFIX = 'dc=campus,dc=example';
const LDIF =
  `dn: ${SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\no: Campus\ndc: campus\n\ndn: ou=people,${SUFFIX}\nobjectClass: organizationalUnit\nou: people\n\n` +
  `dn: uid=dana,ou=people,${SUFFIX}\nobjectClass: inetOrgPerson\nuid: dana\ncn: Dana\nsn: D\nuserPassword: dana-secret-1\n\n` +
  `dn: uid=eve,ou=people,${SUFFIX}\nobjectClass: inetOrgPerson\nuid: eve\ncn: Eve\nsn: E\n`;

describeWith({ slapd: haveSlapd() }, 'sign-in by LDAP bind as the user (real slapd)', () => {
  let slapd: Slapd;
  const checker = (extra: Record<string, unknown> = {}) => {
    const r = readLdapConfig(
      { url: slapd.url, baseDn: SUFFIX, bindDn: `cn=admin,${SUFFIX}`, passwordEnv: 'DH_SIGNIN_PW', ...extra },
      () => undefined,
    );
    if (!r.config) throw new Error(JSON.stringify(r.diagnostics));
    return new LdapBindChecker(r.config, '/');
  };
  beforeAll(async () => {
    slapd = new Slapd({ ldif: LDIF, tls: true });
    await slapd.start();
    process.env.DH_SIGNIN_PW = slapd.rootPassword;
  }, 60_000);
  afterAll(async () => {
    await slapd?.destroy();
  });

  it('the right password binds; a wrong one, an unknown user, an entry without a password and an empty password do not', async () => {
    const c = checker();
    expect(await c.check('dana', 'dana-secret-1')).toEqual({ ok: true, user: 'dana' });
    expect(await c.check('dana', 'dana-secret-2')).toMatchObject({ ok: false, code: 'invalid' });
    expect(await c.check('nobody', 'x')).toMatchObject({ ok: false, code: 'invalid' });
    expect(await c.check('eve', 'anything')).toMatchObject({ ok: false, code: 'invalid' });
    expect(await c.check('dana', '')).toMatchObject({ ok: false, code: 'invalid' });
  });

  it('filter metacharacters in the user name match nobody (escaped), never a wildcard', async () => {
    const c = checker();
    expect(await c.check('*', 'dana-secret-1')).toMatchObject({ ok: false, code: 'invalid' });
    expect(await c.check('dan*', 'dana-secret-1')).toMatchObject({ ok: false, code: 'invalid' });
    expect(await c.check('dana)(uid=*', 'dana-secret-1')).toMatchObject({ ok: false, code: 'invalid' });
  });

  it('over ldaps:// with the directory connection’s CA; an unreachable server is "unavailable", not a refusal', async () => {
    const c = checker({ url: `ldaps://127.0.0.1:${slapd.tlsPort}`, caFile: slapd.caFile });
    expect(await c.check('dana', 'dana-secret-1')).toEqual({ ok: true, user: 'dana' });
    const noCa = checker({ url: `ldaps://127.0.0.1:${slapd.tlsPort}` });
    expect(await noCa.check('dana', 'dana-secret-1')).toMatchObject({ ok: false, code: 'unavailable' });
    const down = checker({ url: 'ldap://127.0.0.1:1', timeout: '1s' });
    expect(await down.check('dana', 'dana-secret-1')).toMatchObject({ ok: false, code: 'unavailable' });
  });
});
