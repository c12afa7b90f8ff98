/**
 * Classes are by effective access: subjects whose rules differ but grant the same (resource, service) set share
 * one class, so a flat one-rule-per-host ACL compiles to one policy flow, not one per host.
 */
import { describe, expect, it } from 'vitest';
import {
  compile,
  decide,
  explain,
  recompile,
  verify,
  parsePolicyText,
  formatOvsFlows,
  type Directory,
  type Topology,
} from '../../compiler/index.js';
import { isDropFlow } from '../../compiler/deny-sample.js';

function flat(n: number, extra = '') {
  const users = Array.from({ length: n }, (_, i) => ({
    id: `h${i}`,
    name: `h${i}`,
    roles: i % 2 ? ['odd'] : [],
    devices: [
      {
        mac: `02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`,
        ip: `10.0.${(i + 1) >> 8}.${(i + 1) & 255}`,
      },
    ],
  }));
  const rules = users.slice(0, n - 1).map((u) => `  - { name: r-${u.id}, from: { users: [${u.id}] }, to: svc }`); // the last host has no rule
  const text = `version: 1\ndirectory: d\ntopology: t\nresources:\n  svc: { hosts: [192.168.1.10], services: [tcp/443] }\n  web: { hosts: [192.168.1.20], services: [tcp/80] }\nrules:\n${rules.join('\n')}\n${extra}`;
  const policy = parsePolicyText(text, 'flat.yaml');
  if (!policy.ok) throw new Error(JSON.stringify(policy.diagnostics));
  const directory: Directory = { organizations: [], users, source: 'test' };
  const topology: Topology = {
    switches: [{ name: 'sw', dpid: 1n, kind: 'edge' }],
    links: [],
    hosts: users.map((u, i) => ({ mac: u.devices[0].mac, switch: 'sw', port: i + 1 })),
    servers: [],
  };
  return { policy: policy.value, directory, topology };
}

describe('classes by effective access', () => {
  it('a flat one-rule-per-host ACL is one allowed class (plus the host without access), one policy flow', () => {
    const c = compile(flat(300));
    expect(c.stats.classes).toBe(2);
    const sw = c.plan.switches[0];
    const policyAllows = sw.flows.filter((f) => f.tableId === 2 && !isDropFlow(f) && !f.origin.startsWith('conntrack:'));
    expect(policyAllows.length).toBe(1);
    // the flow names a few of its rules and counts the rest
    expect(policyAllows[0].origin).toMatch(/^r-h0\+r-h1\+r-h10\+296-more$/);
    const v = verify(c);
    expect(v.problems.map((p) => p.message)).toEqual([]);
    expect(v.checked).toBeGreaterThanOrEqual(300); // every host, not one per class
    expect(decide(c, 'h7', 'svc', 'tcp/443')).toMatchObject({ decision: 'allow', rule: 'r-h7' });
    expect(decide(c, 'h299', 'svc', 'tcp/443').decision).toBe('deny');
    const e = explain(c, 'h299', 'svc', 'tcp/443');
    expect(e.consistent).toBe(true);
    expect(e.path[0].verdict).toBe('drop');
    expect(explain(c, 'h5', 'svc', 'tcp/443').path[0].verdict).toBe('forward');
    expect(explain(c, 'h5', 'svc', 'tcp/80').path[0].verdict).toBe('drop');
  });

  it('rules granting the same access through roles and through user ids share a class; different access does not', () => {
    const c = compile(flat(6, `  - { name: odd-web, from: { roles: [odd] }, to: web }\n`));
    const cls = (id: string) => c.subjectById.get(id)!.classId;
    expect(cls('h0')).toBe(cls('h2'));
    expect(cls('h1')).toBe(cls('h3'));
    expect(cls('h0')).not.toBe(cls('h1'));
    expect(cls('h5')).not.toBe(cls('h1')); // odd but no svc rule: web only
    expect(verify(c).problems).toEqual([]);
  });

  it('a user moving between rule sets of one class changes no flow; the fast path equals a full compile', () => {
    const input = flat(8, `  - { name: odd-web, from: { roles: [odd] }, to: web }\n  - { name: h0-web, from: { users: [h0] }, to: web }\n`);
    const c = compile(input);
    // h2 gains role odd: now like h0 (svc + web) through a different rule set
    const dir: Directory = { ...input.directory, users: input.directory.users.map((u) => (u.id === 'h2' ? { ...u, roles: ['odd'] } : u)) };
    const next = recompile(c, { directory: dir });
    const full = compile({ ...input, directory: dir }, { previous: c });
    expect(next.subjectById.get('h2')!.classId).toBe(c.subjectById.get('h0')!.classId);
    expect(next.plan.switches.map((s) => formatOvsFlows(s))).toEqual(full.plan.switches.map((s) => formatOvsFlows(s)));
    expect(next.plan.switches[0].flows.map((f) => f.origin)).toEqual(full.plan.switches[0].flows.map((f) => f.origin));
    expect(verify(next).problems).toEqual([]);
  });
});
