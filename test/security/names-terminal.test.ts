/**
 * Issue #11 item 9 (names and terminal): bidi-override and zero-width characters are refused in every kind of name
 * (policy rules and resources, directory users, organizations and roles, topology switches and servers), through
 * the compiler, `acl validate` and the API; and `acl test` never writes raw control characters to the terminal.
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Controller } from '../../controller/controller.js';
import { buildApp } from '../../controller/api.js';
import { loadPolicy } from '../../loader/index.js';
import { formatDiagnostic } from '../../compiler/diagnostics.js';
import { terminalSafe } from '../../cli/terminal.js';
import { copyExample } from '../helpers/tmp.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const RLO = '\u202E',
  ZWSP = '\u200B',
  LRI = '\u2066',
  ZWJ = '\u200D',
  BOM = '\uFEFF';

function acl(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/controller/run-cli.ts'), ...args], {
      cwd: ROOT,
      env: { ...process.env, FORCE_COLOR: '0' },
    });
    let out = '',
      err = '';
    c.stdout.on('data', (d) => {
      out += d;
    });
    c.stderr.on('data', (d) => {
      err += d;
    });
    c.on('close', (code) => resolve({ code, out, err }));
  });
}

describe('hidden characters in names', () => {
  const cases: Array<[string, string, string, RegExp]> = [
    [
      'policy.yaml',
      '- { name: finance-payroll,',
      `- { name: "finance${RLO}-payroll",`,
      /rule name 'finance\\u\{202E\}-payroll' contains the invisible or reordering character U\+202E/,
    ],
    ['policy.yaml', '  payroll-db: { hosts', `  "payroll${ZWSP}-db": { hosts`, /resource name .*U\+200B/],
    ['directory.yaml', '{ id: alice,', `{ id: "ali${ZWJ}ce",`, /user id .*U\+200D/],
    ['directory.yaml', 'roles: [employee, manager]', `roles: [employee, "man${LRI}ager"]`, /roles .*U\+2066/],
    ['directory.yaml', '{ name: finance }', `{ name: "fin${BOM}ance" }`, /organization name .*U\+FEFF/],
    ['topology.yaml', 'name: edge1', `name: "edge${RLO}1"`, /switch name .*U\+202E/],
  ];
  for (const [file, from, to, want] of cases) {
    it(`${file}: ${JSON.stringify(to).slice(0, 40)} is refused at its location`, async () => {
      const dir = copyExample('basic');
      const text = readFileSync(join(dir, file), 'utf8');
      expect(text).toContain(from);
      writeFileSync(join(dir, file), text.replace(from, to));
      const r = await loadPolicy(join(dir, 'policy.yaml'));
      expect(r.ok).toBe(false);
      const msgs = r.ok ? [] : r.diagnostics.filter((d) => d.code === 'hidden-character');
      expect(msgs.length).toBeGreaterThan(0);
      expect(msgs[0].location?.file).toBe(join(dir, file));
      expect(formatDiagnostic(msgs[0])).toMatch(want);
      // the message itself shows the character escaped, never raw
      expect(formatDiagnostic(msgs[0])).not.toMatch(/[\u200B-\u200F\u202A-\u202E\u2066-\u2069\uFEFF]/);
    });
  }

  it('through the API: a policy with a disguised rule name is refused (422) and nothing changes', async () => {
    const dir = copyExample('basic');
    const ctl = new Controller({ policyPath: join(dir, 'policy.yaml') });
    await ctl.load();
    const app = await buildApp(ctl, { adminToken: 'names-admin-token' });
    const text = readFileSync(join(dir, 'policy.yaml'), 'utf8').replace('- { name: no-contractors,', `- { name: "no-contractors${RLO}",`);
    const r = await app.inject({
      method: 'POST',
      url: '/api/v1/policy',
      payload: text,
      headers: { authorization: 'Bearer names-admin-token', 'content-type': 'application/yaml' },
    });
    expect(r.statusCode).toBe(422);
    expect(r.json().diagnostics.map((d: { code: string }) => d.code)).toContain('hidden-character');
    expect(ctl.version).toBe(1);
    await app.close();
  });
});

describe('acl test output on a terminal', () => {
  it('escapes control characters from the expectations file instead of echoing them', async () => {
    const dir = copyExample('basic');
    writeFileSync(
      join(dir, 'evil.tests'),
      `alice -> payroll-db tcp/5432: allow\n\x1b]0;owned\x07\x1b[2J\x1b[31mfake ok\x9b1m ${RLO}reversed\n`,
    );
    const r = await acl(['test', join(dir, 'policy.yaml'), join(dir, 'evil.tests')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/evil\.tests:2: cannot read '\\x1b\]0;owned\\x07\\x1b\[2J\\x1b\[31mfake ok\\x9b1m \\u\{202E\}reversed'/);
    // eslint-disable-next-line no-control-regex -- the test looks for control characters
    expect(r.out + r.err).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f\u202E]/);
    // a binary file is refused as such (no bytes of it on the terminal)
    writeFileSync(join(dir, 'bin.tests'), Buffer.from([0x1b, 0x5b, 0x32, 0x4a, 0x00, 0xff, 0x07, 0x0a]));
    const b = await acl(['test', join(dir, 'policy.yaml'), join(dir, 'bin.tests')]);
    expect(b.code).not.toBe(0);
    expect(b.err).toMatch(/not a text file/);
    // eslint-disable-next-line no-control-regex -- the test looks for control characters
    expect(b.out + b.err).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
  }, 120_000);

  it('terminalSafe keeps text and newlines-free lines as they are, escapes the rest', () => {
    expect(terminalSafe('alice -> db tcp/5432: allow\tok é 日本')).toBe('alice -> db tcp/5432: allow\tok é 日本');
    expect(terminalSafe('a\x1b[2Jb\rc\x00')).toBe('a\\x1b[2Jb\\x0dc\\x00');
  });
});
