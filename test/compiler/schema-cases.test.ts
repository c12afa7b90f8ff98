/**
 * One table of good and bad inputs, run through the compiler's parsers (compiler/inputs.ts) AND through ajv against
 * the JSON Schemas shipped for editors (schema/*.json): both must accept or reject each case as the table says, so
 * the two descriptions of the input files cannot drift apart unnoticed. Cases are about the shape of one file;
 * references across files (unknown users, servers) are the cross-check's business, which no schema can see.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import Ajv2020 from 'ajv/dist/2020.js';
import { parseDirectoryText, parsePolicyText, parseTopologyText } from '../../compiler/inputs.js';

type Kind = 'policy' | 'directory' | 'topology';
interface Case {
  readonly kind: Kind;
  readonly name: string;
  readonly ok: boolean;
  readonly text: string;
}

const root = new URL('../../', import.meta.url).pathname;
const ajv = new (Ajv2020 as unknown as typeof Ajv2020.default)({ allErrors: true, strict: false });
ajv.addFormat('ipv4', /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/);
const validators = new Map(
  (['policy', 'directory', 'topology'] as const).map((k) => [
    k,
    ajv.compile(JSON.parse(readFileSync(`${root}schema/${k}.schema.json`, 'utf8'))),
  ]),
);

const HEAD = `version: 1
directory: d.yaml
topology: t.yaml
resources:
  db: { hosts: [db, 10.0.2.0/24], services: [tcp/5432] }
  web: { hosts: ["2001:db8::/64"], services: [tcp/443, udp/1000-2000, icmp] }
`;
/** A policy: the head, `rules:` with `rules`, then `tail` (more top-level keys). */
const policy = (rules: string, tail = '') => `${HEAD}rules:\n${rules}${tail}`;
const R = '  - { name: r1, from: { roles: [staff] }, to: db }\n';
const SW = 'switches: [{ name: s1, dpid: 1 }, { name: s2, dpid: "0x2" }]\n';

const P = (name: string, ok: boolean, text: string): Case => ({ kind: 'policy', name, ok, text });
const D = (name: string, ok: boolean, text: string): Case => ({ kind: 'directory', name, ok, text });
const T = (name: string, ok: boolean, text: string): Case => ({ kind: 'topology', name, ok, text });

