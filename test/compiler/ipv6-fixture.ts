/** A small dual-stack network shared by the IPv6 tests: two users, a dual-stack server, a v6-only resource, a router port. */
import { compile, parseDirectoryText, parsePolicyText, parseTopologyText, type Compiled } from '../../compiler/index.js';

export const MAC = { alice: '02:00:00:00:06:01', bob: '02:00:00:00:06:02', web: '02:00:00:00:06:10', db: '02:00:00:00:06:11' } as const;
export const V6 = { alice: '2001:db8:1::a', bob: '2001:db8:1::b', web: '2001:db8:2::10', db: '2001:db8:2::11' } as const;
export const V4 = { alice: '10.6.0.1', bob: '10.6.0.2', web: '10.6.2.10', db: '10.6.2.11' } as const;

export const POLICY = `version: 1
directory: d.yaml
topology: t.yaml
resources:
  web: { hosts: [web], services: [tcp/443, icmpv6/128, icmp] }
  db: { hosts: ["2001:db8:2::11"], services: [tcp/5432] }
  v6net: { hosts: ["2001:db8:2::/64"], services: [udp/53] }
rules:
  - { name: staff-web, from: { roles: [staff] }, to: [web, v6net] }
  - { name: alice-db, from: { users: [alice] }, to: db }
  - { name: no-bob-dns, from: { users: [bob] }, to: v6net, action: deny, services: [udp/53] }
`;
export const DIRECTORY = `users:
  - { id: alice, name: Alice, roles: [staff], devices: [{ mac: "${MAC.alice}", ip: ${V4.alice}, ipv6: ["${V6.alice}"] }] }
  - { id: bob, name: Bob, roles: [staff], devices: [{ mac: "${MAC.bob}", ip: ${V4.bob}, ipv6: "${V6.bob}" }] }
`;
export const topology = (profile = 'ovs', extra = '') => `switches:
  - { name: e1, dpid: 0x61, profile: ${profile} }
  - { name: h1, dpid: 0x62, kind: hypervisor, profile: ${profile} }
links:
  - [e1:10, h1:10]
hosts:
  - { mac: "${MAC.alice}", switch: e1, port: 1 }
  - { mac: "${MAC.bob}", switch: e1, port: 2 }
servers:
  - { name: web, switch: h1, port: 1, mac: "${MAC.web}", ip: ${V4.web}, ipv6: ["${V6.web}"] }
  - { name: db, switch: h1, port: 2, mac: "${MAC.db}", ip: ${V4.db}, ipv6: ["${V6.db}"] }
routers: ["e1:5"]
dhcpv6: ["e1:6"]
${extra}`;

export function build(profile = 'ovs', policy = POLICY, directory = DIRECTORY, topo = topology(profile)): Compiled {
  const p = parsePolicyText(policy, 'p.yaml'),
    d = parseDirectoryText(directory, 'd.yaml'),
    t = parseTopologyText(topo, 't.yaml');
  if (!p.ok || !d.ok || !t.ok) throw new Error(JSON.stringify([p, d, t].filter((x) => !x.ok).map((x) => !x.ok && x.diagnostics)));
  return compile({ policy: p.value, directory: d.value, topology: t.value });
}
