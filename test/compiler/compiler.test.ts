import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { writeFileSync } from 'node:fs';
import { tempDir } from '../helpers/tmp.js';
import { join } from 'node:path';
import {
  compile,
  recompile,
  decide,
  explain,
  verify,
  accessMatrix,
  diffAccess,
  diffPlans,
  parsePolicyText,
  parseDirectoryText,
  parseTopologyText,
  formatOvsFlows,
  type Compiled,
  type Directory,
  type Topology,
} from '../../compiler/index.js';
import { loadPolicy } from '../../loader/index.js';

const BASIC = new URL('../../examples/basic/policy.yaml', import.meta.url).pathname;

async function basic(): Promise<Compiled> {
  const r = await loadPolicy(BASIC);
  if (!r.ok) throw new Error(JSON.stringify(r.diagnostics));
  return compile(r.value);
}

function writeSet(files: Record<string, string>): string {
  const dir = tempDir('acl-test-');
  for (const [n, t] of Object.entries(files)) writeFileSync(join(dir, n), t);
  return join(dir, 'policy.yaml');
}

describe('the basic example', () => {
  it('decides as the policy says, and the flows agree (interpreter)', async () => {
    const c = await basic();
    const cases: Array<[string, string, string, 'allow' | 'deny']> = [
      ['alice', 'payroll-db', 'tcp/5432', 'allow'], // finance
      ['alice', 'payroll-db', 'tcp/22', 'deny'], // not a payroll service
      ['bob', 'payroll-db', 'tcp/5432', 'deny'], // platform is not finance
      ['bob', 'intranet', 'tcp/443', 'allow'], // employee
      ['carol', 'payroll-db', 'tcp/5432', 'deny'], // contractor deny overrides finance allow
      ['carol', 'intranet', 'tcp/80', 'deny'], // not an employee
      ['web1', 'payroll-db', 'tcp/5432', 'allow'], // server to server
      ['payroll-db', 'web1', 'tcp/80', 'deny'],
      ['10.0.1.1', '10.0.2.10', 'tcp/5432', 'allow'], // by address
      ['alice', '10.9.9.9', 'tcp/80', 'deny'], // in no resource
    ];
    for (const [from, to, svc, want] of cases) {
      const e = explain(c, from, to, svc);
      expect(e.decision, `${from} -> ${to} ${svc}`).toBe(want);
      expect(e.consistent, `${from} -> ${to} ${svc}: flows disagree`).toBe(true);
      if (want === 'allow' && (to === 'payroll-db' || to === '10.0.2.10'))
        expect(e.path.map((h) => h.switch)).toEqual(from === 'web1' ? ['hv1'] : ['edge1', 'core', 'hv1']);
      if (want === 'allow') expect(e.path.at(-1)?.verdict).toBe('forward');
    }
    expect(decide(c, 'carol', 'payroll-db', 'tcp/5432').rule).toBe('no-contractors');
    expect(decide(c, 'bob', 'payroll-db', 'tcp/5432').rule).toBe('default');
  });

  it('verify finds no mismatch and no ambiguous overlap', async () => {
    const r = verify(await basic());
    expect(r.problems).toEqual([]);
    expect(r.checked).toBeGreaterThan(50);
  });

  it("anti-spoofing: another device sending with alice's IP, or alice on the wrong port, is not forwarded", async () => {
    const c = await basic();
    const edge = c.plan.switches.find((s) => s.name === 'edge1')!;
    const { FlowTables } = await import('../../compiler/interpreter.js');
    const t = new FlowTables(edge.flows);
    const pkt = { ethType: 0x0800, ipDst: '10.0.2.10', ipProto: 6, tpSrc: 40000, tpDst: 5432 };
    expect(t.apply({ ...pkt, inPort: 1, ethSrc: '02:00:00:00:01:01', ipSrc: '10.0.1.1' }).verdict).toBe('forward');
    expect(t.apply({ ...pkt, inPort: 2, ethSrc: '02:00:00:00:01:02', ipSrc: '10.0.1.1' }).verdict).toBe('controller'); // bob spoofing alice's IP
    expect(t.apply({ ...pkt, inPort: 4, ethSrc: '02:00:00:00:01:01', ipSrc: '10.0.1.1' }).verdict).toBe('controller'); // alice's MAC on carol's port
    expect(t.apply({ ...pkt, inPort: 7, ethSrc: '02:00:00:00:99:99', ipSrc: '10.0.1.99' }).verdict).toBe('controller'); // unknown device → discovery
    // ARP only for bound addresses
    expect(
      t.apply({
        inPort: 1,
        ethSrc: '02:00:00:00:01:01',
        ethType: 0x0806,
        arpSpa: '10.0.1.1',
        arpSha: '02:00:00:00:01:01',
        arpTpa: '10.0.2.10',
      }).verdict,
    ).toBe('forward');
    expect(
      t.apply({
        inPort: 1,
        ethSrc: '02:00:00:00:01:01',
        ethType: 0x0806,
        arpSpa: '10.0.1.2',
        arpSha: '02:00:00:00:01:01',
        arpTpa: '10.0.2.10',
      }).verdict,
    ).toBe('controller');
  });

  it('stateful replies (ovs profile): only replies of a connection the policy let through pass; unsolicited ACK, UDP and SYN from the server are dropped', async () => {
    const c = await basic();
    const { FlowTables, Conntrack } = await import('../../compiler/interpreter.js');
    const hvPlan = c.plan.switches.find((s) => s.name === 'hv1')!;
    expect(hvPlan.profile).toBe('ovs');
    const hv = new FlowTables(hvPlan.flows);
    const ct = new Conntrack(); // the switch's connection tracker, shared by the packets of the conversation
    // alice's SYN arrives from the core on the link port (9): classified again, allowed, committed
    const syn = {
      inPort: 9,
      ethSrc: '02:00:00:00:01:01',
      ethType: 0x0800,
      ipSrc: '10.0.1.1',
      ipDst: '10.0.2.10',
      ipProto: 6,
      tpSrc: 40000,
      tpDst: 5432,
      tcpFlags: 0x002,
    };
    const fwd = hv.apply(syn, ct);
    expect(fwd.verdict).toBe('forward');
    expect(fwd.hits.map((h) => h.flow.origin)).toContain('conntrack:commit');
    const reply = { inPort: 1, ethSrc: '02:00:00:00:10:01', ethType: 0x0800, ipSrc: '10.0.2.10', ipProto: 6 };
    const synAck = hv.apply({ ...reply, ipDst: '10.0.1.1', tpSrc: 5432, tpDst: 40000, tcpFlags: 0x012 }, ct);
    expect(synAck.verdict).toBe('forward'); // +est+rpl of the committed connection
    expect(synAck.hits.some((h) => h.flow.origin.startsWith('reply:'))).toBe(true);
    expect(hv.apply({ ...reply, ipDst: '10.0.1.1', tpSrc: 5432, tpDst: 40000, tcpFlags: 0x018 }, ct).verdict).toBe('forward'); // data to alice
    // the same segments without the connection: dropped (stateless replies let these through)
    const fresh = new Conntrack();
    expect(hv.apply({ ...reply, ipDst: '10.0.1.1', tpSrc: 5432, tpDst: 40000, tcpFlags: 0x010 }, fresh).verdict).toBe('drop'); // unsolicited ACK
    expect(hv.apply({ ...reply, ipDst: '10.0.1.2', tpSrc: 5432, tpDst: 40000, tcpFlags: 0x010 }, ct).verdict).toBe('drop'); // bob never asked
    expect(hv.apply({ ...reply, ipDst: '10.0.1.1', tpSrc: 5432, tpDst: 22, tcpFlags: 0x002 }, ct).verdict).toBe('drop'); // a server opening a connection
    expect(hv.apply({ ...reply, ipProto: 17, ipDst: '10.0.1.1', tpSrc: 5432, tpDst: 40000 }, ct).verdict).toBe('drop'); // UDP from the service port
  });

  it('stateless replies (ovs-stateless profile) pass at the server edge with ACK; a bare SYN back does not', async () => {
    const c0 = await basic();
    const c = compile({
      ...c0.input,
      topology: { ...c0.input.topology, switches: c0.input.topology.switches.map((s) => ({ ...s, profile: 'ovs-stateless' as const })) },
    });
    const { FlowTables } = await import('../../compiler/interpreter.js');
    const hv = new FlowTables(c.plan.switches.find((s) => s.name === 'hv1')!.flows);
    expect(c.plan.switches.every((s) => s.flows.every((f) => f.match.every((e) => !e.field.startsWith('ct_'))))).toBe(true);
    const reply = { inPort: 1, ethSrc: '02:00:00:00:10:01', ethType: 0x0800, ipSrc: '10.0.2.10', ipProto: 6 };
    expect(hv.apply({ ...reply, ipDst: '10.0.1.1', tpSrc: 5432, tpDst: 40000, tcpFlags: 0x012 }).verdict).toBe('forward'); // SYN+ACK to alice
    expect(hv.apply({ ...reply, ipDst: '10.0.1.1', tpSrc: 5432, tpDst: 40000, tcpFlags: 0x018 }).verdict).toBe('forward'); // data to alice
    expect(hv.apply({ ...reply, ipDst: '10.0.1.2', tpSrc: 5432, tpDst: 40000, tcpFlags: 0x010 }).verdict).toBe('drop'); // bob never asked
    expect(hv.apply({ ...reply, ipDst: '10.0.1.1', tpSrc: 40000, tpDst: 22, tcpFlags: 0x002 }).verdict).toBe('drop'); // server-initiated
    expect(hv.apply({ ...reply, ipDst: '10.0.1.1', tpSrc: 5432, tpDst: 22, tcpFlags: 0x002 }).verdict).toBe('drop');
  });

  it('compiles deterministically: the same input gives byte-identical plans', async () => {
    const a = await basic(),
      b = await basic();
    expect(a.plan.switches.map((s) => formatOvsFlows(s))).toEqual(b.plan.switches.map((s) => formatOvsFlows(s)));
  });

  it('users with identical access share one class; flows grow with classes, not users', async () => {
    const c = await basic();
    const users = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6'].map((id, i) => ({
      id,
      name: id,
      organization: 'finance',
      roles: ['employee'],
      devices: [{ mac: `02:00:00:00:02:0${i}`, ip: `10.0.1.${20 + i}` }],
    }));
    const big = recompile(c, { directory: { ...c.input.directory, users: [...c.input.directory.users, ...users] } });
    expect(big.stats.classes).toBe(c.stats.classes);
    const policyFlows = (x: Compiled) => x.plan.switches.find((s) => s.name === 'edge1')!.flows.filter((f) => f.tableId === 2).length;
    expect(policyFlows(big)).toBe(policyFlows(c));
  });

  it('one user changing role changes only the flows it must, and who gains/loses access is exact', async () => {
    const c = await basic();
    const dir: Directory = {
      ...c.input.directory,
      users: c.input.directory.users.map((u) => (u.id === 'carol' ? { ...u, roles: ['employee'] } : u)),
    };
    const next = recompile(c, { directory: dir });
    const changes = diffAccess(c, next);
    expect(changes.every((x) => x.subject === 'carol')).toBe(true);
    expect(
      changes
        .filter((x) => x.change === 'gain')
        .map((x) => `${x.resource} ${x.service}`)
        .sort(),
    ).toEqual(['intranet icmp', 'intranet tcp/443', 'intranet tcp/80', 'payroll-db tcp/5432']);
    const d = diffPlans(c.plan, next.plan);
    const core = d.find((x) => x.switch === 'core')!;
    expect(core.added.length + core.removed.length).toBe(0);
    const edge = d.find((x) => x.switch === 'edge1')!;
    expect(edge.added.length + edge.removed.length).toBeLessThan(10);
    expect(verify(next).ok).toBe(true);
  });

  it('access matrix covers every subject × resource service', async () => {
    const m = accessMatrix(await basic());
    expect(m.cells.length).toBe(5 * (1 + 3));
    expect(m.cells.find((x) => x.subject === 'alice' && x.resource === 'payroll-db')!.decision).toBe('allow');
  });
});

