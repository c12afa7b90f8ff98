/**
 * Property tests (fast-check) over every message type and every OXM field:
 * decode(encode(m)) equals m; the framer returns the same messages however the stream is cut; bad bytes give only
 * typed decode errors, bounded buffering, and no frame that disagrees with its own length field.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  Framer,
  OXM_BY_NAME,
  OXM_FIELDS,
  checkMatch,
  decode,
  encode,
  encodeMany,
  flowMod,
  type Action,
  type Instruction,
  type Match,
  type OfpMessage,
  type OxmEntry,
  type OxmFieldDef,
  type OxmValue,
  type PortDesc,
} from '../../openflow/index.js';
import { bytesToIpv6, bytesToMac, u32ToIpv4 } from '../../openflow/buffer.js';

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u64 = fc.bigInt({ min: 0n, max: 0xffffffffffffffffn });
const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((b) => Buffer.from(b));
const macA = fc.uint8Array({ minLength: 6, maxLength: 6 }).map((b) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':'));
const ipv4A = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => [...b].join('.'));
const ipv6A = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => bytesToIpv6(Buffer.from(b)));
const name = (n: number) => fc.string({ maxLength: n - 1, unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-_. '.split('')) });

function valueOf(def: OxmFieldDef): fc.Arbitrary<OxmValue> {
  if (def.name === 'vlan_vid')
    return fc.oneof(
      fc.constant(0),
      fc.integer({ min: 0, max: 0xfff }).map((v) => 0x1000 | v),
    );
  switch (def.kind) {
    case 'u8':
      return fc.integer({ min: 0, max: def.max ?? 0xff });
    case 'u16':
      return fc.integer({ min: 0, max: def.max ?? 0xffff });
    case 'u24':
      return fc.integer({ min: 0, max: def.max ?? 0xffffff });
    case 'u32':
      return fc.integer({ min: 0, max: def.max ?? 0xffffffff });
    case 'u64':
      return u64;
    case 'mac':
      return macA;
    case 'ipv4':
      return ipv4A;
    case 'ipv6':
      return ipv6A;
  }
}

/** value AND mask, so that the value has no bits outside its mask (as OpenFlow requires). */
function andMask(def: OxmFieldDef, v: OxmValue, m: OxmValue): OxmValue {
  if (typeof v === 'bigint') return v & (m as bigint);
  if (typeof v === 'number') return (v & (m as number)) >>> 0;
  // the OXM TLV of a one-field match starts at byte 48 + 4; its value and mask follow the 4-byte OXM header
  const b = Buffer.from(encode(flowMod({ match: [{ field: def.name, value: v, mask: m }] })).subarray(56, 56 + def.bytes * 2));
  for (let i = 0; i < def.bytes; i++) b[i] &= b[def.bytes + i];
  return def.kind === 'mac' ? bytesToMac(b) : def.kind === 'ipv4' ? u32ToIpv4(b.readUInt32BE(0)) : bytesToIpv6(b);
}
const entryOf = (def: OxmFieldDef): fc.Arbitrary<OxmEntry> =>
  def.maskable
    ? fc
        .tuple(valueOf(def), fc.option(valueOf(def), { nil: undefined }))
        .map(([value, mask]) =>
          mask === undefined ? { field: def.name, value } : { field: def.name, value: andMask(def, value, mask), mask },
        )
    : valueOf(def).map((value) => ({ field: def.name, value }));

/** Adds `e` after whatever prerequisites it needs (recursively, first allowed value); skips it when they conflict. */
function withPrereqs(out: OxmEntry[], e: OxmEntry, depth = 0): void {
  if (depth > 4 || out.some((x) => x.field === e.field)) return;
  const def = OXM_BY_NAME[e.field];
  const trial = [...out];
  for (const p of def.prerequisites) {
    const have = trial.find((x) => x.field === p.field);
    if (have) continue;
    const pre: OxmEntry = p.values.length
      ? { field: p.field, value: p.values[0] }
      : { field: p.field, value: p.field === 'vlan_vid' ? 0x1000 | 5 : 1 };
    withPrereqs(trial, pre, depth + 1);
  }
  trial.push(e);
  if (checkMatch(trial) === undefined) {
    out.length = 0;
    out.push(...trial);
  }
}

