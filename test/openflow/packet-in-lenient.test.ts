import { describe, expect, it } from 'vitest';
import { decode, encode } from '../../openflow/index.js';

/** A PACKET_IN whose match carries a field we do not model (Open vSwitch's conntrack original tuple after ct()). */
function packetInWithUnknownField(badLength = false): Buffer {
  const base = encode({
    type: 'packet_in',
    xid: 7,
    bufferId: 0xffffffff,
    totalLen: 14,
    reason: 0,
    tableId: 2,
    cookie: 0x5ac1n << 48n,
    match: [{ field: 'in_port', value: 2 }],
    data: Buffer.alloc(14, 1),
  });
  // match starts at 24: type(2) len(2) in_port TLV (8) + 4 pad; rebuild it with an extra NXM_1 TLV (field 120, 4 bytes)
  const extra = Buffer.from([0x00, 0x01, 120 << 1, badLength ? 3 : 4, 10, 0, 1, 2]);
  const inPort = base.subarray(28, 36);
  const matchLen = 4 + inPort.length + extra.length;
  const padded = (matchLen + 7) & ~7;
  const match = Buffer.alloc(padded);
  match.writeUInt16BE(1, 0);
  match.writeUInt16BE(matchLen, 2);
  inPort.copy(match, 4);
  extra.copy(match, 4 + inPort.length);
  const oldPadded = (base.readUInt16BE(26) + 7) & ~7;
  const rest = base.subarray(24 + oldPadded);
  const out = Buffer.concat([base.subarray(0, 24), match, rest]);
  out.writeUInt16BE(out.length, 2);
  return out;
}

describe('PACKET_IN with match fields we do not model', () => {
  it('decodes, keeping the fields we know (in_port) and the packet', () => {
    const r = decode(packetInWithUnknownField());
    expect(r.ok).toBe(true);
    if (!r.ok || r.message.type !== 'packet_in') return;
    expect(r.message.match).toEqual([{ field: 'in_port', value: 2 }]);
    expect(r.message.tableId).toBe(2);
    expect(r.message.data).toEqual(Buffer.alloc(14, 1));
  });
  it('still refuses a field with a lying length', () => {
    expect(decode(packetInWithUnknownField(true)).ok).toBe(false);
  });
});
