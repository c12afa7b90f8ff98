/**
 * `ovs-appctl ofproto/trace` for IPv6 packets, shared by the trace comparison tests and the Mininet IPv6 test: the
 * flow syntax of an interpreter packet, the conntrack state the interpreter gives it (ofproto/trace does not run the
 * tracker; `--ct-next` tells it), and the cookies hit plus the verdict read back from the trace.
 */
import { execFileSync } from 'node:child_process';
import { Conntrack, type Packet } from '../../compiler/index.js';

/** ofproto/trace flow syntax for a packet. */
export function traceSpec(p: Packet): string {
  const l2 = `in_port=${p.inPort},dl_src=${p.ethSrc},dl_dst=${p.ethDst ?? '02:ff:00:00:00:01'}`;
  const l3 = `ipv6_src=${p.ipSrc},ipv6_dst=${p.ipDst}`;
  if (p.ipProto === 6)
    return `tcp6,${l2},${l3},tcp_src=${p.tpSrc},tcp_dst=${p.tpDst},tcp_flags=0x${(p.tcpFlags ?? 0).toString(16).padStart(3, '0')}`;
  if (p.ipProto === 17) return `udp6,${l2},${l3},udp_src=${p.tpSrc},udp_dst=${p.tpDst}`;
  if (p.ipProto === 58) return `icmp6,${l2},${l3},icmpv6_type=${p.icmpType},icmpv6_code=0${p.ndTarget ? `,nd_target=${p.ndTarget}` : ''}`;
  return `ipv6,${l2},${l3},nw_proto=${p.ipProto}`;
}

/** The conntrack state a packet meeting the switch's tracker for the first time gets, as `--ct-next` flags. */
export function ctNext(p: Packet): string {
  const bits = new Conntrack().state(p, 0);
  return [
    [0x20, 'trk'],
    [0x01, 'new'],
    [0x02, 'est'],
    [0x04, 'rel'],
    [0x08, 'rpl'],
    [0x10, 'inv'],
  ]
    .filter(([b]) => bits & (b as number))
    .map(([, n]) => n)
    .join(',');
}

export interface TraceResult {
  readonly cookies: string[];
  readonly verdict: 'forward' | 'drop' | 'controller';
  /** The trace's "Flow:" line: what Open vSwitch extracted from the packet. */
  readonly flow: string;
  readonly text: string;
}

/** Reads the cookies (hex, table by table) and the verdict from ofproto/trace output. */
export function readTrace(out: string): TraceResult {
  const cookies = [...out.matchAll(/^\s*\d+\.\s.*cookie (0x[0-9a-f]+)\s*$/gm)].map((m) => BigInt(m[1]).toString(16));
  const steps = out.replace(/^(Final flow|Megaflow|Datapath actions):.*$/gm, '');
  const sampledDrop = /^\s+meter:2\s*$/m.test(steps) && !/^\s+NORMAL$/m.test(steps);
  const verdict = sampledDrop ? 'drop' : /^\s+CONTROLLER:/m.test(steps) ? 'controller' : /^\s+NORMAL$/m.test(steps) ? 'forward' : 'drop';
  return { cookies, verdict, flow: (out.match(/^Flow: (.*)$/m) ?? [])[1] ?? '', text: out };
}

/** Traces an interpreter packet, given as flow fields. */
export function ovsTrace(bridge: string, p: Packet): TraceResult {
  return readTrace(execFileSync('ovs-appctl', ['ofproto/trace', bridge, traceSpec(p), '--ct-next', ctNext(p)], { encoding: 'utf8' }));
}

/** Traces a whole frame (hex, from the wire): Open vSwitch extracts the flow from the bytes itself. */
export function ovsTraceFrame(bridge: string, inPort: number, hex: string, ct: string): TraceResult {
  return readTrace(execFileSync('ovs-appctl', ['ofproto/trace', bridge, `in_port=${inPort}`, hex, '--ct-next', ct], { encoding: 'utf8' }));
}
