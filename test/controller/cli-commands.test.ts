/**
 * `acl apply` and `acl status` against a controller running in this process (HTTP on loopback, no OVS).
 * The commands run from the sources (no build) in a child process, so exit codes and output are real.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Controller } from '../../controller/controller.js';
import { buildApp } from '../../controller/api.js';
import { copyExample as copyExampleDir } from '../helpers/tmp.js';

/** Private copies of examples, removed when the file's tests are done. */
const madeDirs: string[] = [];
const example = (name: string) => {
  const d = copyExampleDir(name);
  madeDirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of madeDirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const ROOT = new URL('../../', import.meta.url).pathname;

/** Runs `acl NAME ARGS` from the sources in a child process (async, so this process keeps serving the API). */
function acl(name: string, ...args: string[]): Promise<{ out: string; err: string; code: number | null }> {
  return aclEnv({}, name, ...args);
}
function aclEnv(
  extraEnv: Record<string, string>,
  name: string,
  ...args: string[]
): Promise<{ out: string; err: string; code: number | null }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, ['--import', 'tsx', new URL('./run-cli.ts', import.meta.url).pathname, name, ...args], {
      cwd: ROOT,
      env: { ...process.env, ACL_ADMIN_TOKEN: '', ACL_TOKEN_FILE: '/nonexistent/acl-token-file', ...extraEnv },
    });
    let out = '',
      err = '';
    c.stdout.on('data', (d) => {
      out += d;
    });
    c.stderr.on('data', (d) => {
      err += d;
    });
    c.on('close', (code) => resolve({ out, err, code }));
  });
}

describe('acl apply / acl status against a running controller', () => {
  let dir: string;
  let ctl: Controller;
  let app: FastifyInstance;
  let url: string;

  beforeAll(async () => {
    dir = example('basic');
    ctl = new Controller({ policyPath: join(dir, 'policy.yaml') });
    await ctl.load();
    app = await buildApp(ctl, { adminToken: 'cli-admin-token' });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    writeFileSync(join(dir, 'next.yaml'), readFileSync(join(dir, 'policy.yaml'), 'utf8').replace(/ {2}- \{ name: staff-intranet.*\n/, ''));
  });
  afterAll(async () => {
    await app?.close();
  });

  it('apply --dry-run prints who loses access and flow counts per switch, and changes nothing', async () => {
    const r = await acl('apply', ...[join(dir, 'next.yaml'), '--controller', url, '--dry-run', '--token', 'cli-admin-token']);
    expect(r.out).toMatch(/Would change: 0 gain, \d+ lose/);
    expect(r.out).toMatch(/^\s+- bob -> intranet tcp\/80$/m);
    expect(r.out).toMatch(/switch edge1: \+\d+ -\d+ flows \(\d+ unchanged\)/);
    expect(ctl.version).toBe(1);
  });

  it("apply without the token is refused with the controller's message", async () => {
    const r = await acl('apply', ...[join(dir, 'next.yaml'), '--controller', url, '--json']);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/"ok": false/);
    expect(r.out).toMatch(/401/);
    expect(ctl.version).toBe(1);
  });

  it('apply --json applies and returns the result; status shows the new version and last change', async () => {
    const r = await acl('apply', ...[join(dir, 'next.yaml'), '--controller', url, '--json', '--token', 'cli-admin-token']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ ok: true, version: 2 });
    expect(ctl.version).toBe(2);
    const s = await acl('status', ...['--controller', url]);
    expect(s.out).toMatch(/version 2; 0\/3 switches connected/);
    expect(s.out).toMatch(/last change .* by admin:/);
  }, 120_000); // two CLI processes started through tsx: ~35 s on a loaded machine

  it('a refused apply: an invalid policy prints its diagnostics, a stale --base-version the conflict; nothing changes', async () => {
    const v = ctl.version;
    writeFileSync(join(dir, 'bad.yaml'), 'x: 1\n');
    const bad = await acl('apply', ...[join(dir, 'bad.yaml'), '--controller', url, '--token', 'cli-admin-token']);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/^\S+:1:1: error bad-version: /m);
    expect(bad.err).toMatch(/^\d+ errors; nothing was produced\.$/m);
    const stale = await acl('apply', ...[join(dir, 'next.yaml'), '--controller', url, '--token', 'cli-admin-token', '--base-version', '0']);
    expect(stale.code).toBe(1);
    expect(stale.err).toMatch(
      new RegExp(`^error: error conflict: policy changed meanwhile \\(based on version 0, now ${v}\\): reload`, 'm'),
    );
    expect(ctl.version).toBe(v);
  }, 120_000);

  it('without --token or $ACL_ADMIN_TOKEN, apply reads the token from the token file ($ACL_TOKEN_FILE)', async () => {
    writeFileSync(join(dir, 'token'), 'cli-admin-token\n', { mode: 0o600 });
    const r = await aclEnv(
      { ACL_TOKEN_FILE: join(dir, 'token') },
      'apply',
      ...[join(dir, 'next.yaml'), '--controller', url, '--dry-run', '--json'],
    );
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ ok: true, dryRun: true });
    writeFileSync(join(dir, 'wrong'), 'not-the-admin-token\n', { mode: 0o600 });
    const w = await aclEnv(
      { ACL_TOKEN_FILE: join(dir, 'wrong') },
      'apply',
      ...[join(dir, 'next.yaml'), '--controller', url, '--dry-run', '--json'],
    );
    expect(w.code).not.toBe(0);
    expect(w.out).toMatch(/401/);
  }, 120_000);

  it('an unreachable controller is a clear error, not a crash', async () => {
    const r = await acl('status', ...['--controller', 'http://127.0.0.1:9', '--json']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/cannot reach the controller at http:\/\/127\.0\.0\.1:9/);
  });

  it('sessions lists a MAC held after a two-ports conflict; --release frees it with an admin token only', async () => {
    const mac = '02:00:00:00:0c:11';
    for (const port of [5, 6, 5]) ctl.edge.auth.sightings.admit(mac, 'edge1', port, 'deny-both', () => {});
    expect(ctl.edge.auth.sightings.held(mac)).toBe(true);
    const l = await acl('sessions', ...['--controller', url, '--token', 'cli-admin-token']);
    expect(l.code).toBe(0);
    expect(l.out).toMatch(
      new RegExp(`^held ${mac}: seen on two ports at once, admitted nowhere until \\S+ \\(acl sessions --release ${mac}\\)$`, 'm'),
    );
    const no = await acl('sessions', ...['--controller', url, '--release', mac]);
    expect(no.code).not.toBe(0);
    expect(ctl.edge.auth.sightings.held(mac)).toBe(true);
    const r = await acl('sessions', ...['--controller', url, '--release', mac, '--token', 'cli-admin-token']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(new RegExp(`^released ${mac} \\(held by dot1x until .*\\): it may log in again$`, 'm'));
    expect(ctl.edge.auth.sightings.held(mac)).toBe(false);
  }, 120_000);
});