/** A valid match over any of the 41 match fields (40 OXM basic, tcp_flags from NXM), prerequisites placed before the fields that need them. */
const anyMatch: fc.Arbitrary<Match> = fc.array(fc.constantFrom(...OXM_FIELDS).chain(entryOf), { maxLength: 8 }).map((entries) => {
  const out: OxmEntry[] = [];
  for (const e of entries) withPrereqs(out, e);
  return out;
});

const settable = OXM_FIELDS.filter((d) => d.settable && !['in_port', 'in_phy_port', 'metadata'].includes(d.name));
const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({ type: fc.constant('output' as const), port: u32, maxLen: u16 }),
  fc.record({ type: fc.constant('group' as const), groupId: u32 }),
  fc.record({ type: fc.constant('set_queue' as const), queueId: u32 }),
  fc.record({ type: fc.constant('push_vlan' as const), ethertype: fc.constantFrom(0x8100, 0x88a8) }),
  fc.constant({ type: 'pop_vlan' as const }),
  fc.constant({ type: 'dec_nw_ttl' as const }),
  fc.constantFrom(...settable).chain((d) => valueOf(d).map((value) => ({ type: 'set_field' as const, field: d.name, value }))),
);
const ctAction: fc.Arbitrary<Action> = fc.record(
  {
    type: fc.constant('ct' as const),
    commit: fc.constant(true),
    zone: u16,
    table: fc.integer({ min: 0, max: 254 }),
    actions: fc.array(
      u32.map((value) => ({ type: 'set_field' as const, field: 'ct_mark' as const, value })),
      { minLength: 1, maxLength: 2 },
    ),
  },
  { requiredKeys: ['type', 'zone'] },
);
const actions = fc.array(fc.oneof(action, ctAction), { maxLength: 4 });
const instruction: fc.Arbitrary<Instruction> = fc.oneof(
  fc.record({ type: fc.constant('goto_table' as const), tableId: u8 }),
  fc.record({ type: fc.constant('write_metadata' as const), metadata: u64, mask: u64 }),
  fc.record({ type: fc.constant('apply_actions' as const), actions }),
  fc.record({ type: fc.constant('write_actions' as const), actions }),
  fc.constant({ type: 'clear_actions' as const }),
  fc.record({ type: fc.constant('meter' as const), meterId: u32 }),
);
const flowFlags = fc.record(
  {
    sendFlowRem: fc.constant(true),
    checkOverlap: fc.constant(true),
    resetCounts: fc.constant(true),
    noPktCounts: fc.constant(true),
    noBytCounts: fc.constant(true),
  },
  { requiredKeys: [] },
);
const command = fc.constantFrom('add', 'modify', 'modify_strict', 'delete', 'delete_strict' as const);
const flowModA = fc
  .record({
    xid: u32,
    cookie: u64,
    cookieMask: u64,
    tableId: u8,
    command,
    idleTimeout: u16,
    hardTimeout: u16,
    priority: u16,
    bufferId: u32,
    outPort: u32,
    outGroup: u32,
    flags: flowFlags,
    match: anyMatch,
    instructions: fc.array(instruction, { maxLength: 4 }),
  })
  .map((r) => flowMod(r));
const portA: fc.Arbitrary<PortDesc> = fc.record({
  portNo: u32,
  hwAddr: macA,
  name: name(16),
  config: u32,
  state: u32,
  curr: u32,
  advertised: u32,
  supported: u32,
  peer: u32,
  currSpeed: u32,
  maxSpeed: u32,
});
const flowStatsA = fc.record({
  tableId: u8,
  durationSec: u32,
  durationNsec: u32,
  priority: u16,
  idleTimeout: u16,
  hardTimeout: u16,
  flags: flowFlags,
  cookie: u64,
  packetCount: u64,
  byteCount: u64,
  match: anyMatch,
  instructions: fc.array(instruction, { maxLength: 3 }),
});
const statsReq = (kind: 'flow' | 'aggregate') =>
  fc.record({ kind: fc.constant(kind), tableId: u8, outPort: u32, outGroup: u32, cookie: u64, cookieMask: u64, match: anyMatch });