describe('errors: all at once, with file:line:column and hints; nothing produced', () => {
  it('reports bad YAML with its position', () => {
    const r = parsePolicyText('version: 1\nrules: [\n', 'p.yaml');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.diagnostics[0].location?.file).toBe('p.yaml');
  });

  it('reports unknown fields, unknown resources, bad services and bad CIDRs together', () => {
    const text = [
      'version: 1',
      'directory: d.yaml',
      'topology: t.yaml',
      'resources:',
      '  db: { hosts: [10.0.2.1/24], services: [tcp/99999] }',
      '  web: { hosts: [10.0.3.0/24], servics: [tcp/80] }',
      'rules:',
      '  - { name: a, from: { organizations: [finance] }, to: dbb }',
      '  - { name: a, from: { roles: [x] }, to: web, action: permit }',
      'colour: blue',
    ].join('\n');
    const r = parsePolicyText(text, 'policy.yaml');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const by = (code: string) => r.diagnostics.filter((d) => d.code === code);
    expect(by('bad-address')[0].location).toMatchObject({ line: 5 });
    expect(by('bad-address')[0].message).toMatch(/host bits set; did you mean 10\.0\.2\.0\/24/);
    expect(by('bad-service')[0].location).toMatchObject({ line: 5 });
    expect(
      by('unknown-field')
        .map((d) => d.location?.line)
        .sort((a, b) => a! - b!),
    ).toEqual([6, 10]);
    expect(by('unknown-field').find((d) => d.location?.line === 6)!.hint).toBe("did you mean 'services'?");
    expect(by('unknown-resource')[0]).toMatchObject({ location: { line: 8 }, hint: "did you mean 'db'?" });
    expect(by('duplicate-name')[0].location).toMatchObject({ line: 9 });
    expect(by('bad-action')[0].location).toMatchObject({ line: 9 });
  });

  it('reports bad MACs, duplicate users, unknown organizations and a device bound to two users', () => {
    const r = parseDirectoryText(
      [
        'organizations: [{ name: corp, children: [{ name: finance }] }]',
        'users:',
        '  - { id: a, organization: fnance, devices: [{ mac: "02:00:00:00:00:01", ip: 10.0.0.1 }] }',
        '  - { id: a, organization: finance, devices: [{ mac: "zz" }] }',
        '  - { id: b, organization: finance, devices: [{ mac: "02:00:00:00:00:01", ip: 10.0.0.2 }] }',
      ].join('\n'),
      'dir.yaml',
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const codes = r.diagnostics.map((d) => `${d.code}@${d.location?.line}`);
    expect(codes).toEqual(expect.arrayContaining(['unknown-organization@3', 'duplicate-name@4', 'bad-mac@4', 'device-conflict@5']));
    expect(r.diagnostics.find((d) => d.code === 'unknown-organization')!.hint).toBe("did you mean 'finance'?");
  });

  it('reports topology mistakes: unknown switches in links, duplicate dpids, a port used twice', () => {
    const r = parseTopologyText(
      [
        'switches: [{ name: e1, dpid: 1 }, { name: e2, dpid: 1 }]',
        'links: [[e1:1, core:1]]',
        'hosts: [{ mac: "02:00:00:00:00:01", switch: e1, port: 2 }]',
        'servers: [{ name: s, switch: e1, port: 2, mac: "02:00:00:00:00:02", ip: 10.0.0.9 }]',
      ].join('\n'),
      't.yaml',
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.diagnostics.map((d) => d.code)).toEqual(expect.arrayContaining(['duplicate-dpid', 'unknown-switch', 'port-conflict']));
  });

  it('loadPolicy checks names across files, relative to the policy file', async () => {
    const p = writeSet({
      'policy.yaml':
        'version: 1\ndirectory: d.yaml\ntopology: t.yaml\nresources:\n  db: { hosts: [dbserver], services: [tcp/5432] }\nrules:\n  - { from: { organizations: [finanse] }, to: db }\n',
      'd.yaml': 'organizations: [{ name: finance }]\nusers: []\n',
      't.yaml': 'switches: [{ name: e1, dpid: 1 }]\n',
    });
    const r = await loadPolicy(p);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.diagnostics.find((d) => d.code === 'unknown-organization')).toMatchObject({
      location: { line: 7 },
      hint: "did you mean 'finance'?",
    });
    expect(r.diagnostics.find((d) => d.code === 'unknown-server')).toMatchObject({ location: { line: 5 } });
  });

  it('an unknown role is an error (a misspelt deny would deny nobody), unless the directory declares the role', async () => {
    const files = (dir: string) =>
      writeSet({
        'policy.yaml':
          'version: 1\ndirectory: d.yaml\ntopology: t.yaml\nresources:\n  db: { hosts: [10.0.0.9], services: [tcp/5432] }\nrules:\n  - { from: { roles: [employee] }, to: db }\n  - { from: { roles: [contractr] }, to: db, action: deny }\n  - { from: { roles: [auditor] }, to: db }\n',
        'd.yaml': dir,
        't.yaml': 'switches: [{ name: e1, dpid: 1 }]\n',
      });
    const users = 'users:\n  - { id: a, roles: [employee] }\n  - { id: b, roles: [contractor] }\n';
    const r = await loadPolicy(files(users));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const unknown = r.diagnostics.filter((d) => d.code === 'unknown-role');
    expect(unknown.map((d) => [d.severity, d.location?.line, d.location?.column])).toEqual([
      ['error', 8, 23],
      ['error', 9, 23],
    ]);
    expect(unknown[0].hint).toBe("did you mean 'contractor'?");
    expect(unknown[1].hint).toMatch(/roles:/);
    const ok = await loadPolicy(files(`roles: [auditor, contractr]\n${users}`));
    expect(ok.ok).toBe(true);
  });

  it('a missing file is a diagnostic, not a crash', async () => {
    const p = writeSet({ 'policy.yaml': 'version: 1\ndirectory: nope.yaml\ntopology: t.yaml\n', 't.yaml': 'switches: []\n' });
    const r = await loadPolicy(p);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.diagnostics[0].message).toMatch(/directory file 'nope.yaml' not found/);
  });
});

