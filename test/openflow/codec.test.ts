import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  ERROR_TYPES,
  Framer,
  MatchError,
  MultipartAssembler,
  OFP_ACTION_OUTPUT_SIZE,
  OFP_FLOW_MOD_SIZE,
  OFP_FLOW_STATS_SIZE,
  OFP_HEADER_SIZE,
  OFP_MATCH_SIZE,
  OFP_PORT_SIZE,
  OFP_PORT_STATS_SIZE,
  OFP_SWITCH_FEATURES_SIZE,
  OXM_FIELDS,
  checkMatch,
  decode,
  encode,
  errorName,
  flowMod,
  formatError,
  match,
  type Match,
  type OfpMessage,
  type OxmEntry,
} from '../../openflow/index.js';
import { aclFlow, port, samples } from './samples.js';
import { OFP_DESC, OFP_PORT, OFP_PORT_STATS, OFP_SWITCH_FEATURES_BODY, OFP_TABLE_STATS } from '../../openflow/structs.js';

describe('struct sizes', () => {
  it('match the OpenFlow 1.3 specification', () => {
    expect([
      OFP_HEADER_SIZE,
      OFP_MATCH_SIZE,
      OFP_FLOW_MOD_SIZE,
      OFP_ACTION_OUTPUT_SIZE,
      OFP_PORT_SIZE,
      OFP_FLOW_STATS_SIZE,
      OFP_PORT_STATS_SIZE,
      OFP_SWITCH_FEATURES_SIZE,
    ]).toEqual([8, 8, 56, 16, 64, 56, 112, 32]);
    expect(encode({ type: 'features_request', xid: 1 }).length).toBe(8);
    expect(encode(flowMod({})).length).toBe(OFP_FLOW_MOD_SIZE);
    expect(encode(samples.find((m) => m.type === 'features_reply')!).length).toBe(OFP_SWITCH_FEATURES_SIZE);
    expect(encode(samples.find((m) => m.type === 'port_status')!).length).toBe(16 + OFP_PORT_SIZE);
  });
});

describe('fixed-layout structures declared with binary-parser', () => {
  it('have the OpenFlow 1.3 sizes', () => {
    expect([
      OFP_PORT.sizeOf(),
      OFP_PORT_STATS.sizeOf(),
      OFP_TABLE_STATS.sizeOf(),
      OFP_DESC.sizeOf(),
      OFP_SWITCH_FEATURES_BODY.sizeOf() + OFP_HEADER_SIZE,
    ]).toEqual([OFP_PORT_SIZE, OFP_PORT_STATS_SIZE, 24, 1056, OFP_SWITCH_FEATURES_SIZE]);
  });
  it('read names up to the first NUL, ignoring what follows in the padding', () => {
    const b = Buffer.alloc(64);
    b.write('eth1\0junk', 16, 'latin1');
    expect(OFP_PORT.parse(b).name).toBe('eth1');
  });
});

describe('round trip', () => {
  for (const m of samples) {
    it(`${m.type}${'body' in m ? ':' + (m as { body: { kind: string } }).body.kind : ''} decodes to what was encoded`, () => {
      const buf = encode(m);
      expect(buf.readUInt16BE(2)).toBe(buf.length);
      expect(
        buf.length % 8 === 0 ||
          ['hello', 'error', 'echo_request', 'echo_reply', 'packet_in', 'packet_out', 'set_config', 'get_config_reply'].includes(m.type),
      ).toBe(true);
      const r = decode(buf);
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      const { errTypeName, codeName, ...rest } = r.message as OfpMessage & { errTypeName?: string; codeName?: string };
      if (m.type === 'error')
        expect([errTypeName, codeName]).toEqual(
          m.errType === 5 ? ['OFPET_FLOW_MOD_FAILED', 'OFPFMFC_TABLE_FULL'] : ['OFPET_EXPERIMENTER', 'OFPBFC_MSG_FAILED'],
        );
      expect(m.type === 'error' ? rest : r.message).toEqual(m);
    });
  }

  it('computes lengths itself (a wrong length in the input object is irrelevant) and pads matches to 8 bytes', () => {
    const b = encode(aclFlow);
    const matchLen = b.readUInt16BE(48 + 2);
    expect(matchLen).toBe(4 + 20 + 6 + 5 + 8 + 6);
    expect(b.length).toBe(48 + 56 + 8);
  });
});