const role = fc.constantFrom('nochange', 'equal', 'master', 'slave' as const);
const bflags = fc.record({ atomic: fc.constant(true), ordered: fc.constant(true) }, { requiredKeys: [] });

/** A random valid message of every type the union has. */
const message: fc.Arbitrary<OfpMessage> = fc.oneof(
  fc.record({
    type: fc.constant('hello' as const),
    xid: u32,
    versions: fc.uniqueArray(fc.integer({ min: 1, max: 6 }), { minLength: 1 }).map((v) => v.sort((a, b) => a - b)),
  }),
  fc.record({
    type: fc.constant('error' as const),
    xid: u32,
    errType: fc.integer({ min: 0, max: 13 }),
    code: fc.integer({ min: 0, max: 5 }),
    data: bytes(64),
  }),
  fc.record({ type: fc.constant('echo_request' as const), xid: u32, data: bytes(32) }),
  fc.record({ type: fc.constant('echo_reply' as const), xid: u32, data: bytes(32) }),
  fc.record({
    type: fc.constant('experimenter' as const),
    xid: u32,
    experimenter: u32.filter((x) => x !== 0x4f4e4600),
    expType: u32,
    data: bytes(32),
  }),
  fc.record({ type: fc.constant('features_request' as const), xid: u32 }),
  fc.record({
    type: fc.constant('features_reply' as const),
    xid: u32,
    datapathId: u64,
    nBuffers: u32,
    nTables: u8,
    auxiliaryId: u8,
    capabilities: u32,
  }),
  fc.record({ type: fc.constant('get_config_request' as const), xid: u32 }),
  fc.record({ type: fc.constant('get_config_reply' as const), xid: u32, flags: u16, missSendLen: u16 }),
  fc.record({ type: fc.constant('set_config' as const), xid: u32, flags: u16, missSendLen: u16 }),
  fc.record({
    type: fc.constant('packet_in' as const),
    xid: u32,
    bufferId: u32,
    totalLen: u16,
    reason: u8,
    tableId: u8,
    cookie: u64,
    match: anyMatch,
    data: bytes(100),
  }),
  fc.record({
    type: fc.constant('flow_removed' as const),
    xid: u32,
    cookie: u64,
    priority: u16,
    reason: u8,
    tableId: u8,
    durationSec: u32,
    durationNsec: u32,
    idleTimeout: u16,
    hardTimeout: u16,
    packetCount: u64,
    byteCount: u64,
    match: anyMatch,
  }),
  fc.record({
    type: fc.constant('port_status' as const),
    xid: u32,
    reason: fc.constantFrom('add', 'delete', 'modify' as const),
    desc: portA,
  }),
  fc.record({ type: fc.constant('packet_out' as const), xid: u32, bufferId: u32, inPort: u32, actions, data: bytes(100) }),
  flowModA,
  fc.record({
    type: fc.constant('group_mod' as const),
    xid: u32,
    command: fc.constantFrom('add', 'modify', 'delete' as const),
    groupType: fc.constantFrom('all', 'select', 'indirect', 'ff' as const),
    groupId: u32,
    buckets: fc.array(fc.record({ weight: u16, watchPort: u32, watchGroup: u32, actions }), { maxLength: 3 }),
  }),
  fc.record({
    type: fc.constant('meter_mod' as const),
    xid: u32,
    command: fc.constantFrom('add', 'modify', 'delete' as const),
    meterId: u32,
    flags: fc.record(
      { kbps: fc.constant(true), pktps: fc.constant(true), burst: fc.constant(true), stats: fc.constant(true) },
      { requiredKeys: [] },
    ),
    bands: fc.array(
      fc.oneof(
        fc.record({ type: fc.constant('drop' as const), rate: u32, burstSize: u32 }),
        fc.record({ type: fc.constant('dscp_remark' as const), rate: u32, burstSize: u32, precLevel: u8 }),
      ),
      { maxLength: 3 },
    ),
  }),
  fc.record({
    type: fc.constant('multipart_request' as const),
    xid: u32,
    flags: fc.constantFrom(0, 1),
    body: fc.oneof(
      fc.constant({ kind: 'desc' as const }),
      statsReq('flow'),
      statsReq('aggregate'),
      fc.constant({ kind: 'table' as const }),
      fc.record({ kind: fc.constant('port_stats' as const), portNo: u32 }),
      fc.constant({ kind: 'port_desc' as const }),
      fc.constant({ kind: 'table_features' as const }),
    ),
  }),
  fc.record({
    type: fc.constant('multipart_reply' as const),
    xid: u32,
    flags: fc.constantFrom(0, 1),
    body: fc.oneof(
      fc.record({
        kind: fc.constant('desc' as const),
        mfrDesc: name(256),
        hwDesc: name(256),
        swDesc: name(256),
        serialNum: name(32),
        dpDesc: name(256),
      }),
      fc.record({ kind: fc.constant('flow' as const), flows: fc.array(flowStatsA, { maxLength: 3 }) }),
      fc.record({ kind: fc.constant('aggregate' as const), packetCount: u64, byteCount: u64, flowCount: u32 }),
      fc.record({
        kind: fc.constant('table' as const),
        tables: fc.array(fc.record({ tableId: u8, activeCount: u32, lookupCount: u64, matchedCount: u64 }), { maxLength: 4 }),
      }),
      fc.record({
        kind: fc.constant('port_stats' as const),
        ports: fc.array(
          fc.record({
            portNo: u32,
            rxPackets: u64,
            txPackets: u64,
            rxBytes: u64,
            txBytes: u64,
            rxDropped: u64,
            txDropped: u64,
            rxErrors: u64,
            txErrors: u64,
            rxFrameErr: u64,
            rxOverErr: u64,
            rxCrcErr: u64,
            collisions: u64,
            durationSec: u32,
            durationNsec: u32,
          }),
          { maxLength: 3 },
        ),
      }),
      fc.record({ kind: fc.constant('port_desc' as const), ports: fc.array(portA, { maxLength: 3 }) }),
      fc.record({
        kind: fc.constant('table_features' as const),
        tables: fc.array(
          fc.record(
            {
              tableId: u8,
              name: name(32),
              metadataMatch: u64,
              metadataWrite: u64,
              config: u32,
              maxEntries: u32,
              matchFields: fc.uniqueArray(fc.constantFrom(...OXM_FIELDS.map((d) => d.name)), { maxLength: 12 }),
            },
            { requiredKeys: ['tableId', 'name', 'metadataMatch', 'metadataWrite', 'config', 'maxEntries'] },
          ),
          { maxLength: 4 },
        ),
      }),
    ),
  }),
  fc.record({ type: fc.constant('barrier_request' as const), xid: u32 }),
  fc.record({ type: fc.constant('barrier_reply' as const), xid: u32 }),
  fc.record({ type: fc.constant('role_request' as const), xid: u32, role, generationId: u64 }),
  fc.record({ type: fc.constant('role_reply' as const), xid: u32, role, generationId: u64 }),
  fc.record({
    type: fc.constant('bundle_control' as const),
    xid: u32,
    bundleId: u32,
    flags: bflags,
    ctrlType: fc.constantFrom(
      'open_request',
      'open_reply',
      'close_request',
      'close_reply',
      'commit_request',
      'commit_reply',
      'discard_request',
      'discard_reply' as const,
    ),
  }),
  fc
    .record({ xid: u32, bundleId: u32, flags: bflags, fm: flowModA })
    .map(({ xid, bundleId, flags, fm }) => ({ type: 'bundle_add' as const, xid, bundleId, flags, message: { ...fm, xid } })),
);

