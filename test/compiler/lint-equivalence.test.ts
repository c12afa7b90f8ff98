/**
 * The faster lint (per-destination-class rule lists built once, counts computed once) gives exactly the findings of
 * the lint before it (test/compiler/lint-reference.ts, kept verbatim), on random policies: overlapping resources
 * (an address in several), partial and full denies, duplicate grants, rules matching nobody, unused declarations.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseDirectoryText, parsePolicyText, parseTopologyText } from '../../compiler/inputs.js';
import { compile } from '../../compiler/compile.js';
import { timeless } from '../../compiler/schedule.js';
import { lint } from '../../compiler/lint.js';
import { lintReference } from './lint-reference.js';

const ORGS = ['corp', 'fin', 'eng', 'ops'];
const ROLES = ['r0', 'r1', 'r2', 'r3', 'r4'];
const SERVICES = ['tcp/22', 'tcp/443', 'tcp/5432', 'tcp/8000-8099', 'udp/53', 'icmp'];
const HOSTS = ['h0', 'h1', 'h2', 'h3', 'h4', 'h5', '10.9.0.0/24', '10.9.1.0/24', '10.9.0.0/23'];

const arbPolicy = fc.record({
  users: fc.array(fc.record({ org: fc.constantFrom(...ORGS), roles: fc.uniqueArray(fc.constantFrom(...ROLES), { maxLength: 3 }) }), {
    minLength: 1,
    maxLength: 14,
  }),
  declaredRoles: fc.uniqueArray(fc.constantFrom(...ROLES, 'spare'), { maxLength: 3 }),
  resources: fc.array(
    fc.record({
      hosts: fc.uniqueArray(fc.constantFrom(...HOSTS), { minLength: 1, maxLength: 2 }),
      services: fc.uniqueArray(fc.constantFrom(...SERVICES), { minLength: 1, maxLength: 3 }),
    }),
    { minLength: 1, maxLength: 6 },
  ),
  rules: fc.array(
    fc.record({
      from: fc.oneof(
        fc.record({ roles: fc.uniqueArray(fc.constantFrom(...ROLES, 'nobody'), { minLength: 1, maxLength: 2 }) }),
        fc.record({ organizations: fc.uniqueArray(fc.constantFrom(...ORGS), { minLength: 1, maxLength: 2 }) }),
      ),
      to: fc.uniqueArray(fc.nat(5), { minLength: 1, maxLength: 3 }),
      deny: fc.boolean(),
      services: fc.option(fc.uniqueArray(fc.constantFrom(...SERVICES, 'tcp/1-1000', 'tcp'), { minLength: 1, maxLength: 2 }), {
        nil: undefined,
      }),
    }),
    { minLength: 1, maxLength: 12 },
  ),
});

describe('lint: the fast path equals the reference', () => {
  it('on random policies, findings are identical (order, messages, subjects, related rules)', () => {
    let compared = 0;
    fc.assert(
      fc.property(arbPolicy, (p) => {
        const directory = `organizations: [{ name: corp, children: [{ name: fin }, { name: eng }] }, { name: ops }]\n${p.declaredRoles.length ? `roles: [${p.declaredRoles.join(', ')}]\n` : ''}users:\n${p.users.map((u, i) => `  - { id: u${i}, organization: ${u.org}, roles: [${u.roles.join(', ')}], devices: [{ mac: "02:00:00:00:01:${i.toString(16).padStart(2, '0')}", ip: 10.0.1.${i + 1} }] }`).join('\n')}\n`;
        const topology = `switches: [{ name: s1, dpid: 1 }]\nservers:\n${[0, 1, 2, 3, 4, 5].map((i) => `  - { name: h${i}, switch: s1, port: ${10 + i}, mac: "02:00:00:00:10:0${i}", ip: 10.9.${i >> 1}.${10 + i} }`).join('\n')}\n`;
        const nres = p.resources.length;
        const policy = `version: 1\ndirectory: d.yaml\ntopology: t.yaml\nresources:\n${p.resources.map((r, i) => `  res${i}: { hosts: [${r.hosts.join(', ')}], services: [${r.services.join(', ')}] }`).join('\n')}\nrules:\n${p.rules
          .map((r, i) => {
            const from = 'roles' in r.from ? `roles: [${r.from.roles.join(', ')}]` : `organizations: [${r.from.organizations.join(', ')}]`;
            const to = [...new Set(r.to.map((t) => t % nres))].map((t) => `res${t}`).join(', ');
            return `  - { name: rule${i}, from: { ${from} }, to: [${to}]${r.services ? `, services: [${r.services.join(', ')}]` : ''}${r.deny ? ', action: deny' : ''} }`;
          })
          .join('\n')}\n`;
        const pp = parsePolicyText(policy, 'p.yaml'),
          d = parseDirectoryText(directory, 'd.yaml'),
          t = parseTopologyText(topology, 't.yaml');
        if (!pp.ok || !d.ok || !t.ok) return; // a generated combination the validator refuses (e.g. a service a deny cannot name): not what is compared
        const c = compile({ policy: timeless(pp.value), directory: d.value, topology: t.value });
        expect(lint(c)).toEqual(lintReference(c));
        compared++;
      }),
      { numRuns: 150, seed: 1702 },
    );
    expect(compared).toBeGreaterThan(100);
  });
});
