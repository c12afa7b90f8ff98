/**
 * `acl` start-up stays fast because of what it does NOT load: `acl --version` answers before oclif or any of our
 * modules is imported; `acl validate FILE [--json]` takes the fast path (cli/fast.ts, bundled by esbuild into
 * dist/fast/ by `npm run build`), which loads neither oclif nor the controller's server, LDAP, etcd or logging
 * libraries, and prints byte for byte what the oclif command prints; other commands (through oclif.manifest.json)
 * import only their own command module. Checked deterministically by recording every module a real `acl` process
 * loads (test/helpers/import-log.mjs: ES modules and CommonJS ones), not by timing. The project is built into a
 * private temp directory as in compiler-commands.test.ts, with its bundle and manifest as `npm run build` makes them.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = new URL('../../', import.meta.url).pathname;
const HEAVY = ['fastify', 'pino', 'pino-pretty', 'ldapts', 'etcd3', 'prom-client', 'radius', '@grpc/grpc-js'];
let build: string;
let logDir: string;

beforeAll(async () => {
  build = mkdtempSync(join(tmpdir(), 'acl-startup-build-'));
  logDir = mkdtempSync(join(tmpdir(), 'acl-startup-log-'));
  mkdirSync(join(build, 'bin'));
  for (const f of ['bin/run.js', 'bin/manifest.js', 'package.json']) copyFileSync(join(ROOT, f), join(build, f));
  symlinkSync(join(ROOT, 'node_modules'), join(build, 'node_modules'));
  await run(
    process.execPath,
    [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.json'), '--outDir', join(build, 'dist')],
    ROOT,
  );
  if (!existsSync(join(build, 'dist/cli/commands/validate.js'))) throw new Error('build did not produce the validate command');
  // the fast path's bundle, by the package's own script
  const b = await run('npm', ['run', '--silent', 'build:cli'], build);
  if (b.code !== 0 || !existsSync(join(build, 'dist/fast/fast.js'))) throw new Error(`build:cli: ${b.stderr}`);
  // what `npm run build`/prepare does after tsc
  const m = await run(process.execPath, ['--input-type=module', '-e', "await (await import('./bin/manifest.js')).writeManifest()"], build);
  if (m.code !== 0) throw new Error(`manifest: ${m.stderr}`);
}, 240_000);

afterAll(() => {
  if (build) rmSync(build, { recursive: true, force: true });
  if (logDir) rmSync(logDir, { recursive: true, force: true });
});

/** Runs a command to its end without blocking the test worker (a blocked worker misses vitest's heartbeat under load). */
async function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env) {
  const child = spawn(cmd, args, { cwd, env });
  let stdout = '',
    stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const [code] = (await once(child, 'close')) as [number | null];
  return { stdout, stderr, code };
}

/** Runs `acl ARGS` and returns its output and the module URLs it resolved. */
async function acl(
  name: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ out: string; stdout: string; stderr: string; code: number | null; modules: string[] }> {
  const log = join(logDir, `${name}.txt`);
  rmSync(log, { force: true });
  const { stdout, stderr, code } = await run(
    process.execPath,
    ['--import', join(ROOT, 'test/helpers/import-log.mjs'), join(build, 'bin/run.js'), ...args],
    ROOT,
    { ...process.env, ACL_NO_FAST_PATH: '', DEBUG: '', ACL_CONTENT_TYPE: '', ...env, ACL_IMPORT_LOG: log },
  );
  const modules = existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : [];
  return { out: stdout + stderr, stdout, stderr, code, modules };
}

