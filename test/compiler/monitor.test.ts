/**
 * Monitor mode (mode: monitor on a deny rule): the rule is compiled so that what it would deny is forwarded as
 * before and copied, metered, to the controller from table 4; the interpreter, explain, verify, lint, flow
 * attribution and the deny log all understand it; promoting it (mode removed) denies.
 */
import { describe, expect, it } from 'vitest';
import { Conntrack } from '../../compiler/interpreter.js';
import { explain, FlowTables, parsePolicyText, TABLE, verify, type Compiled, type Packet } from '../../compiler/index.js';
import { attributeFlow } from '../../compiler/observe.js';
import { lint } from '../../compiler/lint.js';
import { serviceIntersection } from '../../compiler/monitor.js';
import { Observer } from '../../controller/observe.js';
import type { SwitchSession } from '../../controller/session.js';
import type { FlowStats, MessageOf } from '../../openflow/index.js';
import type { PlannedFlow } from '../../compiler/model.js';
import { TrafficStats } from '../../controller/stats.js';
import { frame } from '../helpers/frames.js';
import { build, IP, MAC, policy } from './monitor-fixture.js';

const tcp = (who: keyof typeof MAC, inPort: number, dst: string, port: number): Packet => ({
  inPort,
  ethSrc: MAC[who],
  ethType: 0x0800,
  ipSrc: IP[who as 'alice'],
  ipDst: dst,
  ipProto: 6,
  tpSrc: 40000,
  tpDst: port,
  tcpFlags: 0x002,
});
const edge = (c: Compiled) => new FlowTables(c.plan.switches.find((s) => s.name === 'edge1')!.flows);

describe('monitor mode: the rule', () => {
  it('parses mode: monitor on a deny rule; refuses it on an allow rule and unknown modes, with the line', () => {
    const p = parsePolicyText(policy(), 'p.yaml');
    expect(p.ok).toBe(true);
    if (p.ok) expect(p.value.rules.find((r) => r.name === 'bob-no-http')?.mode).toBe('monitor');
    const enforce = parsePolicyText(policy('enforce'), 'p.yaml');
    if (enforce.ok) expect(enforce.value.rules.find((r) => r.name === 'bob-no-http')?.mode).toBeUndefined();
    const allow = parsePolicyText(policy().replace('to: payroll-db }', 'to: payroll-db, mode: monitor }'), 'p.yaml');
    expect(allow.ok).toBe(false);
    if (!allow.ok) expect(allow.diagnostics.find((d) => d.code === 'bad-mode')).toMatchObject({ location: { line: 8 } });
    const bad = parsePolicyText(policy('audit'), 'p.yaml');
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.diagnostics.map((d) => d.message).join()).toMatch(/mode must be enforce or monitor \(found 'audit'\)/);
  });

  it('service intersection: what a monitored deny can cut of what is allowed', () => {
    const s = (proto: 'tcp' | 'any', from?: number, to?: number) => ({ proto, from, to, text: '' });
    expect(serviceIntersection(s('tcp', 1, 100), s('tcp', 80, 443))).toMatchObject({ proto: 'tcp', from: 80, to: 100, text: 'tcp/80-100' });
    expect(serviceIntersection(s('any'), s('tcp', 80, 80))).toMatchObject({ from: 80, to: 80 });
    expect(serviceIntersection(s('tcp', 1, 10), s('tcp', 80, 443))).toBeUndefined();
    expect(serviceIntersection({ proto: 'icmp', text: 'icmp' }, s('tcp', 1, 2))).toBeUndefined();
  });
});