describe('port ranges and services', () => {
  it('tcp/N-M compiles to masked port blocks the interpreter honours at the edges', async () => {
    const p = writeSet({
      'policy.yaml':
        'version: 1\ndirectory: d.yaml\ntopology: t.yaml\nresources:\n  app: { hosts: [10.0.2.0/24], services: [tcp/8000-8099, udp/53] }\nrules:\n  - { from: { users: [u] }, to: app }\n',
      'd.yaml': 'users: [{ id: u, devices: [{ mac: "02:00:00:00:00:01", ip: 10.0.1.1 }] }]\n',
      't.yaml': 'switches: [{ name: e1, dpid: 1 }]\nhosts: [{ mac: "02:00:00:00:00:01", switch: e1, port: 1 }]\n',
    });
    const r = await loadPolicy(p);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const c = compile(r.value);
    for (const [svc, want] of [
      ['tcp/7999', 'deny'],
      ['tcp/8000', 'allow'],
      ['tcp/8064', 'allow'],
      ['tcp/8099', 'allow'],
      ['tcp/8100', 'deny'],
      ['udp/53', 'allow'],
      ['tcp/53', 'deny'],
    ] as const) {
      const e = explain(c, 'u', '10.0.2.7', svc);
      expect(e.decision, svc).toBe(want);
      expect(e.consistent, svc).toBe(true);
    }
    expect(verify(c).ok).toBe(true);
  });
});

