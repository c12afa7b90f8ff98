/**
 * One table of OXM fields (the OpenFlow 1.3 basic class and the Open vSwitch NXM fields) drives every OXM TLV:
 * its length, its sized write, its read, and the match checks in match.ts.
 */
import type { OxmEntry, OxmFieldName, OxmValue } from './types.js';
import { NXM_NX, OFPXMC, OFPXMT_OFB, ONF_EXPERIMENTER, ONFOXM_ET_TCP_FLAGS } from './constants.js';
import { DecodeFail, Reader, Writer, bytesToIpv6, bytesToMac, ipv4ToU32, ipv6ToBytes, macToBytes, u32ToIpv4 } from './buffer.js';
import { put16, put24, put32, put64, put8 } from './wire.js';

export type OxmKind = 'u8' | 'u16' | 'u24' | 'u32' | 'u64' | 'mac' | 'ipv4' | 'ipv6';

/** A prerequisite: the match must contain `field` with one of `values` (or just the field when values is empty). */
export interface Prerequisite {
  readonly field: OxmFieldName;
  readonly values: readonly number[];
}

export interface OxmFieldDef {
  readonly name: OxmFieldName;
  /** OFPXMC.OPENFLOW_BASIC, or OFPXMC.NXM_1 for the Open vSwitch extension fields. */
  readonly oxmClass: number;
  readonly oxmField: number;
  readonly bytes: number;
  readonly kind: OxmKind;
  readonly maskable: boolean;
  /** Largest value for numeric fields. */
  readonly max?: number;
  readonly prerequisites: readonly Prerequisite[];
  /** Whether Open vSwitch 3.x accepts the field in a match (it refuses in_phy_port, pbb_isid, ipv6_exthdr). */
  readonly ovs: boolean;
  /** Whether a set_field action may write it (tcp_flags is match-only). */
  readonly settable: boolean;
}

const IP = { field: 'eth_type', values: [0x0800, 0x86dd] } as const;
const IPV4 = { field: 'eth_type', values: [0x0800] } as const;
const IPV6 = { field: 'eth_type', values: [0x86dd] } as const;
const ARP = { field: 'eth_type', values: [0x0806] } as const;
const MPLS = { field: 'eth_type', values: [0x8847, 0x8848] } as const;
const proto = (p: number): Prerequisite => ({ field: 'ip_proto', values: [p] });
const BYTES: Readonly<Record<OxmKind, number>> = { u8: 1, u16: 2, u24: 3, u32: 4, u64: 8, mac: 6, ipv4: 4, ipv6: 16 };

/** A field's definition; its class and number come from OFPXMT_OFB or NXM_NX in constants.ts. */
function f(name: OxmFieldName, kind: OxmKind, maskable: boolean, prerequisites: Prerequisite[] = [], max?: number): OxmFieldDef {
  const basic = name in OFPXMT_OFB;
  const oxmClass = basic ? OFPXMC.OPENFLOW_BASIC : OFPXMC.NXM_1;
  const oxmField = basic ? OFPXMT_OFB[name as keyof typeof OFPXMT_OFB] : NXM_NX[name as keyof typeof NXM_NX];
  return Object.freeze({
    name,
    oxmClass,
    oxmField,
    bytes: BYTES[kind],
    kind,
    maskable,
    prerequisites,
    max,
    ovs: !['in_phy_port', 'pbb_isid', 'ipv6_exthdr'].includes(name),
    settable: basic || name === 'ct_mark',
  });
}

