/**
 * The incremental edge path (compiler/edge-patch.ts) must give exactly what a full compile gives: random sequences
 * of logins, logoffs, moves, DHCP leases and releases (with the occasional role change in the directory), folded
 * in with applyEdge, recompiled incrementally and compared with a full compile of the same input (same previous
 * class ids). Both the patched path and the full-compile fallback must be exercised. The controller's way is
 * checked the same way: the edge folded in per changed MAC (EdgeFold) and patched with its hint of the MACs that
 * moved, each switch's delta (edgeDelta) taking the old plan exactly to the new one.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compile, recompile, verify, formatOvsFlows, flowText, type Compiled } from '../../compiler/index.js';
import { applyEdge } from '../../compiler/edge.js';
import { edgeDelta, patchEdge, planDelta } from '../../compiler/edge-patch.js';
import { EdgeFold } from '../../edge/edge-fold.js';
import type { AddressLease, Directory, EdgeSession, PlannedFlow } from '../../compiler/model.js';
import type { PlanDelta } from '../../compiler/edge-patch.js';
import { loadPolicy } from '../../loader/index.js';
import { tempDir } from '../helpers/tmp.js';

async function setup(profile: string) {
  const dir = tempDir('acl-edge-patch-');
  writeFileSync(
    join(dir, 'directory.yaml'),
    `organizations: [{ name: corp, children: [{ name: finance }, { name: sales }] }]
roles: [staff, admin, printers]
users:
  - { id: alice, organization: finance, roles: [staff], devices: [{ mac: "02:00:00:00:00:01", ip: 10.1.0.1 }] }
  - { id: bob, organization: sales, roles: [staff], devices: [] }
  - { id: carol, organization: sales, roles: [admin], devices: [{ mac: "02:00:00:00:00:03" }] }
  - { id: dan, organization: finance, roles: [], devices: [] }
  - { id: erin, organization: finance, roles: [staff], devices: [] }
`,
  );
  writeFileSync(
    join(dir, 'topology.yaml'),
    `switches:
  - { name: edge1, dpid: 1${profile} }
  - { name: edge2, dpid: 2${profile} }
  - { name: hv1, dpid: 16, kind: hypervisor${profile} }
links: [[edge1:10, hv1:9], [edge2:10, hv1:8]]
hosts:
  - { mac: "02:00:00:00:00:01", switch: edge1, port: 1 }
servers:
  - { name: db, switch: hv1, port: 1, mac: "02:00:00:00:10:01", ip: 10.0.2.10 }
  - { name: web, switch: hv1, port: 2, mac: "02:00:00:00:10:02", ip: 10.0.2.20 }
  - { name: dns1, switch: hv1, port: 3, mac: "02:00:00:00:10:03", ip: 10.0.2.53 }
`,
  );
  writeFileSync(
    join(dir, 'policy.yaml'),
    `version: 1
directory: directory.yaml
topology: topology.yaml
resources:
  db: { hosts: [db], services: [tcp/5432] }
  web: { hosts: [web], services: [tcp/443, tcp/8000-8015] }
  dns: { hosts: [dns1], services: [udp/53] }
  lab: { hosts: [10.9.0.0/24], services: [tcp/22] }
rules:
  - { name: finance-db, from: { organizations: [finance] }, to: db }
  - { name: staff-web, from: { roles: [staff] }, to: web }
  - { name: admin-lab, from: { roles: [admin] }, to: [lab, db] }
  - { name: printers-web, from: { roles: [printers] }, to: web }
dhcp:
  servers: [dns1]
unauthenticated:
  to: [dns]
`,
  );
  const r = await loadPolicy(join(dir, 'policy.yaml'));
  if (!r.ok) throw new Error(JSON.stringify(r));
  return r.value;
}

const MACS = ['02:00:00:00:00:01', '02:00:00:00:00:02', '02:00:00:00:00:03', '02:00:00:00:00:04', '02:00:00:00:00:05', '02:00:00:00:00:06'];
const IPS = ['10.1.0.1', '10.1.0.2', '10.1.0.3', '10.1.0.4', '10.9.0.7', '10.1.0.5'];
const login = fc.record({
  kind: fc.constant('login' as const),
  mac: fc.constantFrom(...MACS),
  user: fc.constantFrom('alice', 'bob', 'carol', 'dan', 'erin', 'mallory', undefined),
  sw: fc.constantFrom('edge1', 'edge2', 'hv1'),
  port: fc.integer({ min: 1, max: 3 }),
});
const logoff = fc.record({ kind: fc.constant('logoff' as const), mac: fc.constantFrom(...MACS) });
const lease = fc.record({
  kind: fc.constant('lease' as const),
  mac: fc.constantFrom(...MACS),
  ip: fc.constantFrom(...IPS),
  sw: fc.constantFrom('edge1', 'edge2'),
  port: fc.integer({ min: 1, max: 3 }),
});
const release = fc.record({ kind: fc.constant('release' as const), mac: fc.constantFrom(...MACS) });
const roles = fc.record({
  kind: fc.constant('roles' as const),
  user: fc.constantFrom('alice', 'bob', 'erin'),
  roles: fc.subarray(['staff', 'admin']),
});
const step = fc.oneof(login, logoff, lease, release, roles);
/** Mostly sessions (what a login storm is), now and then a lease or a directory change. */
const sessionStep = fc.oneof(
  { weight: 8, arbitrary: login },
  { weight: 4, arbitrary: logoff },
  { weight: 1, arbitrary: fc.oneof(lease, release, roles) },
);