describe('property: for random small policies, the flow tables decide exactly as the policy', () => {
  const orgs = ['a', 'b', 'c'];
  const roles = ['r1', 'r2', 'r3'];
  const svcs = ['tcp/22', 'tcp/80', 'tcp/8000-8010', 'udp/53', 'icmp', 'any'];
  const arb = fc.record({
    users: fc.array(fc.record({ org: fc.constantFrom(...orgs), roles: fc.subarray(roles) }), { minLength: 1, maxLength: 6 }),
    resources: fc.array(
      fc.record({ net: fc.integer({ min: 0, max: 3 }), len: fc.constantFrom(24, 28, 32), svcs: fc.subarray(svcs, { minLength: 1 }) }),
      { minLength: 1, maxLength: 4 },
    ),
    rules: fc.array(
      fc.record({
        org: fc.option(fc.constantFrom(...orgs), { nil: undefined }),
        role: fc.option(fc.constantFrom(...roles), { nil: undefined }),
        to: fc.nat(),
        deny: fc.boolean(),
        svc: fc.option(fc.constantFrom(...svcs), { nil: undefined }),
      }),
      { minLength: 1, maxLength: 6 },
    ),
  });
  it('verify() finds no mismatch', () => {
    fc.assert(
      fc.property(arb, (g) => {
        const res = g.resources.map(
          (r, i) =>
            `  r${i}: { hosts: [10.0.${r.net}.${r.len === 32 ? 5 : r.len === 28 ? 0 : 0}/${r.len}], services: [${r.svcs.join(', ')}] }`,
        );
        const rules = g.rules.map((r, i) => {
          const sel =
            [r.org ? `organizations: [${r.org}]` : '', r.role ? `roles: [${r.role}]` : ''].filter(Boolean).join(', ') ||
            'organizations: [a]';
          return `  - { name: x${i}, from: { ${sel} }, to: r${r.to % g.resources.length}${r.deny ? ', action: deny' : ''}${r.svc ? `, services: [${r.svc}]` : ''} }`;
        });
        const policy = parsePolicyText(
          `version: 1\ndirectory: d\ntopology: t\nresources:\n${res.join('\n')}\nrules:\n${rules.join('\n')}\n`,
          'p',
        );
        if (!policy.ok) throw new Error(JSON.stringify(policy.diagnostics));
        const directory: Directory = {
          source: 'test',
          organizations: orgs.map((name) => ({ name })),
          users: g.users.map((u, i) => ({
            id: `u${i}`,
            name: `u${i}`,
            organization: u.org,
            roles: u.roles,
            devices: [{ mac: `02:00:00:00:01:${(i + 16).toString(16)}`, ip: `10.1.0.${i + 1}` }],
          })),
        };
        const topology: Topology = {
          switches: [{ name: 'e1', dpid: 1n, kind: 'edge' }],
          links: [],
          hosts: g.users.map((_, i) => ({ mac: `02:00:00:00:01:${(i + 16).toString(16)}`, switch: 'e1', port: i + 1 })),
          servers: [],
        };
        const c = compile({ policy: policy.value, directory, topology });
        const v = verify(c);
        expect(v.problems).toEqual([]);
      }),
      { numRuns: 150 },
    );
  });
});

