/**
 * ofp_match: its checks (values, masks, duplicates, prerequisites), its length, its sized write and its read.
 * One OXM TLV at a time is oxm.ts's job.
 */
import type { Match, OxmEntry, OxmFieldName, OxmValue } from './types.js';
import { OFPMT_OXM, OFPVID_PRESENT } from './constants.js';
import { DecodeFail, Reader, Writer, ipv4ToU32, ipv6ToBytes } from './buffer.js';
import { MatchError, OXM_BY_NAME, oxmLength, putOxm, putValue, readOxm, type OxmFieldDef } from './oxm.js';
import { align8, pad8, put16 } from './wire.js';

function valueError(def: OxmFieldDef, v: OxmValue, what = 'value'): string | undefined {
  switch (def.kind) {
    case 'u8':
    case 'u16':
    case 'u24':
    case 'u32': {
      const max = def.max ?? (def.kind === 'u8' ? 0xff : def.kind === 'u16' ? 0xffff : def.kind === 'u24' ? 0xffffff : 0xffffffff);
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max)
        return `${def.name}: ${what} ${String(v)} is not an integer in 0..${max}`;
      return undefined;
    }
    case 'u64':
      if (typeof v !== 'bigint' || v < 0n || v > 0xffffffffffffffffn) return `${def.name}: ${what} must be a 64-bit unsigned bigint`;
      return undefined;
    case 'mac':
      if (typeof v !== 'string' || !/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(v))
        return `${def.name}: ${what} '${String(v)}' is not a MAC address`;
      return undefined;
    case 'ipv4':
      try {
        if (typeof v !== 'string') throw new Error();
        ipv4ToU32(v);
        return undefined;
      } catch {
        return `${def.name}: ${what} '${String(v)}' is not an IPv4 address`;
      }
    case 'ipv6':
      try {
        if (typeof v !== 'string') throw new Error();
        ipv6ToBytes(v, Buffer.alloc(16), 0);
        return undefined;
      } catch {
        return `${def.name}: ${what} '${String(v)}' is not an IPv6 address`;
      }
  }
}

const maskScratch = Buffer.alloc(32);
/** Whether value has a 1 bit where mask has a 0 (OpenFlow requires value & ~mask == 0). Both are valid values. */
function bitsOutsideMask(def: OxmFieldDef, value: OxmValue, mask: OxmValue): boolean {
  const b = maskScratch;
  putValue(b, putValue(b, 0, def, value), def, mask);
  for (let i = 0; i < def.bytes; i++) if (b[i] & ~b[def.bytes + i]) return true;
  return false;
}

/** The problem with one entry's value and mask, if any. */
function entryError(def: OxmFieldDef, e: OxmEntry): string | undefined {
  const ve = valueError(def, e.value);
  if (ve) return ve;
  if (e.field === 'vlan_vid' && e.mask === undefined && e.value !== 0 && !((e.value as number) & OFPVID_PRESENT)) {
    return `vlan_vid: value ${String(e.value)} lacks OFPVID_PRESENT (use 0x1000 | vid, e.g. 0x${(OFPVID_PRESENT | (e.value as number)).toString(16)}; 0 matches untagged)`;
  }
  if (e.mask === undefined) return undefined;
  if (!def.maskable) return `${e.field}: field cannot be masked`;
  const me = valueError(def, e.mask, 'mask');
  if (me) return me;
  if (bitsOutsideMask(def, e.value, e.mask)) {
    return `${e.field}: value ${String(e.value)} has bits set where mask ${String(e.mask)} is 0 (switches refuse it: OFPBMC_BAD_WILDCARDS)`;
  }
  return undefined;
}

/** The first prerequisite of `def` that the fields seen so far do not meet, if any. */
function prerequisiteError(def: OxmFieldDef, seen: ReadonlyMap<OxmFieldName, OxmEntry>): string | undefined {
  for (const p of def.prerequisites) {
    const pre = seen.get(p.field);
    if (!pre) {
      return `${def.name} requires ${p.field}${p.values.length ? ` = ${p.values.map((x) => '0x' + x.toString(16).padStart(4, '0')).join(' or ')}` : ''} earlier in the match`;
    }
    if (p.field === 'vlan_vid' && !((pre.value as number) & OFPVID_PRESENT)) {
      return `${def.name} requires a VLAN tag: vlan_vid must include OFPVID_PRESENT (0x1000), but it is ${String(pre.value)}`;
    }
    if (p.values.length && (pre.mask !== undefined || !p.values.includes(pre.value as number))) {
      return `${def.name} requires ${p.field} = ${p.values.join(' or ')}, but it is ${String(pre.value)}`;
    }
  }
  return undefined;
}

/** Checks values, masks, duplicates and prerequisites (which must come earlier in the list). Returns a message or undefined. */
export function checkMatch(m: Match): string | undefined {
  const seen = new Map<OxmFieldName, OxmEntry>();
  for (const e of m) {
    const def = OXM_BY_NAME[e.field];
    if (!def) return `unknown match field '${String(e.field)}'`;
    if (seen.has(e.field)) return `${e.field}: duplicate match field`;
    const err = entryError(def, e) ?? prerequisiteError(def, seen);
    if (err) return err;
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
  return Object.freeze(
    entries.map((e) =>
      e.mask === undefined
        ? Object.freeze({ field: e.field, value: e.value })
        : Object.freeze({ field: e.field, value: e.value, mask: e.mask }),
    ),
  );
}

/** Bytes of an ofp_match including its padding to 8. */
export function matchLength(m: Match): number {
  let n = 4;
  for (let i = 0; i < m.length; i++) n += oxmLength(m[i]);
  return align8(n);
}

/** ofp_match (type OXM, length without padding, OXMs, zero padding to 8) at p; returns the end. */
export function putMatch(b: Buffer, p: number, m: Match): number {
  const start = p;
  put16(b, p, OFPMT_OXM);
  p += 4;
  for (let i = 0; i < m.length; i++) p = putOxm(b, p, m[i]);
  put16(b, start + 2, p - start);
  return pad8(b, start, p);
}

/** putMatch at the writer's position. */
export function writeMatch(w: Writer, m: Match): void {
  w.ensure(matchLength(m));
  w.pos = putMatch(w.buf, w.pos, m);
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
    if (!lenient) {
      out.push(readOxm(body));
      continue;
    }
    try {
      out.push(readOxm(body));
    } catch (e) {
      // readOxm consumed the whole TLV before refusing an unknown field: skip it
      if (!(e instanceof DecodeFail) || e.code !== 'bad_field') throw e;
    }
  }
  r.skip(align8(len) - len);
  return out;
}
