/**
 * `acl validate|compile|explain|verify|test` as an admin runs them: the project is built (tsc) into a private
 * temp directory with its own bin/run.js and package.json, so oclif finds the commands by file path exactly as
 * in the shipped package, and each command runs in a child process with its real stdout, stderr and exit code.
 * The shared dist/ is not touched. Everything made here is removed afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from '../../openflow/index.js';

const ROOT = new URL('../../', import.meta.url).pathname;
let build: string;
let work: string;

beforeAll(() => {
  build = mkdtempSync(join(tmpdir(), 'acl-cli-build-'));
  work = mkdtempSync(join(tmpdir(), 'acl-cli-work-'));
  mkdirSync(join(build, 'bin'));
  copyFileSync(join(ROOT, 'bin/run.js'), join(build, 'bin/run.js'));
  copyFileSync(join(ROOT, 'bin/manifest.js'), join(build, 'bin/manifest.js'));
  copyFileSync(join(ROOT, 'package.json'), join(build, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(build, 'node_modules'));
  // tsc emits even if another engineer's file has a type error right now; the commands under test must exist.
  spawnSync(
    process.execPath,
    [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.json'), '--outDir', join(build, 'dist')],
    { cwd: ROOT, encoding: 'utf8' },
  );
  for (const c of ['validate', 'compile', 'explain', 'verify', 'test']) {
    if (!existsSync(join(build, `dist/cli/commands/${c}.js`))) throw new Error(`build did not produce the ${c} command`);
  }
  cpSync(join(ROOT, 'examples/basic'), join(work, 'basic'), { recursive: true });
}, 180_000);

afterAll(() => {
  if (build) rmSync(build, { recursive: true, force: true });
  if (work) rmSync(work, { recursive: true, force: true });
});

interface Run {
  out: string;
  err: string;
  code: number;
}

/** `acl ARGS...` from the private build, run in the example copy's parent directory. */
function acl(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(build, 'bin/run.js'), ...args],
      { cwd: work, env: { ...process.env, NO_COLOR: '1' }, maxBuffer: 64 << 20 },
      (e, out, err) => {
        resolve({ out, err, code: e ? (typeof e.code === 'number' ? e.code : 1) : 0 });
      },
    );
  });
}

const POLICY = 'basic/policy.yaml';

describe('acl validate', () => {
  it('accepts the basic example and summarises it', async () => {
    const r = await acl('validate', POLICY);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/valid — 4 rules, 2 resources, 3 users, 2 servers/);
  });

  it('reports every mistake at once as file:line:col: error CODE: message, exits non-zero and prints nothing on stdout', async () => {
    const dir = join(work, 'broken');
    cpSync(join(work, 'basic'), dir, { recursive: true });
    writeFileSync(
      join(dir, 'policy.yaml'),
      [
        'version: 1',
        'directory: directory.yaml',
        'topology: topology.yaml',
        'resources:',
        '  payroll-db: { hosts: [payroll-db], services: [tcp/99999] }',
        '  intranet:   { hosts: [10.0.2.0/33], services: [tcp/80] }',
        'rules:',
        '  - { name: a, from: { organizations: [finanse] }, to: payroll-db }',
        '  - { name: b, from: { roles: [employee] }, to: intranett }',
        '  - { name: c, from: { roles: [employee] }, to: intranet, colour: red }',
        'default: deny',
        '',
      ].join('\n'),
    );
    const r = await acl('validate', 'broken/policy.yaml');
    expect(r.code).not.toBe(0);
    expect(r.out).toBe('');
    const lines = r.err.split('\n').filter((l) => /: error /.test(l));
    const lineNos = lines.map((l) => Number(l.match(/policy\.yaml:(\d+):/)?.[1]));
    expect(lineNos).toEqual([...lineNos].sort((a, b) => a - b)); // in file order
    expect(lines.length).toBeGreaterThanOrEqual(5);
    for (const l of lines) expect(l).toMatch(/^\S*policy\.yaml:\d+:\d+: error [A-Za-z_.-]+: /);
    const at = (line: number) => lines.filter((l) => l.includes(`policy.yaml:${line}:`));
    expect(at(5).join()).toMatch(/99999/);
    expect(at(6).join()).toMatch(/33|CIDR|prefix/i);
    expect(at(8).join()).toMatch(/finanse.*did you mean 'finance'/);
    expect(at(9).join()).toMatch(/intranett.*did you mean 'intranet'/);
    expect(at(10).join()).toMatch(/colour/);
    expect(r.err).toMatch(/nothing was produced/);
  });

  it('--json gives the diagnostics as data, with positions', async () => {
    const dir = join(work, 'broken-json');
    cpSync(join(work, 'basic'), dir, { recursive: true });
    const topo = readFileSync(join(dir, 'topology.yaml'), 'utf8').replace('"02:00:00:00:10:01"', '"02:00:00:00:10"');
    writeFileSync(join(dir, 'topology.yaml'), topo);
    const badLine = topo.split('\n').findIndex((l) => l.includes('"02:00:00:00:10"')) + 1;
    const r = await acl('validate', 'broken-json/policy.yaml', '--json');
    expect(r.code).not.toBe(0);
    const j = JSON.parse(r.out);
    expect(j.ok).toBe(false);
    const d = j.diagnostics.find((x: { location?: { file: string } }) => x.location?.file.endsWith('topology.yaml'));
    expect(d).toMatchObject({ severity: 'error', code: 'bad-mac', location: { line: badLine } });
    expect(d.location.column).toBeGreaterThan(1);
    expect(d.message).toMatch(/02:00:00:00:10/);
  });

  it('a missing policy file is a clear error, not a stack trace', async () => {
    const r = await acl('validate', 'nope/policy.yaml');
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/nope\/policy\.yaml/);
    expect(r.err).not.toMatch(/\n\s+at /);
  });
});

