/**
 * The settable clock is a test's tool, never an attacker's: whoever moves a controller's clock opens time windows and
 * revives expired grants. `acl controller --test-clock FILE` (controller/test-clock.ts) is refused, and the controller
 * does not start, unless ACL_TEST_CLOCK=1 is set (and always under NODE_ENV=production); the file must be the
 * controller user's own and writable by nobody else; the flag is not in --help; and no API route sets the time.
 * The production start is run as a real process (the oclif command from the sources), OpenFlow on 127.0.0.1:26620.
 */
import { expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { copyExample, tempDir } from '../helpers/tmp.js';
import { testClockRefusal, TEST_CLOCK_ENV } from '../../controller/test-clock.js';
import { Controller } from '../../controller/controller.js';
import { buildApp } from '../../controller/api.js';

const RUN_CLI = new URL('../controller/run-cli.ts', import.meta.url).pathname;
const ROOT = new URL('../../', import.meta.url).pathname;
const OF_PORT = 26620;
const API_PORT = 26621;

/** Runs `acl controller …` until it exits or prints `until`; then stops it (by its pid). */
function controller(args: string[], env: NodeJS.ProcessEnv, until?: RegExp): Promise<{ code: number | null; out: string }> {
  const dir = tempDir('acl-ck-sec-');
  const base = { ...process.env, ACL_ADMIN_TOKEN: 'ck-sec-admin-token-0123', NODE_ENV: 'test' } as NodeJS.ProcessEnv;
  delete base[TEST_CLOCK_ENV];
  const p = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      RUN_CLI,
      'controller',
      ...args,
      '--listen',
      `127.0.0.1:${OF_PORT}`,
      '--api',
      `127.0.0.1:${API_PORT}`,
      '--state-file',
      join(dir, 'state.json'),
      '--audit-log',
      join(dir, 'audit.jsonl'),
      '--stats-state',
      join(dir, 'traffic.json'),
      '--deny-log',
      join(dir, 'denials.jsonl'),
      '--log-format',
      'json',
    ],
    { cwd: ROOT, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  return new Promise((resolve) => {
    const t = setTimeout(() => p.kill('SIGKILL'), 90_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (until && until.test(out)) p.kill('SIGTERM');
    };
    p.stdout.on('data', onData);
    p.stderr.on('data', onData);
    p.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code, out });
    });
  });
}

const listening = (port: number) =>
  new Promise<boolean>((res) => {
    const s = connect(port, '127.0.0.1', () => {
      s.destroy();
      res(true);
    });
    s.on('error', () => res(false));
  });

function clockFile(mode = 0o600): string {
  const f = join(tempDir('acl-ck-clock-'), 'clock');
  writeFileSync(f, '2026-12-25T07:00:00Z\n');
  chmodSync(f, mode);
  return f;
}

it('the production start refuses --test-clock without ACL_TEST_CLOCK=1, and the controller does not start', async () => {
  const policy = join(copyExample('basic'), 'policy.yaml');
  const r = await controller([policy, '--test-clock', clockFile()], {});
  expect(r.code).not.toBe(0);
  expect(r.out).toMatch(/--test-clock is for tests only/);
  expect(r.out).toMatch(/ACL_TEST_CLOCK=1/);
  expect(r.out).not.toMatch(/listening for OpenFlow/);
  expect(await listening(OF_PORT)).toBe(false);
  // other values than exactly 1 do not count
  for (const v of ['true', '0'])
    expect((await controller([policy, '--test-clock', clockFile()], { [TEST_CLOCK_ENV]: v })).code).not.toBe(0);
}, 240_000);

it('NODE_ENV=production refuses it even with ACL_TEST_CLOCK=1; a file others may write is refused', async () => {
  const policy = join(copyExample('basic'), 'policy.yaml');
  const prod = await controller([policy, '--test-clock', clockFile()], { [TEST_CLOCK_ENV]: '1', NODE_ENV: 'production' });
  expect(prod.code).not.toBe(0);
  expect(prod.out).toMatch(/NODE_ENV=production/);
  const loose = await controller([policy, '--test-clock', clockFile(0o666)], { [TEST_CLOCK_ENV]: '1' });
  expect(loose.code).not.toBe(0);
  expect(loose.out).toMatch(/writable by group or others/);
}, 180_000);

it('with ACL_TEST_CLOCK=1 and a private file the same start is accepted, and says loudly that its clock is a test clock', async () => {
  const policy = join(copyExample('basic'), 'policy.yaml');
  const r = await controller([policy, '--test-clock', clockFile()], { [TEST_CLOCK_ENV]: '1' }, /listening for OpenFlow/);
  expect(r.out).toMatch(/TEST CLOCK: time windows and expiries follow .* \(now 2026-12-25T07:00:0\d/);
  expect(r.out).toMatch(/listening for OpenFlow switches on 127\.0\.0\.1:26620/);
}, 120_000);

it('the file must be the controller user’s own, a regular file, and exist', () => {
  const env = { [TEST_CLOCK_ENV]: '1' };
  const f = clockFile();
  expect(testClockRefusal(f, env, process.getuid!())).toBeUndefined();
  expect(testClockRefusal(f, env, process.getuid!() + 1)).toMatch(/not by the controller's user/);
  if (process.getuid!() === 0) {
    chownSync(f, 65534, 65534);
    expect(testClockRefusal(f, env)).toMatch(/owned by uid 65534/);
  }
  expect(testClockRefusal(tempDir('acl-ck-dir-'), env)).toMatch(/not a regular file/);
  expect(testClockRefusal('/nonexistent/ck-clock', env)).toMatch(/ENOENT/);
  expect(testClockRefusal(f, {})).toMatch(/for tests only/);
});

it('--help does not offer the test clock (a hidden flag), and no API route sets the controller time', async () => {
  const { default: ControllerCmd } = await import('../../cli/commands/controller.js');
  expect(ControllerCmd.flags['test-clock'].hidden).toBe(true);
  expect(Object.values(ControllerCmd.flags).filter((f) => /clock/i.test(`${f.name ?? ''} ${f.description ?? ''}`) && !f.hidden)).toEqual(
    [],
  );
  const ctl = new Controller({ policyPath: join(copyExample('basic'), 'policy.yaml'), listen: { host: '127.0.0.1', port: 0 } });
  await ctl.load();
  const app = await buildApp(ctl, { adminToken: 'ck-sec-admin-token-0123' });
  await app.ready();
  const routes = app.printRoutes({ commonPrefix: false });
  expect(routes).toMatch(/policy/);
  expect(routes).not.toMatch(/clock|time/i);
  await app.close();
}, 120_000);
