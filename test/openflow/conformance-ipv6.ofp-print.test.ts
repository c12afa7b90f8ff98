/**
 * IPv6 conformance against Open vSwitch: flow mods with the IPv6 OXM fields the compiler uses (IPV6_SRC/DST with
 * masks, ICMPV6_TYPE/CODE, IPV6_ND_TARGET, eth_type 0x86dd, ip_proto 58) are printed by `ovs-ofctl ofp-print HEX`
 * (Debian openvswitch-common) and their printed fields checked; every flow of a compiled dual-stack plan (all three
 * profiles) is printed without complaint and names the same IPv6 values; and every message round-trips through
 * our decoder.
 */
import { expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { decode, encode, flowMod, match, type OfpMessage } from '../../openflow/index.js';
import { addFlowMod } from '../../openflow/index.js';
import { describeWith } from '../helpers/needs.js';
import { build } from '../compiler/ipv6-fixture.js';

const haveOfctl = spawnSync('which', ['ovs-ofctl']).status === 0;
const ofpPrint = (hex: string) => execFileSync('ovs-ofctl', ['ofp-print', hex], { encoding: 'utf8' });

const E6 = { field: 'eth_type', value: 0x86dd } as const;
const cases: Array<[OfpMessage, RegExp[]]> = [
  [
    flowMod({
      xid: 0x60,
      tableId: 1,
      priority: 164,
      match: match(E6, { field: 'ipv6_dst', value: '2001:db8:2::', mask: 'ffff:ffff:ffff:ffff::' }),
      instructions: [
        { type: 'write_metadata', metadata: 0x20000n, mask: 0xffffffff0000n },
        { type: 'goto_table', tableId: 2 },
      ],
    }),
    [/ADD table:1 priority=164,ipv6,ipv6_dst=2001:db8:2::\/64 actions=write_metadata:0x20000\/0xffffffff0000,goto_table:2/],
  ],
  [
    flowMod({
      xid: 0x61,
      tableId: 0,
      priority: 110,
      match: match(
        { field: 'in_port', value: 1 },
        { field: 'eth_src', value: '02:00:00:00:06:01' },
        E6,
        { field: 'ipv6_src', value: '::' },
        { field: 'ip_proto', value: 58 },
        { field: 'icmpv6_type', value: 135 },
        { field: 'ipv6_nd_target', value: '2001:db8:1::a' },
      ),
      instructions: [{ type: 'goto_table', tableId: 3 }],
    }),
    [/ADD priority=110,icmp6,in_port=1,dl_src=02:00:00:00:06:01,ipv6_src=::,icmp_type=135,nd_target=2001:db8:1::a actions=goto_table:3/],
  ],
  [
    flowMod({
      xid: 0x62,
      tableId: 0,
      priority: 110,
      match: match(
        E6,
        { field: 'ip_proto', value: 58 },
        { field: 'icmpv6_type', value: 136 },
        { field: 'icmpv6_code', value: 0 },
        { field: 'ipv6_nd_target', value: 'fe80::ff:fe00:601' },
      ),
      instructions: [{ type: 'goto_table', tableId: 3 }],
    }),
    [/ADD priority=110,icmp6,icmp_type=136,icmp_code=0,nd_target=fe80::ff:fe00:601 actions=goto_table:3/],
  ],
  [
    flowMod({
      xid: 0x63,
      tableId: 2,
      priority: 200,
      match: match(
        { field: 'metadata', value: 0x200000000n, mask: 0xffff00000000n },
        E6,
        { field: 'ipv6_src', value: '2001:db8:2::', mask: 'ffff:ffff:ffff:fff0::' },
        { field: 'ip_proto', value: 6 },
        { field: 'tcp_src', value: 443 },
      ),
      instructions: [{ type: 'goto_table', tableId: 3 }],
    }),
    [/ADD table:2 priority=200,tcp6,metadata=0x200000000\/0xffff00000000,ipv6_src=2001:db8:2::\/60,tp_src=443 actions=goto_table:3/],
  ],
  [
    flowMod({
      xid: 0x64,
      tableId: 0,
      priority: 165,
      match: match(E6, { field: 'ip_proto', value: 58 }, { field: 'icmpv6_type', value: 134 }),
      instructions: [],
    }),
    [/ADD priority=165,icmp6,icmp_type=134 actions=drop/],
  ],
  [
    flowMod({
      xid: 0x65,
      tableId: 0,
      priority: 170,
      match: match(
        { field: 'in_port', value: 6 },
        E6,
        { field: 'ip_proto', value: 17 },
        { field: 'udp_src', value: 547 },
        { field: 'udp_dst', value: 546 },
      ),
      instructions: [{ type: 'goto_table', tableId: 3 }],
    }),
    [/ADD priority=170,udp6,in_port=6,tp_src=547,tp_dst=546 actions=goto_table:3/],
  ],
];

describeWith({ 'ovs-ofctl': haveOfctl }, 'ovs-ofctl ofp-print reads our IPv6 matches', () => {
  for (const [m, patterns] of cases) {
    it(`flow_mod xid 0x${m.xid.toString(16)}`, () => {
      const bytes = encode(m);
      const out = ofpPrint(bytes.toString('hex'));
      expect(out).not.toMatch(/\*\*\*|decode error|truncated/i);
      for (const p of patterns) expect(out).toMatch(p);
      // our decoder reads back what we wrote
      const back = decode(bytes);
      expect(back.ok && back.message.type === 'flow_mod' && back.message.match).toEqual((m as { match: unknown }).match);
    });
  }
  it('every flow of a compiled dual-stack plan, in every profile, prints cleanly with its IPv6 values', () => {
    let v6flows = 0;
    for (const profile of ['ovs', 'ovs-stateless', 'openflow13']) {
      const c = build(profile);
      const flows = c.plan.switches.flatMap((s) => s.flows);
      // one ofp-print per flow is slow: print them all at once (ofp-print takes one message; concatenate hex per call in batches)
      for (const f of flows) {
        if (!f.match.some((e) => e.field === 'eth_type' && e.value === 0x86dd)) continue;
        v6flows++;
        const out = ofpPrint(encode(addFlowMod(f)).toString('hex'));
        expect(out, f.origin).not.toMatch(/\*\*\*|decode error|truncated/i);
        for (const e of f.match) {
          if (e.field === 'ipv6_src' || e.field === 'ipv6_dst' || e.field === 'ipv6_nd_target') {
            const name = e.field === 'ipv6_nd_target' ? 'nd_target' : e.field;
            const len = e.mask === undefined ? 128 : (e.mask as string).split(':').filter(Boolean).length * 16;
            expect(out, f.origin).toContain(`${name}=${e.value}${len === 128 ? '' : `/${len}`}`);
          }
          if (e.field === 'icmpv6_type') expect(out).toContain(`icmp_type=${e.value}`);
        }
        expect(out).toMatch(/ipv6|icmp6|tcp6|udp6/);
      }
    }
    expect(v6flows).toBeGreaterThan(150);
  }, 300_000);
});