export const OXM_FIELDS: readonly OxmFieldDef[] = Object.freeze([
  f('in_port', 'u32', false),
  f('in_phy_port', 'u32', false, [{ field: 'in_port', values: [] }]),
  f('metadata', 'u64', true),
  f('eth_dst', 'mac', true),
  f('eth_src', 'mac', true),
  f('eth_type', 'u16', false),
  f('vlan_vid', 'u16', true, [], 0x1fff),
  f('vlan_pcp', 'u8', false, [{ field: 'vlan_vid', values: [] }], 7),
  f('ip_dscp', 'u8', false, [IP], 63),
  f('ip_ecn', 'u8', false, [IP], 3),
  f('ip_proto', 'u8', false, [IP]),
  f('ipv4_src', 'ipv4', true, [IPV4]),
  f('ipv4_dst', 'ipv4', true, [IPV4]),
  // Transport ports are maskable as Open vSwitch allows (OF1.3 itself lists them unmaskable); used for port ranges.
  f('tcp_src', 'u16', true, [proto(6)]),
  f('tcp_dst', 'u16', true, [proto(6)]),
  f('udp_src', 'u16', true, [proto(17)]),
  f('udp_dst', 'u16', true, [proto(17)]),
  f('sctp_src', 'u16', true, [proto(132)]),
  f('sctp_dst', 'u16', true, [proto(132)]),
  f('icmpv4_type', 'u8', false, [IPV4, proto(1)]),
  f('icmpv4_code', 'u8', false, [IPV4, proto(1)]),
  f('arp_op', 'u16', false, [ARP]),
  f('arp_spa', 'ipv4', true, [ARP]),
  f('arp_tpa', 'ipv4', true, [ARP]),
  f('arp_sha', 'mac', true, [ARP]),
  f('arp_tha', 'mac', true, [ARP]),
  f('ipv6_src', 'ipv6', true, [IPV6]),
  f('ipv6_dst', 'ipv6', true, [IPV6]),
  f('ipv6_flabel', 'u32', true, [IPV6], 0xfffff),
  f('icmpv6_type', 'u8', false, [IPV6, proto(58)]),
  f('icmpv6_code', 'u8', false, [IPV6, proto(58)]),
  f('ipv6_nd_target', 'ipv6', false, [{ field: 'icmpv6_type', values: [135, 136] }]),
  f('ipv6_nd_sll', 'mac', false, [{ field: 'icmpv6_type', values: [135] }]),
  f('ipv6_nd_tll', 'mac', false, [{ field: 'icmpv6_type', values: [136] }]),
  f('mpls_label', 'u32', false, [MPLS], 0xfffff),
  f('mpls_tc', 'u8', false, [MPLS], 7),
  f('mpls_bos', 'u8', false, [MPLS], 1),
  f('pbb_isid', 'u24', true, [{ field: 'eth_type', values: [0x88e7] }]),
  f('tunnel_id', 'u64', true),
  f('ipv6_exthdr', 'u16', true, [IPV6], 0x1ff),
  // NXM_NX_TCP_FLAGS: the 12 TCP flag bits (SYN 0x002, ACK 0x010, ...); Open vSwitch matches it in OpenFlow 1.3
  f('tcp_flags', 'u16', true, [proto(6)], 0xfff),
  // Open vSwitch connection tracking state after a ct() action: NXM_NX_CT_STATE (bits: CT in constants.ts),
  // NXM_NX_CT_ZONE, NXM_NX_CT_MARK
  f('ct_state', 'u32', true),
  f('ct_zone', 'u16', false),
  f('ct_mark', 'u32', true),
]);

export const OXM_BY_NAME: Readonly<Record<OxmFieldName, OxmFieldDef>> = Object.freeze(
  Object.fromEntries(OXM_FIELDS.map((d) => [d.name, d])) as Record<OxmFieldName, OxmFieldDef>,
);
const OXM_BY_CODE: (OxmFieldDef | undefined)[] = [];
const NXM1_BY_CODE: (OxmFieldDef | undefined)[] = [];
for (const d of OXM_FIELDS) (d.oxmClass === OFPXMC.NXM_1 ? NXM1_BY_CODE : OXM_BY_CODE)[d.oxmField] = d;
// A Map: keyed loads on the frozen, dictionary-mode OXM_BY_NAME record were the hot spot of the encoder.
const DEFS = new Map<string, OxmFieldDef>(OXM_FIELDS.map((d) => [d.name, d]));

/** The field with this class and number, if this codec models it. */
export function oxmByCode(oxmClass: number, oxmField: number): OxmFieldDef | undefined {
  return oxmClass === OFPXMC.OPENFLOW_BASIC ? OXM_BY_CODE[oxmField] : oxmClass === OFPXMC.NXM_1 ? NXM1_BY_CODE[oxmField] : undefined;
}

export class MatchError extends Error {
  constructor(
    readonly field: OxmFieldName | string,
    message: string,
  ) {
    super(message);
    this.name = 'MatchError';
  }
}

/** A field's definition, or MatchError for a name this codec does not know. */
export function fieldDef(field: string): OxmFieldDef {
  const def = DEFS.get(field);
  if (def === undefined) throw new MatchError(field, `unknown match field '${field}'`);
  return def;
}

// Addresses repeat across thousands of flow mods: parse each text form once (bounded caches).
const ipv4Cache = new Map<string, number>();
const macCache = new Map<string, Buffer>();
const ipv6Cache = new Map<string, Buffer>();
export function cachedIpv4(s: string): number {
  let v = ipv4Cache.get(s);
  if (v === undefined) {
    v = ipv4ToU32(s);
    if (ipv4Cache.size >= 100_000) ipv4Cache.clear();
    ipv4Cache.set(s, v);
  }
  return v;
}
export function cachedMac(s: string): Buffer {
  let b = macCache.get(s);
  if (b === undefined) {
    b = Buffer.alloc(6);
    macToBytes(s, b, 0);
    if (macCache.size >= 100_000) macCache.clear();
    macCache.set(s, b);
  }
  return b;
}
export function cachedIpv6(s: string): Buffer {
  let b = ipv6Cache.get(s);
  if (b === undefined) {
    b = Buffer.alloc(16);
    ipv6ToBytes(s, b, 0);
    if (ipv6Cache.size >= 10_000) ipv6Cache.clear();
    ipv6Cache.set(s, b);
  }
  return b;
}

