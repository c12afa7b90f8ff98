/**
 * IPv6 Neighbor Discovery (RFC 4861) and the IPv6/UDP envelope as the controller sees them in PACKET_INs: strict
 * decoders that never throw on input but return an error value with a code, and builders (tests, benchmarks).
 *
 * Only Neighbor Solicitations and Advertisements are decoded, with the checks RFC 4861 §7.1 asks of a receiver
 * (hop limit 255, code 0, ICMPv6 checksum, lengths, option lengths, no link-layer option in DAD, a DAD probe sent
 * to the target's solicited-node group). Extension headers are refused (fail closed: ND with them is not learned).
 */
import { ipv6At, macAt } from '../openflow/addr-text.js';
import type { FrameAddresses } from './dhcp.js';

export type NdErrorCode =
  | 'truncated'
  | 'not-ipv6'
  | 'bad-ip-header'
  | 'extension-headers'
  | 'not-icmpv6'
  | 'not-nd'
  | 'bad-hop-limit'
  | 'bad-code'
  | 'bad-length'
  | 'bad-checksum'
  | 'bad-target'
  | 'bad-source'
  | 'bad-option'
  | 'bad-dad';

export interface NdError {
  readonly ok: false;
  readonly code: NdErrorCode;
  readonly message: string;
}
export type NdDecoded<T> = { readonly ok: true; readonly value: T } | NdError;

/** An NS or NA; its ipSrc is '::' for a DAD probe. */
export interface NdFrame extends FrameAddresses {
  readonly type: 'ns' | 'na';
  readonly target: string;
  /** NA flags. */
  readonly router?: boolean;
  readonly solicited?: boolean;
  readonly override?: boolean;
  /** Source (NS) or target (NA) link-layer address option. */
  readonly lla?: string;
  /** A DAD nonce option (RFC 7527) was present. */
  readonly nonce?: boolean;
}

const err = (code: NdErrorCode, message: string): NdError => ({ ok: false, code, message });

/** The Ethernet and IPv6 addresses of a frame whose envelope is `env`. */
export function ipv6Addresses(b: Buffer, env: Ipv6Envelope): FrameAddresses {
  return {
    ethDst: macAt(b, 0),
    ethSrc: macAt(b, 6),
    ...(env.vlan !== undefined ? { vlan: env.vlan } : {}),
    ipSrc: ipv6At(b, env.ip + 8),
    ipDst: ipv6At(b, env.ip + 24),
  };
}

export interface Ipv6Envelope {
  readonly vlan?: number;
  /** Offset of the IPv6 header, its next header, and the payload (start, end: from the payload length). */
  readonly ip: number;
  readonly next: number;
  readonly hopLimit: number;
  readonly payload: number;
  readonly end: number;
}

/** Ethernet (one 802.1Q tag allowed) and the IPv6 fixed header, its payload length checked against the frame. */
export function ipv6Envelope(b: Buffer): Ipv6Envelope | NdError {
  if (b.length < 14) return err('truncated', `an Ethernet frame needs 14 bytes, got ${b.length}`);
  let type = b.readUInt16BE(12),
    ip = 14,
    vlan: number | undefined;
  if (type === 0x8100) {
    if (b.length < 18) return err('truncated', 'an 802.1Q tag needs 4 more bytes');
    vlan = b.readUInt16BE(14) & 0x0fff;
    type = b.readUInt16BE(16);
    ip = 18;
  }
  if (type !== 0x86dd) return err('not-ipv6', `ethertype 0x${type.toString(16).padStart(4, '0')} is not IPv6`);
  if (b.length < ip + 40) return err('truncated', 'the IPv6 header is cut short');
  if (b[ip] >> 4 !== 6) return err('bad-ip-header', `IP version ${b[ip] >> 4}`);
  const plen = b.readUInt16BE(ip + 4);
  if (ip + 40 + plen > b.length) return err('truncated', `IPv6 payload length ${plen} runs past the frame (${b.length - ip - 40} bytes)`);
  return { ...(vlan !== undefined ? { vlan } : {}), ip, next: b[ip + 6], hopLimit: b[ip + 7], payload: ip + 40, end: ip + 40 + plen };
}