type Step = typeof step extends fc.Arbitrary<infer T> ? T : never;

function run(base: Compiled, steps: Step[], tally: { patched: number; full: number }) {
  let c = base;
  let dir: Directory = base.input.directory;
  let sessions: EdgeSession[] = [];
  let leases: AddressLease[] = [];
  let n = 0;
  for (const s of steps) {
    if (s.kind === 'login') {
      sessions = sessions.filter((x) => x.mac !== s.mac);
      sessions.push({
        id: `s${n++}`,
        mac: s.mac,
        switch: s.sw,
        port: s.port,
        method: 'dot1x',
        since: '2026-12-02T00:00:00Z',
        ...(s.user ? { user: s.user } : { deviceGroup: 'printers' }),
      });
    } else if (s.kind === 'logoff') sessions = sessions.filter((x) => x.mac !== s.mac);
    else if (s.kind === 'lease') {
      leases = leases.filter((x) => x.mac !== s.mac && x.ip !== s.ip);
      leases.push({ mac: s.mac, ip: s.ip, switch: s.sw, port: s.port, source: 'dhcp' });
    } else if (s.kind === 'release') leases = leases.filter((x) => x.mac !== s.mac);
    else dir = { ...dir, users: dir.users.map((u) => (u.id === s.user ? { ...u, roles: s.roles } : u)) };
    const applied = applyEdge(dir, { sessions, leases });
    if (patchEdge(c, applied.directory, applied.bindings)) tally.patched++;
    else tally.full++;
    const next = recompile(c, { directory: applied.directory, bindings: applied.bindings });
    const full = compile({ ...c.input, directory: applied.directory, bindings: applied.bindings }, { previous: c });
    expect(next.plan.switches.map((x) => formatOvsFlows(x))).toEqual(full.plan.switches.map((x) => formatOvsFlows(x)));
    expect(next.plan.switches.map((x) => x.flows.map((f) => `${f.cookie}|${f.origin}`))).toEqual(
      full.plan.switches.map((x) => x.flows.map((f) => `${f.cookie}|${f.origin}`)),
    );
    expect(next.subjects).toEqual(full.subjects);
    expect(next.dest).toEqual(full.dest);
    expect(next.stats).toEqual(full.stats);
    expect([...next.classIds].sort()).toEqual([...full.classIds].sort());
    // the delta a controller sends takes the old plan exactly to the new one
    for (let i = 0; i < next.plan.switches.length; i++) {
      const a = c.plan.switches[i].flows,
        b = next.plan.switches[i].flows;
      if (a === b) continue;
      const d = planDelta(a, b);
      const byCookie = new Map(a.map((f) => [f.cookie, f]));
      for (const f of d.remove) byCookie.delete(f.cookie);
      for (const f of d.add) byCookie.set(f.cookie, f);
      expect([...byCookie.values()].map(flowText).sort()).toEqual(b.map(flowText).sort());
    }
    c = next;
  }
  // the patched result verifies exactly as a full compile of the same input does
  expect(verify(c).problems).toEqual(verify(compile(c.input, { previous: c })).problems);
}

