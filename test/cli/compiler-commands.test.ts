/**
 * The compiler's CLI commands (validate, compile, explain, verify, test) run as a user runs them: a child process,
 * real stdout/stderr, real exit codes, `--json` on each.
 */
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { writeFileSync, cpSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/tmp.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const BASIC = join(ROOT, 'examples/basic/policy.yaml');

function acl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', join(ROOT, 'test/cli/run-cli.ts'), ...args], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('acl validate / compile / explain / verify / test', () => {
  it('validate: a good policy passes; a bad one lists every error as file:line:col, exits non-zero, also as JSON', async () => {
    const dir = tempDir('acl-cli-');
    cpSync(join(ROOT, 'examples/basic'), dir, { recursive: true });
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, [
      'version: 1',
      'directory: directory.yaml',
      'topology: topology.yaml',
      'resources:',
      '  db: { hosts: [10.0.2.300/24], services: [tcp/99999] }',
      'rules:',
      '  - { name: r1, from: { organizations: [fnance] }, to: db, colour: red }',
      '  - { name: r2, from: { roles: [employee] }, to: nowhere }',
      '',
    ].join('\n'));
    const [good, text, json] = await Promise.all([acl('validate', BASIC), acl('validate', bad), acl('validate', bad, '--json')]);
    expect(good.code, good.stderr).toBe(0);
    expect(good.stdout).toMatch(/valid/);
    expect(text.code).not.toBe(0);
    const lines = text.stderr.split('\n').filter((l) => l.startsWith(bad + ':'));
    expect(lines.length).toBeGreaterThanOrEqual(5); // bad CIDR, bad port, unknown org, unknown field, unknown resource
    for (const l of lines) expect(l).toMatch(/^.+:\d+:\d+: error [a-z][a-z0-9-]+: /);
    expect(text.stderr).toMatch(/bad\.yaml:7:\d+: .*fnance.*did you mean 'finance'/);
    expect(text.stderr).toMatch(/bad\.yaml:8:\d+: .*nowhere/);
    expect(json.code).not.toBe(0);
    const out = JSON.parse(json.stdout);
    expect(out.ok).toBe(false);
    expect(out.diagnostics.length).toBe(lines.length);
    expect(out.diagnostics[0].location.file).toBe(bad);
  }, 60_000);

  it('compile: ovs text, JSON and FLOW_MOD hex for one switch; an unknown switch is an error', async () => {
    const [ovs, json, hex, none] = await Promise.all([
      acl('compile', BASIC, '--switch', 'edge1'),
      acl('compile', BASIC, '--switch', 'edge1', '--json'),
      acl('compile', BASIC, '--switch', 'edge1', '--format', 'hex'),
      acl('compile', BASIC, '--switch', 'nope'),
    ]);
    expect(ovs.code, ovs.stderr).toBe(0);
    const flows = ovs.stdout.split('\n').filter((l) => l.startsWith('table='));
    expect(flows.length).toBeGreaterThan(5);
    for (const l of flows) expect(l).toMatch(/^table=\d+, priority=\d+, cookie=0x5ac1[0-9a-f]{12}, .*actions=/);
    const j = JSON.parse(json.stdout);
    expect(j.switches).toHaveLength(1);
    expect(j.switches[0].flows.length).toBe(flows.length);
    const hexLines = hex.stdout.trim().split('\n');
    expect(hexLines.length).toBe(flows.length);
    for (const l of hexLines) expect(l).toMatch(/^040e[0-9a-f]{4}[0-9a-f]+$/); // OF1.3 FLOW_MOD
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/no switch 'nope'.*edge1/);
  }, 60_000);

  it('explain names the deciding rule and the flows on the path; an unknown user is a clean error', async () => {
    const [allow, deny, json, unknown] = await Promise.all([
      acl('explain', BASIC, '--from', 'alice', '--to', 'payroll-db', '--service', 'tcp/5432'),
      acl('explain', BASIC, '--from', 'carol', '--to', 'payroll-db', '--service', 'tcp/5432'),
      acl('explain', BASIC, '--from', 'alice', '--to', 'payroll-db', '--service', 'tcp/5432', '--json'),
      acl('explain', BASIC, '--from', 'mallory', '--to', 'payroll-db', '--service', 'tcp/5432'),
    ]);
    expect(allow.code, allow.stderr).toBe(0);
    expect(allow.stdout).toMatch(/^ALLOW: alice -> payroll-db/);
    expect(allow.stdout).toMatch(/rule 'finance-payroll'/);
    expect(allow.stdout).toMatch(/table=2 priority=\d+ cookie=0x5ac1/);
    expect(deny.stdout).toMatch(/^DENY: carol/);
    const e = JSON.parse(json.stdout);
    expect(e).toMatchObject({ decision: 'allow', rule: 'finance-payroll', consistent: true });
    expect(e.path.length).toBeGreaterThan(0);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/mallory/);
  }, 60_000);

  it('verify passes on the example; test checks expectations and reports file:line of failures', async () => {
    const dir = tempDir('acl-cli-');
    const failing = join(dir, 'wrong.tests');
    writeFileSync(failing, '# wrong on purpose\nalice -> payroll-db tcp/5432: allow\ncarol -> payroll-db tcp/5432: allow\nthis is not a test line\n');
    const [v, t, tf, tj] = await Promise.all([
      acl('verify', BASIC, '--json'),
      acl('test', BASIC, join(ROOT, 'examples/basic/policy.tests')),
      acl('test', BASIC, failing),
      acl('test', BASIC, failing, '--json'),
    ]);
    expect(v.code, v.stderr).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({ ok: true, problems: [] });
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/9 passed, 0 failed/);
    expect(tf.code).toBe(1);
    expect(tf.stderr).toMatch(new RegExp(`${failing}:3: carol -> payroll-db tcp/5432: expected allow, policy says deny`));
    expect(tf.stderr).toMatch(new RegExp(`${failing}:4: cannot read`));
    expect(tf.stdout).toMatch(/1 passed, 2 failed/);
    const r = JSON.parse(tj.stdout);
    expect(r.failures.map((f: { line: number }) => f.line)).toEqual([3, 4]);
  }, 60_000);
});
