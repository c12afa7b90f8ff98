/**
 * A small network with monitored deny rules (mode: monitor), shared by the monitor-mode tests: bob may reach the
 * intranet on tcp/80, tcp/443 and icmp, and a monitored rule would deny him tcp/80; alice may reach payroll-db,
 * and a monitored rule would deny her everything there; carol is denied payroll-db for real.
 */
import { compile, parseDirectoryText, parsePolicyText, parseTopologyText, type Compiled } from '../../compiler/index.js';

export const MAC = { alice: '02:00:00:00:01:01', bob: '02:00:00:00:01:02', carol: '02:00:00:00:01:03' } as const;
export const IP = { alice: '10.0.1.1', bob: '10.0.1.2', carol: '10.0.1.3', db: '10.0.2.10', web: '10.0.2.2' } as const;

export const rules = (mode = 'monitor') => `  - { name: finance-payroll, from: { organizations: [finance] }, to: payroll-db }
  - { name: staff-intranet,  from: { roles: [employee] }, to: intranet }
  - { name: no-contractors,  from: { roles: [contractor] }, to: payroll-db, action: deny }
  - { name: bob-no-http, from: { users: [bob] }, to: intranet, services: [tcp/80], action: deny, mode: ${mode} }
  - { name: watch-alice-db, from: { users: [alice] }, to: payroll-db, action: deny, mode: ${mode} }
`;

export const policy = (mode = 'monitor') => `version: 1
directory: d.yaml
topology: t.yaml
resources:
  payroll-db: { hosts: [payroll-db], services: [tcp/5432] }
  intranet:   { hosts: [10.0.2.0/28], services: [tcp/80, tcp/443, icmp] }
rules:
${rules(mode)}default: deny
`;

export const DIRECTORY = `organizations:
  - { name: finance }
  - { name: platform }
users:
  - { id: alice, name: Alice Ito, organization: finance, roles: [employee], devices: [{ mac: "${MAC.alice}", ip: ${IP.alice} }] }
  - { id: bob, name: Bob Berg, organization: platform, roles: [employee], devices: [{ mac: "${MAC.bob}", ip: ${IP.bob} }] }
  - { id: carol, name: Carol Cruz, organization: finance, roles: [contractor], devices: [{ mac: "${MAC.carol}", ip: ${IP.carol} }] }
`;

export const topology = (profile = 'ovs') => `switches:
  - { name: edge1, dpid: 1, profile: ${profile} }
  - { name: hv1, dpid: 16, kind: hypervisor, profile: ${profile} }
links: [[edge1:3, hv1:9]]
hosts:
  - { mac: "${MAC.alice}", switch: edge1, port: 1 }
  - { mac: "${MAC.bob}", switch: edge1, port: 2 }
  - { mac: "${MAC.carol}", switch: edge1, port: 4 }
servers:
  - { name: payroll-db, switch: hv1, port: 1, mac: "02:00:00:00:10:01", ip: ${IP.db} }
  - { name: web1,       switch: hv1, port: 2, mac: "02:00:00:00:10:02", ip: ${IP.web} }
`;

export function build(profile = 'ovs', text = policy()): Compiled {
  const p = parsePolicyText(text, 'p.yaml'),
    d = parseDirectoryText(DIRECTORY, 'd.yaml'),
    t = parseTopologyText(topology(profile), 't.yaml');
  if (!p.ok || !d.ok || !t.ok) throw new Error(JSON.stringify([p, d, t].filter((x) => !x.ok).map((x) => !x.ok && x.diagnostics)));
  return compile({ policy: p.value, directory: d.value, topology: t.value });
}