describe('encode fails closed on values that do not fit', () => {
  it('throws a RangeError naming the field instead of truncating', () => {
    expect(() => encode(flowMod({ priority: 70000 }))).toThrow(/flow_mod: priority 70000 is out of range/);
    expect(() => encode(flowMod({ tableId: 256 }))).toThrow(/tableId 256/);
    expect(() => encode(flowMod({ cookie: -1n }))).toThrow(/cookie -1/);
    expect(() => encode(flowMod({ outPort: -1 }))).toThrow(/outPort -1/);
    expect(() => encode(flowMod({ match: [{ field: 'tcp_dst', value: 65536 }] }))).toThrow(/tcp_dst 65536/);
    expect(() => encode(flowMod({ match: [{ field: 'eth_src', value: 'not-a-mac' }] }))).toThrow(RangeError);
    expect(() => encode(flowMod({ instructions: [{ type: 'goto_table', tableId: 1.5 }] }))).toThrow(/goto_table 1.5/);
    expect(() => encode({ type: 'port_status', xid: 1, reason: 'gone' as 'add', desc: port })).toThrow(RangeError);
    expect(() => encode({ type: 'role_request', xid: 1, role: 'boss' as 'master', generationId: 0n })).toThrow(RangeError);
    expect(() => encode({ type: 'set_config', xid: 1, flags: 0, missSendLen: 0x10000 })).toThrow(RangeError);
    // and the encoder is still usable afterwards
    expect(encode({ type: 'barrier_request', xid: 3 }).toString('hex')).toBe('0414000800000003');
  });
});

describe('errors', () => {
  it('names every OpenFlow 1.3 error type and code', () => {
    expect(ERROR_TYPES.length).toBe(15);
    expect(ERROR_TYPES.reduce((n, t) => n + t.codes.length, 0)).toBe(2 + 14 + 16 + 9 + 12 + 8 + 15 + 5 + 3 + 3 + 3 + 3 + 12 + 6);
    expect(errorName(4, 9)).toEqual({ type: 'OFPET_BAD_MATCH', code: 'OFPBMC_BAD_PREREQ' });
    expect(errorName(12, 3)).toEqual({ type: 'OFPET_METER_MOD_FAILED', code: 'OFPMMFC_UNKNOWN_METER' });
    expect(errorName(99, 1).type).toBe('type 99');
  });
  it('names the ONF bundle errors Open vSwitch sends on OpenFlow 1.3 (experimenter errors 2300..2315)', () => {
    expect(errorName(0xffff, 2300, 0x4f4e4600)).toEqual({ type: 'OFPET_EXPERIMENTER', code: 'OFPBFC_UNKNOWN' });
    expect(errorName(0xffff, 2302, 0x4f4e4600).code).toBe('OFPBFC_BAD_ID');
    expect(errorName(0xffff, 2315, 0x4f4e4600).code).toBe('OFPBFC_BUNDLE_IN_PROGRESS');
    expect(errorName(0xffff, 2316, 0x4f4e4600).code).toBe('experimenter 0x4f4e4600 code 2316');
    expect(errorName(0xffff, 2313, 0x2320).code).toBe('experimenter 0x00002320 code 2313');
    const r = decode(Buffer.from('0401001400000005ffff09094f4e460004140008', 'hex'));
    expect(r.ok && r.message).toMatchObject({
      type: 'error',
      errType: 0xffff,
      code: 2313,
      experimenter: 0x4f4e4600,
      codeName: 'OFPBFC_MSG_FAILED',
    });
    expect(r.ok && r.message.type === 'error' && formatError(r.message)).toBe('OFPET_EXPERIMENTER/OFPBFC_MSG_FAILED');
    // an experimenter error too short to hold the experimenter id still decodes (fail soft, no throw)
    const short = decode(Buffer.from('040100100000000500ffff0000000000', 'hex'));
    expect(short.ok).toBe(true);
  });
});

