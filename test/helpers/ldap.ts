/** Shared pieces of the LDAP tests: a source on a private slapd, a comparable form of a directory, member changes. */
import { Attribute, Change } from 'ldapts';
import type { Slapd } from './slapd.js';
import { LdapDirectorySource, readLdapConfig } from '../../directory/ldap.js';
import type { Directory } from '../../compiler/model.js';

export const CAMPUS = new URL('../../examples/campus/', import.meta.url).pathname;
export const BASE = 'dc=campus,dc=example';

/** A source on the test's slapd (campus layout), with config overrides. */
export function ldapSource(s: Slapd, extra: Record<string, unknown> = {}): LdapDirectorySource {
  process.env.ACL_TEST_LDAP_PW = s.rootPassword;
  const { config, diagnostics } = readLdapConfig(
    { url: s.url, baseDn: BASE, bindDn: s.rootDn, passwordEnv: 'ACL_TEST_LDAP_PW', rootOrganization: 'corp', ...extra },
    () => undefined,
  );
  if (!config) throw new Error(JSON.stringify(diagnostics));
  return new LdapDirectorySource(config, CAMPUS);
}

/** A directory as comparable text: organizations and users with every field. */
export const stripDirectory = (d: Directory) => ({
  orgs: d.organizations.map((o) => `${o.name}<${o.parent ?? ''}`),
  users: d.users.map(
    (u) => `${u.id}|${u.name}|${u.organization}|${u.roles.join(',')}|${u.devices.map((x) => `${x.mac}/${x.ip}`).join(',')}`,
  ),
});

export const memberChange = (op: 'add' | 'delete', values: string[]) =>
  new Change({ operation: op, modification: new Attribute({ type: 'member', values }) });