describe('acl compile', () => {
  it('--format ovs prints add-flows lines for one switch, as many as the JSON plan holds', async () => {
    const [ovs, json] = await Promise.all([acl('compile', POLICY, '--switch', 'hv1'), acl('compile', POLICY, '--switch', 'hv1', '--json')]);
    expect(ovs.code).toBe(0);
    expect(json.code).toBe(0);
    const lines = ovs.out.split('\n').filter((l) => l.trim() && !l.startsWith('#'));
    for (const l of lines) expect(l).toMatch(/^table=\d+, priority=\d+, cookie=0x[0-9a-f]+, .*actions=/);
    const plan = JSON.parse(json.out);
    expect(plan.switches).toHaveLength(1);
    expect(plan.switches[0].name).toBe('hv1');
    expect(lines.length).toBe(plan.switches[0].flows.length);
    // replies from the database (tcp/5432 to its clients) and the policy's tcp/5432 allowances are there
    expect(lines.some((l) => /nw_src=10\.0\.2\.10/.test(l) && /tcp_src=5432/.test(l))).toBe(true);
    expect(lines.some((l) => /metadata=/.test(l) && /tcp_dst=5432/.test(l))).toBe(true);
  });

  it('is deterministic: two runs print byte-identical output', async () => {
    const [a, b] = await Promise.all([acl('compile', POLICY), acl('compile', POLICY)]);
    expect(a.code).toBe(0);
    expect(a.out).toBe(b.out);
    expect(a.out.length).toBeGreaterThan(100);
  });

  it('--format hex prints one FLOW_MOD per line that the codec decodes', async () => {
    const r = await acl('compile', POLICY, '--switch', 'edge1', '--format', 'hex');
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines.length).toBeGreaterThan(3);
    for (const l of lines) {
      expect(l).toMatch(/^[0-9a-f]+$/);
      const d = decode(Buffer.from(l, 'hex'));
      expect(d.ok).toBe(true);
      if (d.ok) expect(d.message.type).toBe('flow_mod');
    }
  });

  it('--format hex is what ovs-ofctl ofp-print reads as the same flows, in the same order, as --format ovs', async () => {
    const [hex, ovs] = await Promise.all([
      acl('compile', POLICY, '--switch', 'hv1', '--format', 'hex'),
      acl('compile', POLICY, '--switch', 'hv1'),
    ]);
    const hexLines = hex.out.trim().split('\n');
    const ovsLines = ovs.out.split('\n').filter((l) => l.startsWith('table='));
    expect(hexLines.length).toBe(ovsLines.length);
    hexLines.forEach((h, i) => {
      const p = spawnSync('ovs-ofctl', ['ofp-print', h], { encoding: 'utf8' });
      expect(p.status).toBe(0);
      expect(p.stdout).toMatch(/^OFPT_FLOW_MOD \(OF1\.3\).*: ADD /);
      expect(p.stdout).not.toMatch(/error|truncated|bad/i);
      const [, table, prio, cookie] = ovsLines[i].match(/^table=(\d+), priority=(\d+), cookie=(0x[0-9a-f]+)/)!;
      expect(p.stdout).toContain(`cookie:${cookie}`);
      expect(p.stdout).toMatch(new RegExp(`priority=${prio}\\b`));
      if (table !== '0') expect(p.stdout).toContain(`table:${table}`);
    });
  });

  it('an unknown switch is an error that lists the real ones', async () => {
    const r = await acl('compile', POLICY, '--switch', 'edge9');
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/edge9/);
    expect(r.err).toMatch(/edge1/);
  });
});

