/** The first-contact blocks of a policy: validation with file:line, the built-in unauthenticated rule, and the table-0 flows they compile to. */
import { describe, expect, it } from 'vitest';
import { parseDirectoryText, parsePolicyText, parseTopologyText } from '../../compiler/inputs.js';
import { crossCheck } from '../../compiler/cross-check.js';
import { compile } from '../../compiler/compile.js';
import { applyEdge } from '../../compiler/edge.js';

const TOPO = `switches:
  - { name: e1, dpid: 1, kind: edge }
  - { name: e2, dpid: 2, kind: edge }
links:
  - [e1:10, e2:10]
servers:
  - { name: dhcp1, switch: e1, port: 9, mac: "02:00:00:00:00:02", ip: 10.9.0.2 }
  - { name: portal, switch: e1, port: 8, mac: "02:00:00:00:00:01", ip: 10.9.0.1 }
  - { name: fs, switch: e2, port: 9, mac: "02:00:00:00:00:03", ip: 10.9.0.3 }
`;
const DIR = 'organizations: [o]\nusers:\n  - { id: dana, name: Dana, organization: o, roles: [staff], devices: [] }\n';
const POLICY = (extra: string) => `version: 1
directory: d.yaml
topology: t.yaml
resources:
  signin: { hosts: [portal], services: [tcp/8443] }
  dns: { hosts: [dhcp1], services: [udp/53] }
  files: { hosts: [fs], services: [tcp/80] }
rules:
  - { name: staff-files, from: { roles: [staff] }, to: [files] }
${extra}`;

function load(extra: string) {
  const p = parsePolicyText(POLICY(extra), 'policy.yaml');
  const t = parseTopologyText(TOPO, 't.yaml');
  const d = parseDirectoryText(DIR, 'd.yaml');
  if (!t.ok || !d.ok) throw new Error('fixture');
  const policy = p.ok ? p.value : p.partial!;
  const diags = [...(p.ok ? p.warnings : p.diagnostics), ...crossCheck(policy, d.value, t.value)].filter((x) => x.severity === 'error');
  return { policy, topology: t.value, directory: d.value, diags };
}

describe('first contact in the policy', () => {
  it('errors carry file:line: unknown server, link port, unknown resource, unauthenticated without dhcp, bad signin', () => {
    const a = load('dhcp:\n  servers: [dhcp9, "e1:10"]\nunauthenticated:\n  to: [signon]\n');
    expect(a.diags.map((d) => `${d.code}@${d.location?.line}`).sort()).toEqual(
      ['link-port@11', 'unknown-resource@13', 'unknown-server@11'].sort(),
    );
    const b = load('unauthenticated:\n  to: [signin]\nsignin:\n  listen: nowhere\n  lockout: soon\n');
    expect(b.diags.map((d) => d.code).sort()).toEqual(['bad-value', 'bad-value', 'missing-field', 'needs-dhcp']);
    expect(b.diags.find((d) => d.message.includes('listen'))!.location!.line).toBe(13);
  });

  it('without a dhcp block nothing changes; with one, table 0 gets the snooping flows, and a lease without login reaches exactly the unauthenticated resources', () => {
    const plain = load('');
    const base = compile({ policy: plain.policy, directory: plain.directory, topology: plain.topology });
    const fc = load('dhcp:\n  servers: [dhcp1]\nunauthenticated:\n  to: [signin, dns]\n');
    expect(fc.diags).toEqual([]);
    const c = compile({ policy: fc.policy, directory: fc.directory, topology: fc.topology });
    const origins = (sw: string, cc = c) => cc.plan.switches.find((s) => s.name === sw)!.flows.map((f) => f.origin);
    expect(
      origins('e1')
        .filter((o) => o.startsWith('dhcp:') || o === 'arp:probe')
        .sort(),
    ).toEqual(['arp:probe', 'dhcp:client', 'dhcp:link', 'dhcp:link', 'dhcp:trusted-server', 'dhcp:untrusted-server']);
    expect(origins('e2').filter((o) => o === 'dhcp:trusted-server')).toEqual([]);
    expect(origins('e1', base).some((o) => o.startsWith('dhcp:'))).toBe(false);
    // a leased laptop without a session: unauthenticated → signin + dns, not files
    const applied = applyEdge(fc.directory, {
      sessions: [],
      leases: [{ mac: '02:00:00:00:00:10', ip: '10.9.0.100', switch: 'e1', port: 1, source: 'dhcp' }],
    });
    const u = compile({ policy: fc.policy, directory: applied.directory, topology: fc.topology, bindings: applied.bindings });
    const laptop = u.subjects.find((s) => s.id === 'unauthenticated:02:00:00:00:00:10')!;
    expect(laptop.rules.map((i) => fc.policy.rules[i].name)).toEqual(['unauthenticated']);
    const flows = u.plan.switches.find((s) => s.name === 'e1')!.flows;
    expect(
      flows.some(
        (f) =>
          f.origin.startsWith('classify:user:unauthenticated:') && f.match.some((m) => m.field === 'ipv4_src' && m.value === '10.9.0.100'),
      ),
    ).toBe(true);
    expect(flows.filter((f) => f.tableId === 2 && f.origin === 'unauthenticated').length).toBeGreaterThan(0);
    expect(flows.some((f) => f.tableId === 2 && f.origin.includes('staff-files'))).toBe(false);
  });
});
