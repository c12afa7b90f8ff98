/** One flow identity: full masks of every field kind are no mask, order does not matter, instructions in applied order. */
import { describe, expect, it } from 'vitest';
import { flowIdentity, flowKey, instructionsKey, isFullMask, matchText } from '../../openflow/identity.js';

describe('flow identity', () => {
  it('knows a full mask for each kind of field, and only then', () => {
    expect(isFullMask('tcp_dst', 0xffff)).toBe(true);
    expect(isFullMask('tcp_dst', 0xff00)).toBe(false);
    expect(isFullMask('ipv4_src', '255.255.255.255')).toBe(true);
    expect(isFullMask('ipv4_src', '255.255.255.0')).toBe(false);
    expect(isFullMask('eth_dst', 'FF:FF:FF:FF:FF:FF')).toBe(true);
    expect(isFullMask('metadata', 0xffffffffffffffffn)).toBe(true);
    expect(isFullMask('metadata', 0xffffn)).toBe(false);
    expect(isFullMask('ipv6_src', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')).toBe(true);
    expect(isFullMask('ipv6_src', 'ffff:ffff::')).toBe(false);
    expect(isFullMask('tcp_flags', 0xfff)).toBe(true);
    expect(isFullMask('tcp_flags', 0x010)).toBe(false);
  });

  it('keys a flow by table, priority and match as a set; the whole identity adds instructions (in applied order) and cookie', () => {
    const a = {
      tableId: 2,
      priority: 200,
      cookie: 1n,
      match: [
        { field: 'eth_type' as const, value: 0x800 },
        { field: 'ip_proto' as const, value: 6 },
      ],
      instructions: [
        { type: 'goto_table' as const, tableId: 3 },
        { type: 'meter' as const, meterId: 1 },
      ],
    };
    const b = { ...a, match: [...a.match].reverse(), instructions: [...a.instructions].reverse() };
    expect(flowKey(a)).toBe(flowKey(b));
    expect(instructionsKey(a.instructions)).toBe('meter:1;goto:3');
    expect(flowIdentity(a)).toBe(flowIdentity(b));
    expect(flowIdentity({ ...a, cookie: 2n })).not.toBe(flowIdentity(a));
    expect(flowKey({ ...a, priority: 201 })).not.toBe(flowKey(a));
    expect(matchText(a.match)).toBe('eth_type=2048,ip_proto=6');
    expect(matchText([])).toBe('*');
  });
});
