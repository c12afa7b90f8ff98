/**
 * The FLOW_MOD hot path: the exact length is computed first, then every byte is written straight into one
 * buffer (no growable writer, no intermediate arrays, no second copy). The same routines serve `encode`,
 * `encodeMany` and `encodeInto` for FLOW_MODs.
 */
import type { Action, FlowModFlags, Instruction, Match, MessageOf, OxmEntry, OxmValue } from './types.js';
import { OFP_VERSION } from './types.js';
import { MatchError, OFPMT_OXM, OXM_BY_NAME, cachedIpv4, cachedIpv6, cachedMac, type OxmFieldDef } from './oxm.js';

const OFPT_FLOW_MOD = 14;
const FLOW_MOD_FIXED = 48; // ofp_flow_mod without its ofp_match
const MAX_MESSAGE = 0xffff;
const COMMAND: Readonly<Record<string, number>> = { add: 0, modify: 1, modify_strict: 2, delete: 3, delete_strict: 4 };

// A Map: keyed loads on the frozen, dictionary-mode OXM_BY_NAME record were the hot spot of the encoder.
const DEFS = new Map<string, OxmFieldDef>(Object.values(OXM_BY_NAME).map((d) => [d.name, d]));

function fieldDef(e: OxmEntry): OxmFieldDef {
  const def = DEFS.get(e.field);
  if (def === undefined) throw new MatchError(String(e.field), `unknown match field '${String(e.field)}'`);
  return def;
}

/** Bytes of one OXM TLV. */
function oxmLength(e: OxmEntry): number {
  const def = fieldDef(e);
  return 4 + (e.mask === undefined ? def.bytes : def.bytes * 2);
}

/** Bytes of an ofp_match including its padding to 8. */
export function matchLength(m: Match): number {
  let n = 4;
  for (let i = 0; i < m.length; i++) n += oxmLength(m[i]);
  return (n + 7) & ~7;
}

export function actionsLength(actions: readonly Action[]): number {
  let n = 0;
  for (let i = 0; i < actions.length; i++) {
    const a = actions[i];
    if (a.type === 'output') n += 16;
    else if (a.type === 'ct') n += 24 + actionsLength(a.actions ?? []);
    else if (a.type === 'set_field') n += (4 + oxmLength(a) + 7) & ~7;
    else n += 8;
  }
  return n;
}

export function instructionsLength(ins: readonly Instruction[]): number {
  let n = 0;
  for (let i = 0; i < ins.length; i++) {
    const x = ins[i];
    if (x.type === 'write_metadata') n += 24;
    else if (x.type === 'apply_actions' || x.type === 'write_actions') n += 8 + actionsLength(x.actions);
    else n += 8;
  }
  return n;
}

/** Total length of the FLOW_MOD on the wire. */
export function flowModLength(msg: MessageOf<'flow_mod'>): number {
  return FLOW_MOD_FIXED + (msg.rawMatch ? msg.rawMatch.length : matchLength(msg.match)) + instructionsLength(msg.instructions);
}

// ---- raw big-endian writes (callers have sized the buffer) ----

// Out-of-range values throw (fail closed): a priority of 70000 must not silently become 4464.
function bad(what: string, v: unknown): never {
  throw new RangeError(`flow_mod: ${what} ${String(v)} is out of range`);
}
function put8(b: Buffer, p: number, v: number, what: string): void {
  if ((v & 0xff) !== v) bad(what, v);
  b[p] = v;
}
function put16(b: Buffer, p: number, v: number, what = 'value'): void {
  if ((v & 0xffff) !== v) bad(what, v);
  b[p] = v >>> 8; b[p + 1] = v;
}
function put32(b: Buffer, p: number, v: number, what = 'value'): void {
  if (v >>> 0 !== v) bad(what, v);
  b[p] = v >>> 24; b[p + 1] = v >>> 16; b[p + 2] = v >>> 8; b[p + 3] = v;
}
const U32 = 0xffffffffn;
const U64 = 0xffffffffffffffffn;
function put64(b: Buffer, p: number, v: bigint, what = 'value'): void {
  if (v === 0n) { b.fill(0, p, p + 8); return; }
  if (typeof v !== 'bigint' || v < 0n || v > U64) bad(what, v);
  put32(b, p, Number((v >> 32n) & U32));
  put32(b, p + 4, Number(v & U32));
}

