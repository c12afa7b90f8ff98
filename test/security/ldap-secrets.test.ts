/**
 * Issue #11 item 2: a policy posted to the API cannot send a secret anywhere. The attacker (holding the admin token)
 * posts LDAP blocks naming their own server (a real TCP listener on a loopback port of ours), a bind DN, a password
 * file and a password variable (canaries), and a CA. Dry run or not, the controller must refuse before any I/O:
 * the listener receives no connection and nothing of the canaries comes back. An allowlisted URL (--allow-ldap) is
 * the only new endpoint it may contact.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server, type Socket } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Controller } from '../../controller/controller.js';
import { buildApp } from '../../controller/api.js';
import { PolicyGuard, parseLdapAllow } from '../../controller/policy-guard.js';
import { parsePolicyText } from '../../compiler/inputs.js';
import { copyExample, tempDir } from '../helpers/tmp.js';

const TRAP = 18120,
  ALLOWED = 18121;
const TOKEN = 'ldap-secrets-admin-token';
const FILE_CANARY = 'CANARY-pwfile-4d1e9b';
const ENV_CANARY = 'CANARY-pwenv-a07c33';
const H = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/yaml' };

/** A loopback listener that records every connection and every byte sent to it. */
function trap(port: number): Promise<{ server: Server; conns: number; bytes: () => string }> {
  return new Promise((resolve) => {
    const got: Buffer[] = [];
    const socks = new Set<Socket>();
    const t = { server: undefined as unknown as Server, conns: 0, bytes: () => Buffer.concat(got).toString('latin1') };
    t.server = createServer((s) => {
      t.conns++;
      socks.add(s);
      s.on('data', (d) => got.push(d));
      s.on('error', () => undefined);
      setTimeout(() => s.destroy(), 200);
    });
    t.server.on('close', () => {
      for (const s of socks) s.destroy();
    });
    t.server.listen(port, '127.0.0.1', () => resolve(t));
  });
}