describe('incremental recompile', () => {
  const CAMPUS = new URL('../../examples/campus/policy.yaml', import.meta.url).pathname;
  it('moving users between existing classes patches only what changes, and equals a full compile', async () => {
    const r = await loadPolicy(CAMPUS);
    if (!r.ok) throw new Error('campus');
    let c = compile(r.value);
    const moves: Array<[string, string[]]> = [
      ['sam', ['contractor']],
      ['frank', ['contractor']],
      ['sam', ['employee']],
      ['erin', ['employee']],
    ];
    for (const [id, roles] of moves) {
      const dir: Directory = { ...c.input.directory, users: c.input.directory.users.map((u) => (u.id === id ? { ...u, roles } : u)) };
      const next = recompile(c, { directory: dir });
      const full = compile({ ...c.input, directory: dir }, { previous: c });
      expect(
        next.plan.switches.map((s) => formatOvsFlows(s)),
        `${id} -> ${roles}`,
      ).toEqual(full.plan.switches.map((s) => formatOvsFlows(s)));
      expect(next.dest).toEqual(full.dest);
      expect(next.subjects.map((s) => [s.id, s.classId])).toEqual(full.subjects.map((s) => [s.id, s.classId]));
      // the fast path reuses untouched switches as they were
      const same = next.plan.switches.filter((s, i) => s === c.plan.switches[i]).map((s) => s.name);
      if (id === 'sam') expect(same).toContain('edge1');
      expect(verify(next).ok).toBe(true);
      c = next;
    }
  });
});

