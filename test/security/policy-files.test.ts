/**
 * Issue #11 items 1 and 5 (and the file messages of item 9): the files a policy posted to the API may name.
 * A real controller (examples/basic copy) behind buildApp() + inject(); the attacker holds the admin token and posts
 * policies that name files outside the policy folder, symlinks out of it, a FIFO, /dev/zero, a directory, a huge
 * file, and files in the folder whose content is a secret. Nothing of their content may come back, outside paths
 * must be indistinguishable from missing ones, and the apply queue must never block.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Controller } from '../../controller/controller.js';
import { buildApp } from '../../controller/api.js';
import { loadPolicy, formatDiagnostic } from '../../loader/index.js';
import { copyExample, tempDir } from '../helpers/tmp.js';

const TOKEN = 'files-admin-token-123';
const CANARY = 'CANARY-7f3a9c-outside-secret';
const INSIDE = 'CANARY-inside-b81e-secret';
const H = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/yaml' };

/**
 * Watches every file handle of the process while `run` runs: the handles whose fstat says they are not a regular
 * file (a FIFO, a device), and every read() on such a handle. Proves a FIFO or a device was refused by its type before
 * any read, whatever the time it took (a blocking open or read instead fails on the test's own timeout).
 */
async function specialFileReads<T>(run: () => Promise<T>): Promise<{ result: T; special: string[]; readsOfSpecial: number }> {
  const probe = await open(fileURLToPath(import.meta.url));
  const proto: FileHandle = Object.getPrototypeOf(probe);
  await probe.close();
  const { stat, read } = proto;
  const kinds = new WeakMap<FileHandle, string>();
  const special: string[] = [];
  let readsOfSpecial = 0;
  const statSpy = vi.spyOn(proto, 'stat').mockImplementation(async function (this: FileHandle) {
    const st = await stat.call(this);
    if (!st.isFile() && !st.isDirectory()) {
      const kind = st.isFIFO() ? 'fifo' : st.isCharacterDevice() ? 'character device' : 'other';
      kinds.set(this, kind);
      special.push(kind);
    }
    return st;
  });
  const readSpy = vi.spyOn(proto, 'read').mockImplementation(function (this: FileHandle, ...args: Parameters<FileHandle['read']>) {
    if (kinds.has(this)) readsOfSpecial++;
    return Reflect.apply(read, this, args);
  });
  try {
    return { result: await run(), special, readsOfSpecial };
  } finally {
    statSpy.mockRestore();
    readSpy.mockRestore();
  }
}