describe('LDAP settings in a policy posted to the API', () => {
  let dir: string, policy: string, secrets: string;
  let ctl: Controller;
  let app: FastifyInstance;
  let t1: Awaited<ReturnType<typeof trap>>, t2: Awaited<ReturnType<typeof trap>>;
  const ldap = (o: Readonly<Record<string, string | undefined>>) =>
    policy.replace(
      /^directory: .*$/m,
      `directory:\n  ldap:\n${Object.entries(o)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`)
        .join('\n')}`,
    );
  const post = (text: string, dry: boolean) =>
    app.inject({ method: 'POST', url: `/api/v1/policy${dry ? '?dryRun=true' : ''}`, payload: text, headers: H });

  beforeAll(async () => {
    dir = copyExample('basic');
    secrets = tempDir('acl-secrets-');
    policy = readFileSync(join(dir, 'policy.yaml'), 'utf8');
    writeFileSync(join(secrets, 'pw'), FILE_CANARY);
    writeFileSync(join(dir, 'pw-inside'), FILE_CANARY);
    process.env.ACL_TEST_LDAP_CANARY = ENV_CANARY;
    process.env.ACL_TEST_OK_PW = 'allowed-password';
    t1 = await trap(TRAP);
    t2 = await trap(ALLOWED);
    ctl = new Controller({
      policyPath: join(dir, 'policy.yaml'),
      submitted: { ldapAllow: parseLdapAllow([`url=ldap://127.0.0.1:${ALLOWED}`, 'bindDn=cn=ok,dc=x', 'passwordEnv=ACL_TEST_OK_PW']) },
    });
    await ctl.load();
    app = await buildApp(ctl, { adminToken: TOKEN });
  });
  afterAll(async () => {
    delete process.env.ACL_TEST_LDAP_CANARY;
    delete process.env.ACL_TEST_OK_PW;
    await app?.close();
    await new Promise((r) => t1?.server.close(r));
    await new Promise((r) => t2?.server.close(r));
  });

  it('a new server, bind DN, password file or variable, or CA is refused before any connection, dry run or not', async () => {
    const url = `ldap://127.0.0.1:${TRAP}`;
    const attempts = [
      { url, baseDn: 'dc=x', bindDn: 'cn=admin,dc=x', passwordFile: join(secrets, 'pw') },
      { url, baseDn: 'dc=x', bindDn: 'cn=admin,dc=x', passwordFile: 'pw-inside' },
      { url, baseDn: 'dc=x', bindDn: 'cn=admin,dc=x', passwordEnv: 'ACL_TEST_LDAP_CANARY' },
      { url, baseDn: 'dc=x' },
      { url: `ldaps://127.0.0.1:${TRAP}`, baseDn: 'dc=x', caFile: '/etc/ssl/certs/ca-certificates.crt' },
    ];
    for (const a of attempts)
      for (const dry of [true, false]) {
        const r = await post(ldap(a), dry);
        expect(r.statusCode).toBe(422);
        const body = r.json();
        expect(body.diagnostics.every((d: { code: string }) => d.code === 'ldap-not-allowed')).toBe(true);
        expect(body.errors.join('\n')).toMatch(
          /policy\.yaml:\d+:\d+: error ldap-not-allowed: directory\.ldap\.url: a policy sent through the API cannot add the LDAP server/,
        );
        expect(r.body).not.toContain(FILE_CANARY);
        expect(r.body).not.toContain(ENV_CANARY);
      }
    await new Promise((r) => setTimeout(r, 500));
    expect(t1.conns).toBe(0);
    expect(t1.bytes()).toBe('');
    expect(ctl.version).toBe(1);
    expect(readFileSync(join(dir, 'policy.yaml'), 'utf8')).toBe(policy);
  });

  it('an allowlisted URL may be used; a new password source with it is still refused', async () => {
    const withSecret = await post(
      ldap({ url: `ldap://127.0.0.1:${ALLOWED}`, baseDn: 'dc=x', bindDn: 'cn=a,dc=x', passwordEnv: 'ACL_TEST_LDAP_CANARY' }),
      true,
    );
    expect(withSecret.statusCode).toBe(422);
    expect(withSecret.json().errors.join('\n')).toMatch(
      /ldap\.bindDn: .*cannot add the LDAP bind DN[\s\S]*ldap\.passwordEnv: .*cannot add the LDAP password source/,
    );
    expect(t2.conns).toBe(0);
    // all three allowlisted: the guard lets it through, the load contacts the allowed server (and only it)
    const anon = await post(
      ldap({ url: `ldap://127.0.0.1:${ALLOWED}`, baseDn: 'dc=x', bindDn: 'cn=ok,dc=x', passwordEnv: 'ACL_TEST_OK_PW', timeout: '1s' }),
      true,
    );
    expect(anon.statusCode).toBe(422); // our listener is no LDAP server
    expect(anon.json().diagnostics.some((d: { code: string }) => d.code === 'ldap-not-allowed')).toBe(false);
    expect(t2.conns).toBeGreaterThan(0);
    expect(t2.bytes()).not.toContain(ENV_CANARY);
    expect(t1.conns).toBe(0);
  });

  it("the running configuration's own settings pass; changing any one of them does not", () => {
    const p = join(dir, 'policy.yaml');
    const running = `version: 1\ndirectory:\n  ldap:\n    url: ldaps://dir.example:636\n    baseDn: dc=example,dc=org\n    bindDn: cn=acl,dc=example,dc=org\n    passwordFile: secrets/ldap-pw\n    caFile: ca.pem\ntopology: topology.yaml\n`;
    const pr = parsePolicyText(running, p);
    expect(pr.ok).toBe(true);
    const g = new PolicyGuard({ policyPath: p, ldapAllow: parseLdapAllow(['passwordEnv=LDAP_PW']) });
    const run = pr.ok ? pr.value : undefined;
    expect(g.checkSecrets(running.replace('baseDn: dc=example,dc=org', 'baseDn: dc=example,dc=org\n    pollInterval: 10s'), run)).toEqual(
      [],
    );
    // the same file written differently (./secrets/../secrets/ldap-pw) is the same file
    expect(
      g.checkSecrets(running.replace('passwordFile: secrets/ldap-pw', `passwordFile: ${join(dir, 'secrets/../secrets/ldap-pw')}`), run),
    ).toEqual([]);
    expect(g.checkSecrets(running.replace('passwordFile: secrets/ldap-pw', 'passwordEnv: LDAP_PW'), run)).toEqual([]); // allowlisted
    for (const [a, b, field] of [
      ['ldaps://dir.example:636', 'ldaps://evil.example:636', 'url'],
      ['cn=acl,', 'cn=root,', 'bindDn'],
      ['secrets/ldap-pw', '/etc/shadow', 'passwordFile'],
      ['ca.pem', '/tmp/evil-ca.pem', 'caFile'],
      ['passwordFile: secrets/ldap-pw', 'passwordEnv: HOME', 'passwordEnv'],
    ]) {
      const d = g.checkSecrets(running.replace(a, b), run);
      expect(d.map((x) => x.message).join('\n')).toContain(`directory.ldap.${field}:`);
      expect(d[0].location?.line).toBeGreaterThan(2);
    }
    expect(() => parseLdapAllow(['password=x'])).toThrow(/FIELD=VALUE/);
  });
});