const cookieOf = (text: string) => /cookie=(0x[0-9a-f]+)/.exec(text)?.[1];

/** The old plan with a delta applied (deletes by cookie, adds replace), as flow texts. */
function applied(before: readonly PlannedFlow[], d: PlanDelta): string[] {
  const byCookie = new Map(before.map((f) => [f.cookie, f]));
  for (const f of d.remove) byCookie.delete(f.cookie);
  for (const f of d.add) byCookie.set(f.cookie, f);
  return [...byCookie.values()].map(flowText).sort();
}

function expectSamePlan(next: Compiled, full: Compiled) {
  expect(next.plan.switches.map((x) => formatOvsFlows(x))).toEqual(full.plan.switches.map((x) => formatOvsFlows(x)));
  expect(next.plan.switches.map((x) => x.flows.map((f) => `${f.cookie}|${f.origin}`))).toEqual(
    full.plan.switches.map((x) => x.flows.map((f) => `${f.cookie}|${f.origin}`)),
  );
  expect(next.subjects).toEqual(full.subjects);
  for (const s of full.subjects) expect(next.subjectById.get(s.id)).toEqual(s);
  expect(next.subjectById.size).toBe(full.subjectById.size);
  expect(next.dest).toEqual(full.dest);
  expect(next.stats).toEqual(full.stats);
}

/** Sessions changed one batch at a time, folded per MAC and patched with the hint, as the controller does. */
function runFolded(base: Compiled, batches: Step[][], tally: { hinted: number; delta: number; full: number }) {
  let c = base;
  let dir: Directory = base.input.directory;
  const sessions = new Map<string, EdgeSession>();
  let leases: AddressLease[] = [];
  let lv = 0;
  let n = 0;
  const fold = new EdgeFold();
  const state = () => ({ sessions: [...sessions.values()], leases });
  fold.full(dir, state(), lv);
  for (const batch of batches) {
    const dirty = new Set<string>();
    for (const s of batch) {
      if (s.kind === 'login') {
        const id = `s${(n++ * 7919) % 1000}`;
        sessions.set(s.mac, {
          id,
          mac: s.mac,
          switch: s.sw,
          port: s.port,
          method: 'dot1x',
          since: '2026-12-02T00:00:00Z',
          ...(s.port === 3 ? { ip: IPS[MACS.indexOf(s.mac)] } : {}), // RADIUS gave an address (Framed-IP-Address)
          ...(s.user ? { user: s.user } : { deviceGroup: 'printers' }),
        });
        dirty.add(s.mac);
      } else if (s.kind === 'logoff') {
        if (sessions.delete(s.mac)) dirty.add(s.mac);
      } else if (s.kind === 'lease') {
        leases = [
          ...leases.filter((x) => x.mac !== s.mac && x.ip !== s.ip),
          { mac: s.mac, ip: s.ip, switch: s.sw, port: s.port, source: 'dhcp' },
        ];
        lv++;
      } else if (s.kind === 'release') {
        leases = leases.filter((x) => x.mac !== s.mac);
        lv++;
      } else dir = { ...dir, users: dir.users.map((u) => (u.id === s.user ? { ...u, roles: s.roles } : u)) };
    }
    const inc = fold.update(dir, lv, dirty, (mac) => sessions.get(mac));
    const { out } = inc ?? fold.full(dir, state(), lv);
    const hint = inc && c.input.bindings ? { from: c.input.bindings, bindings: inc.changed! } : undefined;
    const next = recompile(c, { directory: out.directory, bindings: out.bindings }, hint);
    const full = compile({ ...c.input, directory: out.directory, bindings: out.bindings }, { previous: c });
    expectSamePlan(next, full);
    const d = edgeDelta(next);
    if (hint && d) tally.hinted++;
    if (!d) tally.full++;
    for (let i = 0; i < next.plan.switches.length; i++) {
      const a = c.plan.switches[i].flows,
        b = next.plan.switches[i];
      if (a === b.flows) continue;
      const known = d?.switches.get(b.name);
      if (known) tally.delta++;
      const got = applied(a, known ?? planDelta(a, b.flows));
      // (an address held by two classes gives two flows with one cookie and match, in both compiles: the
      // switch keeps one of them; the delta is checked by cookie there)
      if (new Set(b.flows.map((f) => f.cookie)).size < b.flows.length)
        expect(new Set(got.map(cookieOf))).toEqual(new Set(b.flows.map(flowText).map(cookieOf)));
      else expect(got).toEqual(b.flows.map(flowText).sort());
    }
    c = next;
  }
  expect(verify(c).problems).toEqual(verify(compile(c.input, { previous: c })).problems);
}