/** The transport checksum over the IPv6 pseudo-header (RFC 8200 §8.1); 0 when the stored one is right. */
export function checksum6(b: Buffer, ip: number, start: number, end: number, next: number): number {
  let s = 0;
  for (let i = ip + 8; i < ip + 40; i += 2) s += b.readUInt16BE(i);
  const len = end - start;
  s += (len >>> 16) + (len & 0xffff) + next;
  for (let i = start; i + 1 < end; i += 2) s += b.readUInt16BE(i);
  if ((end - start) & 1) s += b[end - 1] << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

const isMulticast = (b: Buffer, off: number) => b[off] === 0xff;
const isUnspecified = (b: Buffer, off: number) => b.subarray(off, off + 16).every((x) => x === 0);
/** ff02::1:ffXX:XXXX, the solicited-node group of the target whose low 24 bits are XX:XXXX. */
function isSolicitedNodeOf(b: Buffer, dst: number, target: number): boolean {
  const head = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff];
  for (let i = 0; i < 13; i++) if (b[dst + i] !== head[i]) return false;
  return b[dst + 13] === b[target + 13] && b[dst + 14] === b[target + 14] && b[dst + 15] === b[target + 15];
}

/** ND options from `p` to `end`: every length non-zero and inside; the link-layer address option read. */
function ndOptions(b: Buffer, p: number, end: number, llaType: number): { lla?: string; nonce?: boolean } | NdError {
  let lla: string | undefined;
  let nonce = false;
  while (p < end) {
    if (p + 2 > end) return err('bad-option', 'an option header is cut short');
    const type = b[p],
      len = b[p + 1] * 8;
    if (len === 0) return err('bad-option', `option ${type} has length 0`);
    if (p + len > end) return err('bad-option', `option ${type} of ${len} bytes runs past the message`);
    if (type === llaType) {
      if (len !== 8) return err('bad-option', `a link-layer address option of ${len} bytes is not Ethernet`);
      if (lla !== undefined) return err('bad-option', 'the link-layer address option appears twice');
      lla = macAt(b, p + 2);
    } else if (type === 14) nonce = true;
    p += len;
  }
  return { ...(lla !== undefined ? { lla } : {}), ...(nonce ? { nonce } : {}) };
}

/** Decodes an Ethernet frame carrying an ICMPv6 Neighbor Solicitation (135) or Advertisement (136). */
export function decodeNd(b: Buffer): NdDecoded<NdFrame> {
  const env = ipv6Envelope(b);
  if ('ok' in env) return env;
  const { ip, payload: p, end } = env;
  if (env.next !== 58)
    return err(
      env.next === 0 || env.next === 43 || env.next === 44 || env.next === 60 ? 'extension-headers' : 'not-icmpv6',
      `next header ${env.next} is not ICMPv6`,
    );
  if (end - p < 4) return err('truncated', 'the ICMPv6 header is cut short');
  const t = b[p];
  if (t !== 135 && t !== 136) return err('not-nd', `ICMPv6 type ${t} is not a neighbor solicitation or advertisement`);
  if (env.hopLimit !== 255) return err('bad-hop-limit', `hop limit ${env.hopLimit} (ND must come from the link: 255)`);
  if (b[p + 1] !== 0) return err('bad-code', `ICMPv6 code ${b[p + 1]}`);
  if (end - p < 24) return err('bad-length', `an ND message needs 24 bytes, got ${end - p}`);
  if (checksum6(b, ip, p, end, 58) !== 0) return err('bad-checksum', 'the ICMPv6 checksum is wrong');
  const src = ip + 8,
    dst = ip + 24,
    target = p + 8;
  if (isMulticast(b, target) || isUnspecified(b, target)) return err('bad-target', 'the target is not a unicast address');
  if (isMulticast(b, src)) return err('bad-source', 'a multicast source address');
  const o = ndOptions(b, p + 24, end, t === 135 ? 1 : 2);
  if ('ok' in o) return o;
  const dad = t === 135 && isUnspecified(b, src);
  if (dad && o.lla !== undefined) return err('bad-dad', 'a DAD probe (source ::) carries a source link-layer address');
  if (dad && !isSolicitedNodeOf(b, dst, target)) return err('bad-dad', "a DAD probe not sent to the target's solicited-node group");
  if (t === 136 && isUnspecified(b, src)) return err('bad-source', 'an advertisement from ::');
  const flags = b[p + 4];
  if (t === 136 && isMulticast(b, dst) && flags & 0x40) return err('bad-option', 'a solicited advertisement sent to a multicast group');
  return {
    ok: true,
    value: {
      ...ipv6Addresses(b, env),
      type: t === 135 ? 'ns' : 'na',
      target: ipv6At(b, target),
      ...(t === 136 ? { router: !!(flags & 0x80), solicited: !!(flags & 0x40), override: !!(flags & 0x20) } : {}),
      ...o,
    },
  };
}