describe('match prerequisites', () => {
  it('names the field whose prerequisite is missing', () => {
    expect(() => match({ field: 'ipv4_src', value: '10.0.0.1' })).toThrow(MatchError);
    expect(checkMatch([{ field: 'tcp_dst', value: 80 }])).toMatch(/^tcp_dst requires ip_proto/);
    expect(
      checkMatch([
        { field: 'eth_type', value: 0x0800 },
        { field: 'ip_proto', value: 17 },
        { field: 'tcp_dst', value: 80 },
      ]),
    ).toMatch(/tcp_dst requires ip_proto = 6/);
    expect(
      checkMatch([
        { field: 'eth_type', value: 0x0806 },
        { field: 'ipv4_dst', value: '1.2.3.4' },
      ]),
    ).toMatch(/ipv4_dst requires eth_type/);
    expect(
      checkMatch([
        { field: 'in_port', value: 1 },
        { field: 'in_port', value: 2 },
      ]),
    ).toMatch(/duplicate/);
    expect(checkMatch([{ field: 'eth_type', value: 0x10000 }])).toMatch(/eth_type/);
    expect(checkMatch([{ field: 'in_port', value: 1, mask: 1 }])).toMatch(/cannot be masked/);
    expect(checkMatch([{ field: 'eth_src', value: 'zz:00:00:00:00:00' }])).toMatch(/eth_src/);
    try {
      match({ field: 'arp_spa', value: '10.0.0.1' });
    } catch (e) {
      expect((e as MatchError).field).toBe('arp_spa');
    }
    expect(() => match({ field: 'arp_spa', value: '10.0.0.1' })).toThrow(/arp_spa requires eth_type = 0x0806/);
  });
  it('vlan_vid needs OFPVID_PRESENT for a tag, and vlan_pcp needs a tagged vlan_vid', () => {
    expect(checkMatch([{ field: 'vlan_vid', value: 10 }])).toMatch(/vlan_vid: value 10 lacks OFPVID_PRESENT .*0x100a/);
    expect(checkMatch([{ field: 'vlan_vid', value: 0x1000 | 10 }])).toBeUndefined();
    expect(checkMatch([{ field: 'vlan_vid', value: 0 }])).toBeUndefined();
    expect(checkMatch([{ field: 'vlan_vid', value: 0x1000, mask: 0x1000 }])).toBeUndefined();
    expect(
      checkMatch([
        { field: 'vlan_vid', value: 0 },
        { field: 'vlan_pcp', value: 3 },
      ]),
    ).toMatch(/^vlan_pcp requires a VLAN tag/);
    expect(
      checkMatch([
        { field: 'vlan_vid', value: 0x1005 },
        { field: 'vlan_pcp', value: 3 },
      ]),
    ).toBeUndefined();
    expect(
      checkMatch([
        { field: 'vlan_vid', value: 0x1005 },
        { field: 'vlan_pcp', value: 8 },
      ]),
    ).toMatch(/vlan_pcp/);
  });
  it('accepts correct matches for every OXM field with prerequisites met', () => {
    expect(OXM_FIELDS.length).toBe(44); // 40 OXM basic + tcp_flags, ct_state, ct_zone, ct_mark (NXM_1)
  });
});

// ---------- property tests ----------

const mac = fc.uint8Array({ minLength: 6, maxLength: 6 }).map((b) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':'));
const ipv4 = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => [...b].join('.'));
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u64 = fc.bigInt({ min: 0n, max: 0xffffffffffffffffn });