/** Writes one field value (def.bytes long) at p; returns the end. */
export function putValue(b: Buffer, p: number, def: OxmFieldDef, v: OxmValue): number {
  switch (def.kind) {
    case 'u8':
      put8(b, p, v as number, def.name);
      return p + 1;
    case 'u16':
      put16(b, p, v as number, def.name);
      return p + 2;
    case 'u24':
      put24(b, p, v as number, def.name);
      return p + 3;
    case 'u32':
      put32(b, p, v as number, def.name);
      return p + 4;
    case 'u64':
      put64(b, p, v as bigint, def.name);
      return p + 8;
    case 'mac':
      cachedMac(v as string).copy(b, p);
      return p + 6;
    case 'ipv4':
      put32(b, p, cachedIpv4(v as string));
      return p + 4;
    case 'ipv6':
      cachedIpv6(v as string).copy(b, p);
      return p + 16;
  }
}

function readValue(r: Reader, def: OxmFieldDef): OxmValue {
  switch (def.kind) {
    case 'u8':
      return r.u8();
    case 'u16':
      return r.u16();
    case 'u24': {
      const hi = r.u8();
      return hi * 65536 + r.u16();
    }
    case 'u32':
      return r.u32();
    case 'u64':
      return r.u64();
    case 'mac': {
      const b = r.bytes(6);
      return bytesToMac(b);
    }
    case 'ipv4':
      return u32ToIpv4(r.u32());
    case 'ipv6': {
      const b = r.bytes(16);
      return bytesToIpv6(b);
    }
  }
}

/** Bytes of one OXM TLV. */
export function oxmLength(e: OxmEntry): number {
  const def = fieldDef(e.field);
  return 4 + (e.mask === undefined ? def.bytes : def.bytes * 2);
}

/** One OXM TLV at p (the caller made room: oxmLength); returns the end. Used by matches and set_field. */
export function putOxm(b: Buffer, p: number, e: OxmEntry): number {
  const def = fieldDef(e.field);
  const masked = e.mask !== undefined;
  put16(b, p, def.oxmClass);
  b[p + 2] = (def.oxmField << 1) | (masked ? 1 : 0);
  b[p + 3] = masked ? def.bytes * 2 : def.bytes;
  p = putValue(b, p + 4, def, e.value);
  return masked ? putValue(b, p, def, e.mask) : p;
}

/** putOxm at the writer's position. */
export function writeOxm(w: Writer, e: OxmEntry): void {
  w.ensure(oxmLength(e));
  w.pos = putOxm(w.buf, w.pos, e);
}

/** tcp_flags in the ONF experimenter form Open vSwitch answers with in OF1.3 (the 4-byte experimenter id first). */
function readOnfOxm(body: Reader, fh: number, len: number, at: number): OxmEntry {
  const exp = len >= 4 ? body.u32() : -1;
  if (exp !== ONF_EXPERIMENTER || fh >> 1 !== ONFOXM_ET_TCP_FLAGS)
    throw new DecodeFail('bad_field', `unsupported experimenter OXM field ${fh >> 1} (experimenter 0x${exp.toString(16)})`, at);
  const hasMask = (fh & 1) === 1;
  if (len !== 4 + (hasMask ? 4 : 2)) throw new DecodeFail('bad_length', `OXM tcp_flags has length ${len}`, at);
  const value = body.u16();
  return hasMask ? { field: 'tcp_flags', value, mask: body.u16() } : { field: 'tcp_flags', value };
}

/** Reads one OXM TLV. An unknown field is consumed whole before it is refused (bad_field), so a caller may skip it. */
export function readOxm(r: Reader): OxmEntry {
  const at = r.pos;
  const cls = r.u16();
  const fh = r.u8();
  const len = r.u8();
  const body = r.sub(len);
  if (cls === OFPXMC.EXPERIMENTER) return readOnfOxm(body, fh, len, at);
  if (cls !== OFPXMC.OPENFLOW_BASIC && cls !== OFPXMC.NXM_1)
    throw new DecodeFail('bad_field', `unsupported OXM class 0x${cls.toString(16)}`, at);
  const def = oxmByCode(cls, fh >> 1);
  if (!def) throw new DecodeFail('bad_field', `unknown OXM field ${fh >> 1} of class 0x${cls.toString(16).padStart(4, '0')}`, at);
  const hasMask = (fh & 1) === 1;
  if (len !== (hasMask ? def.bytes * 2 : def.bytes)) throw new DecodeFail('bad_length', `OXM ${def.name} has length ${len}`, at);
  const value = readValue(body, def);
  if (hasMask) return { field: def.name, value, mask: readValue(body, def) };
  return { field: def.name, value };
}
