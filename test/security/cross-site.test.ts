/**
 * Issue #11 item 3 (and the Bearer scheme of item 9): cross-site and local safety of the API, over real HTTP on
 * loopback (ports 18100+). A browser on another site can send "simple" requests (text/plain, forms) with its own
 * Origin, and a rebound DNS name makes it send any Host; a local user without the token is not an admin.
 * Also the token file: created 0600 on first start of `acl controller`, used by `acl apply` by default.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Controller } from '../../controller/controller.js';
import { buildApp } from '../../controller/api.js';
import { bearerToken, ensureAdminTokenFile, hostAllowed, originAllowed, tokenEquals } from '../../controller/security.js';
import { copyExample, tempDir, waitFor } from '../helpers/tmp.js';

const PORT = 18101;
const TOKEN = 'xsite-admin-token-0123456789';
const ROOT = new URL('../../', import.meta.url).pathname;

function http(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
  port = PORT,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        headers: { ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}), ...headers },
      },
      (res) => {
        let b = '';
        res.on('data', (d) => {
          b += d;
        });
        res.on('end', () => resolve({ status: res.statusCode!, body: b }));
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

describe('cross-site requests and DNS rebinding against a controller on real HTTP', () => {
  let dir: string, text: string;
  let ctl: Controller;
  let app: FastifyInstance;
  const HOST = `127.0.0.1:${PORT}`;
  const ADMIN = { authorization: `Bearer ${TOKEN}` };
  const changed = () => text.replace('default: deny', 'default: deny # changed');
  const unchanged = () => {
    expect(ctl.version).toBe(1);
    expect(readFileSync(join(dir, 'policy.yaml'), 'utf8')).toBe(text);
  };

  beforeAll(async () => {
    dir = copyExample('basic');
    text = readFileSync(join(dir, 'policy.yaml'), 'utf8');
    ctl = new Controller({ policyPath: join(dir, 'policy.yaml') });
    await ctl.load();
    app = await buildApp(ctl, { adminToken: TOKEN, hosts: ['acl.example.org'] });
    await app.listen({ host: '127.0.0.1', port: PORT });
  });
  afterAll(async () => {
    await app?.close();
  });

  it("the issue's CSRF: text/plain + Origin evil + no token from loopback is refused, nothing applied", async () => {
    const r = await http('POST', '/api/v1/policy', { host: HOST, 'content-type': 'text/plain', origin: 'http://evil.example' }, changed());
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    // each defence alone refuses it: no token (loopback is no admin) ...
    expect((await http('POST', '/api/v1/policy', { host: HOST, 'content-type': 'application/yaml' }, changed())).status).toBe(401);
    // ... a simple content type even with the token ...
    for (const ct of ['text/plain', 'text/plain; charset=utf-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x'])
      expect((await http('POST', '/api/v1/policy', { host: HOST, 'content-type': ct, ...ADMIN }, changed())).status).toBe(415);
    expect((await http('POST', '/api/v1/sync', { host: HOST, 'content-type': 'text/plain', ...ADMIN }, 'x')).status).toBe(415);
    // ... a foreign Origin even with the token and a YAML type
    for (const origin of ['http://evil.example', 'null', `http://127.0.0.1:${PORT + 1}`, `https://${HOST}.evil.example`, 'file://'])
      expect(
        (await http('POST', '/api/v1/policy', { host: HOST, 'content-type': 'application/yaml', origin, ...ADMIN }, changed())).status,
      ).toBe(403);
    unchanged();
  });

  it('DNS rebinding: a Host that is not this machine or a configured name is refused (421), reads included', async () => {
    for (const host of ['evil.example', `evil.example:${PORT}`, 'localhost.evil.example', `127.0.0.1.nip.io:${PORT}`, 'a b'])
      for (const path of ['/api/v1/status', '/api/v1/policy', '/metrics', '/']) {
        const r = await http('GET', path, { host, ...ADMIN });
        expect([400, 421]).toContain(r.status);
        expect(r.body).not.toContain('payroll');
      }
    expect(
      (await http('POST', '/api/v1/policy', { host: `evil.example:${PORT}`, 'content-type': 'application/yaml', ...ADMIN }, changed()))
        .status,
    ).toBe(421);
    unchanged();
    for (const host of [HOST, `localhost:${PORT}`, `[::1]:${PORT}`, 'acl.example.org', `ACL.example.org:${PORT}`])
      expect((await http('GET', '/api/v1/status', { host })).status).toBe(200);
  });

  it('the console\'s own origin and the admin token (any case of "Bearer") may change the policy', async () => {
    const dry = await http(
      'POST',
      '/api/v1/policy?dryRun=true',
      { host: HOST, origin: `http://${HOST}`, 'content-type': 'text/yaml', ...ADMIN },
      changed(),
    );
    expect(dry.status).toBe(200);
    for (const scheme of ['bearer', 'BEARER', 'BeArEr'])
      expect(
        (
          await http(
            'POST',
            '/api/v1/policy?dryRun=true',
            { host: HOST, 'content-type': 'application/x-yaml', authorization: `${scheme} ${TOKEN}` },
            changed(),
          )
        ).status,
      ).toBe(200);
    expect(
      (
        await http(
          'POST',
          '/api/v1/policy?dryRun=true',
          { host: HOST, 'content-type': 'application/json', ...ADMIN },
          JSON.stringify({ text: changed() }),
        )
      ).status,
    ).toBe(200);
    for (const auth of [`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, `Basic ${TOKEN}`, TOKEN, `Bearer`, `Bearer ${TOKEN} extra`])
      expect(
        (
          await http(
            'POST',
            '/api/v1/policy?dryRun=true',
            { host: HOST, 'content-type': 'application/yaml', authorization: auth },
            changed(),
          )
        ).status,
      ).toBe(401);
    unchanged();
    const r = await http(
      'POST',
      '/api/v1/policy',
      { host: `acl.example.org:${PORT}`, origin: 'https://acl.example.org', 'content-type': 'application/yaml', ...ADMIN },
      changed(),
    );
    expect(r.status).toBe(200);
    expect(ctl.version).toBe(2);
  });

  it('helpers: constant-time equality, Bearer parsing, host and origin rules', () => {
    expect(tokenEquals('abc', 'abc')).toBe(true);
    expect(tokenEquals('abc', 'abd')).toBe(false);
    expect(tokenEquals('abc', 'abcd')).toBe(false);
    expect(bearerToken('bearer  t0k ')).toBe('t0k');
    expect(bearerToken('Bearer a b')).toBeUndefined();
    expect(hostAllowed('[::1]:80')).toBe(true);
    expect(hostAllowed('evil.example')).toBe(false);
    expect(originAllowed('http://localhost:8080', 'localhost:8080')).toBe(true);
    expect(originAllowed('http://localhost:8081', 'localhost:8080')).toBe(false);
  });
});

describe('the admin token file', () => {
  it('is created once with a random token, mode 0600 in a 0700 folder, and read back unchanged', async () => {
    const d = tempDir('acl-token-');
    const f = join(d, 'cfg', 'sdn-acl', 'admin-token');
    const a = await ensureAdminTokenFile(f);
    expect(a.created).toBe(true);
    expect(statSync(f).mode & 0o777).toBe(0o600);
    expect(statSync(join(d, 'cfg', 'sdn-acl')).mode & 0o777).toBe(0o700);
    expect(a.text.trim()).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const b = await ensureAdminTokenFile(f);
    expect(b).toMatchObject({ created: false, text: a.text });
    expect(b.warning).toBeUndefined();
    const other = (await ensureAdminTokenFile(join(d, 'x', 'admin-token'))).text;
    expect(other).not.toBe(a.text);
    writeFileSync(join(d, 'open'), 'an-open-token-123\n', { mode: 0o644 });
    expect((await ensureAdminTokenFile(join(d, 'open'))).warning).toMatch(/readable by other users/);
  });

  it('acl controller creates it on first start and logs where; acl apply uses it by default; without it, 401', async () => {
    const dir = copyExample('basic');
    const cfg = tempDir('acl-xdg-');
    const env = { ...process.env, XDG_CONFIG_HOME: cfg, ACL_ADMIN_TOKEN: '', ACL_TOKEN_FILE: '' };
    const run = (args: string[], e = env) =>
      spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/controller/run-cli.ts'), ...args], {
        cwd: ROOT,
        env: e,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    const child: ChildProcess = run([
      'controller',
      join(dir, 'policy.yaml'),
      '--listen',
      `127.0.0.1:${PORT + 10}`,
      '--api',
      `127.0.0.1:${PORT + 11}`,
      '--audit-interval',
      '0',
      '--audit-log',
      join(dir, 'audit.jsonl'),
      '--state-file',
      join(dir, 'state.json'),
    ]);
    let log = '';
    child.stdout!.on('data', (d) => {
      log += d;
    });
    child.stderr!.on('data', (d) => {
      log += d;
    });
    try {
      await waitFor('controller API up', () => /API and web console on/.test(log), 90_000, 200);
      const file = join(cfg, 'sdn-acl', 'admin-token');
      expect(existsSync(file)).toBe(true);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(log).toContain(`created the admin token in ${file}`);
      expect(log).not.toContain(readFileSync(file, 'utf8').trim()); // the token itself is not logged
      const cli = (args: string[], e = env) =>
        new Promise<{ code: number | null; out: string }>((resolve) => {
          const c = run(args, e);
          let out = '';
          c.stdout.on('data', (d) => {
            out += d;
          });
          c.stderr.on('data', (d) => {
            out += d;
          });
          c.on('close', (code) => resolve({ code, out }));
        });
      const ok = await cli(['apply', join(dir, 'policy.yaml'), '--controller', `http://127.0.0.1:${PORT + 11}`, '--dry-run', '--json']);
      expect(ok.code).toBe(0);
      expect(JSON.parse(ok.out)).toMatchObject({ ok: true, dryRun: true });
      const no = await cli(['apply', join(dir, 'policy.yaml'), '--controller', `http://127.0.0.1:${PORT + 11}`, '--dry-run', '--json'], {
        ...env,
        XDG_CONFIG_HOME: tempDir('acl-xdg-empty-'),
      });
      expect(no.code).not.toBe(0);
      expect(no.out).toMatch(/401/);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
    }
  }, 240_000);
});
