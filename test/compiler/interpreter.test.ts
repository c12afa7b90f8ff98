/**
 * The indexed flow-table interpreter must pick exactly the flow a plain OpenFlow lookup picks: the first flow,
 * by descending priority, whose every match field holds. Checked on the campus plans with random packets
 * built from the addresses, ports and classes that occur in them (so lookups hit real flows, not just misses).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compile, type PlannedFlow } from '../../compiler/index.js';
import { loadPolicy } from '../../loader/index.js';
import { FlowTables, flowMatches, type Packet } from '../../compiler/interpreter.js';

const CAMPUS = new URL('../../examples/campus/policy.yaml', import.meta.url).pathname;

function naive(flows: readonly PlannedFlow[], tableId: number, p: Packet, metadata: bigint): PlannedFlow | undefined {
  const t = flows
    .filter((f) => f.tableId === tableId)
    .map((f, i) => ({ f, i }))
    .sort((a, b) => b.f.priority - a.f.priority || a.i - b.i);
  return t.find(({ f }) => flowMatches(f.match, p, metadata))?.f;
}

describe('flow-table interpreter', () => {
  it('indexed lookups equal a naive priority scan, for every table of every campus switch', async () => {
    const r = await loadPolicy(CAMPUS);
    if (!r.ok) throw new Error(JSON.stringify(r.diagnostics));
    const c = compile(r.value);
    const values = (field: string) => [
      ...new Set(c.plan.switches.flatMap((s) => s.flows.flatMap((f) => f.match.filter((e) => e.field === field).map((e) => e.value)))),
    ];
    const ips = values('ipv4_src').concat(values('ipv4_dst'), values('arp_spa')).map(String).concat(['10.9.9.9', '192.168.0.1']);
    const macs = values('eth_src').map(String).concat(['02:aa:00:00:00:01']);
    const metas = values('metadata') as bigint[];
    const arb = fc.record({
      sw: fc.nat(c.plan.switches.length - 1),
      table: fc.nat(3),
      inPort: fc.integer({ min: 1, max: 12 }),
      ethSrc: fc.constantFrom(...macs),
      ethType: fc.constantFrom(0x0800, 0x0806, 0x86dd),
      ipSrc: fc.constantFrom(...ips),
      ipDst: fc.constantFrom(...ips),
      ipProto: fc.constantFrom(1, 6, 17),
      tpSrc: fc.constantFrom(22, 80, 443, 5432, 53, 40000),
      tpDst: fc.constantFrom(22, 80, 443, 5432, 53, 40000),
      icmpType: fc.constantFrom(0, 8),
      meta: fc.oneof(fc.constantFrom(0n, ...metas), fc.bigInt({ min: 0n, max: (1n << 48n) - 1n })),
    });
    const tables = c.plan.switches.map((s) => new FlowTables(s.flows));
    fc.assert(
      fc.property(arb, (g) => {
        const p: Packet = {
          inPort: g.inPort,
          ethSrc: g.ethSrc,
          ethType: g.ethType,
          ipSrc: g.ipSrc,
          ipDst: g.ipDst,
          ipProto: g.ipProto,
          tpSrc: g.tpSrc,
          tpDst: g.tpDst,
          icmpType: g.icmpType,
          arpSpa: g.ipSrc,
          arpTpa: g.ipDst,
          arpSha: g.ethSrc,
        };
        const flows = c.plan.switches[g.sw].flows;
        expect(tables[g.sw].lookup(g.table, p, g.meta)).toBe(naive(flows, g.table, p, g.meta));
      }),
      { numRuns: 3000 },
    );
  });

  it('a packet walks goto_table and write_metadata to NORMAL, and a miss drops', () => {
    const flows: PlannedFlow[] = [
      {
        tableId: 0,
        priority: 100,
        cookie: 1n,
        origin: 'a',
        match: [{ field: 'in_port', value: 1 }],
        instructions: [
          { type: 'write_metadata', metadata: 0x5n, mask: 0xffffn },
          { type: 'goto_table', tableId: 1 },
        ],
      },
      {
        tableId: 1,
        priority: 10,
        cookie: 2n,
        origin: 'b',
        match: [
          { field: 'metadata', value: 0x5n, mask: 0xffn },
          { field: 'eth_type', value: 0x0800 },
          { field: 'ipv4_dst', value: '10.0.0.0', mask: '255.255.255.0' },
        ],
        instructions: [{ type: 'apply_actions', actions: [{ type: 'output', port: 0xfffffffa }] }],
      },
    ];
    const t = new FlowTables(flows);
    const base: Packet = {
      inPort: 1,
      ethSrc: '02:00:00:00:00:01',
      ethType: 0x0800,
      ipSrc: '10.0.1.1',
      ipDst: '10.0.0.77',
      ipProto: 6,
      tpDst: 80,
    };
    const ok = t.apply(base);
    expect(ok.verdict).toBe('forward');
    expect(ok.hits.map((h) => h.flow.origin)).toEqual(['a', 'b']);
    expect(ok.metadata).toBe(5n);
    expect(t.apply({ ...base, ipDst: '10.0.1.77' }).verdict).toBe('drop');
    expect(t.apply({ ...base, inPort: 2 }).hits).toEqual([]);
  });
});

describe('verify: ambiguous overlaps', () => {
  it('finds two equal-priority flows that can match one packet but act differently, also with different metadata masks', async () => {
    const { overlaps } = await import('../../compiler/query.js');
    const base = { tableId: 2, priority: 200, origin: 'x' };
    const allow: PlannedFlow = {
      ...base,
      cookie: 1n,
      match: [
        { field: 'metadata', value: 0x10001n, mask: 0xffffffffn },
        { field: 'eth_type', value: 0x0800 },
        { field: 'ip_proto', value: 6 },
      ],
      instructions: [{ type: 'goto_table', tableId: 3 }],
    };
    const dropSame: PlannedFlow = {
      ...base,
      cookie: 2n,
      match: [
        { field: 'metadata', value: 0x10001n, mask: 0xffffffffn },
        { field: 'eth_type', value: 0x0800 },
      ],
      instructions: [],
    };
    const dropOtherClass: PlannedFlow = {
      ...base,
      cookie: 3n,
      match: [
        { field: 'metadata', value: 0x10002n, mask: 0xffffffffn },
        { field: 'eth_type', value: 0x0800 },
      ],
      instructions: [],
    };
    const dropByOwner: PlannedFlow = { ...base, cookie: 4n, match: [{ field: 'metadata', value: 0x1n, mask: 0xffffn }], instructions: [] };
    const sp = (flows: PlannedFlow[]) => ({ name: 's', dpid: 1n, kind: 'edge' as const, flows });
    expect(overlaps(sp([allow, dropOtherClass]))).toEqual([]);
    expect(overlaps(sp([allow, dropSame]))).toHaveLength(1);
    expect(overlaps(sp([allow, dropOtherClass, dropByOwner]))).toHaveLength(1); // different mask, same src class: overlaps allow
    expect(overlaps(sp([allow, { ...dropSame, priority: 300 }]))).toEqual([]); // priorities decide
  });
});

describe('JSON output', () => {
  it('writes bigints and byte buffers as hex, at any depth', async () => {
    const { jsonReplacer } = await import('../../compiler/format.js');
    expect(JSON.stringify({ a: Buffer.from([1, 2]), n: 5n, nested: [{ u: new Uint8Array([255, 0]) }], s: 'x' }, jsonReplacer)).toBe(
      '{"a":"0102","n":"0x5","nested":[{"u":"ff00"}],"s":"x"}',
    );
    expect(JSON.stringify(Buffer.from('ab'), jsonReplacer)).toBe('"6162"');
  });
});
