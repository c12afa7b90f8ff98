/**
 * DHCPv6 (RFC 8415) as the controller sees it in PACKET_INs: a strict decoder that never throws on input but
 * returns an error value with a code, and a builder (tests, benchmarks).
 *
 * Only what snooping needs is read: the Ethernet/IPv6/UDP envelope (lengths checked against each other, the UDP
 * checksum verified), the message type, the client's DUID and the addresses of its IA_NA options with their
 * lifetimes. Nested option lengths are checked at every level; a message with more than MAX_ADDRESSES addresses,
 * a repeated client identifier or an option that runs past its parent is an error (the snooper drops it).
 */
import { ipv6At, macAt } from '../openflow/addr-text.js';
import { buildIpv6, checksum6, ipv6Addresses, ipv6Bytes, ipv6Envelope } from './nd.js';
import type { UdpFrame } from './dhcp.js';

export type Dhcpv6Type =
  | 'solicit'
  | 'advertise'
  | 'request'
  | 'confirm'
  | 'renew'
  | 'rebind'
  | 'reply'
  | 'release'
  | 'decline'
  | 'reconfigure'
  | 'information-request'
  | 'relay-forward'
  | 'relay-reply';
const TYPES: readonly Dhcpv6Type[] = [
  'solicit',
  'advertise',
  'request',
  'confirm',
  'renew',
  'rebind',
  'reply',
  'release',
  'decline',
  'reconfigure',
  'information-request',
  'relay-forward',
  'relay-reply',
];

export type Dhcpv6ErrorCode =
  | 'truncated'
  | 'not-ipv6'
  | 'bad-ip-header'
  | 'extension-headers'
  | 'not-udp'
  | 'bad-udp-length'
  | 'bad-checksum'
  | 'not-dhcpv6-port'
  | 'bad-message-type'
  | 'relayed'
  | 'bad-option'
  | 'too-many-addresses';

export interface Dhcpv6Error {
  readonly ok: false;
  readonly code: Dhcpv6ErrorCode;
  readonly message: string;
}

export interface Dhcpv6Address {
  readonly ip: string;
  readonly preferred: number;
  /** Seconds; 0 = the address is withdrawn, 0xffffffff = infinite. */
  readonly valid: number;
}

export interface Dhcpv6Frame extends UdpFrame {
  readonly type: Dhcpv6Type;
  readonly xid: number;
  /** The client identifier (option 1) in hex. */
  readonly clientDuid?: string;
  /** The link-layer address inside a DUID-LLT/DUID-LL of hardware type Ethernet. */
  readonly duidMac?: string;
  /** The addresses of every IA_NA (option 3 → IA Address option 5). */
  readonly addresses: readonly Dhcpv6Address[];
  /** A top-level status code (option 13) other than 0 (Success). */
  readonly status?: number;
}

/** Most addresses read from one message (a reply carrying more is refused). */
export const MAX_ADDRESSES = 16;

const err = (code: Dhcpv6ErrorCode, message: string): Dhcpv6Error => ({ ok: false, code, message });

/** The options from `p` to `end` as [code, value start, value end]; undefined when a length does not add up. */
function options(b: Buffer, p: number, end: number): Array<[number, number, number]> | undefined {
  const out: Array<[number, number, number]> = [];
  while (p < end) {
    if (p + 4 > end) return undefined;
    const code = b.readUInt16BE(p),
      len = b.readUInt16BE(p + 2);
    if (p + 4 + len > end) return undefined;
    out.push([code, p + 4, p + 4 + len]);
    p += 4 + len;
    if (out.length > 256) return undefined;
  }
  return out;
}

/** The MAC in a DUID-LLT (type 1) or DUID-LL (type 3) of hardware type 1 (Ethernet). */
function duidMac(b: Buffer, v: number, e: number): string | undefined {
  if (e - v < 4 || b.readUInt16BE(v + 2) !== 1) return undefined;
  const type = b.readUInt16BE(v);
  if (type === 1 && e - v === 14) return macAt(b, v + 8);
  if (type === 3 && e - v === 10) return macAt(b, v + 4);
  return undefined;
}

/** The IA Address options (5) inside one IA_NA (3) value. */
function iaAddresses(b: Buffer, v: number, e: number, out: Dhcpv6Address[]): Dhcpv6Error | undefined {
  if (e - v < 12) return err('bad-option', `an IA_NA of ${e - v} bytes (at least 12)`);
  const inner = options(b, v + 12, e);
  if (!inner) return err('bad-option', 'an option inside an IA_NA runs past it');
  for (const [code, s, x] of inner) {
    if (code !== 5) continue;
    if (x - s < 24) return err('bad-option', `an IA Address of ${x - s} bytes (at least 24)`);
    if (!options(b, s + 24, x)) return err('bad-option', 'an option inside an IA Address runs past it');
    if (out.length >= MAX_ADDRESSES) return err('too-many-addresses', `more than ${MAX_ADDRESSES} addresses in one message`);
    out.push({ ip: ipv6At(b, s), preferred: b.readUInt32BE(s + 16), valid: b.readUInt32BE(s + 20) });
  }
  return undefined;
}