describe('incremental edge path, property', () => {
  for (const profile of ['', ', profile: openflow13']) {
    it(`batches folded per MAC and patched with the hint == full compile; deltas exact${profile}`, async () => {
      const loaded = await setup(profile);
      const base = compile(loaded);
      const start = recompile(base, { bindings: [] }); // the controller's input always has a bindings array
      const tally = { hinted: 0, delta: 0, full: 0 };
      fc.assert(
        fc.property(fc.array(fc.array(sessionStep, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 12 }), (batches) =>
          runFolded(start, batches, tally),
        ),
        { numRuns: 40 },
      );
      expect(tally.hinted).toBeGreaterThan(60);
      expect(tally.delta).toBeGreaterThan(25);
      expect(tally.full).toBeGreaterThan(5);
    }, 120_000);
  }

  for (const profile of ['', ', profile: ovs-stateless', ', profile: openflow13']) {
    it(`logins, logoffs, moves, leases, releases, role changes: patched == full compile${profile}`, async () => {
      const loaded = await setup(profile);
      const base = compile(loaded);
      const tally = { patched: 0, full: 0 };
      fc.assert(
        fc.property(fc.array(step, { minLength: 1, maxLength: 12 }), (steps) => run(base, steps, tally)),
        { numRuns: 30 },
      );
      expect(tally.patched).toBeGreaterThan(25);
      expect(tally.full).toBeGreaterThan(5);
    }, 120_000);
  }

  it('a login of a known device on an access switch changes only that switch, by two flows', async () => {
    const loaded = await setup('');
    const base = compile(loaded);
    const a1 = applyEdge(base.input.directory, {
      sessions: [
        { id: 'x', mac: '02:00:00:00:00:09', switch: 'edge2', port: 2, method: 'dot1x', user: 'alice', since: '2026-12-02T00:00:00Z' },
      ],
      leases: [],
    });
    const c1 = recompile(base, a1);
    const a2 = applyEdge(base.input.directory, {
      sessions: [
        { id: 'x', mac: '02:00:00:00:00:09', switch: 'edge2', port: 2, method: 'dot1x', user: 'alice', since: '2026-12-02T00:00:00Z' },
      ],
      leases: [{ mac: '02:00:00:00:00:09', ip: '10.1.0.9', switch: 'edge2', port: 2, source: 'dhcp' }],
    });
    expect(patchEdge(c1, a2.directory, a2.bindings)).toBeDefined();
    const c2 = recompile(c1, a2);
    const changed = c2.plan.switches.filter((x, i) => x !== c1.plan.switches[i]).map((x) => x.name);
    // edge2: the lease gives alice's second device classify+ARP flows; hv1: the new address's link classification and owner tag
    expect(changed.sort()).toEqual(['edge2', 'hv1']);
    const d = planDelta(c1.plan.switches.find((x) => x.name === 'edge2')!.flows, c2.plan.switches.find((x) => x.name === 'edge2')!.flows);
    expect(d.remove).toEqual([]);
    expect(d.add.map((f) => f.origin).sort()).toEqual(['arp:user:alice', 'classify:user:alice']);
    // carol's class is new on edge2: that switch gains her class's policy flows (rebuilt), her device has no address
    const a3 = applyEdge(base.input.directory, {
      sessions: [
        { id: 'y', mac: '02:00:00:00:00:03', switch: 'edge2', port: 3, method: 'dot1x', user: 'carol', since: '2026-12-02T00:00:00Z' },
      ],
      leases: [],
    });
    const c3 = recompile(base, a3);
    expect(c3.plan.switches.filter((x, i) => x !== base.plan.switches[i]).map((x) => x.name)).toEqual(['edge2']);
    const d3 = planDelta(
      base.plan.switches.find((x) => x.name === 'edge2')!.flows,
      c3.plan.switches.find((x) => x.name === 'edge2')!.flows,
    );
    expect(d3.remove).toEqual([]);
    expect(new Set(d3.add.map((f) => f.origin))).toEqual(new Set(['admin-lab']));
  });
});