/** What decode adds that an encoder input need not carry (error names). */
function comparable(m: OfpMessage): OfpMessage {
  if (m.type !== 'error') return m;
  const { errTypeName: _t, codeName: _c, ...rest } = m;
  return rest;
}

describe('properties over every message type', () => {
  it('decode(encode(m)) equals m, the length field equals the byte count, and flow mods encode the same alone or in bulk', () => {
    fc.assert(
      fc.property(message, (m) => {
        const b = encode(m);
        expect(b.readUInt16BE(2)).toBe(b.length);
        expect(b[0]).toBe(4);
        const r = decode(b);
        if (!r.ok) throw new Error(`${m.type}: ${r.error.message}`);
        expect(comparable(r.message)).toEqual(m);
        if (m.type === 'flow_mod') expect(encodeMany([m, m]).equals(Buffer.concat([b, b]))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('every OXM field round-trips inside a match and as set_field, with and without mask', () => {
    for (const def of OXM_FIELDS) {
      fc.assert(
        fc.property(entryOf(def), (e) => {
          const m: OxmEntry[] = [];
          withPrereqs(m, e);
          expect(m[m.length - 1]).toEqual(e); // prerequisites are satisfiable for every field
          const set: Instruction[] = def.settable
            ? [{ type: 'apply_actions', actions: [{ type: 'set_field', field: e.field, value: e.value }] }]
            : [];
          const fm = flowMod({ match: m, instructions: set });
          const r = decode(encode(fm));
          expect(r.ok && r.message.type === 'flow_mod' && [r.message.match, r.message.instructions]).toEqual([m, set]);
        }),
        { numRuns: 60 },
      );
    }
  });

  it('a random stream of messages, cut at random places, frames back into the same messages', () => {
    fc.assert(
      fc.property(
        fc.array(message, { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 20 }),
        (msgs, cuts) => {
          const stream = encodeMany(msgs);
          const f = new Framer();
          const frames: Buffer[] = [];
          for (let i = 0, k = 0; i < stream.length; k++) {
            const n = cuts[k % cuts.length];
            frames.push(...f.push(stream.subarray(i, i + n)));
            i += n;
          }
          expect(f.error).toBeUndefined();
          expect(frames.map((x) => comparable((decode(x) as { ok: true; message: OfpMessage }).message))).toEqual(msgs);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('hostile input', () => {
  it('garbage never makes the framer throw; every frame agrees with its length field; buffering stays under one message', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 30 }), (chunks) => {
        const f = new Framer();
        for (const c of chunks) {
          let out: Buffer[] = [];
          expect(() => {
            out = f.push(Buffer.from(c));
          }).not.toThrow();
          for (const fr of out) {
            expect(fr.readUInt16BE(2)).toBe(fr.length);
            expect(fr.length).toBeGreaterThanOrEqual(8);
            const r = decode(fr);
            if (!r.ok) expect(['truncated', 'bad_length', 'bad_version', 'unknown_type', 'bad_field', 'bad_value']).toContain(r.error.code);
          }
          expect(f.buffered).toBeLessThan(65536);
          if (f.error) expect(f.push(Buffer.from([4, 0, 0, 8, 0, 0, 0, 1]))).toEqual([]);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('a length field larger than the bytes present is a truncation error, not an allocation', () => {
    for (const type of [0, 1, 2, 6, 10, 12, 14, 19]) {
      const b = Buffer.from([4, type, 0xff, 0xff, 0, 0, 0, 1]);
      const r = decode(b);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.code).toBe('truncated');
    }
    // inner lengths that lie: a match claiming 0xfff0 bytes, an action claiming 0xfff8, a flow-stats entry of 0xffff
    const fm = encode(flowMod({ instructions: [{ type: 'apply_actions', actions: [{ type: 'output', port: 1 }] }] }));
    const badMatch = Buffer.from(fm);
    badMatch.writeUInt16BE(0xfff0, 48 + 2);
    const badAction = Buffer.from(fm);
    badAction.writeUInt16BE(0xfff8, 56 + 8 + 2);
    for (const b of [badMatch, badAction]) {
      const r = decode(b);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(['truncated', 'bad_length']).toContain(r.error.code);
    }
  });

  it('random mutations of valid messages of every type never throw and never take long', () => {
    fc.assert(
      fc.property(message, fc.array(fc.tuple(fc.nat(), u8), { minLength: 1, maxLength: 6 }), (m, edits) => {
        const b = Buffer.from(encode(m));
        for (const [pos, v] of edits) b[pos % b.length] = v;
        // CPU time of this process, not wall time: other processes on a loaded machine do not count
        const c0 = process.cpuUsage();
        const r = decode(b);
        const cpu = process.cpuUsage(c0);
        expect((cpu.user + cpu.system) / 1000).toBeLessThan(200);
        if (!r.ok) expect(typeof r.error.message).toBe('string');
      }),
      { numRuns: 2000 },
    );
  });
});
