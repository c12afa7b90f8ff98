/**
 * A strict decoder for the first bytes of an Ethernet frame as a switch sends them to the controller
 * (packet-in data, usually truncated to 128 bytes): Ethernet (+ one or two VLAN tags), ARP, IPv4, IPv6
 * (extension headers walked, at most 8), TCP, UDP, ICMP and ICMPv6.
 *
 * Hostile input: every length is checked against what was captured before it is read; nothing throws; a frame
 * that is structurally wrong is an error value with a code. A frame cut short inside the transport header (the
 * packet-in was truncated) still decodes the network layer and reports `truncated: true`.
 */
import { ipv4At, ipv6At, macAt } from '../openflow/addr-text.js';

export type DecodeErrorCode =
  | 'short-ethernet'
  | 'bad-vlan'
  | 'short-arp'
  | 'bad-arp'
  | 'short-ipv4'
  | 'bad-ipv4-version'
  | 'bad-ipv4-ihl'
  | 'bad-ipv4-length'
  | 'short-ipv6'
  | 'bad-ipv6-version'
  | 'bad-ipv6-extension'
  | 'too-many-extensions';

export interface DecodedFrame {
  readonly ethSrc: string;
  readonly ethDst: string;
  readonly vlan?: number;
  readonly ethType: number;
  readonly l3: 'ipv4' | 'ipv6' | 'arp' | 'other';
  readonly ipSrc?: string;
  readonly ipDst?: string;
  /** IP protocol (IPv4) or final next header (IPv6). */
  readonly proto?: number;
  readonly srcPort?: number;
  readonly dstPort?: number;
  /** TCP flag bits (FIN 0x01, SYN 0x02, RST 0x04, ACK 0x10 …). */
  readonly tcpFlags?: number;
  readonly icmpType?: number;
  readonly icmpCode?: number;
  /** A non-first fragment: no transport header. */
  readonly fragment?: boolean;
  readonly arpOp?: number;
  readonly arpSha?: string;
  readonly arpSpa?: string;
  readonly arpTpa?: string;
  /** The capture ended inside a header that was expected (its fields are absent). */
  readonly truncated?: boolean;
}

export type DecodeResult = { ok: true; frame: DecodedFrame } | { ok: false; code: DecodeErrorCode; message: string };

const err = (code: DecodeErrorCode, message: string): DecodeResult => ({ ok: false, code, message });

const u16 = (b: Uint8Array, o: number) => (b[o] << 8) | b[o + 1];

interface L4 {
  srcPort?: number;
  dstPort?: number;
  tcpFlags?: number;
  icmpType?: number;
  icmpCode?: number;
  truncated?: boolean;
}

function transport(b: Uint8Array, o: number, end: number, proto: number): L4 {
  const left = end - o;
  switch (proto) {
    case 6: // TCP: ports (4), seq, ack, data offset + flags at 12..13
      if (left < 14) return left >= 4 ? { srcPort: u16(b, o), dstPort: u16(b, o + 2), truncated: true } : { truncated: true };
      return { srcPort: u16(b, o), dstPort: u16(b, o + 2), tcpFlags: ((b[o + 12] & 0x01) << 8) | b[o + 13] };
    case 17:
    case 132: // UDP, SCTP: ports first
      if (left < 4) return { truncated: true };
      return { srcPort: u16(b, o), dstPort: u16(b, o + 2) };
    case 1:
    case 58: // ICMP, ICMPv6
      if (left < 2) return { truncated: true };
      return { icmpType: b[o], icmpCode: b[o + 1] };
    default:
      return {};
  }
}

