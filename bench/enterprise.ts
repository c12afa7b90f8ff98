/**
 * The generated enterprise the benchmarks share (10,000 users, 300 roles, 40 organizations, 2,000 resources,
 * 500 rules, 200 switches), from a fixed seed: every benchmark compiles the same model.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePolicyText } from '../compiler/index.js';
import type { Directory, Topology } from '../compiler/model.js';

export function rng(seed: number) {
  return () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
}
export const r = rng(42);
export const pick = <T>(a: T[]) => a[Math.floor(r() * a.length)];
export const ip = (n: number, net = 10) => `${net}.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
export const mac = (n: number) =>
  `02:00:${((n >> 24) & 255).toString(16).padStart(2, '0')}:${((n >> 16) & 255).toString(16).padStart(2, '0')}:${((n >> 8) & 255).toString(16).padStart(2, '0')}:${(n & 255).toString(16).padStart(2, '0')}`;

export function enterprise() {
  const orgs = Array.from({ length: 40 }, (_, i) => ({ name: `org${i}`, parent: i < 8 ? undefined : `org${i % 8}` }));
  const roles = Array.from({ length: 300 }, (_, i) => `role${i}`);
  // people have a job (a role bundle) typical of their organization: realistic overlap of access
  const jobs = Array.from({ length: 60 }, () => [pick(roles), pick(roles), pick(roles)]);
  const switches = Array.from({ length: 200 }, (_, i) => ({
    name: `sw${i}`,
    dpid: BigInt(i + 1),
    kind: i < 20 ? ('hypervisor' as const) : i < 24 ? ('core' as const) : ('edge' as const),
  }));
  const links = switches.slice(4).map((s, i) => ({ a: { switch: s.name, port: 1000 }, b: { switch: `sw${20 + (i % 4)}`, port: 100 + i } }));
  const users = Array.from({ length: 10_000 }, (_, i) => ({
    id: `u${i}`,
    name: `User ${i}`,
    organization: pick(orgs).name,
    roles: pick(jobs),
    devices: [{ mac: mac(i + 1), ip: ip(i + 1, 10) }],
  }));
  const hosts = users.map((u, i) => ({ mac: u.devices[0].mac, switch: `sw${24 + (i % 176)}`, port: 1 + Math.floor(i / 176) }));
  const servers = Array.from({ length: 2000 }, (_, i) => ({
    name: `srv${i}`,
    switch: `sw${i % 20}`,
    port: 1 + Math.floor(i / 20),
    mac: mac(0x01000000 + i),
    ip: ip(i + 1, 172),
  }));
  const resources = servers.map(
    (s, i) =>
      `  res${i}: { hosts: [${s.name}], services: [${pick(['tcp/443', 'tcp/22', 'tcp/5432', 'tcp/8000-8099', 'udp/53', 'icmp'])}] }`,
  );
  const rules = Array.from({ length: 500 }, (_, i) => {
    const from = r() < 0.5 ? `roles: [${pick(roles)}, ${pick(roles)}]` : `organizations: [${pick(orgs).name}]`;
    const to = Array.from({ length: 4 }, () => `res${Math.floor(r() * 2000)}`).join(', ');
    return `  - { name: r${i}, from: { ${from} }, to: [${to}]${i % 25 === 0 ? ', action: deny' : ''} }`;
  });
  const body = `resources:\n${resources.join('\n')}\nrules:\n${rules.join('\n')}\n`;
  const policy = parsePolicyText(`version: 1\ndirectory: d\ntopology: t\n${body}`, 'enterprise.yaml');
  if (!policy.ok) throw new Error(JSON.stringify(policy.diagnostics.slice(0, 3)));
  const directory: Directory = { organizations: orgs, users, source: 'generated' };
  const topology: Topology = { switches, links, hosts, servers };
  return { policy: policy.value, directory, topology, roles, policyBody: body };
}

/**
 * The same enterprise as the three YAML files an admin would keep (policy.yaml, directory.yaml, topology.yaml in
 * `dir`), for whole-process benchmarks of the `acl` command. Returns the policy file's path.
 */
export function enterpriseFiles(dir: string): string {
  const e = enterprise();
  const children = (parent: string | undefined): string =>
    e.directory.organizations
      .filter((o) => o.parent === parent)
      .map((o) => {
        const c = children(o.name);
        return `{ name: ${o.name}${c ? `, children: [${c}]` : ''} }`;
      })
      .join(', ');
  const users = e.directory.users.map(
    (u) =>
      `  - { id: ${u.id}, name: ${u.name}, organization: ${u.organization}, roles: [${u.roles.join(', ')}], devices: [{ mac: "${u.devices[0].mac}", ip: ${u.devices[0].ip} }] }`,
  );
  writeFileSync(
    join(dir, 'directory.yaml'),
    `roles: [${e.roles.join(', ')}]\norganizations: [${children(undefined)}]\nusers:\n${users.join('\n')}\n`,
  );
  const t = e.topology;
  const topo = [
    'switches:',
    ...t.switches.map((s) => `  - { name: ${s.name}, dpid: ${s.dpid}${s.kind === 'edge' ? '' : `, kind: ${s.kind}`} }`),
    'links:',
    ...t.links.map((l) => `  - [${l.a.switch}:${l.a.port}, ${l.b.switch}:${l.b.port}]`),
    'hosts:',
    ...t.hosts.map((h) => `  - { mac: "${h.mac}", switch: ${h.switch}, port: ${h.port} }`),
    'servers:',
    ...t.servers.map((s) => `  - { name: ${s.name}, switch: ${s.switch}, port: ${s.port}, mac: "${s.mac}", ip: ${s.ip} }`),
  ];
  writeFileSync(join(dir, 'topology.yaml'), topo.join('\n') + '\n');
  const file = join(dir, 'policy.yaml');
  writeFileSync(file, `version: 1\ndirectory: directory.yaml\ntopology: topology.yaml\n${e.policyBody}`);
  return file;
}