const packagesOf = (modules: string[]) =>
  new Set(
    modules.flatMap((u) => {
      const m = u.match(/\/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
      return m ? [m[1]] : [];
    }),
  );

it('acl --version prints the version and imports neither oclif nor any module of ours', async () => {
  const r = await acl('version', ['--version']);
  expect(r.code).toBe(0);
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
  expect(r.out.trim()).toBe(`${pkg.name}/${pkg.version} ${process.platform}-${process.arch} node-${process.version}`);
  expect(r.modules.some((u) => u.endsWith('/bin/run.js'))).toBe(true); // the log works
  expect(r.modules.filter((u) => u.includes('/node_modules/') || u.includes('/dist/'))).toEqual([]);
}, 60_000);

it("acl validate takes the bundled fast path: neither oclif nor any of the controller's libraries", async () => {
  const r = await acl('validate', ['validate', 'examples/campus/policy.yaml']);
  expect(r.out).toMatch(/valid — \d+ rules/);
  expect(r.code).toBe(0);
  const pkgs = packagesOf(r.modules);
  expect(pkgs.has('@oclif/core')).toBe(false);
  expect(HEAVY.filter((p) => pkgs.has(p))).toEqual([]);
  // one bundle instead of ~100 modules of ours (each resolved and read on its own)
  expect(r.modules.some((u) => u.endsWith('/dist/fast/fast.js'))).toBe(true);
  // (bin/run.js reads the argv check, cli/fast-args.js, which imports nothing)
  expect(r.modules.filter((u) => /\/dist\/(cli|compiler|loader|openflow|directory|controller|cluster|edge)\//.test(u))).toEqual([
    `file://${build}/dist/cli/fast-args.js`,
  ]);
  // a valid policy never needs the positional YAML parser (only diagnostics need source positions)
  expect(pkgs.has('yaml')).toBe(false);
}, 60_000);

it('acl validate through oclif (another flag, or ACL_NO_FAST_PATH=1) imports only the validate command', async () => {
  const r = await acl('validate-oclif', ['validate', 'examples/campus/policy.yaml'], { ACL_NO_FAST_PATH: '1' });
  expect(r.out).toMatch(/valid — \d+ rules/);
  expect(r.code).toBe(0);
  expect(packagesOf(r.modules).has('@oclif/core')).toBe(true);
  const commands = r.modules.filter((u) => u.includes('/dist/cli/commands/')).map((u) => u.split('/dist/cli/commands/')[1]);
  expect([...new Set(commands)]).toEqual(['validate.js']);
  const pkgs = packagesOf(r.modules);
  expect(HEAVY.filter((p) => pkgs.has(p))).toEqual([]);
  expect(r.modules.filter((u) => /\/dist\/(controller|cluster|edge)\//.test(u))).toEqual([]);
}, 60_000);

it('the fast path prints exactly what the oclif command prints, with the same exit code', async () => {
  const dir = join(logDir, 'bad');
  mkdirSync(dir, { recursive: true });
  const bad = join(dir, 'policy.yaml');
  // an unknown resource and a YAML type error: diagnostics with file:line:col (needs the positional parser)
  writeFileSync(
    bad,
    readFileSync(join(ROOT, 'examples/campus/policy.yaml'), 'utf8')
      .replace('to: build }', 'to: no-such-resource }')
      .replace(/directory: directory.yaml.*/, `directory: ${join(ROOT, 'examples/campus/directory.yaml')}`)
      .replace(/topology: topology.yaml.*/, `topology: ${join(ROOT, 'examples/campus/topology.yaml')}`)
      .replace('default: deny', 'default: [deny'),
  );
  const cases = [
    ['validate', 'examples/campus/policy.yaml'],
    ['validate', 'examples/campus/policy.yaml', '--json'],
    ['validate', '--json', 'examples/campus/policy.yaml'],
    ['validate', bad],
    ['validate', bad, '--json'],
    ['validate', 'no/such/policy.yaml'],
    ['validate', '--json', 'no/such/policy.yaml'],
    ['lint', 'examples/campus/policy.yaml'],
    ['lint', '--json', 'examples/campus/policy.yaml'],
    ['lint', bad],
    ['lint', bad, '--json'],
    ['lint', 'no/such/policy.yaml'],
  ];
  for (const [i, args] of cases.entries()) {
    const fast = await acl(`same-fast-${i}`, args);
    const slow = await acl(`same-oclif-${i}`, args, { ACL_NO_FAST_PATH: '1' });
    expect(packagesOf(fast.modules).has('@oclif/core'), args.join(' ')).toBe(false);
    expect(packagesOf(slow.modules).has('@oclif/core'), args.join(' ')).toBe(true);
    expect({ stdout: fast.stdout, stderr: fast.stderr, code: fast.code }, args.join(' ')).toEqual({
      stdout: slow.stdout,
      stderr: slow.stderr,
      code: slow.code,
    });
  }
  // the cases above are not vacuous: errors with positions, and a JSON document
  const r = await acl('bad', ['validate', bad]);
  expect(r.stderr).toMatch(/policy\.yaml:\d+:\d+: /);
  expect(r.code).toBe(1);
  expect(JSON.parse((await acl('json', ['validate', '--json', 'examples/campus/policy.yaml'])).stdout)).toMatchObject({ ok: true });
  const lint = await acl('lint', ['lint', 'examples/campus/policy.yaml']);
  expect(lint.stdout).toMatch(/policy\.yaml: 0 errors, \d+ warnings, \d+ notes/);
}, 120_000);

it('acl validate --help goes through oclif and shows the usage', async () => {
  const r = await acl('validate-help', ['validate', '--help']);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/USAGE[\s\S]*validate POLICY[\s\S]*--json/);
  expect(packagesOf(r.modules).has('@oclif/core')).toBe(true);
}, 60_000);

it('a bundle older than the tsc output (tsc ran alone since) is not used: the fast path runs the tsc output', async () => {
  const bundle = join(build, 'dist/fast/fast.js');
  const old = new Date(Date.now() - 3600_000);
  utimesSync(bundle, old, old);
  try {
    const r = await acl('stale', ['validate', 'examples/campus/policy.yaml']);
    expect(r.code).toBe(0);
    expect(r.modules.some((u) => u.endsWith('/dist/fast/fast.js'))).toBe(false);
    expect(r.modules.some((u) => u.endsWith('/dist/cli/fast.js'))).toBe(true);
    expect(packagesOf(r.modules).has('@oclif/core')).toBe(false);
    // module by module, the graph validate needs: no OpenFlow encoder (binary-parser), and the IPv6 reference
    // parser and the cron library only when a policy has IPv6 addresses or time windows (the campus has neither)
    expect(['binary-parser', 'ip-address', 'croner'].filter((p) => packagesOf(r.modules).has(p))).toEqual([]);
    expect(r.modules.filter((u) => u.endsWith('/dist/openflow/codec.js') || u.endsWith('/dist/compiler/format.js'))).toEqual([]);
  } finally {
    const now = new Date();
    utimesSync(bundle, now, now);
  }
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