describe('acl explain', () => {
  it('allow: names the deciding rule and the flows on each switch of the path', async () => {
    const r = await acl('explain', POLICY, '--from', 'alice', '--to', 'payroll-db', '--service', 'tcp/5432');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^ALLOW: alice -> payroll-db/);
    expect(r.out).toMatch(/rule 'finance-payroll'/);
    for (const sw of ['edge1', 'core', 'hv1']) expect(r.out).toMatch(new RegExp(`\\n  ${sw} \\(in_port \\d+\\)`));
    expect(r.out).toMatch(/table=\d+ priority=\d+ cookie=/);
  });

  it('deny by a deny rule, and by default, in --json', async () => {
    const carol = JSON.parse(
      (await acl('explain', POLICY, '--from', 'carol', '--to', 'payroll-db', '--service', 'tcp/5432', '--json')).out,
    );
    expect(carol).toMatchObject({ decision: 'deny', rule: 'no-contractors', consistent: true });
    const port22 = JSON.parse(
      (await acl('explain', POLICY, '--from', '10.0.1.1', '--to', '10.0.2.10', '--service', 'tcp/22', '--json')).out,
    );
    expect(port22).toMatchObject({ decision: 'deny', rule: 'default', consistent: true });
  });

  it('an unknown user is an error with a non-zero exit', async () => {
    const r = await acl('explain', POLICY, '--from', 'mallory', '--to', 'payroll-db', '--service', 'tcp/5432');
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/mallory/);
  });
});

describe('acl verify', () => {
  it('verifies the basic example', async () => {
    const r = await acl('verify', POLICY);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/verified: \d+ decisions agree with the policy/);
    const j = JSON.parse((await acl('verify', POLICY, '--json')).out);
    expect(j.ok).toBe(true);
    expect(j.checked).toBeGreaterThan(0);
  });
});

describe('acl test', () => {
  it('passes the shipped expectations', async () => {
    const r = await acl('test', POLICY, 'basic/policy.tests');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^9 passed, 0 failed/);
  });

  it('a wrong expectation fails with file:line and the deciding rule; unreadable lines are failures too', async () => {
    const f = join(work, 'wrong.tests');
    writeFileSync(
      f,
      '# expectations\nalice -> payroll-db tcp/5432: allow\n\ncarol -> payroll-db tcp/5432: allow\nthis is not a test\nnobody -> payroll-db tcp/5432: deny\n',
    );
    const r = await acl('test', POLICY, 'wrong.tests');
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/1 passed, 3 failed/);
    expect(r.err).toMatch(/wrong\.tests:4: .*expected allow, policy says deny \(rule 'no-contractors'\)/);
    expect(r.err).toMatch(/wrong\.tests:5: cannot read/);
    expect(r.err).toMatch(/wrong\.tests:6: .*nobody/);
    const j = JSON.parse((await acl('test', POLICY, 'wrong.tests', '--json')).out);
    expect(j.passed).toBe(1);
    expect(j.failures.map((x: { line: number }) => x.line)).toEqual([4, 5, 6]);
  });
});

describe('acl directory show', () => {
  it('lists roles held by users and roles the directory declares; --json has them too', async () => {
    const dir = join(work, 'declared');
    cpSync(join(work, 'basic'), dir, { recursive: true });
    writeFileSync(join(dir, 'directory.yaml'), `roles: [auditor]\n${readFileSync(join(dir, 'directory.yaml'), 'utf8')}`);
    const [text, json] = await Promise.all([
      acl('directory', 'show', 'declared/policy.yaml'),
      acl('directory', 'show', 'declared/policy.yaml', '--json'),
    ]);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/^roles \(\d+\): .*\bauditor\b.*\bemployee\b/m);
    expect(JSON.parse(json.out).roles).toEqual(expect.arrayContaining(['auditor', 'employee']));
  });
});
