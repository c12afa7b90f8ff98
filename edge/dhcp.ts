/**
 * DHCP (RFC 2131/2132) and ARP frames as the controller sees them in PACKET_INs: strict decoders that never throw
 * on input but return an error value with a code, and small builders (tests, benchmarks, the Mininet checks).
 *
 * Only what snooping needs is decoded: the Ethernet/IPv4/UDP envelope (lengths checked against each other), the
 * BOOTP fixed part and the options field. Anything that does not add up is an error — the snooper drops it
 * (fail closed): it is never forwarded and never changes a binding.
 */
import { ipv4At, macAt } from '../openflow/addr-text.js';

export type DhcpMessageType = 'discover' | 'offer' | 'request' | 'decline' | 'ack' | 'nak' | 'release' | 'inform';
const TYPES: readonly DhcpMessageType[] = ['discover', 'offer', 'request', 'decline', 'ack', 'nak', 'release', 'inform'];
/** The types a client sends (in a BOOTREQUEST); the others are a server's (in a BOOTREPLY). */
export type DhcpClientType = 'discover' | 'request' | 'decline' | 'release' | 'inform';
export type DhcpServerType = Exclude<DhcpMessageType, DhcpClientType>;
export const isClientType = (t: DhcpMessageType): t is DhcpClientType =>
  t === 'discover' || t === 'request' || t === 'decline' || t === 'release' || t === 'inform';

export type DecodeErrorCode =
  | 'truncated'
  | 'not-ipv4'
  | 'bad-ip-header'
  | 'ip-fragment'
  | 'not-udp'
  | 'bad-udp-length'
  | 'not-dhcp-port'
  | 'bad-op'
  | 'bad-htype'
  | 'bad-magic'
  | 'bad-option'
  | 'overload-unsupported'
  | 'missing-message-type'
  | 'bad-message-type'
  | 'op-type-mismatch'
  | 'not-arp'
  | 'bad-arp';

export interface DecodeError {
  readonly ok: false;
  readonly code: DecodeErrorCode;
  readonly message: string;
}
export type Decoded<T> = { readonly ok: true; readonly value: T } | DecodeError;

/** The addresses every decoded frame names: Ethernet (lower-case aa:bb:…), its VLAN tag, and IP (v4 or RFC 5952 v6 text). */
export interface FrameAddresses {
  readonly ethSrc: string;
  readonly ethDst: string;
  readonly vlan?: number;
  readonly ipSrc: string;
  readonly ipDst: string;
}

export interface UdpFrame extends FrameAddresses {
  readonly udpSrc: number;
  readonly udpDst: number;
}

/** A DHCP message: a client's type in a BOOTREQUEST (op 1, client → server), a server's in a BOOTREPLY (op 2). */
export type DhcpFrame = DhcpFields &
  ({ readonly op: 1; readonly type: DhcpClientType } | { readonly op: 2; readonly type: DhcpServerType });

interface DhcpFields extends UdpFrame {
  readonly xid: number;
  readonly ciaddr: string;
  readonly yiaddr: string;
  readonly giaddr: string;
  /** Client hardware address (Ethernet, 6 bytes). */
  readonly chaddr: string;
  /** Option 50. */
  readonly requestedIp?: string;
  /** Option 54. */
  readonly serverId?: string;
  /** Option 51, seconds (0xffffffff = infinite). */
  readonly leaseSeconds?: number;
  /** Option 12, printable ASCII only (else absent). */
  readonly hostname?: string;
}

const err = (code: DecodeErrorCode, message: string): DecodeError => ({ ok: false, code, message });

/** Where the payload after the Ethernet header starts, and its ethertype (one 802.1Q tag allowed). */
function ethernet(b: Buffer): { type: number; off: number; vlan?: number } | DecodeError {
  if (b.length < 14) return err('truncated', `an Ethernet frame needs 14 bytes, got ${b.length}`);
  const type = b.readUInt16BE(12);
  if (type === 0x8100) {
    if (b.length < 18) return err('truncated', 'an 802.1Q tag needs 4 more bytes');
    return { type: b.readUInt16BE(16), off: 18, vlan: b.readUInt16BE(14) & 0x0fff };
  }
  return { type, off: 14 };
}