/** Decodes an Ethernet frame carrying a DHCPv6 message over UDP 546/547. */
export function decodeDhcpv6(b: Buffer): { readonly ok: true; readonly value: Dhcpv6Frame } | Dhcpv6Error {
  const env = ipv6Envelope(b);
  if ('ok' in env)
    return env.code === 'not-ipv6' || env.code === 'truncated' || env.code === 'bad-ip-header'
      ? err(env.code, env.message)
      : err('bad-ip-header', env.message);
  if (env.next !== 17)
    return err(
      env.next === 0 || env.next === 43 || env.next === 44 || env.next === 60 ? 'extension-headers' : 'not-udp',
      `next header ${env.next} is not UDP`,
    );
  const u = env.payload;
  if (env.end - u < 8) return err('bad-udp-length', 'the UDP header is cut short');
  const udpSrc = b.readUInt16BE(u),
    udpDst = b.readUInt16BE(u + 2),
    udpLen = b.readUInt16BE(u + 4);
  if (udpLen !== env.end - u) return err('bad-udp-length', `UDP length ${udpLen} disagrees with the IPv6 payload length (${env.end - u})`);
  const ports = (udpSrc === 546 && udpDst === 547) || (udpSrc === 547 && udpDst === 546) || (udpSrc === 547 && udpDst === 547);
  if (!ports) return err('not-dhcpv6-port', `UDP ${udpSrc} → ${udpDst} is not DHCPv6`);
  if (checksum6(b, env.ip, u, env.end, 17) !== 0) return err('bad-checksum', 'the UDP checksum is wrong');
  const d = u + 8;
  if (env.end - d < 4) return err('truncated', 'a DHCPv6 message needs 4 bytes');
  const t = b[d];
  if (t < 1 || t > TYPES.length) return err('bad-message-type', `DHCPv6 message type ${t}`);
  const type = TYPES[t - 1];
  if (type === 'relay-forward' || type === 'relay-reply')
    return err('relayed', 'relayed DHCPv6 is not snooped (the server port must face the clients directly)');
  const opts = options(b, d + 4, env.end);
  if (!opts) return err('bad-option', 'an option runs past the message');
  const addresses: Dhcpv6Address[] = [];
  let clientDuid: string | undefined, mac: string | undefined, status: number | undefined;
  for (const [code, v, e] of opts) {
    if (code === 1) {
      if (clientDuid !== undefined) return err('bad-option', 'the client identifier appears twice');
      if (e - v < 2 || e - v > 130) return err('bad-option', `a client DUID of ${e - v} bytes`);
      clientDuid = b.toString('hex', v, e);
      mac = duidMac(b, v, e);
    } else if (code === 3) {
      const bad = iaAddresses(b, v, e, addresses);
      if (bad) return bad;
    } else if (code === 13) {
      if (e - v < 2) return err('bad-option', 'a status code option of less than 2 bytes');
      const s = b.readUInt16BE(v);
      if (s !== 0) status = s;
    }
  }
  return {
    ok: true,
    value: {
      ...ipv6Addresses(b, env),
      udpSrc,
      udpDst,
      type,
      xid: b.readUIntBE(d + 1, 3),
      ...(clientDuid !== undefined ? { clientDuid } : {}),
      ...(mac !== undefined ? { duidMac: mac } : {}),
      addresses,
      ...(status !== undefined ? { status } : {}),
    },
  };
}

// ---------- builder ----------

const opt = (code: number, value: Buffer): Buffer => {
  const h = Buffer.alloc(4);
  h.writeUInt16BE(code, 0);
  h.writeUInt16BE(value.length, 2);
  return Buffer.concat([h, value]);
};

export interface Dhcpv6Build {
  readonly type: Dhcpv6Type;
  readonly ethSrc: string;
  readonly ethDst: string;
  readonly ipSrc: string;
  readonly ipDst: string;
  readonly xid?: number;
  /** A DUID-LL of this MAC as the client identifier. */
  readonly clientMac?: string;
  readonly addresses?: ReadonlyArray<{ ip: string; valid: number; preferred?: number }>;
  readonly status?: number;
}

/** An Ethernet frame with a DHCPv6 message (server messages from port 547 to 546, client messages 546 → 547). */
export function buildDhcpv6(m: Dhcpv6Build): Buffer {
  const server = m.type === 'advertise' || m.type === 'reply' || m.type === 'reconfigure';
  const parts: Buffer[] = [];
  const head = Buffer.alloc(4);
  head[0] = TYPES.indexOf(m.type) + 1;
  head.writeUIntBE((m.xid ?? 0x1234) & 0xffffff, 1, 3);
  parts.push(head);
  if (m.clientMac) parts.push(opt(1, Buffer.from([0, 3, 0, 1, ...m.clientMac.split(':').map((x) => parseInt(x, 16))])));
  if (m.addresses?.length) {
    const ia = Buffer.alloc(12);
    ia.writeUInt32BE(1, 0);
    const addrs = m.addresses.map((a) => {
      const v = Buffer.alloc(24);
      ipv6Bytes(a.ip).copy(v, 0);
      v.writeUInt32BE(a.preferred ?? a.valid, 16);
      v.writeUInt32BE(a.valid, 20);
      return opt(5, v);
    });
    parts.push(opt(3, Buffer.concat([ia, ...addrs])));
  }
  if (m.status !== undefined) parts.push(opt(13, Buffer.from([m.status >> 8, m.status & 255])));
  const msg = Buffer.concat(parts);
  const udp = Buffer.alloc(8 + msg.length);
  udp.writeUInt16BE(server ? 547 : 546, 0);
  udp.writeUInt16BE(server ? 546 : 547, 2);
  udp.writeUInt16BE(udp.length, 4);
  msg.copy(udp, 8);
  return buildIpv6({ ethSrc: m.ethSrc, ethDst: m.ethDst, ipSrc: m.ipSrc, ipDst: m.ipDst, next: 17, payload: udp, hopLimit: 64, csumAt: 6 });
}
