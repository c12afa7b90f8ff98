/**
 * One table of OpenFlow 1.3 OXM basic fields drives match encoding, decoding and prerequisite checks.
 */
import type { Match, OxmEntry, OxmFieldName, OxmValue } from './types.js';
import { DecodeFail, Reader, Writer, bytesToIpv6, bytesToMac, ipv4ToU32, ipv6ToBytes, macToBytes, u32ToIpv4 } from './buffer.js';

export const OFPXMC_OPENFLOW_BASIC = 0x8000;
/** Nicira extension class 1 (NXM_1), as Open vSwitch accepts in OpenFlow 1.3 matches (tcp_flags). */
export const NXM_1 = 0x0001;
/** Experimenter OXM class; ONF's id and its tcp_flags field (ONFOXM_ET_TCP_FLAGS), which OVS uses in replies. */
export const OFPXMC_EXPERIMENTER = 0xffff;
export const ONF_EXPERIMENTER = 0x4f4e4600;
export const ONFOXM_ET_TCP_FLAGS = 42;
export const OFPMT_OXM = 1;
export const OFPVID_PRESENT = 0x1000;

export type OxmKind = 'u8' | 'u16' | 'u24' | 'u32' | 'u64' | 'mac' | 'ipv4' | 'ipv6';

/** A prerequisite: the match must contain `field` with one of `values` (or just the field when values is empty). */
export interface Prerequisite {
  readonly field: OxmFieldName;
  readonly values: readonly number[];
}