const BOOTP_FIXED = 236;
const MAGIC = 0x63825363;
/** Largest DHCP message we accept (a full Ethernet frame; RFC 2131 asks for at least 576-byte IP datagrams). */
export const MAX_DHCP = 1500;

interface UdpEnvelope {
  readonly eth: { readonly vlan?: number };
  readonly ip: number;
  readonly udpSrc: number;
  readonly udpDst: number;
  /** First byte of the UDP payload and the byte after it. */
  readonly payload: number;
  readonly end: number;
}

/** The Ethernet/IPv4/UDP envelope of a DHCP frame, every length checked against the others. */
function udpEnvelope(b: Buffer): UdpEnvelope | DecodeError {
  const eth = ethernet(b);
  if ('ok' in eth) return eth;
  if (eth.type !== 0x0800) return err('not-ipv4', `ethertype 0x${eth.type.toString(16).padStart(4, '0')} is not IPv4`);
  const ip = eth.off;
  if (b.length < ip + 20) return err('truncated', 'the IPv4 header is cut short');
  const vihl = b[ip];
  if (vihl >> 4 !== 4) return err('bad-ip-header', `IP version ${vihl >> 4}`);
  const ihl = (vihl & 15) * 4;
  if (ihl < 20) return err('bad-ip-header', `IPv4 header length ${ihl} < 20`);
  const total = b.readUInt16BE(ip + 2);
  if (total < ihl + 8) return err('bad-ip-header', `IPv4 total length ${total} leaves no room for UDP`);
  if (ip + total > b.length) return err('truncated', `IPv4 total length ${total} runs past the frame (${b.length - ip} bytes)`);
  if (total > MAX_DHCP) return err('bad-ip-header', `IPv4 datagram of ${total} bytes is larger than ${MAX_DHCP}`);
  const frag = b.readUInt16BE(ip + 6);
  if (frag & 0x3fff) return err('ip-fragment', 'fragmented DHCP is not accepted');
  if (b[ip + 9] !== 17) return err('not-udp', `IP protocol ${b[ip + 9]} is not UDP`);
  const udp = ip + ihl;
  const udpSrc = b.readUInt16BE(udp),
    udpDst = b.readUInt16BE(udp + 2),
    udpLen = b.readUInt16BE(udp + 4);
  if (udpLen < 8 || udpLen !== total - ihl)
    return err('bad-udp-length', `UDP length ${udpLen} disagrees with the IPv4 length (${total - ihl})`);
  const isPorts = (udpSrc === 68 && udpDst === 67) || (udpSrc === 67 && udpDst === 68) || (udpSrc === 67 && udpDst === 67);
  if (!isPorts) return err('not-dhcp-port', `UDP ${udpSrc} → ${udpDst} is not DHCP`);
  return { eth, ip, udpSrc, udpDst, payload: udp + 8, end: udp + udpLen };
}

interface DhcpOptions {
  type?: DhcpMessageType;
  requestedIp?: string;
  serverId?: string;
  leaseSeconds?: number;
  hostname?: string;
}

/** One option the snooper reads (53, 50, 54, 51, 12; 52 is refused); undefined when it is fine. */
function readOption(b: Buffer, code: number, v: number, len: number, o: DhcpOptions): DecodeError | undefined {
  const fixed = (n: number) => (len === n ? undefined : err('bad-option', `option ${code} must be ${n} bytes, is ${len}`));
  switch (code) {
    case 53: {
      const t = b[v];
      if (len === 1 && (t < 1 || t > 8)) return err('bad-message-type', `DHCP message type ${t}`);
      o.type = TYPES[t - 1];
      return fixed(1);
    }
    case 50:
      o.requestedIp = ipv4At(b, v);
      return fixed(4);
    case 54:
      o.serverId = ipv4At(b, v);
      return fixed(4);
    case 51:
      o.leaseSeconds = len === 4 ? b.readUInt32BE(v) : undefined;
      return fixed(4);
    case 52:
      return err('overload-unsupported', 'option overload (52) is not accepted');
    case 12: {
      const s = b.toString('latin1', v, v + len);
      if (len > 0 && /^[\x21-\x7e]+$/.test(s)) o.hostname = s;
      return undefined;
    }
    default:
      return undefined;
  }
}

