/** The sign-in block's `check: radius` (PAP instead of an LDAP bind) and `vouchers:` keys, with file:line errors. */
import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPolicy } from '../../loader/index.js';
import { tempDir } from '../helpers/tmp.js';

async function load(signin: string) {
  const dir = tempDir('acl-signin-policy-');
  writeFileSync(
    join(dir, 'directory.yaml'),
    'organizations: [corp]\nusers: [{ id: dana, organization: corp, roles: [staff], devices: [] }]\n',
  );
  writeFileSync(
    join(dir, 'topology.yaml'),
    'switches: [{ name: e1, dpid: 1 }]\nservers: [{ name: srv, switch: e1, port: 9, mac: "02:00:00:00:00:09", ip: 10.0.0.9 }]\n',
  );
  writeFileSync(
    join(dir, 'policy.yaml'),
    `version: 1\ndirectory: directory.yaml\ntopology: topology.yaml\nresources:\n  web: { hosts: [srv], services: [tcp/443] }\nrules:\n  - { name: guests-web, from: { roles: [guest] }, to: web }\ndhcp:\n  servers: [srv]\nsignin:\n${signin}\n`,
  );
  return loadPolicy(join(dir, 'policy.yaml'));
}

describe('signin policy: RADIUS PAP and vouchers', () => {
  it('check: radius needs no ldap block; vouchers: true is kept; the guest role is usable in rules', async () => {
    const r = await load('  listen: 127.0.0.1:8443\n  check: radius\n  vouchers: true');
    if (!r.ok) throw new Error(JSON.stringify(r.diagnostics));
    expect(r.value.policy.firstContact?.signin).toMatchObject({ check: 'radius', vouchers: true, port: 8443 });
  });
  it('without check, a file directory still needs an ldap block; a bad check value is an error at its line', async () => {
    const a = await load('  listen: 127.0.0.1:8443');
    expect(a.ok).toBe(false);
    const b = await load('  listen: 127.0.0.1:8443\n  check: kerberos\n  vouchers: "yes"');
    expect(b.ok).toBe(false);
    if (b.ok) return;
    const msgs = b.diagnostics.map((d) => `${d.location?.line}: ${d.message}`);
    expect(msgs).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^12: signin\.check: check must be ldap/),
        expect.stringMatching(/^13: signin\.vouchers: vouchers must be true or false/),
      ]),
    );
  });
});