export interface OxmFieldDef {
  readonly name: OxmFieldName;
  /** OFPXMC_OPENFLOW_BASIC, or NXM_1 for the Open vSwitch extension fields. */
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

function f(name: OxmFieldName, oxmField: number, kind: OxmKind, maskable: boolean, prerequisites: Prerequisite[] = [], max?: number, oxmClass = OFPXMC_OPENFLOW_BASIC): OxmFieldDef {
  const bytes = { u8: 1, u16: 2, u24: 3, u32: 4, u64: 8, mac: 6, ipv4: 4, ipv6: 16 }[kind];
  return Object.freeze({ name, oxmClass, oxmField, bytes, kind, maskable, prerequisites, max, ovs: !['in_phy_port', 'pbb_isid', 'ipv6_exthdr'].includes(name), settable: oxmClass === OFPXMC_OPENFLOW_BASIC || name === 'ct_mark' });
}

export const OXM_FIELDS: readonly OxmFieldDef[] = Object.freeze([
  f('in_port', 0, 'u32', false),
  f('in_phy_port', 1, 'u32', false, [{ field: 'in_port', values: [] }]),
  f('metadata', 2, 'u64', true),
  f('eth_dst', 3, 'mac', true),
  f('eth_src', 4, 'mac', true),
  f('eth_type', 5, 'u16', false),
  f('vlan_vid', 6, 'u16', true, [], 0x1fff),
  f('vlan_pcp', 7, 'u8', false, [{ field: 'vlan_vid', values: [] }], 7),
  f('ip_dscp', 8, 'u8', false, [IP], 63),
  f('ip_ecn', 9, 'u8', false, [IP], 3),
  f('ip_proto', 10, 'u8', false, [IP]),
  f('ipv4_src', 11, 'ipv4', true, [IPV4]),
  f('ipv4_dst', 12, 'ipv4', true, [IPV4]),
  // Transport ports are maskable as Open vSwitch allows (OF1.3 itself lists them unmaskable); used for port ranges.
  f('tcp_src', 13, 'u16', true, [proto(6)]),
  f('tcp_dst', 14, 'u16', true, [proto(6)]),
  f('udp_src', 15, 'u16', true, [proto(17)]),
  f('udp_dst', 16, 'u16', true, [proto(17)]),
  f('sctp_src', 17, 'u16', true, [proto(132)]),
  f('sctp_dst', 18, 'u16', true, [proto(132)]),
  f('icmpv4_type', 19, 'u8', false, [IPV4, proto(1)]),
  f('icmpv4_code', 20, 'u8', false, [IPV4, proto(1)]),
  f('arp_op', 21, 'u16', false, [ARP]),
  f('arp_spa', 22, 'ipv4', true, [ARP]),
  f('arp_tpa', 23, 'ipv4', true, [ARP]),
  f('arp_sha', 24, 'mac', true, [ARP]),
  f('arp_tha', 25, 'mac', true, [ARP]),
  f('ipv6_src', 26, 'ipv6', true, [IPV6]),
  f('ipv6_dst', 27, 'ipv6', true, [IPV6]),
  f('ipv6_flabel', 28, 'u32', true, [IPV6], 0xfffff),
  f('icmpv6_type', 29, 'u8', false, [IPV6, proto(58)]),
  f('icmpv6_code', 30, 'u8', false, [IPV6, proto(58)]),
  f('ipv6_nd_target', 31, 'ipv6', false, [{ field: 'icmpv6_type', values: [135, 136] }]),
  f('ipv6_nd_sll', 32, 'mac', false, [{ field: 'icmpv6_type', values: [135] }]),
  f('ipv6_nd_tll', 33, 'mac', false, [{ field: 'icmpv6_type', values: [136] }]),
  f('mpls_label', 34, 'u32', false, [MPLS], 0xfffff),
  f('mpls_tc', 35, 'u8', false, [MPLS], 7),
  f('mpls_bos', 36, 'u8', false, [MPLS], 1),
  f('pbb_isid', 37, 'u24', true, [{ field: 'eth_type', values: [0x88e7] }]),
  f('tunnel_id', 38, 'u64', true),
  f('ipv6_exthdr', 39, 'u16', true, [IPV6], 0x1ff),
  // NXM_NX_TCP_FLAGS: the 12 TCP flag bits (SYN 0x002, ACK 0x010, ...); Open vSwitch matches it in OpenFlow 1.3
  f('tcp_flags', 34, 'u16', true, [proto(6)], 0xfff, NXM_1),
  // Open vSwitch connection tracking state after a ct() action: NXM_NX_CT_STATE (bits: new 0x01, est 0x02, rel 0x04,
  // rpl 0x08, inv 0x10, trk 0x20, snat 0x40, dnat 0x80), NXM_NX_CT_ZONE, NXM_NX_CT_MARK
  f('ct_state', 105, 'u32', true, [], undefined, NXM_1),
  f('ct_zone', 106, 'u16', false, [], undefined, NXM_1),
  f('ct_mark', 107, 'u32', true, [], undefined, NXM_1),
]);

/** ct_state bits (Open vSwitch). */
export const CT = { new: 0x01, est: 0x02, rel: 0x04, rpl: 0x08, inv: 0x10, trk: 0x20, snat: 0x40, dnat: 0x80 } as const;

export const OXM_BY_NAME: Readonly<Record<OxmFieldName, OxmFieldDef>> = Object.freeze(
  Object.fromEntries(OXM_FIELDS.map((d) => [d.name, d])) as Record<OxmFieldName, OxmFieldDef>,
);
const OXM_BY_CODE: (OxmFieldDef | undefined)[] = [];
const NXM1_BY_CODE: (OxmFieldDef | undefined)[] = [];
for (const d of OXM_FIELDS) (d.oxmClass === NXM_1 ? NXM1_BY_CODE : OXM_BY_CODE)[d.oxmField] = d;

export class MatchError extends Error {
  constructor(readonly field: OxmFieldName | string, message: string) {
    super(message);
    this.name = 'MatchError';
  }
}

function valueError(def: OxmFieldDef, v: OxmValue, what = 'value'): string | undefined {
  switch (def.kind) {
    case 'u8': case 'u16': case 'u24': case 'u32': {
      const max = def.max ?? (def.kind === 'u8' ? 0xff : def.kind === 'u16' ? 0xffff : def.kind === 'u24' ? 0xffffff : 0xffffffff);
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) return `${def.name}: ${what} ${String(v)} is not an integer in 0..${max}`;
      return undefined;
    }
    case 'u64':
      if (typeof v !== 'bigint' || v < 0n || v > 0xffffffffffffffffn) return `${def.name}: ${what} must be a 64-bit unsigned bigint`;
      return undefined;
    case 'mac':
      if (typeof v !== 'string' || !/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(v)) return `${def.name}: ${what} '${String(v)}' is not a MAC address`;
      return undefined;
    case 'ipv4':
      try { if (typeof v !== 'string') throw new Error(); ipv4ToU32(v); return undefined; } catch { return `${def.name}: ${what} '${String(v)}' is not an IPv4 address`; }
    case 'ipv6':
      try { if (typeof v !== 'string') throw new Error(); ipv6ToBytes(v, Buffer.alloc(16), 0); return undefined; } catch { return `${def.name}: ${what} '${String(v)}' is not an IPv6 address`; }
  }
}