/** The options field from `p` to `end`: each length checked, the end marker required, a repeat of a read option refused. */
function readOptions(b: Buffer, p: number, end: number): DhcpOptions | DecodeError {
  const o: DhcpOptions = {};
  const seen = new Set<number>();
  while (p < end) {
    const code = b[p];
    if (code === 0) {
      p++;
      continue;
    }
    if (code === 255) return o;
    if (p + 2 > end) return err('bad-option', `option ${code} has no length byte`);
    const len = b[p + 1];
    const v = p + 2;
    if (v + len > end) return err('bad-option', `option ${code} of length ${len} runs past the message`);
    // RFC 3396 concatenation of repeated options is not used by the options we read: a repeat is refused
    if (seen.has(code) && (code === 53 || code === 50 || code === 54 || code === 51))
      return err('bad-option', `option ${code} appears twice`);
    seen.add(code);
    const e = readOption(b, code, v, len, o);
    if (e) return e;
    p = v + len;
  }
  return err('bad-option', 'the options have no end marker (255)');
}

/** Decodes an Ethernet frame carrying a DHCP message over UDP 67/68. */
export function decodeDhcp(b: Buffer): Decoded<DhcpFrame> {
  const env = udpEnvelope(b);
  if ('ok' in env) return env;
  const { eth, ip, udpSrc, udpDst, payload: d, end } = env;
  if (end - d < BOOTP_FIXED + 4) return err('truncated', `a DHCP message needs ${BOOTP_FIXED + 4} bytes, got ${end - d}`);
  const op = b[d];
  if (op !== 1 && op !== 2) return err('bad-op', `BOOTP op ${op}`);
  if (b[d + 1] !== 1 || b[d + 2] !== 6) return err('bad-htype', `hardware type ${b[d + 1]} / length ${b[d + 2]} is not Ethernet`);
  if (b.readUInt32BE(d + BOOTP_FIXED) !== MAGIC) return err('bad-magic', 'no DHCP magic cookie');
  const o = readOptions(b, d + BOOTP_FIXED + 4, end);
  if ('ok' in o) return o;
  const type = o.type;
  if (!type) return err('missing-message-type', 'no DHCP message type (option 53): plain BOOTP is not accepted');
  const kind =
    op === 1 && isClientType(type) ? { op: 1 as const, type } : op === 2 && !isClientType(type) ? { op: 2 as const, type } : undefined;
  if (!kind) return err('op-type-mismatch', `a ${type} in a BOOT${op === 1 ? 'REQUEST' : 'REPLY'}`);
  return {
    ok: true,
    value: {
      ethDst: macAt(b, 0),
      ethSrc: macAt(b, 6),
      ...(eth.vlan !== undefined ? { vlan: eth.vlan } : {}),
      ipSrc: ipv4At(b, ip + 12),
      ipDst: ipv4At(b, ip + 16),
      udpSrc,
      udpDst,
      ...kind,
      xid: b.readUInt32BE(d + 4),
      ciaddr: ipv4At(b, d + 12),
      yiaddr: ipv4At(b, d + 16),
      giaddr: ipv4At(b, d + 24),
      chaddr: macAt(b, d + 28),
      requestedIp: o.requestedIp,
      serverId: o.serverId,
      leaseSeconds: o.leaseSeconds,
      hostname: o.hostname,
    },
  };
}

export interface ArpFrame {
  readonly ethSrc: string;
  readonly op: 1 | 2;
  readonly sha: string;
  readonly spa: string;
  readonly tha: string;
  readonly tpa: string;
}

/** Decodes an Ethernet/IPv4 ARP frame. */
export function decodeArp(b: Buffer): Decoded<ArpFrame> {
  const eth = ethernet(b);
  if ('ok' in eth) return eth;
  if (eth.type !== 0x0806) return err('not-arp', `ethertype 0x${eth.type.toString(16).padStart(4, '0')} is not ARP`);
  const a = eth.off;
  if (b.length < a + 28) return err('truncated', 'an ARP packet needs 28 bytes');
  if (b.readUInt16BE(a) !== 1 || b.readUInt16BE(a + 2) !== 0x0800 || b[a + 4] !== 6 || b[a + 5] !== 4)
    return err('bad-arp', 'not Ethernet/IPv4 ARP');
  const op = b.readUInt16BE(a + 6);
  if (op !== 1 && op !== 2) return err('bad-arp', `ARP operation ${op}`);
  return {
    ok: true,
    value: { ethSrc: macAt(b, 6), op, sha: macAt(b, a + 8), spa: ipv4At(b, a + 14), tha: macAt(b, a + 18), tpa: ipv4At(b, a + 24) },
  };
}