/** Decodes one frame; never throws. */
export function decodeFrame(data: Uint8Array): DecodeResult {
  const n = data.length;
  if (n < 14) return err('short-ethernet', `frame of ${n} bytes is shorter than an Ethernet header`);
  const ethDst = macAt(data, 0);
  const ethSrc = macAt(data, 6);
  let off = 12;
  let ethType = u16(data, off);
  let vlan: number | undefined;
  for (let tags = 0; (ethType === 0x8100 || ethType === 0x88a8) && tags < 2; tags++) {
    if (n < off + 6) return err('bad-vlan', 'VLAN tag cut short');
    if (vlan === undefined) vlan = u16(data, off + 2) & 0x0fff;
    off += 4;
    ethType = u16(data, off);
  }
  if (ethType === 0x8100 || ethType === 0x88a8) return err('bad-vlan', 'more than two VLAN tags');
  off += 2;
  const base = { ethSrc, ethDst, ethType, ...(vlan !== undefined ? { vlan } : {}) };
  if (ethType === 0x0806) {
    if (n < off + 28) return err('short-arp', `ARP body of ${n - off} bytes is shorter than 28`);
    // Ethernet/IPv4 ARP only: htype 1, ptype 0x0800, hlen 6, plen 4
    if (u16(data, off) !== 1 || u16(data, off + 2) !== 0x0800 || data[off + 4] !== 6 || data[off + 5] !== 4)
      return err('bad-arp', 'ARP for something other than Ethernet/IPv4');
    return {
      ok: true,
      frame: {
        ...base,
        l3: 'arp',
        arpOp: u16(data, off + 6),
        arpSha: macAt(data, off + 8),
        arpSpa: ipv4At(data, off + 14),
        arpTpa: ipv4At(data, off + 24),
      },
    };
  }
  if (ethType === 0x0800) {
    if (n < off + 20) return err('short-ipv4', `IPv4 header cut short (${n - off} bytes)`);
    const vihl = data[off];
    if (vihl >> 4 !== 4) return err('bad-ipv4-version', `IPv4 header with version ${vihl >> 4}`);
    const ihl = (vihl & 0x0f) * 4;
    if (ihl < 20) return err('bad-ipv4-ihl', `IPv4 header length ${ihl} < 20`);
    const totalLen = u16(data, off + 2);
    if (totalLen < ihl) return err('bad-ipv4-length', `IPv4 total length ${totalLen} is shorter than its header (${ihl})`);
    const proto = data[off + 9];
    const fragOff = u16(data, off + 6) & 0x1fff;
    const ip = { ...base, l3: 'ipv4' as const, ipSrc: ipv4At(data, off + 12), ipDst: ipv4At(data, off + 16), proto };
    if (n < off + ihl) return { ok: true, frame: { ...ip, truncated: true } };
    if (fragOff !== 0) return { ok: true, frame: { ...ip, fragment: true } };
    // the capture may be truncated (packet-in max_len); the datagram's own end bounds the transport header too
    const end = Math.min(n, off + totalLen);
    return { ok: true, frame: { ...ip, ...transport(data, off + ihl, end, proto) } };
  }
  if (ethType === 0x86dd) {
    if (n < off + 40) return err('short-ipv6', `IPv6 header cut short (${n - off} bytes)`);
    if (data[off] >> 4 !== 6) return err('bad-ipv6-version', `IPv6 header with version ${data[off] >> 4}`);
    const ipSrc = ipv6At(data, off + 8),
      ipDst = ipv6At(data, off + 24);
    const payloadEnd = Math.min(n, off + 40 + u16(data, off + 4));
    let next = data[off + 6];
    let o = off + 40;
    let fragment = false;
    for (let k = 0; ; k++) {
      if (next !== 0 && next !== 43 && next !== 44 && next !== 60) break;
      if (k >= 8) return err('too-many-extensions', 'more than 8 IPv6 extension headers');
      if (o + 8 > n) return { ok: true, frame: { ...base, l3: 'ipv6', ipSrc, ipDst, proto: next, truncated: true } };
      const hdrNext = data[o];
      if (next === 44) {
        if ((u16(data, o + 2) & 0xfff8) !== 0) fragment = true;
        o += 8;
      } else {
        const len = (data[o + 1] + 1) * 8;
        if (o + len > payloadEnd && o + len > n) return err('bad-ipv6-extension', 'IPv6 extension header runs past the packet');
        o += len;
      }
      next = hdrNext;
    }
    const ip = { ...base, l3: 'ipv6' as const, ipSrc, ipDst, proto: next };
    if (fragment) return { ok: true, frame: { ...ip, fragment: true } };
    return { ok: true, frame: { ...ip, ...transport(data, o, Math.min(n, payloadEnd), next) } };
  }
  return { ok: true, frame: { ...base, l3: 'other' } };
}

/** The service a frame is addressed to, in policy notation (tcp/22, udp/53, icmp, ipv6, arp, proto/N). */
export function serviceOf(f: DecodedFrame): string {
  if (f.l3 === 'arp') return 'arp';
  if (f.l3 === 'other') return `ethertype/0x${f.ethType.toString(16).padStart(4, '0')}`;
  switch (f.proto) {
    case 6:
      return f.dstPort !== undefined ? `tcp/${f.dstPort}` : 'tcp';
    case 17:
      return f.dstPort !== undefined ? `udp/${f.dstPort}` : 'udp';
    case 1:
      return 'icmp';
    case 58:
      return 'icmpv6';
    default:
      return `proto/${f.proto}`;
  }
}