const ipMatch: fc.Arbitrary<Match> = fc
  .record({
    inPort: fc.option(fc.integer({ min: 1, max: 0xffffff00 }), { nil: undefined }),
    meta: fc.option(fc.tuple(u64, u64), { nil: undefined }),
    src: fc.option(mac, { nil: undefined }),
    ip: fc.option(ipv4, { nil: undefined }),
    proto: fc.constantFrom(6, 17, 1),
    port: u16,
  })
  .map((r) => {
    const m: OxmEntry[] = [];
    if (r.inPort !== undefined) m.push({ field: 'in_port', value: r.inPort });
    if (r.meta) m.push({ field: 'metadata', value: r.meta[0], mask: r.meta[1] });
    if (r.src) m.push({ field: 'eth_src', value: r.src });
    m.push({ field: 'eth_type', value: 0x0800 });
    if (r.ip) m.push({ field: 'ipv4_dst', value: r.ip });
    m.push({ field: 'ip_proto', value: r.proto });
    if (r.proto === 6) m.push({ field: 'tcp_dst', value: r.port });
    if (r.proto === 17) m.push({ field: 'udp_src', value: r.port });
    if (r.proto === 1) m.push({ field: 'icmpv4_type', value: r.port & 0xff });
    return m;
  });

const flowMods = fc
  .record({
    xid: u32,
    cookie: u64,
    cookieMask: u64,
    tableId: fc.integer({ min: 0, max: 254 }),
    command: fc.constantFrom('add', 'modify', 'modify_strict', 'delete', 'delete_strict') as fc.Arbitrary<'add'>,
    idleTimeout: u16,
    hardTimeout: u16,
    priority: u16,
    outPort: u32,
    match: ipMatch,
    goto: fc.option(fc.integer({ min: 1, max: 254 }), { nil: undefined }),
    out: fc.option(u32, { nil: undefined }),
  })
  .map((r) =>
    flowMod({
      ...r,
      instructions: [
        ...(r.out !== undefined
          ? [{ type: 'apply_actions' as const, actions: [{ type: 'output' as const, port: r.out, maxLen: 0xffff }] }]
          : []),
        ...(r.goto !== undefined ? [{ type: 'goto_table' as const, tableId: r.goto }] : []),
      ],
    }),
  );