describe('cookies', () => {
  it('are the 48-bit hash of (table, priority, match) under the tag, the same as in earlier releases (switches keep their flows across upgrades)', async () => {
    const { fnv1a, matchKey } = await import('../../compiler/compile.js');
    const { COOKIE_TAG } = await import('../../compiler/model.js');
    const r = await loadPolicy(new URL('../../examples/campus/policy.yaml', import.meta.url).pathname);
    if (!r.ok) throw new Error(JSON.stringify(r.diagnostics));
    const c = compile(r.value);
    for (const sw of c.plan.switches)
      for (const f of sw.flows) expect(f.cookie).toBe(COOKIE_TAG | BigInt(fnv1a(matchKey(f.tableId, f.priority, f.match))));
    // values compiled by the first release: a changed hash would make the controller replace every flow on upgrade
    const core = c.plan.switches.find((s) => s.name === 'core')!;
    expect(core.flows.slice(0, 3).map((f) => f.cookie.toString(16))).toEqual(['5ac133dcb099ca1a', '5ac16965ab99c23b', '5ac1c8caae99c6f4']);
  });
});

describe('verify replays the whole path', () => {
  const campus = async () => {
    const r = await loadPolicy(new URL('../../examples/campus/policy.yaml', import.meta.url).pathname);
    if (!r.ok) throw new Error(JSON.stringify(r.diagnostics));
    return compile(r.value);
  };
  const withSwitch = (
    c: Compiled,
    name: string,
    edit: (flows: Compiled['plan']['switches'][number]['flows']) => Compiled['plan']['switches'][number]['flows'],
  ): Compiled => ({ ...c, plan: { switches: c.plan.switches.map((sp) => (sp.name === name ? { ...sp, flows: edit(sp.flows) } : sp)) } });

  it('finds a destination hypervisor that drops what the policy allows', async () => {
    const c = await campus();
    expect(verify(c).ok).toBe(true);
    const hv = c.plan.switches.find((s) => s.kind === 'hypervisor')!;
    const broken = withSwitch(c, hv.name, (fl) =>
      fl.filter((f) => !(f.tableId === 2 && f.priority === 200 && !f.origin.startsWith('reply:'))),
    );
    const v = verify(broken);
    expect(v.ok).toBe(false);
    expect(
      v.problems.some((p) => p.kind === 'mismatch' && p.switch === hv.name && /policy says allow, flows on the path deny/.test(p.message)),
    ).toBe(true);
  });

  it('finds a destination hypervisor that would forward, alone, what the policy denies (even though the source edge drops it)', async () => {
    const c = await campus();
    const hv = c.plan.switches.find((s) => s.kind === 'hypervisor')!;
    const open = withSwitch(c, hv.name, (fl) =>
      fl.map((f) => (f.origin === 'default-deny' ? { ...f, instructions: [{ type: 'goto_table', tableId: 3 }] } : f)),
    );
    const v = verify(open);
    expect(v.ok).toBe(false);
    expect(v.problems.some((p) => p.switch === hv.name && /policy says deny, destination edge .* alone allow/.test(p.message))).toBe(true);
  });
});