describe('files named by a policy posted to the API', () => {
  let dir: string, outside: string, policy: string;
  let ctl: Controller;
  let app: FastifyInstance;
  const post = (text: string, dry = true) =>
    app.inject({ method: 'POST', url: `/api/v1/policy${dry ? '?dryRun=true' : ''}`, payload: text, headers: H });
  const withDirectory = (d: string) => policy.replace(/^directory: .*$/m, `directory: ${JSON.stringify(d)}`);
  const withTopology = (t: string) => policy.replace(/^topology: .*$/m, `topology: ${JSON.stringify(t)}`);
  /** A reply's error about the named file, with the path itself blanked (to compare two answers). */
  const fileError = (body: { errors: string[] }, path: string) =>
    body.errors
      .filter((e) => /directory file|topology file/.test(e))
      .map((e) =>
        e
          .split(path)
          .join('<P>')
          .replace(/\(looked at [^)]*\)/, ''),
      );

  beforeAll(async () => {
    dir = copyExample('basic');
    outside = tempDir('acl-outside-');
    policy = readFileSync(join(dir, 'policy.yaml'), 'utf8');
    // a secret outside the policy folder, shaped like a directory file with unknown keys (the old leak path)
    writeFileSync(join(outside, 'secret.yaml'), `${CANARY}: 1\nroot: "$6$${CANARY}"\n`);
    // a secret inside the folder (e.g. a password file an admin keeps next to the policy)
    writeFileSync(join(dir, 'ldap-password.txt'), `${INSIDE}\n`);
    writeFileSync(join(dir, 'bad-dir.yaml'), `users:\n  - { id: alice, ${INSIDE}: x }\n${INSIDE}-key: [1, 2]\n`);
    symlinkSync(join(outside, 'secret.yaml'), join(dir, 'link-out.yaml'));
    symlinkSync('/dev/zero', join(dir, 'zero.yaml'));
    mkdirSync(join(dir, 'a-folder'));
    execFileSync('mkfifo', [join(dir, 'fifo.yaml')]);
    ctl = new Controller({
      policyPath: join(dir, 'policy.yaml'),
      submitted: { maxBytes: 1 << 20, allowRoots: ['/dev/null-root-that-does-not-exist'] },
    });
    await ctl.load();
    app = await buildApp(ctl, { adminToken: TOKEN });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('a file outside the policy folder is refused, its content never echoed, and looks exactly like a missing file', async () => {
    const a = await post(withDirectory(join(outside, 'secret.yaml')));
    const b = await post(withDirectory(join(outside, 'no-such-file.yaml')));
    const c = await post(withDirectory('/etc/shadow'));
    const d = await post(withDirectory('/nonexistent-dir/shadow'));
    for (const r of [a, b, c, d]) {
      expect(r.statusCode).toBe(422);
      expect(r.body).not.toContain(CANARY);
      expect(r.body).not.toMatch(/root:|\$6\$|\$y\$/);
    }
    expect(fileError(a.json(), join(outside, 'secret.yaml'))).toEqual(fileError(b.json(), join(outside, 'no-such-file.yaml')));
    expect(fileError(c.json(), '/etc/shadow')).toEqual(fileError(d.json(), '/nonexistent-dir/shadow'));
    expect(fileError(a.json(), join(outside, 'secret.yaml'))[0]).toMatch(/not an existing regular file under the allowed folders/);
    expect(ctl.version).toBe(1);
  });

  it('relative escapes (../) and symlinks leading out of the folder are refused the same way', async () => {
    for (const p of [`../${outside.split('/').pop()}/secret.yaml`, 'link-out.yaml', 'sub/../../../../../../etc/passwd']) {
      const r = await post(withDirectory(p));
      expect(r.statusCode).toBe(422);
      expect(r.body).not.toContain(CANARY);
      expect(r.body).not.toMatch(/root:x:0:0/);
      expect(r.json().errors.join('\n')).toMatch(/not an existing regular file under the allowed folders/);
    }
    const t = await post(withTopology(join(outside, 'secret.yaml')));
    expect(t.statusCode).toBe(422);
    expect(t.body).not.toContain(CANARY);
  });

  it('a file inside the folder that is not a valid directory is reported by location and a generic reason, never its text', async () => {
    for (const p of ['bad-dir.yaml', 'ldap-password.txt']) {
      const r = await post(withDirectory(p));
      expect(r.statusCode).toBe(422);
      expect(r.body).not.toContain(INSIDE);
      const errs: string[] = r.json().errors;
      expect(errs.some((e) => e.includes(join(dir, p)) && /:\d+:\d+: error [a-z-]+: a problem of kind/.test(e))).toBe(true);
    }
    expect(readFileSync(join(dir, 'policy.yaml'), 'utf8')).toBe(policy);
  });

  it('a FIFO does not block the apply queue, /dev/zero costs neither time nor memory, a folder is "a directory"', async () => {
    const rss0 = process.memoryUsage().rss;
    // a FIFO inside the folder: known to be there, refused as not a regular file by fstat, never read (a blocking
    // open or read would hold the apply queue: this test, and the dry run after it, would not end)
    const { result: fifo, special, readsOfSpecial } = await specialFileReads(() => post(withDirectory('fifo.yaml')));
    expect(fifo.statusCode).toBe(422);
    expect(fifo.json().errors.join('\n')).toMatch(/not an existing regular file|not a regular file/);
    expect(special).toEqual(['fifo']);
    expect(readsOfSpecial).toBe(0);
    const zero = await post(withDirectory('zero.yaml')); // a symlink to /dev/zero (outside)
    expect(zero.statusCode).toBe(422);
    const folder = await post(withDirectory('a-folder'));
    expect(folder.json().errors.join('\n')).toMatch(/is a directory/);
    // the queue still works: a good dry run is answered
    const ok = await post(policy);
    expect(ok.statusCode).toBe(200);
    expect(process.memoryUsage().rss - rss0).toBeLessThan(100 * 1024 * 1024);
  });

  it('/dev/zero and a FIFO under an allowed root are refused by fstat before any read', async () => {
    const c2 = new Controller({ policyPath: join(dir, 'policy.yaml'), submitted: { allowRoots: ['/dev'] } });
    await c2.load();
    const rss0 = process.memoryUsage().rss;
    const z = await specialFileReads(() => c2.applyPolicy(withDirectory('/dev/zero'), { dryRun: true }));
    expect(z.result.ok).toBe(false);
    expect(z.result.diagnostics.map(formatDiagnostic).join('\n')).toMatch(/not a regular file \(a character device\)/);
    expect([z.special, z.readsOfSpecial]).toEqual([['character device'], 0]);
    expect(process.memoryUsage().rss - rss0).toBeLessThan(50 * 1024 * 1024);
    const f = await specialFileReads(() => c2.applyPolicy(withDirectory(join(dir, 'fifo.yaml')), { dryRun: true }));
    expect(f.result.diagnostics.map(formatDiagnostic).join('\n')).toMatch(/not a regular file \(a FIFO\)/);
    expect([f.special, f.readsOfSpecial]).toEqual([['fifo'], 0]);
  });

  it('a file over the size limit is reported as too large, not as missing', async () => {
    writeFileSync(join(dir, 'huge.yaml'), 'x'.repeat(2 << 20));
    const r = await post(withDirectory('huge.yaml'));
    expect(r.statusCode).toBe(422);
    expect(r.json().errors.join('\n')).toMatch(/too large/);
    expect(r.json().errors.join('\n')).not.toMatch(/not found/);
  });

  it("the operator's own files (acl validate, SIGHUP reload) report EISDIR and too-large as such", async () => {
    writeFileSync(join(dir, 'p-dir.yaml'), withDirectory('a-folder'));
    const r = await loadPolicy(join(dir, 'p-dir.yaml'));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.diagnostics.map(formatDiagnostic).join('\n')).toMatch(/directory file 'a-folder' is a directory/);
    writeFileSync(join(dir, 'p-fifo.yaml'), withDirectory('fifo.yaml'));
    const { result: f, special, readsOfSpecial } = await specialFileReads(() => loadPolicy(join(dir, 'p-fifo.yaml')));
    expect(f.ok).toBe(false);
    if (!f.ok) expect(f.diagnostics.map(formatDiagnostic).join('\n')).toMatch(/FIFO/);
    expect([special, readsOfSpecial]).toEqual([['fifo'], 0]);
  });

  it('the policy in its folder still applies (the guard does not get in the way)', async () => {
    const r = await post(policy.replace('default: deny', 'default: deny # v2'), false);
    expect(r.statusCode).toBe(200);
    expect(ctl.version).toBe(2);
  });
});
