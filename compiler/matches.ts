/**
 * OpenFlow match building blocks of the compiler's tables: ethertypes, ICMPv6/ND types, the matches of one service
 * (forward or reply direction) and of an address prefix. Pure.
 */
import type { Instruction, OxmEntry } from '../openflow/types.js';
import { u32ToIpv4 } from '../openflow/buffer.js';
import { ipv6Text, maskOf6, portBlocks, type Prefix, type Prefix6, type Service } from './addr.js';
import { TABLE } from './pipeline.js';

export const IP: OxmEntry = { field: 'eth_type', value: 0x0800 };
export const ARP: OxmEntry = { field: 'eth_type', value: 0x0806 };
export const IPV6: OxmEntry = { field: 'eth_type', value: 0x86dd };
export const ICMP6: OxmEntry = { field: 'ip_proto', value: 58 };
export const UDP: OxmEntry = { field: 'ip_proto', value: 17 };
export const icmp6Type = (t: number): OxmEntry => ({ field: 'icmpv6_type', value: t });
/** ICMPv6 types: router solicitation/advertisement, neighbor solicitation/advertisement, redirect. */
export const ND = { rs: 133, ra: 134, ns: 135, na: 136, redirect: 137 } as const;
export const UNSPECIFIED6 = '::';
/** TCP flags with ACK set (mask: ACK only): every segment of an answer, never a connection being opened. */
const TCP_ACK: OxmEntry = { field: 'tcp_flags', value: 0x010, mask: 0x010 };
export const GOTO = (t: number): Instruction => ({ type: 'goto_table', tableId: t });
export const TO_FORWARD: Instruction[] = [GOTO(TABLE.forward)];

/**
 * Matches for one service, in the forward (to the service port) or reply (from it) direction; `v6` for IPv6
 * flows (`icmp` is ICMPv4 only, `icmpv6` ICMPv6 only: a service of the other family yields no match).
 */
export function serviceMatches(s: Service, reply: boolean, v6 = false): OxmEntry[][] {
  switch (s.proto) {
    case 'any':
      return [[]];
    case 'icmp':
      if (v6) return [];
      return reply
        ? [
            [
              { field: 'ip_proto', value: 1 },
              { field: 'icmpv4_type', value: 0 },
            ],
          ]
        : [[{ field: 'ip_proto', value: 1 }]];
    case 'icmpv6': {
      if (!v6) return [];
      // a reply is an echo reply, for echo requests (type 128) or every type
      if (reply) return s.icmpType === undefined || s.icmpType === 128 ? [[ICMP6, icmp6Type(129)]] : [];
      return [s.icmpType === undefined ? [ICMP6] : [ICMP6, icmp6Type(s.icmpType)]];
    }
    case 'tcp':
    case 'udp': {
      const proto = s.proto === 'tcp' ? 6 : 17;
      const field = `${s.proto}_${reply ? 'src' : 'dst'}` as const;
      // a TCP reply always carries ACK; a server opening a connection (SYN without ACK) is not a reply
      const ack: OxmEntry[] = reply && proto === 6 ? [TCP_ACK] : [];
      if ((s.from ?? 0) === 0 && (s.to ?? 65535) === 65535) return [[{ field: 'ip_proto', value: proto }, ...ack]];
      return portBlocks(s.from!, s.to!).map((b) => [
        { field: 'ip_proto', value: proto },
        b.mask === undefined ? { field, value: b.value } : { field, value: b.value, mask: b.mask },
        ...ack,
      ]);
    }
  }
}

export const prefixMatch = (field: 'ipv4_src' | 'ipv4_dst', p: Prefix): OxmEntry =>
  p.len === 32
    ? { field, value: u32ToIpv4(p.addr) }
    : { field, value: u32ToIpv4(p.addr), mask: u32ToIpv4((0xffffffff << (32 - p.len)) >>> 0) };

export const prefixMatch6 = (field: 'ipv6_src' | 'ipv6_dst', p: Prefix6): OxmEntry =>
  p.len === 128 ? { field, value: ipv6Text(p.addr) } : { field, value: ipv6Text(p.addr), mask: ipv6Text(maskOf6(p.len)) };
