/**
 * Hostile input for what #15 added: TABLE_FEATURES and DESC replies from a switch (absurd sizes, lying lengths,
 * garbage), Nicira ct actions a peer may send back in flow stats, and the topology keys profile / tables /
 * conntrack_zone. Decoders return typed errors only; an absurd claim never widens a budget; bad YAML is an error
 * with a location, never a default.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decode, encode } from '../../openflow/index.js';
import { effectiveBudget, checkSwitchBudget, MAX_PLAUSIBLE } from '../../compiler/budget.js';
import { parseTopologyText } from '../../compiler/inputs.js';
import { profileFromDesc } from '../../compiler/profile.js';

const CODES = ['truncated', 'bad_length', 'bad_version', 'unknown_type', 'bad_field', 'bad_value'];

/** A multipart TABLE_FEATURES reply around `body`. */
function tfReply(body: Buffer): Buffer {
  const h = Buffer.alloc(16);
  h.writeUInt8(4, 0);
  h.writeUInt8(19, 1);
  h.writeUInt16BE(16 + body.length, 2);
  h.writeUInt32BE(7, 4);
  h.writeUInt16BE(12, 8);
  return Buffer.concat([h, body]);
}
function tableFeature(tableId: number, maxEntries: number, props = Buffer.alloc(0), len?: number): Buffer {
  const b = Buffer.alloc(64);
  b.writeUInt16BE(len ?? 64 + props.length, 0);
  b.writeUInt8(tableId, 2);
  b.write('t', 8);
  b.writeUInt32BE(maxEntries >>> 0, 60);
  return Buffer.concat([b, props]);
}