describe('limits', () => {
  it('more groups than 16-bit class tags hold is a CompileError naming the limit (not a crash), with long user lists', async () => {
    const { CompileError } = await import('../../compiler/compile.js');
    const N = 65_536,
      B = 16;
    const ids = Array.from({ length: N }, (_, i) => `u${i}`);
    // 17 rules; user i is in rule j when bit j of i is set (u0 in the last): 65,536 different sets of access
    const rules = Array.from(
      { length: B + 1 },
      (_, j) =>
        `  - { name: g${j}, from: { users: [${ids.filter((_, i) => (i >> j) & 1 || (j === B && i === 0)).join(', ')}] }, to: r${j} }`,
    );
    const resources = Array.from({ length: B + 1 }, (_, j) => `  r${j}: { hosts: [10.0.${j}.1], services: [tcp/443] }`);
    const p = parsePolicyText(
      `version: 1\ndirectory: d\ntopology: t\nresources:\n${resources.join('\n')}\nrules:\n${rules.join('\n')}\n`,
      'many.yaml',
    );
    if (!p.ok) throw new Error(JSON.stringify(p.diagnostics.slice(0, 2)));
    const directory: Directory = { organizations: [], users: ids.map((id) => ({ id, name: id, roles: [], devices: [] })), source: 'test' };
    const topology: Topology = { switches: [{ name: 'e1', dpid: 1n, kind: 'edge' }], links: [], hosts: [], servers: [] };
    let err: unknown;
    try {
      compile({ policy: p.value, directory, topology });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CompileError);
    expect((err as Error).message).toMatch(/more than 65,535 source classes/);
    // one user fewer fits
    const fewer = compile({ policy: p.value, directory: { ...directory, users: directory.users.slice(1) }, topology });
    expect(fewer.stats.classes).toBe(N - 1);
  }, 60_000);
});