describe.each(['ovs', 'ovs-stateless', 'openflow13'])('monitor mode on the %s profile', (profile) => {
  const c = build(profile);

  it('a monitored deny forwards as before and samples a copy in table 4; other traffic is not sampled', () => {
    const t = edge(c);
    const http = t.apply(tcp('bob', 2, IP.web, 80));
    expect(http.verdict).toBe('forward');
    expect(http.monitored).toBe(true);
    expect(http.hits.map((h) => h.tableId)).toContain(TABLE.monitor);
    const https = t.apply(tcp('bob', 2, IP.web, 443));
    expect(https).toMatchObject({ verdict: 'forward' });
    expect(https.monitored).toBeUndefined();
    // a monitored 'any' deny cuts only what is allowed: alice's tcp/5432, sampled; tcp/22 is dropped by the default deny
    expect(t.apply(tcp('alice', 1, IP.db, 5432))).toMatchObject({ verdict: 'forward', monitored: true });
    expect(t.apply(tcp('alice', 1, IP.db, 22))).toMatchObject({ verdict: 'drop', sampled: true });
    // an enforced deny still drops
    expect(t.apply(tcp('carol', 4, IP.db, 5432))).toMatchObject({ verdict: 'drop', sampled: true });
  });

  it('explain says "would deny (monitor)" with the monitored rule; verify finds the flows agree', () => {
    const e = explain(c, 'bob', IP.web, 'tcp/80');
    expect(e).toMatchObject({ decision: 'allow', rule: 'staff-intranet', consistent: true });
    expect(e.wouldDeny).toMatchObject({ rule: 'bob-no-http' });
    expect(e.wouldDeny!.reason).toMatch(/would deny bob access to intranet \(monitor\)/);
    expect(e.path[0].flows.map((f) => f.origin)).toContain('monitor:sample');
    expect(explain(c, 'bob', IP.web, 'tcp/443').wouldDeny).toBeUndefined();
    const v = verify(c);
    expect(v.problems).toEqual([]);
  });
});