// ---------- builders ----------

const macBytes = (m: string) => Buffer.from(m.split(':').map((x) => parseInt(x, 16)));

/** 16 bytes of an IPv6 address text (any valid form). */
export function ipv6Bytes(text: string): Buffer {
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const groups = (s: string | undefined) => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const h = groups(head),
    t = groups(tail);
  const all = tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(g & 0xffff, 2 * i));
  return out;
}

/** The solicited-node group (ff02::1:ffXX:XXXX) of an address, and its Ethernet group 33:33:ff:XX:XX:XX. */
export function solicitedNode(target: string): { ip: string; mac: string } {
  const t = ipv6Bytes(target);
  const h = (x: number) => x.toString(16).padStart(2, '0');
  return {
    ip: ipv6At(Buffer.from([0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, t[13], t[14], t[15]]), 0),
    mac: `33:33:ff:${h(t[13])}:${h(t[14])}:${h(t[15])}`,
  };
}

/** An Ethernet/IPv6 frame around a payload (next header `next`), the transport checksum at `csumAt` filled in. */
export function buildIpv6(m: {
  ethSrc: string;
  ethDst: string;
  ipSrc: string;
  ipDst: string;
  next: number;
  payload: Buffer;
  hopLimit?: number;
  csumAt?: number;
}): Buffer {
  const f = Buffer.alloc(54 + m.payload.length);
  macBytes(m.ethDst).copy(f, 0);
  macBytes(m.ethSrc).copy(f, 6);
  f.writeUInt16BE(0x86dd, 12);
  f[14] = 0x60;
  f.writeUInt16BE(m.payload.length, 18);
  f[20] = m.next;
  f[21] = m.hopLimit ?? 255;
  ipv6Bytes(m.ipSrc).copy(f, 22);
  ipv6Bytes(m.ipDst).copy(f, 38);
  m.payload.copy(f, 54);
  if (m.csumAt !== undefined) f.writeUInt16BE(checksum6(f, 14, 54, f.length, m.next), 54 + m.csumAt);
  return f;
}

export interface NdBuild {
  readonly type: 'ns' | 'na';
  readonly ethSrc: string;
  readonly target: string;
  /** Default: '::' for an NS (a DAD probe), the target for an NA. */
  readonly ipSrc?: string;
  /** Default: the target's solicited-node group (NS), all-nodes ff02::1 (NA). */
  readonly ipDst?: string;
  readonly ethDst?: string;
  readonly lla?: string;
  readonly solicited?: boolean;
  readonly override?: boolean;
  /** A nonce option (RFC 7527): true, or its 6 bytes in hex. */
  readonly nonce?: boolean | string;
  readonly hopLimit?: number;
}

/** A Neighbor Solicitation or Advertisement frame with a correct checksum. */
export function buildNd(m: NdBuild): Buffer {
  const ns = m.type === 'ns';
  const sn = solicitedNode(m.target);
  const opts: Buffer[] = [];
  if (m.lla) opts.push(Buffer.concat([Buffer.from([ns ? 1 : 2, 1]), macBytes(m.lla)]));
  if (m.nonce)
    opts.push(
      Buffer.concat([Buffer.from([14, 1]), typeof m.nonce === 'string' ? Buffer.from(m.nonce, 'hex') : Buffer.from([1, 2, 3, 4, 5, 6])]),
    );
  const body = Buffer.concat([Buffer.alloc(24), ...opts]);
  body[0] = ns ? 135 : 136;
  if (!ns) body[4] = (m.solicited ? 0x40 : 0) | (m.override === false ? 0 : 0x20);
  ipv6Bytes(m.target).copy(body, 8);
  return buildIpv6({
    ethSrc: m.ethSrc,
    ethDst: m.ethDst ?? (ns ? sn.mac : '33:33:00:00:00:01'),
    ipSrc: m.ipSrc ?? (ns ? '::' : m.target),
    ipDst: m.ipDst ?? (ns ? sn.ip : 'ff02::1'),
    next: 58,
    payload: body,
    hopLimit: m.hopLimit,
    csumAt: 2,
  });
}
