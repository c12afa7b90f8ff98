/** The policy's authentication: block: validation with file:line, device groups as roles, EAPOL flows, several hosts per port. */
import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/tmp.js';
import { loadPolicy } from '../../loader/index.js';
import { compile } from '../../compiler/compile.js';

function set(policyExtra: string, topoExtra = ''): string {
  const d = tempDir('acl-auth-');
  writeFileSync(
    join(d, 'd.yaml'),
    'organizations: [{ name: corp }]\nusers:\n  - { id: alice, organization: corp, roles: [staff], devices: [] }\n',
  );
  writeFileSync(
    join(d, 't.yaml'),
    `switches: [{ name: e1, dpid: 1 }, { name: c1, dpid: 2, kind: core }]\nlinks: [[e1:9, c1:1]]\nservers: [{ name: spool, switch: c1, port: 2, mac: "02:00:00:00:10:01", ip: 10.0.2.2 }]\n${topoExtra}`,
  );
  writeFileSync(
    join(d, 'p.yaml'),
    `version: 1\ndirectory: d.yaml\ntopology: t.yaml\nresources:\n  spool: { hosts: [spool], services: [tcp/631] }\nrules:\n  - { name: print, from: { roles: [printers] }, to: spool }\n${policyExtra}`,
  );
  return join(d, 'p.yaml');
}

describe('authentication block', () => {
  it('a valid block: device groups are accepted in selectors, EAPOL flows go to the controller under meter 3', async () => {
    const r = await loadPolicy(
      set(`authentication:
  radius: { servers: [{ host: 127.0.0.1, secretEnv: RADIUS_SECRET }] }
  ports:
    - { switch: e1, auth: dot1x }
    - { switch: e1, ports: [3, "5-6"], auth: mab, maxDevices: 2 }
    - { switch: e1, ports: [7], auth: none }
  deviceGroups: [printers]
`),
    );
    if (!r.ok) throw new Error(JSON.stringify(r.diagnostics));
    expect(r.value.policy.authentication!.ports[1]).toMatchObject({ ports: [3, 5, 6], auth: 'mab', maxDevices: 2 });
    const c = compile(r.value);
    const e1 = c.plan.switches.find((s) => s.name === 'e1')!;
    const eapol = e1.flows.filter((f) => f.match.some((m) => m.field === 'eth_type' && m.value === 0x888e));
    expect(
      eapol
        .map(
          (f) =>
            `${f.priority}/${f.match.find((m) => m.field === 'in_port')?.value ?? 'all'}/${f.instructions.length ? 'controller' : 'drop'}`,
        )
        .sort(),
    ).toEqual(['150/all/controller', '160/3/controller', '160/5/controller', '160/6/controller', '160/7/drop']);
    expect(eapol.filter((f) => f.instructions.length).every((f) => f.instructions.some((i) => i.type === 'meter' && i.meterId === 3))).toBe(
      true,
    );
    expect(
      c.plan.switches.find((s) => s.name === 'c1')!.flows.some((f) => f.match.some((m) => m.field === 'eth_type' && m.value === 0x888e)),
    ).toBe(false);
  });

  it('mistakes are reported with file:line: inline secret, no secret, bad auth, unknown switch, link port, missing servers', async () => {
    const r = await loadPolicy(
      set(`authentication:
  radius:
    servers:
      - { host: 127.0.0.1, secret: hunter2 }
  ports:
    - { switch: e2, auth: dot1x }
    - { switch: e1, ports: [9], auth: dotx1 }
    - { switch: e1, ports: [9], auth: dot1x }
`),
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const got = r.diagnostics.map((d) => `${d.code}@${d.location?.line}`);
    expect(got).toEqual(
      expect.arrayContaining([
        'inline-secret@11',
        'missing-field@11',
        'unknown-switch@13',
        'bad-value@14',
        'port-conflict@15',
        'unknown-role@7',
      ]),
    );
    expect(r.diagnostics.find((d) => d.code === 'inline-secret')!.message).not.toContain('hunter2');
  });

  it('several hosts may share a port; a host on a server port is still a conflict', async () => {
    const ok = await loadPolicy(
      set(
        'authentication: { deviceGroups: [printers] }\n',
        'hosts:\n  - { mac: "02:00:00:00:00:01", switch: e1, port: 4 }\n  - { mac: "02:00:00:00:00:02", switch: e1, port: 4 }\n',
      ),
    );
    expect(ok.ok).toBe(true);
    const bad = await loadPolicy(
      set('authentication: { deviceGroups: [printers] }\n', 'hosts:\n  - { mac: "02:00:00:00:00:01", switch: c1, port: 2 }\n'),
    );
    expect(bad.ok ? [] : bad.diagnostics.map((d) => d.code)).toContain('port-conflict');
  });
});