const maskScratch = new Writer(64);
/** Whether value has a 1 bit where mask has a 0 (OpenFlow requires value & ~mask == 0). */
function bitsOutsideMask(def: OxmFieldDef, value: OxmValue, mask: OxmValue): boolean {
  const w = maskScratch;
  w.pos = 0;
  writeValue(w, def, value);
  writeValue(w, def, mask);
  for (let i = 0; i < def.bytes; i++) if (w.buf[i] & ~w.buf[def.bytes + i]) return true;
  return false;
}

/** Checks values, masks, duplicates and prerequisites (which must come earlier in the list). Returns a message or undefined. */
export function checkMatch(m: Match): string | undefined {
  const seen = new Map<OxmFieldName, OxmEntry>();
  for (const e of m) {
    const def = OXM_BY_NAME[e.field];
    if (!def) return `unknown match field '${String(e.field)}'`;
    if (seen.has(e.field)) return `${e.field}: duplicate match field`;
    const ve = valueError(def, e.value);
    if (ve) return ve;
    if (e.field === 'vlan_vid' && e.mask === undefined && e.value !== 0 && !((e.value as number) & OFPVID_PRESENT)) {
      return `vlan_vid: value ${String(e.value)} lacks OFPVID_PRESENT (use 0x1000 | vid, e.g. 0x${(OFPVID_PRESENT | (e.value as number)).toString(16)}; 0 matches untagged)`;
    }
    if (e.mask !== undefined) {
      if (!def.maskable) return `${e.field}: field cannot be masked`;
      const me = valueError(def, e.mask, 'mask');
      if (me) return me;
      if (bitsOutsideMask(def, e.value, e.mask)) {
        return `${e.field}: value ${String(e.value)} has bits set where mask ${String(e.mask)} is 0 (switches refuse it: OFPBMC_BAD_WILDCARDS)`;
      }
    }
    for (const p of def.prerequisites) {
      const pre = seen.get(p.field);
      if (!pre) {
        return `${e.field} requires ${p.field}${p.values.length ? ` = ${p.values.map((x) => '0x' + x.toString(16).padStart(4, '0')).join(' or ')}` : ''} earlier in the match`;
      }
      if (p.field === 'vlan_vid' && !((pre.value as number) & OFPVID_PRESENT)) {
        return `${e.field} requires a VLAN tag: vlan_vid must include OFPVID_PRESENT (0x1000), but it is ${String(pre.value)}`;
      }
      if (p.values.length && (pre.mask !== undefined || !p.values.includes(pre.value as number))) {
        return `${e.field} requires ${p.field} = ${p.values.join(' or ')}, but it is ${String(pre.value)}`;
      }
    }
    seen.set(e.field, e);
  }
  return undefined;
}

/** Builds a match, throwing MatchError (naming the field) when a value or prerequisite is wrong. */
export function match(...entries: OxmEntry[]): Match {
  const msg = checkMatch(entries);
  if (msg) throw new MatchError(msg.split(/[: ]/)[0], msg);
  // Explicit literals, not `{ ...e }`: frozen spread clones get a fresh hidden class each, which makes every
  // later property read of the match megamorphic (measured: encoding 4x slower).
  return Object.freeze(entries.map((e) => (e.mask === undefined
    ? Object.freeze({ field: e.field, value: e.value })
    : Object.freeze({ field: e.field, value: e.value, mask: e.mask }))));
}

// Addresses repeat across thousands of flow mods: parse each text form once (bounded caches, shared by the
// generic writer here and the FLOW_MOD hot path in flowmod.ts).
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

function writeValue(w: Writer, def: OxmFieldDef, v: OxmValue): void {
  switch (def.kind) {
    case 'u8': w.u8(v as number); break;
    case 'u16': w.u16(v as number); break;
    case 'u24': { const n = v as number; w.u8(n >>> 16); w.u16(n & 0xffff); break; }
    case 'u32': w.u32(v as number); break;
    case 'u64': w.u64(v as bigint); break;
    case 'mac': w.bytes(cachedMac(v as string)); break;
    case 'ipv4': w.u32(cachedIpv4(v as string)); break;
    case 'ipv6': w.ensure(16); ipv6ToBytes(v as string, w.buf, w.pos); w.pos += 16; break;
  }
}

