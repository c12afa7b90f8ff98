/**
 * A policy version in monitor mode: the enforced compile gets `sampleAllowed`, so every allow flow also marks its
 * packets for the monitor path. It must never change what is forwarded or dropped (entering monitor mode opens
 * nothing), must keep every flow's cookie, and on a conntrack switch copies only new connections to the controller.
 */
import { describe, expect, it } from 'vitest';
import { Conntrack } from '../../compiler/interpreter.js';
import { explain, FlowTables, recompile, TABLE, verify, type Compiled, type Packet } from '../../compiler/index.js';
import { attributeFlow } from '../../compiler/observe.js';
import { build, IP, MAC, policy } from './monitor-fixture.js';

const SUBJECTS = ['alice', 'bob', 'carol'] as const;
const DSTS = [IP.db, IP.web, '10.0.2.5', '10.0.3.1'];
const PROBES: Array<[number, number]> = [
  [6, 80],
  [6, 443],
  [6, 5432],
  [6, 22],
  [17, 53],
  [1, 0],
];

const probe = (who: (typeof SUBJECTS)[number], dst: string, [proto, port]: [number, number]): Packet => ({
  inPort: { alice: 1, bob: 2, carol: 4 }[who],
  ethSrc: MAC[who],
  ethType: 0x0800,
  ipSrc: IP[who],
  ipDst: dst,
  ipProto: proto,
  ...(proto === 1 ? { icmpType: 8, icmpCode: 0 } : { tpSrc: 40000, tpDst: port }),
  ...(proto === 6 ? { tcpFlags: 0x002 } : {}),
});

const tables = (c: Compiled, sw: string) => new FlowTables(c.plan.switches.find((s) => s.name === sw)!.flows);

describe('a policy version in monitor mode (sampleAllowed)', () => {
  for (const profile of ['ovs', 'openflow13'] as const) {
    const plain = build(profile, policy('enforce'));
    const sampled = recompile(plain, { sampleAllowed: true });

    it(`${profile}: forwards and drops exactly what the enforced policy does, and samples exactly what it forwards`, () => {
      let forwarded = 0;
      for (const who of SUBJECTS)
        for (const dst of DSTS)
          for (const p of PROBES) {
            const pkt = probe(who, dst, p);
            const a = tables(plain, 'edge1').apply(pkt, profile === 'ovs' ? new Conntrack() : undefined);
            const b = tables(sampled, 'edge1').apply(pkt, profile === 'ovs' ? new Conntrack() : undefined);
            expect(`${who} ${dst} ${p}: ${b.verdict}`).toBe(`${who} ${dst} ${p}: ${a.verdict}`);
            expect(a.monitored ?? false).toBe(false);
            expect(b.monitored ?? false).toBe(b.verdict === 'forward');
            if (a.verdict === 'forward') forwarded++;
          }
      expect(forwarded).toBeGreaterThan(3); // the probes do cover allowed traffic
    });

    it(`${profile}: tables 0-2 keep every cookie and match; only allow and reply flows change (they mark); verify and explain agree`, () => {
      for (const sp of plain.plan.switches) {
        const after = new Map(sampled.plan.switches.find((s) => s.name === sp.name)!.flows.map((f) => [f.cookie, f]));
        for (const f of sp.flows.filter((x) => x.tableId <= TABLE.policy)) {
          const g = after.get(f.cookie);
          expect(g?.match).toEqual(f.match);
          const role = attributeFlow(plain, f).role;
          if (role === 'allow' || role === 'reply') expect(g?.instructions.some((i) => i.type === 'write_metadata')).toBe(true);
          else expect(g?.instructions).toEqual(f.instructions);
          expect(attributeFlow(sampled, g!).role).toBe(role);
        }
        expect(sampled.plan.switches.find((s) => s.name === sp.name)!.flows.filter((f) => f.tableId === TABLE.monitor)).toHaveLength(1);
      }
      expect(verify(sampled).problems).toEqual([]);
      expect(explain(sampled, 'bob', 'intranet', 'tcp/80').consistent).toBe(true);
      expect(explain(sampled, 'carol', 'payroll-db', 'tcp/5432').consistent).toBe(true);
    });
  }

  it('ovs: only the flow committing new connections is copied to the monitor table (one sample per connection)', () => {
    const sampled = recompile(build('ovs', policy('enforce')), { sampleAllowed: true });
    const edge1 = sampled.plan.switches.find((s) => s.name === 'edge1')!;
    const copies = edge1.flows.filter((f) => f.origin === 'monitor:forward');
    expect(copies.length).toBeGreaterThan(0);
    for (const f of copies) expect(f.match.some((m) => m.field === 'ct_state')).toBe(true);
    // an established packet of an allowed connection is forwarded without a copy
    const ct = new Conntrack();
    const syn = probe('bob', IP.web, [6, 443]);
    expect(tables(sampled, 'edge1').apply(syn, ct).monitored).toBe(true);
    const ack = { ...syn, tcpFlags: 0x010 };
    const est = tables(sampled, 'edge1').apply(ack, ct);
    expect(est.verdict).toBe('forward');
    expect(est.monitored ?? false).toBe(false);
  });

  it('leaving monitor mode (sampleAllowed off) gives back the plain plan, flow for flow', () => {
    const plain = build('ovs', policy('enforce'));
    const back = recompile(recompile(plain, { sampleAllowed: true }), { sampleAllowed: false });
    for (const sp of plain.plan.switches)
      expect(back.plan.switches.find((s) => s.name === sp.name)!.flows.map((f) => f.cookie)).toEqual(sp.flows.map((f) => f.cookie));
  });
});
