/** Lint on the class model: one small policy per finding class, the campus example with a planted shadowed rule, and no false positives on the shipped examples. */
import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDirectoryText, parsePolicyText, parseTopologyText } from '../../compiler/inputs.js';
import { loadPolicy } from '../../loader/index.js';
import { lintInput, type LintFinding } from '../../compiler/lint.js';
import { compile } from '../../compiler/compile.js';
import { copyExample } from '../helpers/tmp.js';

const DIRECTORY = `
organizations: [{ name: corp, children: [{ name: finance }, { name: eng }, { name: sales }] }]
roles: [auditor]
users:
  - { id: ann, organization: finance, roles: [employee], devices: [{ mac: "02:00:00:00:00:01", ip: 10.0.1.1 }] }
  - { id: ben, organization: finance, roles: [contractor], devices: [{ mac: "02:00:00:00:00:02", ip: 10.0.1.2 }] }
  - { id: cat, organization: eng, roles: [employee], devices: [{ mac: "02:00:00:00:00:03", ip: 10.0.1.3 }] }
  - { id: dan, organization: eng, roles: [contractor], devices: [{ mac: "02:00:00:00:00:04", ip: 10.0.1.4 }] }
`;
const TOPOLOGY = `
switches: [{ name: s1, dpid: 1 }]
servers:
  - { name: db, switch: s1, port: 10, mac: "02:00:00:00:10:01", ip: 10.0.2.10 }
  - { name: web, switch: s1, port: 11, mac: "02:00:00:00:10:02", ip: 10.0.2.20 }
  - { name: git, switch: s1, port: 12, mac: "02:00:00:00:10:03", ip: 10.0.3.10 }
`;
const HEAD = `version: 1
directory: d.yaml
topology: t.yaml
resources:
  db:  { hosts: [db], services: [tcp/5432] }
  web: { hosts: [web], services: [tcp/443] }
  git: { hosts: [git], services: [tcp/22, tcp/443] }
  net: { hosts: [10.0.2.0/24], services: [tcp/443, tcp/5432] }
rules:
`;

function lintOf(rules: string, extraResources = '') {
  const text = HEAD.replace('rules:\n', `${extraResources}rules:\n`) + rules;
  const p = parsePolicyText(text, 'p.yaml');
  if (!p.ok) throw new Error(JSON.stringify(p.diagnostics));
  const d = parseDirectoryText(DIRECTORY, 'd.yaml'),
    t = parseTopologyText(TOPOLOGY, 't.yaml');
  if (!d.ok || !t.ok) throw new Error('fixture');
  return lintInput({ policy: p.value, directory: d.value, topology: t.value }).findings;
}
const only = (fs: readonly LintFinding[], code: string) => fs.filter((f) => f.code === code);

