/**
 * Needs Open vSwitch (root for the bridges). Monitor mode against the real thing:
 * - ofp-print: the monitor flows of a plan (table 2 write_metadata of bit 63 + goto 3, the table 3 copies matching
 *   that bit and going on to table 4, table 4's meter 2 + CONTROLLER) encode to what `ovs-ofctl ofp-print` prints;
 * - ofproto/trace: on a userspace bridge loaded with each switch's plan (every profile), a monitored packet walks
 *   the same flows as in the interpreter, is output NORMAL *before* meter 2 (so a meter over its rate cannot drop
 *   the forwarded packet) and then to the controller; a plain allowed packet does not reach table 4.
 * Bridges f3mon0, f3mon1, … are deleted by name afterwards.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Conntrack, FlowTables, formatOvsFlows, TABLE, type Packet } from '../../compiler/index.js';
import { addFlowMod, encode } from '../../openflow/index.js';
import { createBridge, deleteBridge, ensureOvs, haveOvs, ofctl } from '../helpers/ovs.js';
import { describeWith } from '../helpers/needs.js';
import { build, IP, MAC } from './monitor-fixture.js';

const haveOfctl = spawnSync('which', ['ovs-ofctl']).status === 0;
const bridges = new Set<string>();
let dir = '';
let next = 0;

const tcp = (who: 'alice' | 'bob' | 'carol', inPort: number, dst: string, port: number): Packet => ({
  inPort,
  ethSrc: MAC[who],
  ethType: 0x0800,
  ipSrc: IP[who],
  ipDst: dst,
  ipProto: 6,
  tpSrc: 40000,
  tpDst: port,
  tcpFlags: 0x002,
});

function trace(br: string, p: Packet, conntrack: boolean): { cookies: string[]; steps: string } {
  const spec = `tcp,in_port=${p.inPort},dl_src=${p.ethSrc},dl_dst=02:ff:00:00:00:01,nw_src=${p.ipSrc},nw_dst=${p.ipDst},tcp_src=${p.tpSrc},tcp_dst=${p.tpDst},tcp_flags=0x002`;
  const bits = new Conntrack().state(p, 0);
  const ct = conntrack ? ['--ct-next', [bits & 0x20 ? 'trk' : '', bits & 0x01 ? 'new' : ''].filter(Boolean).join(',')] : [];
  const out = execFileSync('ovs-appctl', ['ofproto/trace', br, spec, ...ct], { encoding: 'utf8' });
  const cookies = [...out.matchAll(/^\s*\d+\.\s.*cookie (0x[0-9a-f]+)\s*$/gm)].map((m) => BigInt(m[1]).toString(16));
  return { cookies, steps: out.replace(/^(Final flow|Megaflow|Datapath actions):.*$/gm, '') };
}

describeWith({ 'ovs-ofctl': haveOfctl }, 'monitor flows printed by ovs-ofctl ofp-print', () => {
  it('table 2 sets metadata bit 63, table 3 copies match it and go to table 4, table 4 samples under meter 2', () => {
    const sp = build('ovs').plan.switches.find((s) => s.name === 'edge1')!;
    const print = (f: (typeof sp.flows)[number]) =>
      execFileSync('ovs-ofctl', ['ofp-print', encode(addFlowMod(f)).toString('hex')], { encoding: 'utf8' });
    const mark = sp.flows.filter((f) => f.tableId === TABLE.policy && f.instructions.some((i) => i.type === 'write_metadata'));
    expect(mark.length).toBeGreaterThan(0);
    for (const f of mark)
      expect(print(f)).toMatch(/ADD table:2 priority=260,.*actions=write_metadata:0x8000000000000000\/0x8000000000000000,goto_table:3/);
    const copies = sp.flows.filter((f) => f.tableId === TABLE.forward && f.origin === 'monitor:forward');
    expect(copies.map((f) => f.priority).sort()).toEqual([1000, 1010]);
    for (const f of copies)
      expect(print(f)).toMatch(
        /ADD table:3 priority=10[01]0,.*metadata=0x8000000000000000\/0x8000000000000000.* actions=.*NORMAL,goto_table:4/,
      );
    const sample = sp.flows.filter((f) => f.tableId === TABLE.monitor);
    expect(sample).toHaveLength(1);
    expect(print(sample[0])).toMatch(/ADD table:4 priority=0 cookie:0x[0-9a-f]+ actions=meter:2,CONTROLLER:128/);
  });
});

describeWith({ 'Open vSwitch (root)': !!haveOvs() }, 'monitor mode: interpreter vs ofproto/trace', () => {
  beforeAll(() => {
    ensureOvs();
    dir = mkdtempSync(join(tmpdir(), 'f3mon-'));
  });
  afterAll(() => {
    for (const b of bridges) deleteBridge(b);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const profile of ['ovs', 'ovs-stateless', 'openflow13'])
    it(`${profile}: monitored packets are forwarded, then sampled in table 4; the trace walks the interpreter's flows`, () => {
      const c = build(profile);
      const sp = c.plan.switches.find((s) => s.name === 'edge1')!;
      const br = `f3mon${next++}`;
      bridges.add(br);
      createBridge(br);
      ofctl('add-meter', br, 'meter=1,pktps,band=type=drop,rate=100');
      ofctl('add-meter', br, 'meter=2,pktps,band=type=drop,rate=50');
      const file = join(dir, `${profile}.flows`);
      writeFileSync(file, formatOvsFlows(sp) + '\n');
      ofctl('add-flows', br, file);
      const tables = new FlowTables(sp.flows);
      const cases: Array<[Packet, 'monitored' | 'forward' | 'drop']> = [
        [tcp('bob', 2, IP.web, 80), 'monitored'],
        [tcp('bob', 2, IP.web, 443), 'forward'],
        [tcp('alice', 1, IP.db, 5432), 'monitored'],
        [tcp('alice', 1, IP.db, 22), 'drop'],
        [tcp('carol', 4, IP.db, 5432), 'drop'],
      ];
      for (const [p, want] of cases) {
        const ctx = `${profile} ${p.ethSrc} -> ${p.ipDst}:${p.tpDst}`;
        const i = tables.apply(p);
        const got = trace(br, p, profile === 'ovs');
        expect(got.cookies, ctx).toEqual(i.hits.map((h) => h.flow.cookie.toString(16)));
        expect(i.monitored ? 'monitored' : i.verdict, ctx).toBe(want);
        const normal = got.steps.search(/^\s+(ct\(commit.*\),)?NORMAL$|^\s+NORMAL$/m);
        const meter = got.steps.search(/^\s+meter:2\s*$/m);
        const controller = got.steps.search(/^\s+CONTROLLER:128/m);
        if (want === 'monitored') {
          // forwarded first, then metered, then the copy: a meter over its rate cannot take the forwarded packet
          expect(normal, ctx).toBeGreaterThan(-1);
          expect(meter, ctx).toBeGreaterThan(normal);
          expect(controller, ctx).toBeGreaterThan(meter);
        } else if (want === 'forward') {
          expect(normal, ctx).toBeGreaterThan(-1);
          expect(meter, ctx).toBe(-1);
        } else expect(normal, ctx).toBe(-1);
      }
      deleteBridge(br);
      bridges.delete(br);
    }, 120_000);
});