function readValue(r: Reader, def: OxmFieldDef): OxmValue {
  switch (def.kind) {
    case 'u8': return r.u8();
    case 'u16': return r.u16();
    case 'u24': { const hi = r.u8(); return hi * 65536 + r.u16(); }
    case 'u32': return r.u32();
    case 'u64': return r.u64();
    case 'mac': { const b = r.bytes(6); return bytesToMac(b); }
    case 'ipv4': return u32ToIpv4(r.u32());
    case 'ipv6': { const b = r.bytes(16); return bytesToIpv6(b); }
  }
}

/** Writes one OXM TLV (used by matches and set_field). */
export function writeOxm(w: Writer, e: OxmEntry): void {
  const def = OXM_BY_NAME[e.field];
  if (!def) throw new MatchError(String(e.field), `unknown match field '${String(e.field)}'`);
  const hasMask = e.mask !== undefined;
  w.u16(def.oxmClass);
  w.u8((def.oxmField << 1) | (hasMask ? 1 : 0));
  w.u8(hasMask ? def.bytes * 2 : def.bytes);
  writeValue(w, def, e.value);
  if (hasMask) writeValue(w, def, e.mask);
}

/** Reads one OXM TLV. */
export function readOxm(r: Reader): OxmEntry {
  const at = r.pos;
  const cls = r.u16();
  const fh = r.u8();
  const len = r.u8();
  const body = r.sub(len);
  if (cls === OFPXMC_EXPERIMENTER) {
    // ONF extension fields carry a 4-byte experimenter id first; Open vSwitch answers tcp_flags this way in OF1.3
    const exp = len >= 4 ? body.u32() : -1;
    if (exp !== ONF_EXPERIMENTER || fh >> 1 !== ONFOXM_ET_TCP_FLAGS) throw new DecodeFail('bad_field', `unsupported experimenter OXM field ${fh >> 1} (experimenter 0x${exp.toString(16)})`, at);
    const def = OXM_BY_NAME.tcp_flags;
    const hasMask = (fh & 1) === 1;
    if (len !== 4 + (hasMask ? 4 : 2)) throw new DecodeFail('bad_length', `OXM tcp_flags has length ${len}`, at);
    const value = body.u16();
    return hasMask ? { field: def.name, value, mask: body.u16() } : { field: def.name, value };
  }
  if (cls !== OFPXMC_OPENFLOW_BASIC && cls !== NXM_1) throw new DecodeFail('bad_field', `unsupported OXM class 0x${cls.toString(16)}`, at);
  const def = (cls === NXM_1 ? NXM1_BY_CODE : OXM_BY_CODE)[fh >> 1];
  if (!def) throw new DecodeFail('bad_field', `unknown OXM field ${fh >> 1} of class 0x${cls.toString(16).padStart(4, '0')}`, at);
  const hasMask = (fh & 1) === 1;
  if (len !== (hasMask ? def.bytes * 2 : def.bytes)) throw new DecodeFail('bad_length', `OXM ${def.name} has length ${len}`, at);
  const value = readValue(body, def);
  if (hasMask) return { field: def.name, value, mask: readValue(body, def) };
  return { field: def.name, value };
}

/** ofp_match: type, length (without padding), OXMs, padded to 8. */
export function writeMatch(w: Writer, m: Match): void {
  const start = w.pos;
  w.u16(OFPMT_OXM);
  w.u16(0);
  for (const e of m) writeOxm(w, e);
  w.patchU16(start + 2, w.pos - start);
  w.pad8(start);
}

/**
 * `lenient` (PACKET_IN): fields we do not model (e.g. the conntrack original-tuple fields Open vSwitch adds to a
 * packet-in after ct()) are skipped whole instead of failing the message; malformed lengths still fail.
 */
export function readMatch(r: Reader, lenient = false): OxmEntry[] {
  const at = r.pos;
  const type = r.u16();
  const len = r.u16();
  if (type !== OFPMT_OXM) throw new DecodeFail('bad_field', `unsupported match type ${type}`, at);
  if (len < 4) throw new DecodeFail('bad_length', `match length ${len} < 4`, at);
  const body = r.sub(len - 4);
  const out: OxmEntry[] = [];
  while (body.remaining > 0) {
    if (!lenient) { out.push(readOxm(body)); continue; }
    try { out.push(readOxm(body)); } catch (e) {
      // readOxm consumed the whole TLV before refusing an unknown field: skip it
      if (!(e instanceof DecodeFail) || e.code !== 'bad_field') throw e;
    }
  }
  const padded = (len + 7) & ~7;
  r.skip(padded - len);
  return out;
}