describe('lint classes', () => {
  it('a shadowed rule: every grant overridden by a deny, at its line, with the users and the deny named', () => {
    const fs = lintOf(`  - { name: contractors-db, from: { roles: [contractor] }, to: db }
  - { name: no-contractors, from: { roles: [contractor] }, to: db, action: deny }
  - { name: everyone-web, from: { organizations: [finance] }, to: web }
  - { name: eng-git, from: { organizations: [eng] }, to: git }
`);
    const s = only(fs, 'rule-shadowed');
    expect(s).toHaveLength(1);
    expect(s[0].rule).toBe('contractors-db');
    expect(s[0].location?.line).toBe(10);
    expect(s[0].related).toEqual(['no-contractors']);
    expect(s[0].subjects).toEqual({ users: 2, servers: 0, examples: ['ben', 'dan'] });
    expect(s[0].severity).toBe('warning');
  });

  it('a deny through an overlapping resource (an address in both) also shadows', () => {
    const fs = lintOf(`  - { name: fin-db, from: { organizations: [finance] }, to: db }
  - { name: no-fin-net, from: { organizations: [finance] }, to: net, services: [tcp/5432], action: deny }
  - { name: eng-git, from: { organizations: [eng] }, to: git }
`);
    expect(only(fs, 'rule-shadowed').map((f) => f.rule)).toEqual(['fin-db']);
  });

  it('a partial deny is a conflict (info), not a shadow: who is caught by both, on what', () => {
    const fs = lintOf(`  - { name: fin-db, from: { organizations: [finance] }, to: db }
  - { name: no-contractors, from: { roles: [contractor] }, to: db, action: deny }
  - { name: eng-git, from: { organizations: [eng] }, to: git }
`);
    expect(only(fs, 'rule-shadowed')).toEqual([]);
    const c = only(fs, 'allow-deny-conflict');
    expect(c).toHaveLength(1);
    expect(c[0]).toMatchObject({
      severity: 'info',
      rule: 'fin-db',
      related: ['no-contractors'],
      subjects: { users: 1, examples: ['ben'] },
    });
    expect(c[0].message).toContain('db tcp/5432');
  });

  it('a redundant rule: everything it allows others already allow', () => {
    const fs = lintOf(`  - { name: fin-net, from: { organizations: [finance] }, to: net }
  - { name: ann-db, from: { users: [ann] }, to: db }
  - { name: eng-git, from: { organizations: [eng] }, to: git }
`);
    const r = only(fs, 'rule-redundant');
    expect(r.map((f) => f.rule)).toEqual(['ann-db']);
    expect(r[0].related).toEqual(['fin-net']);
    expect(r[0].location?.line).toBe(11);
    // the broader rule is not redundant (it also grants web)
    expect(fs.some((f) => f.rule === 'fin-net' && f.code === 'rule-redundant')).toBe(false);
  });

  it('a rule that matches nobody (a declared role nobody holds), and the resource nobody reaches', () => {
    const fs = lintOf(`  - { name: auditors-db, from: { roles: [auditor] }, to: db }
  - { name: eng-git, from: { organizations: [eng] }, to: git }
  - { name: fin-web, from: { organizations: [finance] }, to: web }
`);
    expect(only(fs, 'rule-matches-nobody').map((f) => [f.rule, f.location?.line])).toEqual([['auditors-db', 10]]);
    expect(only(fs, 'resource-unreached').map((f) => f.message)).toEqual([expect.stringContaining("'db'")]);
  });

  it('a rule granting to every user', () => {
    const fs = lintOf(`  - { name: all-web, from: { organizations: [corp] }, to: web }
  - { name: eng-git, from: { organizations: [eng] }, to: git }
  - { name: fin-db, from: { organizations: [finance] }, to: db }
`);
    expect(only(fs, 'rule-grants-everyone').map((f) => [f.rule, f.subjects?.users])).toEqual([['all-web', 4]]);
  });

  it('declared but unused: a resource (warning), a declared role (warning), an organization (info)', () => {
    const fs = lintOf(`  - { name: fin-db, from: { organizations: [finance] }, to: db }
  - { name: eng-git, from: { organizations: [eng] }, to: git }
  - { name: fin-web, from: { organizations: [finance] }, to: web }
`);
    expect(only(fs, 'unused-resource').map((f) => [f.message, f.severity, f.location?.line])).toEqual([
      [expect.stringContaining("'net'"), 'warning', 8],
    ]);
    expect(only(fs, 'unused-role').find((f) => f.message.includes("'auditor'"))?.severity).toBe('warning');
    expect(only(fs, 'unused-role').find((f) => f.message.includes("'employee'"))?.severity).toBe('info');
    // where the role is written: its entry in `roles:`, or (held, not declared) its first holder
    const lineOf = (start: string) => DIRECTORY.split('\n').findIndex((l) => l.startsWith(start)) + 1;
    expect(only(fs, 'unused-role').find((f) => f.message.includes("'auditor'"))?.location).toEqual({
      file: 'd.yaml',
      line: lineOf('roles: [auditor]'),
      column: 9,
    });
    expect(only(fs, 'unused-role').find((f) => f.message.includes("'employee'"))?.location).toMatchObject({
      file: 'd.yaml',
      line: lineOf('  - { id: ann'),
      column: 5,
    });
    expect(only(fs, 'unused-organization').map((f) => f.message)).toEqual([expect.stringContaining("'sales'")]);
  });

  it("a clean policy has no warnings (but the directory's declared, unused role)", () => {
    const fs = lintOf(`  - { name: fin-db, from: { organizations: [finance] }, to: db }
  - { name: eng-git, from: { organizations: [eng] }, to: git }
  - { name: fin-web, from: { organizations: [finance] }, to: web }
  - { name: emp-net, from: { roles: [employee] }, to: net, services: [tcp/443] }
  - { name: web-db, from: { resources: [web] }, to: db }
`);
    expect(fs.filter((f) => f.severity !== 'info').map((f) => f.code + ' ' + f.message)).toEqual([
      expect.stringMatching(/^unused-role role 'auditor'/),
    ]);
  });
});