describe('monitor mode: checks and promotion', () => {
  const c = build();

  it('after promotion the rest of the pair still works both ways: the server hypervisor passes the replies of an allowed connection (ovs)', () => {
    // bob-no-http enforced denies bob tcp/80 to the intranet: a deny covering part of tcp for the pair. With conntrack
    // the replies of his allowed tcp/443 connection must still pass hv1 (they used to be dropped there: the stateless
    // rule "partial deny, no reply flows" was applied to stateful switches too)
    const p = build('ovs', policy('enforce'));
    const hv = new FlowTables(p.plan.switches.find((s) => s.name === 'hv1')!.flows);
    const ct = new Conntrack();
    const syn = { ...tcp('bob', 9, IP.web, 443), tcpFlags: 0x002 };
    expect(hv.apply(syn, ct).verdict).toBe('forward');
    const back = {
      inPort: 2,
      ethSrc: '02:00:00:00:10:02',
      ethType: 0x0800,
      ipSrc: IP.web,
      ipDst: IP.bob,
      ipProto: 6,
      tpSrc: 443,
      tpDst: syn.tpSrc,
    };
    const synAck = hv.apply({ ...back, tcpFlags: 0x012 }, ct);
    expect(synAck.verdict).toBe('forward');
    expect(synAck.hits.some((h) => h.flow.origin.startsWith('reply:'))).toBe(true);
    // still only replies: the same segment without bob's connection, and a reply from the denied port, are dropped
    expect(hv.apply({ ...back, tcpFlags: 0x010 }, new Conntrack()).verdict).toBe('drop');
    expect(hv.apply({ ...tcp('bob', 9, IP.web, 80), tcpFlags: 0x002 }, ct).verdict).toBe('drop');
    expect(hv.apply({ ...back, tpSrc: 80, tcpFlags: 0x012 }, ct).verdict).toBe('drop');
    // the stateless profile keeps its documented limit: no tcp replies for the pair
    const stateless = new FlowTables(build('ovs-stateless', policy('enforce')).plan.switches.find((s) => s.name === 'hv1')!.flows);
    expect(stateless.apply({ ...back, tcpFlags: 0x012 }).verdict).toBe('drop');
  });

  it('verify notices flows that do not sample what the policy monitors', () => {
    // the same policy with the monitored rule enforced on the switches would drop: verify sees the mismatch
    const enforced = build('ovs', policy('enforce'));
    const broken = { ...c, plan: enforced.plan } as Compiled;
    expect(verify(broken).problems.some((p) => /policy says allow, flows on the path deny/.test(p.message))).toBe(true);
    const unmonitored = build(
      'ovs',
      policy()
        .replace(/\n  - \{ name: bob-no-http.*\n/, '\n')
        .replace(/\n  - \{ name: watch-alice-db.*\n/, '\n'),
    );
    expect(verify({ ...c, plan: unmonitored.plan }).problems.some((p) => /would deny \(monitor, rule bob-no-http\)/.test(p.message))).toBe(
      true,
    );
  });

  it('promoting (mode removed) denies what was monitored, and nothing is sampled as would-deny any more', () => {
    const p = build('ovs', policy('enforce'));
    expect(edge(p).apply(tcp('bob', 2, IP.web, 80))).toMatchObject({ verdict: 'drop', sampled: true });
    expect(edge(p).apply(tcp('bob', 2, IP.web, 443)).verdict).toBe('forward');
    expect(explain(p, 'bob', IP.web, 'tcp/80')).toMatchObject({ decision: 'deny', rule: 'bob-no-http' });
    expect(p.plan.switches.flatMap((s) => s.flows).some((f) => f.tableId === TABLE.monitor)).toBe(false);
  });

  it('lint does not call a monitored deny shadowing or a conflict', () => {
    const monitored = ['bob-no-http', 'watch-alice-db'];
    const about = lint(c).findings.filter((f) => f.related?.some((r) => monitored.includes(r)) || monitored.includes(f.rule ?? ''));
    expect(about.filter((f) => f.code === 'rule-shadowed' || f.code === 'allow-deny-conflict')).toEqual([]);
    // the enforced deny of the same policy is still reported
    expect(lint(c).findings.some((f) => f.code === 'allow-deny-conflict' && f.related?.includes('no-contractors'))).toBe(true);
    const text = policy('enforce').replace('to: payroll-db, action: deny, mode: enforce', 'to: payroll-db, action: deny');
    const enforced = lint(build('ovs', text)).findings;
    expect(enforced.some((f) => f.code === 'allow-deny-conflict' && f.related?.includes('bob-no-http'))).toBe(true);
  });

  it('flow attribution: table 4 is the monitor; the monitored flow of table 2 carries allowed traffic and names the monitored rule', () => {
    const sp = c.plan.switches.find((s) => s.name === 'edge1')!;
    const sample = sp.flows.find((f) => f.tableId === TABLE.monitor)!;
    expect(attributeFlow(c, sample).role).toBe('monitor');
    const mons = sp.flows.filter((f) => f.tableId === TABLE.policy && f.instructions.some((i) => i.type === 'write_metadata'));
    const classOf = (id: string) => c.subjects.find((s) => s.id === id)!.classId;
    const bobHttp = mons.find((f) => attributeFlow(c, f).classId === classOf('bob'))!;
    // the allow rule still carries it (it passes); the monitored rule is what would have cut it
    expect(attributeFlow(c, bobHttp)).toMatchObject({ role: 'allow', rules: ['staff-intranet'], monitored: ['bob-no-http'] });
    // alice's monitored tcp/5432 to payroll-db (finance-payroll allows it); 10.0.2.10 also lies in the intranet, so her
    // monitored tcp/80 there is carried by staff-intranet, and watch-alice-db would cut both
    const port = (f: PlannedFlow) => f.match.find((m) => m.field === 'tcp_dst')?.value;
    const alice = mons.filter((f) => attributeFlow(c, f).classId === classOf('alice'));
    expect(
      attributeFlow(
        c,
        alice.find((f) => port(f) === 5432)!,
      ),
    ).toMatchObject({
      role: 'allow',
      rules: ['finance-payroll'],
      monitored: ['watch-alice-db'],
    });
    expect(
      attributeFlow(
        c,
        alice.find((f) => port(f) === 80)!,
      ),
    ).toMatchObject({ rules: ['staff-intranet'], monitored: ['watch-alice-db'] });
    // bob's tcp/443 is not monitored: its flow names no monitored rule
    const bobAllows = sp.flows.filter(
      (f) =>
        f.tableId === TABLE.policy &&
        attributeFlow(c, f).classId === classOf('bob') &&
        !mons.includes(f) &&
        attributeFlow(c, f).role === 'allow',
    );
    expect(bobAllows.length).toBeGreaterThan(0);
    for (const f of bobAllows) expect(attributeFlow(c, f).monitored).toBeUndefined();
  });

  it("a monitored rule's traffic counter counts the packets it would have denied (and the allow rule still counts them)", () => {
    const sp = c.plan.switches.find((s) => s.name === 'edge1')!;
    const classOf = (id: string) => c.subjects.find((s) => s.id === id)!.classId;
    const bobHttp = sp.flows.find(
      (f) =>
        f.tableId === TABLE.policy &&
        f.instructions.some((i) => i.type === 'write_metadata') &&
        attributeFlow(c, f).classId === classOf('bob'),
    )!;
    const stat = (f: PlannedFlow, n: number): FlowStats => ({
      tableId: f.tableId,
      durationSec: 0,
      durationNsec: 0,
      priority: f.priority,
      idleTimeout: 0,
      hardTimeout: 0,
      flags: {},
      cookie: f.cookie,
      packetCount: BigInt(n),
      byteCount: BigInt(n * 100),
      match: f.match,
      instructions: f.instructions,
    });
    let t = 0;
    const ts = new TrafficStats(
      () => c,
      () => [],
      { intervalMs: 0, now: () => t },
    );
    t = 1000;
    ts.attribute(c, 'edge1', sp, [stat(bobHttp, 4)], t);
    t = 2000;
    ts.attribute(c, 'edge1', sp, [stat(bobHttp, 9)], t);
    expect(ts.ruleTraffic('bob-no-http')).toMatchObject({ packets: 9, bytes: 900, lastHit: new Date(2000).toISOString() });
    expect(ts.ruleTraffic('staff-intranet').packets).toBe(9);
    expect(ts.ruleTraffic('watch-alice-db').packets).toBe(0);
    expect(ts.unused(['bob-no-http', 'watch-alice-db'], 1).map((x) => x.rule)).toEqual(['watch-alice-db']);
  });

  it('a sample from table 4 becomes a would-deny entry with user, port, resource, service and the monitored rule', () => {
    const events: unknown[] = [];
    const sp = c.plan.switches.find((s) => s.name === 'edge1')!;
    const session = { state: 'ready', dpid: 1n } as unknown as SwitchSession;
    const obs = new Observer({ compiled: c, sessions: new Map([['x', session]]), planFor: () => sp, event: (_t, d) => events.push(d) });
    const cookie = sp.flows.find((f) => f.tableId === TABLE.monitor)!.cookie;
    const pin = (port: number, data: Buffer) =>
      ({
        type: 'packet_in',
        cookie,
        tableId: TABLE.monitor,
        match: [{ field: 'in_port', value: port }],
        data,
      }) as unknown as MessageOf<'packet_in'>;
    const bobHttp = frame({ src: MAC.bob, ipSrc: IP.bob, ipDst: IP.web, proto: 'tcp', dport: 80 });
    expect(obs.onPacketIn(session, pin(2, bobHttp))).toBe(true);
    expect(obs.onPacketIn(session, pin(2, bobHttp))).toBe(true);
    // the same packet seen again on an inter-switch link (the destination hypervisor checks again): not a second entry
    expect(obs.onPacketIn(session, pin(3, bobHttp))).toBe(true);
    const [d, ...rest] = obs.denials.query({ kind: 'would-deny' });
    expect(rest).toEqual([]);
    expect(d).toMatchObject({
      kind: 'would-deny',
      user: 'bob',
      organization: 'platform',
      switch: 'edge1',
      port: 2,
      dst: IP.web,
      resources: ['intranet'],
      service: 'tcp/80',
      rule: 'bob-no-http',
      count: 2,
    });
    expect(obs.denials.query({ kind: 'deny' })).toEqual([]);
    expect(events.length).toBe(1);
  });
});
