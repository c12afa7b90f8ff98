/**
 * The controller's log format: human-readable lines (pino-pretty) on a terminal, JSON lines otherwise, chosen by
 * --log-format or, without it, by whether stdout is a TTY. The default decision and both writers are checked here,
 * and the flag on a real `acl controller` process (a pty is not needed: --log-format pretty forces what a terminal gets).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { createLogger, defaultLogFormat } from '../../cli/log.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const PORT = 26100;

describe('log format', () => {
  it('defaults to pretty on a terminal and to JSON lines when stdout is a pipe or file', () => {
    expect(defaultLogFormat({ isTTY: true })).toBe('pretty');
    expect(defaultLogFormat({ isTTY: false })).toBe('json');
    expect(defaultLogFormat({})).toBe('json');
  });

  const capture = async (format: 'pretty' | 'json') => {
    const out = new PassThrough();
    let text = '';
    out.setEncoding('utf8').on('data', (d: string) => (text += d));
    const log = await createLogger(format, out);
    log.info({ switch: 'edge1' }, 'switch connected');
    log.warn('policy held');
    await new Promise((r) => setImmediate(r));
    return text;
  };

  it('json: one JSON object per line with level, name and message', async () => {
    const lines = (await capture('json')).trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0])).toMatchObject({ level: 30, name: 'sdn-acl', msg: 'switch connected', switch: 'edge1' });
    expect(JSON.parse(lines[1])).toMatchObject({ level: 40, msg: 'policy held' });
  });

  it('pretty: readable lines (level word, message, fields), no JSON, no colors on a non-terminal', async () => {
    const text = await capture('pretty');
    expect(text).toMatch(/INFO.*\(sdn-acl\): switch connected/);
    expect(text).toMatch(/switch: "edge1"/);
    expect(text).toMatch(/WARN.*policy held/);
    expect(text.split('\n').some((l) => l.startsWith('{'))).toBe(false);
    expect(text).not.toContain('\x1b[');
  });
});

describe('acl controller --log-format', () => {
  const children: ChildProcess[] = [];
  const dirs: string[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  /** Starts the controller with `args` until its API is up (or it exits); returns what it printed. */
  async function controller(n: number, args: string[]): Promise<{ out: string; code: number | null }> {
    const dir = mkdtempSync(join(tmpdir(), 'acl-logfmt-'));
    dirs.push(dir);
    const child = spawn(
      process.execPath,
      [
        '--import',
        join(ROOT, 'node_modules/tsx/dist/loader.mjs'), // (tsx resolved from here: the process runs in a temp dir)
        join(ROOT, 'test/controller/run-cli.ts'),
        'controller',
        join(ROOT, 'examples/campus/policy.yaml'),
        '--listen',
        `127.0.0.1:${PORT + 2 * n}`,
        '--api',
        `127.0.0.1:${PORT + 2 * n + 1}`,
        '--audit-interval',
        '0',
        '--stats-interval',
        '0',
        ...args,
      ],
      { cwd: dir, env: { ...process.env, ACL_ADMIN_TOKEN: 'log-format-test-token' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(child);
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    const code = await new Promise<number | null>((resolve) => {
      const poll = setInterval(() => {
        if (/API and web console on/.test(out)) {
          clearInterval(poll);
          resolve(null);
        }
      }, 100);
      child.on('exit', (c) => {
        clearInterval(poll);
        resolve(c);
      });
    });
    child.kill('SIGTERM');
    return { out, code };
  }

  it('pretty prints readable lines; json (the default through a pipe) prints JSON lines', async () => {
    const pretty = await controller(0, ['--log-format', 'pretty']);
    expect(pretty.code).toBeNull();
    expect(pretty.out).toMatch(/INFO.*\(sdn-acl\): API and web console on http:\/\/127\.0\.0\.1:26101\//);
    expect(pretty.out).not.toMatch(/^\{"level"/m);
    const json = await controller(1, []);
    expect(json.code).toBeNull();
    const line = json.out.split('\n').find((l) => l.includes('API and web console on'))!;
    expect(JSON.parse(line)).toMatchObject({ level: 30, name: 'sdn-acl', msg: expect.stringContaining('http://127.0.0.1:26103/') });
  }, 180_000);

  it('refuses an unknown format', async () => {
    const { default: ControllerCmd } = await import('../../cli/commands/controller.js');
    await expect(ControllerCmd.run(['policy.yaml', '--log-format', 'xml'], ROOT)).rejects.toThrow(
      /Expected --log-format=xml to be one of: pretty, json/,
    );
  }, 120_000);
});