describe('lint on the shipped examples', () => {
  for (const ex of ['basic', 'campus']) {
    it(`${ex}: no warnings or errors (notes only)`, async () => {
      const r = await loadPolicy(new URL(`../../examples/${ex}/policy.yaml`, import.meta.url).pathname);
      if (!r.ok) throw new Error('example invalid');
      const fs = lintInput(r.value).findings;
      expect(fs.filter((f) => f.severity !== 'info')).toEqual([]);
      expect(fs.length).toBeGreaterThan(0); // the deliberate contractor exception is made explicit
    });
  }

  it('campus with a deliberately shadowed rule added: found at its line', async () => {
    const dir = copyExample('campus');
    const file = join(dir, 'policy.yaml');
    const text = readFileSync(file, 'utf8').replace(
      'default: deny',
      '  - { name: contractors-payroll, from: { roles: [contractor] }, to: payroll-db }\ndefault: deny',
    );
    writeFileSync(file, text);
    const line = text.split('\n').findIndex((l) => l.includes('name: contractors-payroll,')) + 1;
    const r = await loadPolicy(file);
    if (!r.ok) throw new Error('invalid');
    const s = lintInput(r.value).findings.filter((f) => f.code === 'rule-shadowed');
    expect(s).toHaveLength(1);
    expect(s[0]).toMatchObject({ rule: 'contractors-payroll', related: ['no-contractors-payroll'], location: { line } });
    expect(s[0].subjects).toEqual({ users: 3, servers: 0, examples: ['carl', 'cathy', 'tom'] });
  });
});

describe('lintInput on a compile the caller already has (acl validate compiles once)', () => {
  const inputOf = (rules: string) => {
    const p = parsePolicyText(HEAD + rules, 'p.yaml'),
      d = parseDirectoryText(DIRECTORY, 'd.yaml'),
      t = parseTopologyText(TOPOLOGY, 't.yaml');
    if (!p.ok || !d.ok || !t.ok) throw new Error(JSON.stringify(p.ok ? 'fixture' : p.diagnostics));
    return { policy: p.value, directory: d.value, topology: t.value };
  };
  it('without time windows: the same findings as compiling again', () => {
    const input = inputOf(`  - { name: contractors-db, from: { roles: [contractor] }, to: db }
  - { name: no-contractors, from: { roles: [contractor] }, to: db, action: deny }
`);
    const c = compile({ ...input, at: Date.UTC(2026, 0, 5, 12) });
    const reused = lintInput(input, {}, c).findings;
    expect(reused).toEqual(lintInput(input).findings);
    expect(reused.map((f) => f.code)).toContain('rule-shadowed');
  });
  it('with a time window closed at the compile instant: lint still reasons about every rule (it compiles the timeless view)', () => {
    const input = inputOf(`  - { name: contractors-db, from: { roles: [contractor] }, to: db }
  - { name: night-deny, from: { roles: [contractor] }, to: db, action: deny, when: { days: [mon-fri], hours: "01:00-02:00" } }
`);
    const noon = compile({ ...input, at: Date.UTC(2026, 0, 5, 12) }); // a Monday, outside the window
    expect(noon.input.policy.rules.map((r) => r.name)).toEqual(['contractors-db']);
    const fs = lintInput(input, {}, noon).findings;
    expect(fs).toEqual(lintInput(input).findings);
    expect(fs.find((f) => f.code === 'rule-shadowed')?.related).toEqual(['night-deny']);
  });
});
