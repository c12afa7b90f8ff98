/**
 * `acl` start-up stays fast because of what it does NOT load: `acl --version` answers before oclif or any of our
 * modules is imported, and `acl validate` (through oclif.manifest.json) imports only the validate command and the
 * compiler — not the controller's server, LDAP, etcd or logging libraries. Checked deterministically by recording
 * every module a real `acl` process resolves (test/helpers/import-log.mjs), not by timing. The project is built
 * into a private temp directory as in compiler-commands.test.ts, with its manifest as `npm run build` writes it.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = new URL('../../', import.meta.url).pathname;
const HEAVY = ['fastify', 'pino', 'pino-pretty', 'ldapts', 'etcd3', 'prom-client', 'radius', '@grpc/grpc-js'];
let build: string;
let logDir: string;

beforeAll(() => {
  build = mkdtempSync(join(tmpdir(), 'acl-startup-build-'));
  logDir = mkdtempSync(join(tmpdir(), 'acl-startup-log-'));
  mkdirSync(join(build, 'bin'));
  for (const f of ['bin/run.js', 'bin/manifest.js', 'package.json']) copyFileSync(join(ROOT, f), join(build, f));
  symlinkSync(join(ROOT, 'node_modules'), join(build, 'node_modules'));
  spawnSync(
    process.execPath,
    [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.json'), '--outDir', join(build, 'dist')],
    { cwd: ROOT, encoding: 'utf8' },
  );
  if (!existsSync(join(build, 'dist/cli/commands/validate.js'))) throw new Error('build did not produce the validate command');
  // what `npm run build`/prepare does after tsc
  const m = spawnSync(process.execPath, ['--input-type=module', '-e', "await (await import('./bin/manifest.js')).writeManifest()"], {
    cwd: build,
    encoding: 'utf8',
  });
  if (m.status !== 0) throw new Error(`manifest: ${m.stderr}`);
}, 240_000);

afterAll(() => {
  if (build) rmSync(build, { recursive: true, force: true });
  if (logDir) rmSync(logDir, { recursive: true, force: true });
});

/** Runs `acl ARGS` and returns its output and the module URLs it resolved. */
function acl(name: string, args: string[]): { out: string; code: number | null; modules: string[] } {
  const log = join(logDir, `${name}.txt`);
  const r = spawnSync(process.execPath, ['--import', join(ROOT, 'test/helpers/import-log.mjs'), join(build, 'bin/run.js'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, ACL_IMPORT_LOG: log },
  });
  const modules = existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : [];
  return { out: r.stdout + r.stderr, code: r.status, modules };
}

const packagesOf = (modules: string[]) =>
  new Set(
    modules.flatMap((u) => {
      const m = u.match(/\/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
      return m ? [m[1]] : [];
    }),
  );

it('acl --version prints the version and imports neither oclif nor any module of ours', () => {
  const r = acl('version', ['--version']);
  expect(r.code).toBe(0);
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
  expect(r.out.trim()).toBe(`${pkg.name}/${pkg.version} ${process.platform}-${process.arch} node-${process.version}`);
  expect(r.modules.some((u) => u.endsWith('/bin/run.js'))).toBe(true); // the log works
  expect(r.modules.filter((u) => u.includes('/node_modules/') || u.includes('/dist/'))).toEqual([]);
}, 60_000);

it("acl validate imports only the validate command and none of the controller's libraries", () => {
  const r = acl('validate', ['validate', 'examples/campus/policy.yaml']);
  expect(r.out).toMatch(/valid — \d+ rules/);
  expect(r.code).toBe(0);
  expect(existsSync(join(build, 'oclif.manifest.json'))).toBe(true);
  const commands = r.modules.filter((u) => u.includes('/dist/cli/commands/')).map((u) => u.split('/dist/cli/commands/')[1]);
  expect([...new Set(commands)]).toEqual(['validate.js']);
  const pkgs = packagesOf(r.modules);
  expect(HEAVY.filter((p) => pkgs.has(p))).toEqual([]);
  expect(r.modules.filter((u) => /\/dist\/(controller|cluster|edge)\//.test(u))).toEqual([]);
}, 60_000);

it('the manifest lists every command the build has, so oclif never has to import them all', () => {
  const manifest = JSON.parse(readFileSync(join(build, 'oclif.manifest.json'), 'utf8')) as { commands: Record<string, unknown> };
  const files: string[] = [];
  const walk = (dir: string, prefix: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name), `${prefix}${e.name}:`);
      else if (e.name.endsWith('.js')) files.push(prefix + e.name.slice(0, -3));
    }
  };
  walk(join(build, 'dist/cli/commands'), '');
  expect(Object.keys(manifest.commands).sort()).toEqual(files.sort());
  // a command with flags keeps them in the manifest (oclif parses flags from it)
  const explain = manifest.commands.explain as { flags: Record<string, unknown> };
  expect(Object.keys(explain.flags).length).toBeGreaterThan(0);
});