describe('properties', () => {
  it('decode(encode(m)) equals m for random flow mods', () => {
    fc.assert(
      fc.property(flowMods, (m) => {
        const r = decode(encode(m));
        expect(r.ok && r.message).toEqual(m);
      }),
      { numRuns: 500 },
    );
  });

  it('random bytes never throw, only return a typed decode error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 300 }), (b) => {
        const r = decode(Buffer.from(b));
        if (!r.ok) expect(['truncated', 'bad_length', 'bad_version', 'unknown_type', 'bad_field', 'bad_value']).toContain(r.error.code);
      }),
      { numRuns: 3000 },
    );
  });

  it('truncated and corrupted real messages never throw', () => {
    const bufs = samples.map(encode);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: bufs.length - 1 }),
        fc.nat(),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        (i, cut, pos, byte) => {
          const b = Buffer.from(bufs[i]);
          const t = b.subarray(0, cut % (b.length + 1));
          expect(() => decode(t)).not.toThrow();
          if (t.length < b.length) expect(decode(t).ok).toBe(false); // before corrupting: t is a view of b
          if (b.length) {
            b[pos % b.length] = byte;
            expect(() => decode(b)).not.toThrow();
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('framer', () => {
  const stream = Buffer.concat(samples.map(encode));
  it('splits a stream cut at every possible boundary into the same messages', () => {
    for (let cut = 1; cut < 200; cut += 7) {
      const f = new Framer();
      const frames: Buffer[] = [];
      for (let i = 0; i < stream.length; i += cut) frames.push(...f.push(stream.subarray(i, i + cut)));
      expect(frames.length).toBe(samples.length);
      expect(Buffer.concat(frames).equals(stream)).toBe(true);
      expect(f.buffered).toBe(0);
    }
  });
  it('several messages in one read', () => {
    expect(new Framer().push(stream).length).toBe(samples.length);
  });
  it('stops on a length field that lies, with an error', () => {
    const f = new Framer();
    const bad = Buffer.from('0400000300000001', 'hex'); // length 3 < header
    expect(f.push(Buffer.concat([encode({ type: 'barrier_request', xid: 1 }), bad]))).toHaveLength(1);
    expect(f.error?.code).toBe('bad_length');
    expect(f.push(encode({ type: 'barrier_request', xid: 2 }))).toHaveLength(0);
  });
  it('reassembles multipart replies per xid', () => {
    const a = new MultipartAssembler();
    const part = (flags: number, n: number) => ({
      type: 'multipart_reply' as const,
      xid: 9,
      flags,
      body: { kind: 'table' as const, tables: [{ tableId: n, activeCount: 0, lookupCount: 0n, matchedCount: 0n }] },
    });
    expect(a.add(part(1, 0))).toBeUndefined();
    expect(a.add(part(1, 1))).toBeUndefined();
    const whole = a.add(part(0, 2));
    expect(whole?.body.kind === 'table' && whole.body.tables.map((t) => t.tableId)).toEqual([0, 1, 2]);
    expect(whole?.flags).toBe(0);
    expect(a.pending).toBe(0);
  });
  it('refuses a reply whose parts change kind, and bounds the parts held across replies', () => {
    const a = new MultipartAssembler(3);
    const table = (xid: number, flags: number) => ({
      type: 'multipart_reply' as const,
      xid,
      flags,
      body: { kind: 'table' as const, tables: [] },
    });
    a.add(table(1, 1));
    expect(() => a.add({ type: 'multipart_reply', xid: 1, flags: 0, body: { kind: 'port_desc', ports: [] } })).toThrow(
      /mixes table and port_desc/,
    );
    expect(a.pending).toBe(0);
    a.add(table(2, 1));
    a.add(table(3, 1));
    a.add(table(4, 1));
    expect(() => a.add(table(5, 1))).toThrow(/more than 3 parts/);
    a.drop(2);
    expect(a.pending).toBe(2);
    expect(a.add(table(3, 0))?.xid).toBe(3);
    expect(a.pending).toBe(1);
  });
});

describe('tcp_flags (an Open vSwitch extension field)', () => {
  it('is written as NXM_NX_TCP_FLAGS and read back in that form and in the ONF experimenter form OVS answers with', async () => {
    const { readOxm, writeOxm } = await import('../../openflow/oxm.js');
    const { Reader, Writer } = await import('../../openflow/buffer.js');
    const w = new Writer(16);
    writeOxm(w, { field: 'tcp_flags', value: 0x010, mask: 0x010 });
    expect(w.buf.subarray(0, w.pos).toString('hex')).toBe('0001' + '45' + '04' + '0010' + '0010');
    const nx = readOxm(new Reader(Buffer.from('0001450400100010', 'hex')));
    const onf = readOxm(new Reader(Buffer.from('ffff55084f4e460000100010', 'hex')));
    const onfExact = readOxm(new Reader(Buffer.from('ffff54064f4e46000002', 'hex')));
    expect([nx, onf, onfExact]).toEqual([
      { field: 'tcp_flags', value: 0x10, mask: 0x10 },
      { field: 'tcp_flags', value: 0x10, mask: 0x10 },
      { field: 'tcp_flags', value: 2 },
    ]);
    expect(() => readOxm(new Reader(Buffer.from('ffff55084f4e460100100010', 'hex')))).toThrow(/experimenter/);
    expect(() =>
      encode(
        flowMod({
          match: match({ field: 'eth_type', value: 0x800 }, { field: 'ip_proto', value: 6 }),
          instructions: [{ type: 'apply_actions', actions: [{ type: 'set_field', field: 'tcp_flags', value: 2 }] }],
        }),
      ),
    ).toThrow(/matched but not set/);
  });
});