function putValue(b: Buffer, p: number, def: OxmFieldDef, v: OxmValue): number {
  switch (def.kind) {
    case 'u8': put8(b, p, v as number, def.name); return p + 1;
    case 'u16': put16(b, p, v as number, def.name); return p + 2;
    case 'u24': { const n = v as number; if ((n & 0xffffff) !== n) bad(def.name, n); b[p] = n >>> 16; put16(b, p + 1, n & 0xffff); return p + 3; }
    case 'u32': put32(b, p, v as number, def.name); return p + 4;
    case 'u64': put64(b, p, v as bigint, def.name); return p + 8;
    case 'mac': cachedMac(v as string).copy(b, p); return p + 6;
    case 'ipv4': put32(b, p, cachedIpv4(v as string)); return p + 4;
    case 'ipv6': cachedIpv6(v as string).copy(b, p); return p + 16;
  }
}

/** One OXM TLV at p; returns the end. */
export function putOxm(b: Buffer, p: number, e: OxmEntry): number {
  const def = fieldDef(e);
  const masked = e.mask !== undefined;
  put16(b, p, def.oxmClass);
  b[p + 2] = (def.oxmField << 1) | (masked ? 1 : 0);
  b[p + 3] = masked ? def.bytes * 2 : def.bytes;
  p = putValue(b, p + 4, def, e.value);
  return masked ? putValue(b, p, def, e.mask) : p;
}

/** ofp_match (type OXM, length without padding, OXMs, zero padding to 8) at p; returns the end. */
export function putMatch(b: Buffer, p: number, m: Match): number {
  const start = p;
  put16(b, p, OFPMT_OXM);
  p += 4;
  for (let i = 0; i < m.length; i++) p = putOxm(b, p, m[i]);
  put16(b, start + 2, p - start);
  while ((p - start) & 7) b[p++] = 0;
  return p;
}

function zero(b: Buffer, p: number, n: number): void {
  for (let i = 0; i < n; i++) b[p + i] = 0;
}

export function putActions(b: Buffer, p: number, actions: readonly Action[]): number {
  for (let i = 0; i < actions.length; i++) {
    const a = actions[i];
    switch (a.type) {
      case 'output':
        put16(b, p, 0); put16(b, p + 2, 16); put32(b, p + 4, a.port, 'output port'); put16(b, p + 8, a.maxLen ?? 0xffff, 'output max_len'); zero(b, p + 10, 6);
        p += 16; break;
      case 'group': put16(b, p, 22); put16(b, p + 2, 8); put32(b, p + 4, a.groupId, 'group id'); p += 8; break;
      case 'set_queue': put16(b, p, 21); put16(b, p + 2, 8); put32(b, p + 4, a.queueId, 'queue id'); p += 8; break;
      case 'push_vlan': put16(b, p, 17); put16(b, p + 2, 8); put16(b, p + 4, a.ethertype, 'push_vlan ethertype'); zero(b, p + 6, 2); p += 8; break;
      case 'pop_vlan': put16(b, p, 18); put16(b, p + 2, 8); zero(b, p + 4, 4); p += 8; break;
      case 'dec_nw_ttl': put16(b, p, 24); put16(b, p + 2, 8); zero(b, p + 4, 4); p += 8; break;
      case 'ct': {
        const start = p;
        const zone = a.zone ?? 0;
        put16(b, p, 0xffff); put32(b, p + 4, 0x2320); put16(b, p + 8, 35); put16(b, p + 10, a.commit ? 1 : 0);
        put32(b, p + 12, 0); put16(b, p + 16, zone, 'ct zone');
        if (a.table !== undefined && (a.table === 0xff || (a.table & 0xff) !== a.table)) bad('ct table', a.table);
        b[p + 18] = a.table ?? 0xff; zero(b, p + 19, 5);
        p = putActions(b, p + 24, a.actions ?? []);
        put16(b, start + 2, p - start);
        break;
      }
      case 'set_field': {
        if (DEFS.get(a.field)?.settable === false) throw new RangeError(`set_field: ${a.field} can be matched but not set`);
        const start = p;
        put16(b, p, 25);
        p = putOxm(b, p + 4, { field: a.field, value: a.value });
        while ((p - start) & 7) b[p++] = 0;
        put16(b, start + 2, p - start);
        break;
      }
      default: throw new TypeError(`cannot encode action ${(a as { type: string }).type}`);
    }
  }
  return p;
}