export const CASES: readonly Case[] = [
  // policy: top level
  P('minimal policy', true, policy(R)),
  P('ldap directory', true, policy(R).replace('directory: d.yaml', 'directory: { ldap: { url: "ldap://x", baseDn: "dc=x" } }')),
  P('version 2', false, policy(R).replace('version: 1', 'version: 2')),
  P('no topology', false, policy(R).replace('topology: t.yaml\n', '')),
  P('default allow', false, policy(R, 'default: allow\n')),
  P('unknown top-level key', false, policy(R, 'colour: blue\n')),
  // resources
  P('resource without hosts', false, policy(R).replace('web: { hosts: ["2001:db8::/64"],', 'web: {')),
  P('resource with a bad service', false, policy(R).replace('udp/1000-2000', 'tcp/abc')),
  P('resource with an unknown key', false, policy(R).replace('services: [tcp/5432] }', 'services: [tcp/5432], port: 5 }')),
  P('resources as a list', false, policy(R).replace(/resources:[\s\S]*?rules:/, 'resources: [db]\nrules:')),
  // services
  P('services as one string', true, policy(R).replace('services: [tcp/5432]', 'services: tcp/5432')),
  P('service any and icmpv6', true, policy(R).replace('services: [tcp/5432]', 'services: [any, icmpv6]')),
  P('service without protocol', false, policy(R).replace('services: [tcp/5432]', 'services: ["5432"]')),
  // rules
  P(
    'rule with a list of selectors, to as text, deny',
    true,
    policy('  - { name: r1, from: [{ roles: [a] }, { users: [u] }], to: db, action: deny }\n'),
  ),
  P('rule with services of its own', true, policy('  - { name: r1, from: { organizations: [o] }, to: [db, web], services: [tcp/443] }\n')),
  P('rule with an unknown key', false, policy('  - { name: r1, from: { roles: [a] }, to: db, port: 22 }\n')),
  P('rule with action permit', false, policy('  - { name: r1, from: { roles: [a] }, to: db, action: permit }\n')),
  P('rule with an empty selector', false, policy('  - { name: r1, from: {}, to: db }\n')),
  P('selector with an unknown key', false, policy('  - { name: r1, from: { groups: [a] }, to: db }\n')),
  P('rule without from', false, policy('  - { name: r1, to: db }\n')),
  P('rule without to', false, policy('  - { name: r1, from: { roles: [a] } }\n')),
  P(
    'rule with a when window',
    true,
    policy('  - { name: r1, from: { roles: [a] }, to: db, when: { days: [mon-fri], hours: "08:00-18:00", timezone: Europe/Berlin } }\n'),
  ),
  P('rule with days as text', true, policy('  - { name: r1, from: { roles: [a] }, to: db, when: { days: "sat, sun" } }\n')),
  P(
    'rule with until and start',
    true,
    policy('  - { name: r1, from: { roles: [a] }, to: db, start: "2026-01-01T00:00:00Z", until: "2027-01-01T00:00:00Z" }\n'),
  ),
  P(
    'rule with when.from and when.until',
    true,
    policy('  - { name: r1, from: { roles: [a] }, to: db, when: { from: "2026-01-01T00:00:00Z", until: "2027-01-01T00:00:00+01:00" } }\n'),
  ),
  P('when with an unknown key', false, policy('  - { name: r1, from: { roles: [a] }, to: db, when: { weekdays: [mon] } }\n')),
  P('when with hours not HH:MM-HH:MM', false, policy('  - { name: r1, from: { roles: [a] }, to: db, when: { hours: "8-18" } }\n')),
  P('until without a zone', false, policy('  - { name: r1, from: { roles: [a] }, to: db, until: "2027-01-01T00:00:00" }\n')),
  P('deny rule in monitor mode', true, policy('  - { name: r1, from: { roles: [a] }, to: db, action: deny, mode: monitor }\n')),
  P('mode enforce', true, policy('  - { name: r1, from: { roles: [a] }, to: db, mode: enforce }\n')),
  P('mode audit', false, policy('  - { name: r1, from: { roles: [a] }, to: db, action: deny, mode: audit }\n')),
  // unauthenticated, dhcp, ipv6, roaming
  P('unauthenticated to a resource', true, policy(R, 'dhcp: { servers: [s1:1] }\nunauthenticated: { to: db }\n')),
  P('unauthenticated with an unknown key', false, policy(R, 'dhcp: { servers: [s1:1] }\nunauthenticated: { to: db, ports: [1] }\n')),
  P('dhcp with a client rate', true, policy(R, 'dhcp: { servers: [dhcp1], clientRate: 20 }\n')),
  P('dhcp without servers', false, policy(R, 'dhcp: { clientRate: 20 }\n')),
  P('dhcp with a zero client rate', false, policy(R, 'dhcp: { servers: [dhcp1], clientRate: 0 }\n')),
  P('ipv6 learning', true, policy(R, 'ipv6: { learn: [nd, dhcpv6], maxAddresses: 8, lifetime: 12h, rate: 50 }\n')),
  P('ipv6 learn slaac', false, policy(R, 'ipv6: { learn: slaac }\n')),
  P('ipv6 with 100 addresses', false, policy(R, 'ipv6: { learn: nd, maxAddresses: 100 }\n')),
  P('roaming newest', true, policy(R, 'roaming: { conflict: newest }\n')),
  P('roaming with an unknown conflict rule', false, policy(R, 'roaming: { conflict: oldest }\n')),

  // directory
  D(
    'organizations as names and trees, users with devices',
    true,
    `organizations: [corp, { name: eng, children: [{ name: web }] }]
roles: [auditor]
users:
  - { id: ann, name: Ann, organization: eng, roles: [staff], devices: [{ mac: "02:00:00:00:00:01", ip: 10.0.1.1, ipv6: "2001:db8::1" }] }
`,
  ),
  D('a device with an IPv6 address under ip', true, 'users: [{ id: a, devices: [{ mac: "02:00:00:00:00:01", ip: "2001:db8::1" }] }]\n'),
  D(
    'a device with a list of IPv6 addresses',
    true,
    'users: [{ id: a, devices: [{ mac: "02-00-00-00-00-01", ipv6: ["2001:db8::1", "fe80::1"] }] }]\n',
  ),
  D('a user without id', false, 'users: [{ name: Ann }]\n'),
  D('a user with an unknown key', false, 'users: [{ id: a, phone: "123" }]\n'),
  D('a device with a bad MAC', false, 'users: [{ id: a, devices: [{ mac: "02:00:00:00:01" }] }]\n'),
  D('a device with a bad IPv4 address', false, 'users: [{ id: a, devices: [{ mac: "02:00:00:00:00:01", ip: 10.0.1.300 }] }]\n'),
  D('a device with an empty ipv6 list', false, 'users: [{ id: a, devices: [{ mac: "02:00:00:00:00:01", ipv6: [] }] }]\n'),
  D('a device without mac', false, 'users: [{ id: a, devices: [{ ip: 10.0.1.1 }] }]\n'),
  D('an organization without a name', false, 'organizations: [{ children: [] }]\n'),
  D('an unknown top-level key', false, 'groups: []\n'),

  // topology
  T(
    'switches with kinds, profiles, tables and a zone',
    true,
    `switches:
  - { name: s1, dpid: 1, kind: core, exclusive: true, profile: ovs, tables: { 0: 2000, 2: 4000 }, conntrack_zone: 7 }
  - { name: s2, dpid: "00:00:00:00:00:00:00:02", kind: hypervisor, profile: openflow13 }
links: [[s1:1, s2:1]]
`,
  ),
  T(
    'hosts and servers, v4 and v6, routers and dhcpv6',
    true,
    `${SW}hosts:
  - { mac: "02:00:00:00:00:01", ip: 10.0.1.1, switch: s1, port: 3 }
  - { mac: "02:00:00:00:00:02", ipv6: ["2001:db8::2"], switch: s1, port: 4, name: pc }
servers:
  - { name: db, mac: "02:00:00:00:10:01", ip: 10.0.2.10, ipv6: "2001:db8:2::10", switch: s2, port: 10 }
routers: [s2:1]
dhcpv6: [db]
`,
  ),
  T('a switch without dpid', false, 'switches: [{ name: s1 }]\n'),
  T('a switch with an unknown kind', false, 'switches: [{ name: s1, dpid: 1, kind: leaf }]\n'),
  T('a switch with an unknown profile', false, 'switches: [{ name: s1, dpid: 1, profile: cisco }]\n'),
  T('table 255', false, 'switches: [{ name: s1, dpid: 1, tables: { 255: 10 } }]\n'),
  T('a negative table budget', false, 'switches: [{ name: s1, dpid: 1, tables: { 0: -1 } }]\n'),
  T('tables as a list', false, 'switches: [{ name: s1, dpid: 1, tables: [1000] }]\n'),
  T('conntrack zone 0', false, 'switches: [{ name: s1, dpid: 1, conntrack_zone: 0 }]\n'),
  T('exclusive as text', false, 'switches: [{ name: s1, dpid: 1, exclusive: "yes" }]\n'),
  T('a link with one end', false, `${SW}links: [[s1:1]]\n`),
  T('a link end without a port', false, `${SW}links: [[s1, s2:1]]\n`),
  T('a server without ip', false, `${SW}servers: [{ name: db, mac: "02:00:00:00:10:01", switch: s1, port: 10 }]\n`),
  T('a host on port 0', false, `${SW}hosts: [{ mac: "02:00:00:00:00:01", switch: s1, port: 0 }]\n`),
  T('a host with a bad MAC', false, `${SW}hosts: [{ mac: "nope", switch: s1, port: 2 }]\n`),
  T('a server with a bad MAC', false, `${SW}servers: [{ name: db, mac: "02:00:00:00:10", ip: 10.0.2.10, switch: s1, port: 10 }]\n`),
  T('a server with a bad address', false, `${SW}servers: [{ name: db, mac: "02:00:00:00:10:01", ip: 10.0.2, switch: s1, port: 10 }]\n`),
  T('a host with a bad IPv4 address', false, `${SW}hosts: [{ mac: "02:00:00:00:00:01", ip: 10.0.1.256, switch: s1, port: 2 }]\n`),
  T('a host with an IPv6 address under ip', true, `${SW}hosts: [{ mac: "02:00:00:00:00:01", ip: "2001:db8::5", switch: s1, port: 2 }]\n`),
  P('when with an unknown day', false, policy('  - { name: r1, from: { roles: [a] }, to: db, when: { days: [someday] } }\n')),
  P(
    'when with a start of its own and until',
    true,
    policy('  - { name: r1, from: { roles: [a] }, to: db, when: { hours: "22:00-06:00", timezone: UTC }, until: "2027-01-01 00:00Z" }\n'),
  ),
  T('an unknown top-level key', false, `${SW}vlans: [10]\n`),
];

const parsers: Record<Kind, (text: string, file: string) => { ok: boolean; diagnostics?: readonly { code: string }[] }> = {
  policy: parsePolicyText,
  directory: parseDirectoryText,
  topology: parseTopologyText,
};

describe('input files: the compiler and the JSON Schemas agree on one table of cases', () => {
  it('covers every file and both answers', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(30);
    for (const k of ['policy', 'directory', 'topology'] as const)
      for (const ok of [true, false])
        expect(
          CASES.some((c) => c.kind === k && c.ok === ok),
          `${k} ${ok}`,
        ).toBe(true);
  });
  for (const c of CASES) {
    it(`${c.kind}: ${c.name} → ${c.ok ? 'accepted' : 'rejected'} by both`, () => {
      const parsed = parsers[c.kind](c.text, `${c.kind}.yaml`);
      expect(parsed.ok, `compiler: ${JSON.stringify(parsed.diagnostics?.map((d) => d.code))}`).toBe(c.ok);
      const validate = validators.get(c.kind)!;
      const valid = validate(parse(c.text));
      expect(valid, `schema: ${JSON.stringify(validate.errors?.map((e) => `${e.instancePath} ${e.message}`))}`).toBe(c.ok);
    });
  }
});