describe('TABLE_FEATURES from a switch', () => {
  it('absurd max_entries are decoded as sent but never widen a budget; 0 entries refuses everything', () => {
    const r = decode(tfReply(Buffer.concat([tableFeature(0, 0xffffffff), tableFeature(2, 0)])));
    expect(
      r.ok &&
        r.message.type === 'multipart_reply' &&
        r.message.body.kind === 'table_features' &&
        r.message.body.tables.map((t) => t.maxEntries),
    ).toEqual([0xffffffff, 0]);
    const reported = { 0: 0xffffffff, 2: 0 };
    expect(effectiveBudget(undefined, reported)).toEqual({ 2: 0 }); // the 4-billion claim is ignored
    expect(effectiveBudget({ 0: 500 }, reported)).toEqual({ 0: 500, 2: 0 }); // the topology's budget stands
    expect(effectiveBudget({ 0: 500 }, { 0: MAX_PLAUSIBLE + 1 })).toEqual({ 0: 500 });
    expect(effectiveBudget({ 0: 500 }, { 0: 100 })).toEqual({ 0: 100 }); // the smaller wins
    const plan = {
      name: 'x',
      dpid: 1n,
      kind: 'edge' as const,
      flows: [{ tableId: 2, priority: 0, cookie: 1n, match: [], instructions: [], origin: 'default-deny' }],
    };
    expect(checkSwitchBudget(plan, effectiveBudget(undefined, reported)).ok).toBe(false);
  });

  it('lying lengths and truncated properties are typed errors', () => {
    for (const b of [
      tfReply(tableFeature(0, 10, Buffer.alloc(0), 40)), // shorter than the fixed part
      tfReply(tableFeature(0, 10, Buffer.alloc(0), 4000)), // longer than the message
      tfReply(tableFeature(0, 10, Buffer.from([0, 8, 0, 2, 0, 0, 0, 0]))), // property length 2 < 4
      tfReply(tableFeature(0, 10, Buffer.from([0, 8, 0x7f, 0xff, 0, 0, 0, 0]))), // property longer than the table
      tfReply(Buffer.alloc(10)), // a fragment
    ]) {
      const r = decode(b);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(CODES).toContain(r.error.code);
    }
  });

  it('random bodies never throw and never yield a table without a number', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (body) => {
        const r = decode(tfReply(Buffer.from(body)));
        if (!r.ok) {
          expect(CODES).toContain(r.error.code);
          return;
        }
        if (r.message.type === 'multipart_reply' && r.message.body.kind === 'table_features') {
          for (const t of r.message.body.tables) {
            expect(Number.isInteger(t.maxEntries)).toBe(true);
            expect(t.tableId).toBeLessThan(256);
          }
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('a DESC of anything but Open vSwitch gets the standard profile (no NXM, no conntrack)', () => {
    expect(profileFromDesc({ mfrDesc: 'Nicira, Inc.', hwDesc: 'Open vSwitch' })).toBe('ovs');
    expect(profileFromDesc({ mfrDesc: 'Hewlett Packard', hwDesc: 'Aruba 2930F' })).toBe('openflow13');
    expect(profileFromDesc({ mfrDesc: '', hwDesc: '' })).toBe('openflow13');
    expect(profileFromDesc({ mfrDesc: '\u0000'.repeat(255), hwDesc: 'x'.repeat(255) })).toBe('openflow13');
  });
});

describe('ct actions in flows a switch sends back', () => {
  const ctAction = (fields: {
    flags?: number;
    zoneSrc?: number;
    zone?: number;
    table?: number;
    alg?: number;
    len?: number;
    extra?: Buffer;
  }) => {
    const extra = fields.extra ?? Buffer.alloc(0);
    const a = Buffer.alloc(24);
    a.writeUInt16BE(0xffff, 0);
    a.writeUInt16BE(fields.len ?? 24 + extra.length, 2);
    a.writeUInt32BE(0x2320, 4);
    a.writeUInt16BE(35, 8);
    a.writeUInt16BE(fields.flags ?? 1, 10);
    a.writeUInt32BE(fields.zoneSrc ?? 0, 12);
    a.writeUInt16BE(fields.zone ?? 5, 16);
    a.writeUInt8(fields.table ?? 0xff, 18);
    a.writeUInt16BE(fields.alg ?? 0, 22);
    return Buffer.concat([a, extra]);
  };
  /** A packet_out carrying the action (the smallest message with an action list). */
  const packetOut = (action: Buffer) => {
    const h = Buffer.alloc(24);
    h.writeUInt8(4, 0);
    h.writeUInt8(13, 1);
    h.writeUInt16BE(24 + action.length, 2);
    h.writeUInt32BE(0xffffffff, 8);
    h.writeUInt32BE(0xfffffffd, 12);
    h.writeUInt16BE(action.length, 16);
    return Buffer.concat([h, action]);
  };

  it('the modelled form round-trips; unmodelled forms (zone from a field, ALG, force) are unknown_type, not a wrong action', () => {
    const ok = decode(packetOut(ctAction({})));
    expect(ok.ok && ok.message.type === 'packet_out' && ok.message.actions).toEqual([{ type: 'ct', commit: true, zone: 5 }]);
    if (ok.ok) expect(encode(ok.message).equals(packetOut(ctAction({})))).toBe(true);
    for (const bad of [ctAction({ zoneSrc: 0x00010004 }), ctAction({ alg: 21 }), ctAction({ flags: 3 })]) {
      const r = decode(packetOut(bad));
      expect(r.ok ? 'decoded' : r.error.code).toBe('unknown_type');
    }
    for (const bad of [ctAction({ len: 16 }), ctAction({ len: 20 }), ctAction({ len: 200 })]) {
      const r = decode(packetOut(bad));
      expect(r.ok).toBe(false);
      if (!r.ok) expect(CODES).toContain(r.error.code);
    }
  });

  it('encode refuses out-of-range zones and tables instead of wrapping them', () => {
    const po = (zone: number, table?: number) => () =>
      encode({
        type: 'packet_out',
        xid: 1,
        bufferId: 0xffffffff,
        inPort: 0xfffffffd,
        actions: [{ type: 'ct', zone, ...(table !== undefined ? { table } : {}) }],
        data: Buffer.alloc(0),
      });
    expect(po(65536)).toThrow(RangeError);
    expect(po(-1)).toThrow(RangeError);
    expect(po(1, 255)).toThrow(RangeError);
    expect(po(1, 256)).toThrow(RangeError);
    expect(po(65535, 254)).not.toThrow();
  });
});

describe('topology keys profile, tables, conntrack_zone', () => {
  const topo = (sw: string) => parseTopologyText(`switches:\n  - { name: s1, dpid: 1, ${sw} }\n`, 't.yaml');
  it('accepts the documented forms', () => {
    const r = topo('profile: openflow13, tables: { 0: 2000, 2: 4000 }, conntrack_zone: 7');
    expect(r.ok && r.value.switches[0]).toMatchObject({ profile: 'openflow13', tables: { 0: 2000, 2: 4000 }, ctZone: 7 });
  });
  it.each([
    ['profile: cisco', /profile must be one of ovs, ovs-stateless, openflow13/],
    ['profile: [ovs]', /profile must be one of/],
    ['tables: { 0: -1 }', /budget must be a whole number/],
    ['tables: { 0: 1.5 }', /budget must be a whole number/],
    ['tables: { 0: 99999999999 }', /budget must be a whole number/],
    ['tables: { 0: "2000" }', /budget must be a whole number/],
    ['tables: { 255: 10 }', /not a table number/],
    ['tables: { "-1": 10 }', /not a table number/],
    ['tables: { __proto__: 10 }', /not a table number/],
    ['tables: { x: 10 }', /not a table number/],
    ['tables: [1, 2]', /tables is a map/],
    ['tables: 5', /tables is a map/],
    ['conntrack_zone: 0', /conntrack_zone must be a whole number in 1..65535/],
    ['conntrack_zone: 65536', /conntrack_zone must be/],
    ['conntrack_zone: "7"', /conntrack_zone must be/],
  ])('%s is an error with a location', (text, msg) => {
    const r = topo(text);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      const d = r.diagnostics.find((x) => x.severity === 'error')!;
      expect(d.message).toMatch(msg);
      expect(d.location?.line).toBe(2);
    }
  });
});