export function putInstructions(b: Buffer, p: number, ins: readonly Instruction[]): number {
  for (let i = 0; i < ins.length; i++) {
    const x = ins[i];
    switch (x.type) {
      case 'goto_table': put16(b, p, 1); put16(b, p + 2, 8); put8(b, p + 4, x.tableId, 'goto_table'); zero(b, p + 5, 3); p += 8; break;
      case 'write_metadata':
        put16(b, p, 2); put16(b, p + 2, 24); zero(b, p + 4, 4); put64(b, p + 8, x.metadata, 'write_metadata'); put64(b, p + 16, x.mask, 'write_metadata mask');
        p += 24; break;
      case 'apply_actions': case 'write_actions': {
        const start = p;
        put16(b, p, x.type === 'apply_actions' ? 4 : 3); zero(b, p + 4, 4);
        p = putActions(b, p + 8, x.actions);
        put16(b, start + 2, p - start);
        break;
      }
      case 'clear_actions': put16(b, p, 5); put16(b, p + 2, 8); zero(b, p + 4, 4); p += 8; break;
      case 'meter': put16(b, p, 6); put16(b, p + 2, 8); put32(b, p + 4, x.meterId, 'meter id'); p += 8; break;
      default: throw new TypeError(`cannot encode instruction ${(x as { type: string }).type}`);
    }
  }
  return p;
}

function flagBits(f: FlowModFlags): number {
  return (f.sendFlowRem ? 1 : 0) | (f.checkOverlap ? 2 : 0) | (f.resetCounts ? 4 : 0) | (f.noPktCounts ? 8 : 0) | (f.noBytCounts ? 16 : 0);
}

/**
 * Writes one FLOW_MOD of `len` bytes (from flowModLength) at p into b, which must have room; returns the end.
 * Throws RangeError when the message exceeds the OpenFlow maximum of 65,535 bytes.
 */
export function putFlowMod(b: Buffer, p: number, msg: MessageOf<'flow_mod'>, len: number): number {
  if (len > MAX_MESSAGE) throw new RangeError(`flow_mod message of ${len} bytes exceeds the OpenFlow maximum of 65535`);
  const command = COMMAND[msg.command];
  if (command === undefined) throw new TypeError(`unknown flow mod command '${String(msg.command)}'`);
  b[p] = OFP_VERSION; b[p + 1] = OFPT_FLOW_MOD; put16(b, p + 2, len); put32(b, p + 4, msg.xid, 'xid');
  put64(b, p + 8, msg.cookie, 'cookie'); put64(b, p + 16, msg.cookieMask, 'cookieMask');
  put8(b, p + 24, msg.tableId, 'tableId'); b[p + 25] = command;
  put16(b, p + 26, msg.idleTimeout, 'idleTimeout'); put16(b, p + 28, msg.hardTimeout, 'hardTimeout'); put16(b, p + 30, msg.priority, 'priority');
  put32(b, p + 32, msg.bufferId, 'bufferId'); put32(b, p + 36, msg.outPort, 'outPort'); put32(b, p + 40, msg.outGroup, 'outGroup');
  put16(b, p + 44, flagBits(msg.flags)); b[p + 46] = 0; b[p + 47] = 0;
  const end = putInstructions(b, msg.rawMatch ? p + FLOW_MOD_FIXED + msg.rawMatch.copy(b, p + FLOW_MOD_FIXED) : putMatch(b, p + FLOW_MOD_FIXED, msg.match), msg.instructions);
  if (end - p !== len) throw new Error(`flow_mod length mismatch: computed ${len}, wrote ${end - p}`);
  return end;
}

/** Encodes one FLOW_MOD into a buffer of exactly its size. */
export function encodeFlowMod(msg: MessageOf<'flow_mod'>): Buffer {
  const len = flowModLength(msg);
  const b = Buffer.allocUnsafe(len);
  putFlowMod(b, 0, msg, len);
  return b;
}