describe('plan order', () => {
  it('is by priority, then cookie, within each segment, for long lists too (native sorts)', () => {
    const n = 400;
    const ip = (i: number) => `10.1.${i >> 8}.${i & 255}`;
    const mac = (i: number) => `02:00:00:01:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
    const users = Array.from({ length: n }, (_, i) => ({
      id: `u${i}`,
      name: `u${i}`,
      roles: [i % 3 ? 'a' : 'b'],
      devices: [{ mac: mac(i), ip: ip(i) }],
    }));
    const res = Array.from(
      { length: 80 },
      (_, i) => `  r${i}: { hosts: [172.16.0.${i + 1}], services: [tcp/${1000 + i}, udp/${2000 + i}] }`,
    ).join('\n');
    const p = parsePolicyText(
      `version: 1\ndirectory: d\ntopology: t\nresources:\n${res}\nrules:\n  - { name: a, from: { roles: [a] }, to: [${Array.from({ length: 80 }, (_, i) => `r${i}`).join(', ')}] }\n  - { name: b, from: { roles: [b] }, to: [r1, r2], action: deny }\n`,
      'p.yaml',
    );
    if (!p.ok) throw new Error(JSON.stringify(p.diagnostics));
    const c = compile({
      policy: p.value,
      directory: { organizations: [], users, source: 't' },
      topology: {
        switches: [{ name: 's', dpid: 1n, kind: 'edge' }],
        links: [],
        hosts: users.map((u, i) => ({ mac: u.devices[0].mac, switch: 's', port: i + 1 })),
        servers: [],
      },
    });
    const flows = c.plan.switches[0].flows;
    for (const t of [0, 2]) {
      const seg = flows.filter((f) => f.tableId === t);
      expect(seg.length).toBeGreaterThan(64);
      for (let i = 1; i < seg.length; i++) {
        const a = seg[i - 1],
          b = seg[i];
        if (t === 0 && a.priority !== b.priority) continue; // table 0 is laid out by segment (devices, links, discovery)
        expect(a.priority > b.priority || (a.priority === b.priority && a.cookie < b.cookie), `table ${t} at ${i}`).toBe(true);
      }
    }
  });
});
