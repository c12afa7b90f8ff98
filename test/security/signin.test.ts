/**
 * Hostile input to the web sign-in page: no lease, forged or foreign CSRF tokens, cross-site posts, oversized and
 * wrongly typed bodies, password guessing (lockout per user and per address), request floods, markup in names,
 * redirect parameters. Nothing is granted on bad input; the credential check is not even reached.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:https';
import { tempDir } from '../helpers/tmp.js';
import { SigninServer, type CheckResult, type CredentialChecker } from '../../edge/signin.js';
import { SessionTable } from '../../edge/sessions.js';
import type { AddressLease } from '../../compiler/model.js';

const LAPTOP = '02:00:00:00:00:10';

class CountingChecker implements CredentialChecker {
  calls = 0;
  async check(user: string, password: string): Promise<CheckResult> {
    this.calls++;
    return user === 'dana' && password === 'right-one'
      ? { ok: true, user }
      : { ok: false, code: 'invalid', message: 'invalid credentials' };
  }
}

let srv: SigninServer | undefined;
let sessions: SessionTable | undefined;
afterEach(async () => {
  await srv?.close();
  sessions?.stop();
  srv = undefined;
});

async function setup(opts: { lease?: boolean; rpm?: number } = {}) {
  sessions = new SessionTable();
  const leases = new Map<string, AddressLease>();
  if (opts.lease !== false) leases.set('127.0.0.1', { mac: LAPTOP, ip: '127.0.0.1', switch: 'e1', port: 3, source: 'dhcp' });
  const checker = new CountingChecker();
  let settledCalls = 0;
  srv = new SigninServer(
    { host: '127.0.0.1', port: 0, sessionMs: 600_000, maxFailures: 3, lockoutMs: 60_000, requestsPerMinute: opts.rpm ?? 1000 },
    {
      leases: { byIp: (ip) => leases.get(ip) },
      sessions: sessions,
      settled: async () => {
        settledCalls++;
      },
      checker,
    },
  );
  const { port } = await srv.listen();
  const base = `http://127.0.0.1:${port}`;
  const token = async () => (await (await fetch(`${base}/`)).text()).match(/name="csrf" value="([^"]+)"/)?.[1] ?? '';
  const post = (path: string, form: Record<string, string>, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(form).toString(),
    });
  return { base, checker, token, post, settled: () => settledCalls };
}

describe('web sign-in against hostile requests', () => {
  it('signs in the MAC that holds the address on its port, answers after the switches confirmed, and shows no redirect', async () => {
    const t = await setup();
    const r = await t.post('/signin?next=http://evil.example/', {
      csrf: await t.token(),
      user: 'dana',
      password: 'right-one',
      next: 'https://evil.example/',
    });
    expect(r.status).toBe(200);
    expect(r.headers.get('location')).toBeNull();
    const html = await r.text();
    expect(html).toContain('signed in as <strong>dana</strong>');
    expect(html).not.toContain('evil.example');
    expect(sessions!.byMac(LAPTOP)).toMatchObject({ user: 'dana', method: 'web', switch: 'e1', port: 3 });
    expect(t.settled()).toBe(1);
    expect(r.headers.get('content-security-policy')).toContain("default-src 'none'");
    // sign-out ends it
    const o = await t.post('/signout', { csrf: await t.token() });
    expect(o.status).toBe(200);
    expect(sessions!.byMac(LAPTOP)).toBeUndefined();
  });

  it('an address without a lease (not a device on an access port) gets no form and no session', async () => {
    const t = await setup({ lease: false });
    expect((await fetch(`${t.base}/`)).status).toBe(403);
    const r = await t.post('/signin', { csrf: srv!.token('127.0.0.1'), user: 'dana', password: 'right-one' });
    expect(r.status).toBe(403);
    expect(t.checker.calls).toBe(0);
    expect(sessions!.size).toBe(0);
  });

  it('missing, forged, expired-format and other-address CSRF tokens and cross-site posts are refused before the password check', async () => {
    const t = await setup();
    for (const csrf of ['', 'abc', 'zzzzzzzzzzzz.AAAA', srv!.token('10.9.9.9'), `${(await t.token()).split('.')[0]}.${'A'.repeat(43)}`]) {
      const r = await t.post('/signin', { csrf, user: 'dana', password: 'right-one' });
      expect(r.status).toBe(403);
    }
    const cross = await t.post(
      '/signin',
      { csrf: await t.token(), user: 'dana', password: 'right-one' },
      { origin: 'http://evil.example' },
    );
    expect(cross.status).toBe(403);
    expect(t.checker.calls).toBe(0);
    expect(sessions!.size).toBe(0);
  });

  it('oversized, wrongly typed and malformed bodies are refused; markup in a user name is not reflected', async () => {
    const t = await setup();
    const big = await t.post('/signin', { csrf: await t.token(), user: 'dana', password: 'x'.repeat(10_000) });
    expect(big.status).toBe(400);
    const json = await fetch(`${t.base}/signin`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'dana', password: 'right-one' }),
    });
    expect(json.status).toBe(400);
    const xss = await t.post('/signin', { csrf: await t.token(), user: '<script>alert(1)</script>', password: 'p' });
    expect(xss.status).toBe(400);
    expect(await xss.text()).not.toContain('<script>alert');
    expect(t.checker.calls).toBe(0);
    expect((await fetch(`${t.base}/../../etc/passwd`)).status).toBe(404);
    expect((await fetch(`${t.base}/`, { method: 'DELETE' })).status).toBe(405);
  });

  it('password guessing: after 3 failures the user is locked out, even with the right password, without asking the directory', async () => {
    const t = await setup();
    for (let i = 0; i < 3; i++)
      expect((await t.post('/signin', { csrf: await t.token(), user: 'dana', password: `guess-${i}` })).status).toBe(401);
    const calls = t.checker.calls;
    const locked = await t.post('/signin', { csrf: await t.token(), user: 'dana', password: 'right-one' });
    expect(locked.status).toBe(429);
    expect(await locked.text()).toContain('Too many failed attempts');
    expect(t.checker.calls).toBe(calls);
    expect(sessions!.size).toBe(0);
    expect(srv!.counters['locked-out']).toBe(1);
  });

  it('a request flood from one address is cut off at the per-minute rate', async () => {
    const t = await setup({ rpm: 20 });
    const codes: number[] = [];
    for (let i = 0; i < 40; i++) codes.push((await fetch(`${t.base}/`)).status);
    expect(codes.filter((c) => c === 200).length).toBe(20);
    expect(codes.filter((c) => c === 429).length).toBe(20);
  });

  it('with a certificate configured the page is served over HTTPS only (and works there)', async () => {
    const d = tempDir('dh-signin-tls-');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        join(d, 'key.pem'),
        '-out',
        join(d, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    sessions = new SessionTable();
    srv = new SigninServer(
      {
        host: '127.0.0.1',
        port: 0,
        tls: { cert: readFileSync(join(d, 'cert.pem')), key: readFileSync(join(d, 'key.pem')) },
        sessionMs: 60_000,
        maxFailures: 3,
        lockoutMs: 60_000,
        requestsPerMinute: 100,
      },
      {
        leases: { byIp: () => ({ mac: LAPTOP, ip: '127.0.0.1', switch: 'e1', port: 3, source: 'dhcp' }) },
        sessions: sessions,
        settled: async () => undefined,
        checker: new CountingChecker(),
      },
    );
    const { port } = await srv.listen();
    const body = await new Promise<string>((res, rej) => {
      const r = request({ host: '127.0.0.1', port, path: '/', ca: readFileSync(join(d, 'cert.pem')) }, (m) => {
        let b = '';
        m.on('data', (c) => (b += c));
        m.on('end', () => res(b));
      });
      r.on('error', rej);
      r.end();
    });
    expect(body).toContain('<label for="password">Password</label>');
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
  });
});
