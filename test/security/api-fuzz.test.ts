/**
 * Issue #11 proof: a fuzz test of the API (fast-check) with random and hostile bodies, headers (content type, Origin,
 * Host, Authorization variants) and paths (../, %2e%2e, very long, NUL bytes) against buildApp().inject() on a real
 * controller. After every request:
 * - no 500 and the app still answers (/healthz);
 * - the policy changed only if the request carried the admin token, an allowed Host and Origin, a YAML/JSON type;
 * - no reply contains the content of a canary file outside the policy folder, of a canary file inside it that a
 *   policy may name, nor the value of a canary environment variable.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Controller } from '../../controller/controller.js';
import { buildApp } from '../../controller/api.js';
import { copyExample, tempDir } from '../helpers/tmp.js';

const TOKEN = 'fuzz-admin-token-5b2e91c4';
const FILE_CANARY = 'CANARY-fuzz-file-e83f1a';
const INSIDE_CANARY = 'CANARY-fuzz-inside-77d2c0';
const ENV_CANARY = 'CANARY-fuzz-env-19ab4d';
const RUNS = Number(process.env.ACL_FUZZ_RUNS ?? 400);

describe('API fuzz', () => {
  let dir: string, outside: string, policy: string;
  let ctl: Controller;
  let app: FastifyInstance;
  const stats = { requests: 0, mutations: 0, byStatus: new Map<number, number>() };

  beforeAll(async () => {
    dir = copyExample('basic');
    outside = tempDir('acl-fuzz-outside-');
    writeFileSync(join(outside, 'secret.yaml'), `${FILE_CANARY}: 1\nusers: [{ id: "${FILE_CANARY}" }]\n`);
    writeFileSync(join(dir, 'inside-secret.yaml'), `${INSIDE_CANARY}: [1]\nroles: ["${INSIDE_CANARY}"]\n`);
    process.env.ACL_FUZZ_CANARY = ENV_CANARY;
    policy = readFileSync(join(dir, 'policy.yaml'), 'utf8');
    ctl = new Controller({ policyPath: join(dir, 'policy.yaml') });
    await ctl.load();
    app = await buildApp(ctl, { adminToken: TOKEN, hosts: ['acl.example.org'] });
  });
  afterAll(async () => {
    delete process.env.ACL_FUZZ_CANARY;
    await app?.close();
    console.log(
      `api fuzz: ${stats.requests} requests, ${stats.mutations} applied (all authorised), status ${[...stats.byStatus]
        .sort((a, b) => a[0] - b[0])
        .map(([s, n]) => `${s}:${n}`)
        .join(' ')}`,
    );
  });

  it('never crashes, never mutates without a valid token/host/origin/type, never leaks a canary', async () => {
    const hostile = [
      '../',
      '..%2f',
      '%2e%2e/',
      '%2e%2e%2f',
      '..\\',
      '%00',
      '\u0000',
      '%ff',
      '//',
      '/./',
      '%252e%252e/',
      'a'.repeat(5000),
      '?',
      '#',
      ';',
      '%0d%0aSet-Cookie:x=1',
    ];
    const paths = [
      '/api/v1/policy',
      '/api/v1/policy?dryRun=true',
      '/api/v1/policy?dryRun=false',
      '/api/v1/sync',
      '/api/v1/directory/confirm-shrink',
      '/api/v1/status',
      '/api/v1/switches',
      '/api/v1/switches/edge1/flows',
      '/api/v1/policy/history',
      '/api/v1/explain?from=alice&to=payroll-db&service=tcp/5432',
      '/api/v1/matrix',
      '/api/v1/directory',
      '/metrics',
      '/healthz',
      '/',
      '/ui/',
      '/console.js',
    ];
    const path = fc.oneof(
      { arbitrary: fc.constantFrom('/api/v1/policy', '/api/v1/policy?dryRun=true'), weight: 6 },
      fc.constantFrom(...paths),
      fc
        .tuple(
          fc.constantFrom(...paths, '/ui/', '/api/v1/switches/'),
          fc.array(fc.constantFrom(...hostile, 'etc/passwd', outside.slice(1) + '/secret.yaml', 'policy.yaml'), { maxLength: 6 }),
        )
        .map(([p, xs]) => p + xs.join('')),
      fc.string({ maxLength: 200 }).map((s) => '/' + encodeURIComponent(s)),
    );
    const method = fc.constantFrom('GET', 'POST', 'POST', 'POST', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD');
    const authorization = fc.oneof(
      { arbitrary: fc.constant(`Bearer ${TOKEN}`), weight: 12 },
      fc.constant(undefined),
      fc.constant(`Bearer ${TOKEN}`),
      fc.constant(`bearer ${TOKEN}`),
      fc.constant(`Bearer ${TOKEN} `),
      fc.constant(`Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`),
      fc.constant(`Bearer ${TOKEN.slice(0, -1)}`),
      fc.constant(`Bearer ${TOKEN}0`),
      fc.constant('Bearer '),
      fc.constant(TOKEN),
      fc.string({ maxLength: 80 }).map((s) => `Bearer ${s}`),
      fc.constant(`Bearer ${'x'.repeat(10000)}`),
    );
    const contentType = fc.oneof(
      { arbitrary: fc.constantFrom('application/yaml', 'application/json', 'text/yaml'), weight: 8 },
      fc.constant(undefined),
      fc.constantFrom(
        'application/yaml',
        'application/x-yaml',
        'text/yaml',
        'application/json',
        'text/plain',
        'text/plain; charset=utf-8',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=xx',
        'APPLICATION/YAML',
        'application/json; charset=utf-8',
        'application/yaml, text/plain',
        '*/*',
        '',
      ),
      fc.string({ maxLength: 40 }),
    );
    const origin = fc.oneof(
      { arbitrary: fc.constant(undefined), weight: 10 },
      fc.constantFrom(
        'http://evil.example',
        'null',
        'http://localhost',
        'http://localhost:80',
        'http://127.0.0.1:8080',
        'https://acl.example.org',
        'http://acl.example.org.evil.example',
        'file://',
        'chrome-extension://abc',
      ),
      fc.webUrl(),
    );
    const host = fc.oneof(
      { arbitrary: fc.constantFrom(undefined, 'localhost:80'), weight: 10 },
      fc.constantFrom(
        'localhost:80',
        'localhost',
        '127.0.0.1:8080',
        '[::1]:80',
        'acl.example.org',
        'evil.example',
        'evil.example:80',
        'localhost.evil.example',
        '127.0.0.1.nip.io',
        'a b',
        '',
        ':80',
        '[::1',
        'ACL.EXAMPLE.ORG:443',
      ),
      fc.domain(),
    );
    const ldapBody = (o: Record<string, string>) =>
      policy.replace(
        /^directory: .*$/m,
        `directory:\n  ldap:\n${Object.entries(o)
          .map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`)
          .join('\n')}`,
      );
    const body = fc.oneof(
      fc.constant(undefined),
      fc.constant(policy),
      fc.constant(policy.replace('default: deny', 'default: deny # fuzz')),
      fc
        .constantFrom(
          join(outside, 'secret.yaml'),
          'inside-secret.yaml',
          '/etc/shadow',
          '/etc/passwd',
          '../' + outside.split('/').pop() + '/secret.yaml',
          '/dev/zero',
          '/proc/self/environ',
          'policy.yaml',
        )
        .chain((f) =>
          fc.constantFrom('directory', 'topology').map((k) => policy.replace(new RegExp(`^${k}: .*$`, 'm'), `${k}: ${JSON.stringify(f)}`)),
        ),
      fc.constant(ldapBody({ url: 'ldap://127.0.0.1:18140', baseDn: 'dc=x', bindDn: 'cn=a,dc=x', passwordEnv: 'ACL_FUZZ_CANARY' })),
      fc.constant(
        ldapBody({ url: 'ldap://127.0.0.1:18140', baseDn: 'dc=x', bindDn: 'cn=a,dc=x', passwordFile: join(outside, 'secret.yaml') }),
      ),
      fc.string({ maxLength: 300 }),
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      fc.constant(
        JSON.stringify({ text: policy.replace(/^directory: .*$/m, `directory: ${JSON.stringify(join(outside, 'secret.yaml'))}`) }),
      ),
      fc.constant('a: &a [*a, *a]\n' + 'b: &b [*a, *a, *a, *a]\n'.repeat(3)),
    );
    await fc.assert(
      fc.asyncProperty(method, path, authorization, contentType, origin, host, body, async (m, url, auth, ct, org, h, b) => {
        const before = ctl.version;
        const text0 = readFileSync(join(dir, 'policy.yaml'), 'utf8');
        const headers: Record<string, string> = {};
        if (auth !== undefined) headers.authorization = auth;
        if (ct !== undefined) headers['content-type'] = ct;
        if (org !== undefined) headers.origin = org;
        if (h !== undefined) headers.host = h;
        let r;
        try {
          r = await app.inject({ method: m as 'GET', url, headers, payload: m === 'GET' || m === 'HEAD' ? undefined : b });
        } catch (e) {
          // inject refuses some malformed requests itself (an invalid header value): that is the client, not the app
          if (
            /Invalid character|invalid header|header content|ERR_INVALID_CHAR|ERR_HTTP_INVALID/i.test(
              String((e as Error).message) + String((e as { code?: string }).code),
            )
          )
            return;
          throw e;
        }
        stats.requests++;
        stats.byStatus.set(r.statusCode, (stats.byStatus.get(r.statusCode) ?? 0) + 1);
        expect(r.statusCode, `${m} ${url.slice(0, 80)} → ${r.body.slice(0, 200)}`).toBeLessThan(500);
        for (const c of [FILE_CANARY, INSIDE_CANARY, ENV_CANARY]) expect(r.body).not.toContain(c);
        for (const v of Object.values(r.headers))
          for (const c of [FILE_CANARY, INSIDE_CANARY, ENV_CANARY]) expect(String(v)).not.toContain(c);
        if (ctl.version !== before || readFileSync(join(dir, 'policy.yaml'), 'utf8') !== text0) {
          stats.mutations++;
          const okAuth =
            !!auth && /^\s*bearer\s+/i.test(auth) && auth.trim().split(/\s+/)[1] === TOKEN && auth.trim().split(/\s+/).length === 2;
          const okHost = h === undefined || /^(localhost|127\.0\.0\.1|\[::1\]|acl\.example\.org)(:\d+)?$/i.test(h);
          const okType = !!ct && /^(application\/(yaml|x-yaml|json)|text\/yaml)(;|$)/i.test(ct.trim());
          const okOrigin = org === undefined || org === `http://${h}` || /^https?:\/\/acl\.example\.org(:\d+)?$/i.test(org);
          expect({ m, okAuth, okHost, okType, okOrigin }).toEqual({ m: 'POST', okAuth: true, okHost: true, okType: true, okOrigin: true });
        }
        expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
      }),
      { numRuns: RUNS, seed: process.env.ACL_FUZZ_SEED ? Number(process.env.ACL_FUZZ_SEED) : undefined },
    );
  }, 300_000);
});