// ---------- builders ----------

const macBytes = (m: string) => Buffer.from(m.split(':').map((x) => parseInt(x, 16)));
const ipBytes = (s: string) => Buffer.from(s.split('.').map((x) => Number(x)));

function ipChecksum(h: Buffer): number {
  let s = 0;
  for (let i = 0; i < h.length; i += 2) s += h.readUInt16BE(i);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

export interface DhcpBuild {
  readonly type: DhcpMessageType;
  readonly chaddr: string;
  readonly ethSrc?: string;
  readonly ethDst?: string;
  readonly ipSrc?: string;
  readonly ipDst?: string;
  readonly xid?: number;
  readonly ciaddr?: string;
  readonly yiaddr?: string;
  readonly requestedIp?: string;
  readonly serverId?: string;
  readonly leaseSeconds?: number;
}

/** An Ethernet frame with a DHCP message (client messages from 0.0.0.0:68, server messages from ipSrc:67). */
export function buildDhcp(m: DhcpBuild): Buffer {
  const client = isClientType(m.type);
  const opts: number[] = [53, 1, TYPES.indexOf(m.type) + 1];
  if (m.requestedIp) opts.push(50, 4, ...ipBytes(m.requestedIp));
  if (m.serverId) opts.push(54, 4, ...ipBytes(m.serverId));
  if (m.leaseSeconds !== undefined)
    opts.push(51, 4, (m.leaseSeconds >>> 24) & 255, (m.leaseSeconds >>> 16) & 255, (m.leaseSeconds >>> 8) & 255, m.leaseSeconds & 255);
  opts.push(255);
  const bootp = Buffer.alloc(BOOTP_FIXED + 4 + Math.max(opts.length, 64));
  bootp[0] = client ? 1 : 2;
  bootp[1] = 1;
  bootp[2] = 6;
  bootp.writeUInt32BE((m.xid ?? 0x5ac1) >>> 0, 4);
  ipBytes(m.ciaddr ?? '0.0.0.0').copy(bootp, 12);
  ipBytes(m.yiaddr ?? '0.0.0.0').copy(bootp, 16);
  macBytes(m.chaddr).copy(bootp, 28);
  bootp.writeUInt32BE(MAGIC, BOOTP_FIXED);
  Buffer.from(opts).copy(bootp, BOOTP_FIXED + 4);
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(client ? 68 : 67, 0);
  udp.writeUInt16BE(client ? 67 : 68, 2);
  udp.writeUInt16BE(8 + bootp.length, 4);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + udp.length + bootp.length, 2);
  ip[8] = 64;
  ip[9] = 17;
  ipBytes(m.ipSrc ?? (client ? (m.ciaddr ?? '0.0.0.0') : '10.0.0.1')).copy(ip, 12);
  ipBytes(m.ipDst ?? '255.255.255.255').copy(ip, 16);
  ip.writeUInt16BE(ipChecksum(ip), 10);
  const eth = Buffer.alloc(14);
  macBytes(m.ethDst ?? 'ff:ff:ff:ff:ff:ff').copy(eth, 0);
  macBytes(m.ethSrc ?? m.chaddr).copy(eth, 6);
  eth.writeUInt16BE(0x0800, 12);
  return Buffer.concat([eth, ip, udp, bootp]);
}

export function buildArp(a: { op: 1 | 2; sha: string; spa: string; tha?: string; tpa: string; ethSrc?: string; ethDst?: string }): Buffer {
  const b = Buffer.alloc(42);
  macBytes(a.ethDst ?? 'ff:ff:ff:ff:ff:ff').copy(b, 0);
  macBytes(a.ethSrc ?? a.sha).copy(b, 6);
  b.writeUInt16BE(0x0806, 12);
  b.writeUInt16BE(1, 14);
  b.writeUInt16BE(0x0800, 16);
  b[18] = 6;
  b[19] = 4;
  b.writeUInt16BE(a.op, 20);
  macBytes(a.sha).copy(b, 22);
  ipBytes(a.spa).copy(b, 28);
  macBytes(a.tha ?? '00:00:00:00:00:00').copy(b, 32);
  ipBytes(a.tpa).copy(b, 38);
  return b;
}
