/**
 * OpenFlow 1.3 message encoder and decoder. `encode` computes every length and padding itself;
 * `decode` never throws: bad input becomes a DecodeError value.
 */
import type {
  Match,
  Action, Bucket, DecodeResult, FlowModFlags, FlowStats, Instruction, MeterBand, MultipartReplyBody,
  MultipartRequestBody, OfpMessage, PortDesc, PortStats, TableStats, MessageOf, TableFeatures, OxmFieldName,
} from './types.js';
import { OFP_VERSION } from './types.js';
import { DecodeFail, Reader, Writer, macToBytes } from './buffer.js';
import { OXM_BY_NAME, OXM_FIELDS, readMatch, readOxm, writeMatch, writeOxm } from './oxm.js';
import { errorCodeName, errorTypeName, experimenterErrorName } from './errors.js';
import { encodeFlowMod, flowModLength, putFlowMod } from './flowmod.js';
import { parseDesc, parsePort, parsePortStats, parseSwitchFeatures, parseTableStats } from './structs.js';

export const OFP_HEADER_SIZE = 8;
export const OFP_MATCH_SIZE = 8;
export const OFP_FLOW_MOD_SIZE = 56;
export const OFP_ACTION_OUTPUT_SIZE = 16;
export const OFP_PORT_SIZE = 64;
export const OFP_FLOW_STATS_SIZE = 56;
export const OFP_PORT_STATS_SIZE = 112;
export const OFP_TABLE_STATS_SIZE = 24;
export const OFP_DESC_SIZE = 1056;
export const OFP_PACKET_OUT_SIZE = 24;
export const OFP_SWITCH_FEATURES_SIZE = 32;
/** Largest message we accept (OpenFlow lengths are 16-bit). */
export const OFP_MAX_MESSAGE = 0xffff;

export const ONF_EXPERIMENTER = 0x4f4e4600;
export const ONFT_BUNDLE_CONTROL = 2300;
export const ONFT_BUNDLE_ADD_MESSAGE = 2301;

export const OFPT = {
  HELLO: 0, ERROR: 1, ECHO_REQUEST: 2, ECHO_REPLY: 3, EXPERIMENTER: 4, FEATURES_REQUEST: 5, FEATURES_REPLY: 6,
  GET_CONFIG_REQUEST: 7, GET_CONFIG_REPLY: 8, SET_CONFIG: 9, PACKET_IN: 10, FLOW_REMOVED: 11, PORT_STATUS: 12,
  PACKET_OUT: 13, FLOW_MOD: 14, GROUP_MOD: 15, PORT_MOD: 16, TABLE_MOD: 17, MULTIPART_REQUEST: 18, MULTIPART_REPLY: 19,
  BARRIER_REQUEST: 20, BARRIER_REPLY: 21, ROLE_REQUEST: 24, ROLE_REPLY: 25, METER_MOD: 29,
} as const;

const OFPMP = { desc: 0, flow: 1, aggregate: 2, table: 3, port_stats: 4, table_features: 12, port_desc: 13 } as const;
const OFPMP_BY_CODE: Record<number, keyof typeof OFPMP> = { 0: 'desc', 1: 'flow', 2: 'aggregate', 3: 'table', 4: 'port_stats', 12: 'table_features', 13: 'port_desc' };
/** ofp_table_features without properties; OFPTFPT_MATCH, the property listing the OXM headers a table matches. */
export const OFP_TABLE_FEATURES_SIZE = 64;
const OFPTFPT_MATCH = 8;
export const OFPMPF_REPLY_MORE = 1;

const FLOW_COMMANDS = ['add', 'modify', 'modify_strict', 'delete', 'delete_strict'] as const;
const ROLES = ['nochange', 'equal', 'master', 'slave'] as const;
const PORT_REASONS = ['add', 'delete', 'modify'] as const;
const GROUP_COMMANDS = ['add', 'modify', 'delete'] as const;
const GROUP_TYPES = ['all', 'select', 'indirect', 'ff'] as const;
const BUNDLE_CTRL = ['open_request', 'open_reply', 'close_request', 'close_reply', 'commit_request', 'commit_reply', 'discard_request', 'discard_reply'] as const;

const OFPAT = { output: 0, push_vlan: 17, pop_vlan: 18, set_queue: 21, group: 22, dec_nw_ttl: 24, set_field: 25 } as const;
/** Nicira experimenter actions (Open vSwitch): vendor id, NXAST_CT, its commit flag, and "no recirculation". */
export const OFPAT_EXPERIMENTER = 0xffff;
export const NX_VENDOR_ID = 0x00002320;
export const NXAST_CT = 35;
export const NX_CT_F_COMMIT = 1;
export const NX_CT_RECIRC_NONE = 0xff;
const OFPIT = { goto_table: 1, write_metadata: 2, write_actions: 3, apply_actions: 4, clear_actions: 5, meter: 6 } as const;

// ---------- flags ----------

function flowFlagsToBits(f: FlowModFlags): number {
  return (f.sendFlowRem ? 1 : 0) | (f.checkOverlap ? 2 : 0) | (f.resetCounts ? 4 : 0) | (f.noPktCounts ? 8 : 0) | (f.noBytCounts ? 16 : 0);
}
function bitsToFlowFlags(b: number): FlowModFlags {
  const f: { -readonly [K in keyof FlowModFlags]: FlowModFlags[K] } = {};
  if (b & 1) f.sendFlowRem = true;
  if (b & 2) f.checkOverlap = true;
  if (b & 4) f.resetCounts = true;
  if (b & 8) f.noPktCounts = true;
  if (b & 16) f.noBytCounts = true;
  return f;
}

// ---------- actions and instructions ----------

export function writeActions(w: Writer, actions: readonly Action[]): void {
  for (const a of actions) {
    const start = w.pos;
    switch (a.type) {
      case 'output': w.u16(OFPAT.output); w.u16(16); w.u32(a.port); w.u16(a.maxLen ?? 0xffff); w.zeros(6); break;
      case 'group': w.u16(OFPAT.group); w.u16(8); w.u32(a.groupId); break;
      case 'set_queue': w.u16(OFPAT.set_queue); w.u16(8); w.u32(a.queueId); break;
      case 'push_vlan': w.u16(OFPAT.push_vlan); w.u16(8); w.u16(a.ethertype); w.zeros(2); break;
      case 'pop_vlan': w.u16(OFPAT.pop_vlan); w.u16(8); w.zeros(4); break;
      case 'dec_nw_ttl': w.u16(OFPAT.dec_nw_ttl); w.u16(8); w.zeros(4); break;
      case 'ct': {
        const zone = a.zone ?? 0;
        const table = a.table ?? NX_CT_RECIRC_NONE;
        if ((zone & 0xffff) !== zone) throw new RangeError(`ct: zone ${String(zone)} is out of range`);
        if ((table & 0xff) !== table || table === NX_CT_RECIRC_NONE && a.table !== undefined) throw new RangeError(`ct: table ${String(a.table)} is out of range`);
        w.u16(OFPAT_EXPERIMENTER); w.u16(0); w.u32(NX_VENDOR_ID); w.u16(NXAST_CT); w.u16(a.commit ? NX_CT_F_COMMIT : 0);
        w.u32(0); w.u16(zone); w.u8(table); w.zeros(3); w.u16(0);
        writeActions(w, a.actions ?? []);
        w.patchU16(start + 2, w.pos - start);
        break;
      }
      case 'set_field':
        if (OXM_BY_NAME[a.field] && !OXM_BY_NAME[a.field].settable) throw new RangeError(`set_field: ${a.field} can be matched but not set`);
        w.u16(OFPAT.set_field); w.u16(0);
        writeOxm(w, { field: a.field, value: a.value });
        w.pad8(start);
        w.patchU16(start + 2, w.pos - start);
        break;
    }
  }
}

export function readActions(r: Reader): Action[] {
  const out: Action[] = [];
  while (r.remaining > 0) {
    const at = r.pos;
    const type = r.u16();
    const len = r.u16();
    if (len < 8 || len % 8) throw new DecodeFail('bad_length', `action length ${len}`, at);
    const b = r.sub(len - 4);
    switch (type) {
      case OFPAT.output: { const port = b.u32(); const maxLen = b.u16(); out.push({ type: 'output', port, maxLen }); break; }
      case OFPAT.group: out.push({ type: 'group', groupId: b.u32() }); break;
      case OFPAT.set_queue: out.push({ type: 'set_queue', queueId: b.u32() }); break;
      case OFPAT.push_vlan: out.push({ type: 'push_vlan', ethertype: b.u16() }); break;
      case OFPAT.pop_vlan: out.push({ type: 'pop_vlan' }); break;
      case OFPAT.dec_nw_ttl: out.push({ type: 'dec_nw_ttl' }); break;
      case OFPAT.set_field: { const e = readOxm(b); out.push({ type: 'set_field', field: e.field, value: e.value }); break; }
      case OFPAT_EXPERIMENTER: out.push(readExperimenterAction(b, at)); break;
      default: throw new DecodeFail('unknown_type', `unsupported action type ${type}`, at);
    }
  }
  return out;
}

/** The Nicira experimenter actions this codec models (only ct); anything else is unknown_type (a foreign flow stays opaque). */
function readExperimenterAction(b: Reader, at: number): Action {
  const vendor = b.u32();
  const subtype = b.u16();
  if (vendor !== NX_VENDOR_ID || subtype !== NXAST_CT) throw new DecodeFail('unknown_type', `unsupported experimenter action 0x${vendor.toString(16)}/${subtype}`, at);
  if (b.remaining < 14) throw new DecodeFail('bad_length', 'ct action shorter than 24 bytes', at);
  const flags = b.u16(); const zoneSrc = b.u32(); const zone = b.u16(); const table = b.u8(); b.skip(3); const alg = b.u16();
  if (flags & ~NX_CT_F_COMMIT) throw new DecodeFail('unknown_type', `ct flags 0x${flags.toString(16)} (only commit is modelled)`, at);
  if (zoneSrc !== 0) throw new DecodeFail('unknown_type', 'ct zone taken from a field (only an immediate zone is modelled)', at);
  if (alg !== 0) throw new DecodeFail('unknown_type', `ct alg ${alg} (no ALG is modelled)`, at);
  const actions = readActions(b);
  return { type: 'ct', ...(flags & NX_CT_F_COMMIT ? { commit: true } : {}), zone, ...(table !== NX_CT_RECIRC_NONE ? { table } : {}), ...(actions.length ? { actions } : {}) };
}

export function writeInstructions(w: Writer, ins: readonly Instruction[]): void {
  for (const i of ins) {
    const start = w.pos;
    switch (i.type) {
      case 'goto_table': w.u16(OFPIT.goto_table); w.u16(8); w.u8(i.tableId); w.zeros(3); break;
      case 'write_metadata': w.u16(OFPIT.write_metadata); w.u16(24); w.zeros(4); w.u64(i.metadata); w.u64(i.mask); break;
      case 'apply_actions': case 'write_actions':
        w.u16(i.type === 'apply_actions' ? OFPIT.apply_actions : OFPIT.write_actions); w.u16(0); w.zeros(4);
        writeActions(w, i.actions);
        w.patchU16(start + 2, w.pos - start);
        break;
      case 'clear_actions': w.u16(OFPIT.clear_actions); w.u16(8); w.zeros(4); break;
      case 'meter': w.u16(OFPIT.meter); w.u16(8); w.u32(i.meterId); break;
    }
  }
}

export function readInstructions(r: Reader): Instruction[] {
  const out: Instruction[] = [];
  while (r.remaining > 0) {
    const at = r.pos;
    const type = r.u16();
    const len = r.u16();
    if (len < 8 || len % 8) throw new DecodeFail('bad_length', `instruction length ${len}`, at);
    const b = r.sub(len - 4);
    switch (type) {
      case OFPIT.goto_table: out.push({ type: 'goto_table', tableId: b.u8() }); break;
      case OFPIT.write_metadata: { b.skip(4); const metadata = b.u64(); const mask = b.u64(); out.push({ type: 'write_metadata', metadata, mask }); break; }
      case OFPIT.apply_actions: b.skip(4); out.push({ type: 'apply_actions', actions: readActions(b) }); break;
      case OFPIT.write_actions: b.skip(4); out.push({ type: 'write_actions', actions: readActions(b) }); break;
      case OFPIT.clear_actions: out.push({ type: 'clear_actions' }); break;
      case OFPIT.meter: out.push({ type: 'meter', meterId: b.u32() }); break;
      default: throw new DecodeFail('unknown_type', `unsupported instruction type ${type}`, at);
    }
  }
  return out;
}

// ---------- ports ----------

function writePort(w: Writer, p: PortDesc): void {
  w.u32(p.portNo); w.zeros(4);
  w.ensure(6); macToBytes(p.hwAddr, w.buf, w.pos); w.pos += 6; w.zeros(2);
  w.str(p.name, 16);
  w.u32(p.config); w.u32(p.state); w.u32(p.curr); w.u32(p.advertised); w.u32(p.supported); w.u32(p.peer); w.u32(p.currSpeed); w.u32(p.maxSpeed);
}
function readPort(r: Reader): PortDesc {
  return parsePort(r.bytes(OFP_PORT_SIZE));
}

// ---------- encode ----------

let scratch = new Writer(1 << 16);

/** Encodes one message; all lengths and padding are computed here. */
export function encode(msg: OfpMessage): Buffer {
  if (msg.type === 'flow_mod') return encodeFlowMod(msg);
  const w = scratch;
  w.pos = 0;
  try {
    encodeInto(w, msg);
    return w.take();
  } catch (e) {
    scratch = new Writer(1 << 16);
    throw e;
  }
}

/** Encodes several messages into one buffer (one socket write). */
export function encodeMany(msgs: readonly OfpMessage[]): Buffer {
  let size = 0;
  for (const m of msgs) size += m.type === 'flow_mod' ? flowModLength(m) : 128;
  const w = new Writer(Math.max(256, size));
  for (const m of msgs) encodeInto(w, m);
  return w.buf.subarray(0, w.pos);
}


export function encodeInto(w: Writer, msg: OfpMessage): void {
  const start = w.pos;
  if (msg.type === 'flow_mod') { encodeFlowModInto(w, msg); return; }
  const header = (type: number) => { w.u8(OFP_VERSION); w.u8(type); w.u16(0); w.u32(msg.xid); };
  switch (msg.type) {
    case 'hello': {
      header(OFPT.HELLO);
      if (msg.versions.length) {
        const words = Math.floor(Math.max(...msg.versions) / 32) + 1;
        const bm = new Array<number>(words).fill(0);
        for (const v of msg.versions) bm[v >> 5] |= 1 << (v & 31);
        const el = w.pos;
        w.u16(1); w.u16(4 + 4 * words);
        for (const x of bm) w.u32(x >>> 0);
        w.pad8(el);
      }
      break;
    }
    case 'error':
      header(OFPT.ERROR); w.u16(msg.errType); w.u16(msg.code);
      if (msg.errType === 0xffff && msg.experimenter !== undefined) w.u32(msg.experimenter);
      w.bytes(msg.data);
      break;
    case 'echo_request': header(OFPT.ECHO_REQUEST); w.bytes(msg.data); break;
    case 'echo_reply': header(OFPT.ECHO_REPLY); w.bytes(msg.data); break;
    case 'experimenter': header(OFPT.EXPERIMENTER); w.u32(msg.experimenter); w.u32(msg.expType); w.bytes(msg.data); break;
    case 'features_request': header(OFPT.FEATURES_REQUEST); break;
    case 'features_reply':
      header(OFPT.FEATURES_REPLY); w.u64(msg.datapathId); w.u32(msg.nBuffers); w.u8(msg.nTables); w.u8(msg.auxiliaryId); w.zeros(2); w.u32(msg.capabilities); w.u32(0);
      break;
    case 'get_config_request': header(OFPT.GET_CONFIG_REQUEST); break;
    case 'get_config_reply': header(OFPT.GET_CONFIG_REPLY); w.u16(msg.flags); w.u16(msg.missSendLen); break;
    case 'set_config': header(OFPT.SET_CONFIG); w.u16(msg.flags); w.u16(msg.missSendLen); break;
    case 'packet_in':
      header(OFPT.PACKET_IN); w.u32(msg.bufferId); w.u16(msg.totalLen); w.u8(msg.reason); w.u8(msg.tableId); w.u64(msg.cookie);
      writeMatch(w, msg.match); w.zeros(2); w.bytes(msg.data);
      break;
    case 'flow_removed':
      header(OFPT.FLOW_REMOVED); w.u64(msg.cookie); w.u16(msg.priority); w.u8(msg.reason); w.u8(msg.tableId);
      w.u32(msg.durationSec); w.u32(msg.durationNsec); w.u16(msg.idleTimeout); w.u16(msg.hardTimeout); w.u64(msg.packetCount); w.u64(msg.byteCount);
      writeMatch(w, msg.match);
      break;
    case 'port_status': header(OFPT.PORT_STATUS); w.u8(PORT_REASONS.indexOf(msg.reason)); w.zeros(7); writePort(w, msg.desc); break;
    case 'packet_out': {
      header(OFPT.PACKET_OUT); w.u32(msg.bufferId); w.u32(msg.inPort);
      const lenAt = w.pos; w.u16(0); w.zeros(6);
      const a = w.pos; writeActions(w, msg.actions); w.patchU16(lenAt, w.pos - a);
      w.bytes(msg.data);
      break;
    }
    case 'group_mod':
      header(OFPT.GROUP_MOD); w.u16(GROUP_COMMANDS.indexOf(msg.command)); w.u8(GROUP_TYPES.indexOf(msg.groupType)); w.zeros(1); w.u32(msg.groupId);
      for (const b of msg.buckets) {
        const bs = w.pos;
        w.u16(0); w.u16(b.weight); w.u32(b.watchPort); w.u32(b.watchGroup); w.zeros(4);
        writeActions(w, b.actions);
        w.patchU16(bs, w.pos - bs);
      }
      break;
    case 'meter_mod': {
      header(OFPT.METER_MOD); w.u16(GROUP_COMMANDS.indexOf(msg.command));
      const f = msg.flags;
      w.u16((f.kbps ? 1 : 0) | (f.pktps ? 2 : 0) | (f.burst ? 4 : 0) | (f.stats ? 8 : 0)); w.u32(msg.meterId);
      for (const b of msg.bands) {
        w.u16(b.type === 'drop' ? 1 : 2); w.u16(16); w.u32(b.rate); w.u32(b.burstSize);
        if (b.type === 'drop') w.zeros(4); else { w.u8(b.precLevel); w.zeros(3); }
      }
      break;
    }
    case 'multipart_request': header(OFPT.MULTIPART_REQUEST); w.u16(OFPMP[msg.body.kind]); w.u16(msg.flags); w.zeros(4); writeMpRequest(w, msg.body); break;
    case 'multipart_reply': header(OFPT.MULTIPART_REPLY); w.u16(OFPMP[msg.body.kind]); w.u16(msg.flags); w.zeros(4); writeMpReply(w, msg.body); break;
    case 'barrier_request': header(OFPT.BARRIER_REQUEST); break;
    case 'barrier_reply': header(OFPT.BARRIER_REPLY); break;
    case 'role_request': case 'role_reply':
      header(msg.type === 'role_request' ? OFPT.ROLE_REQUEST : OFPT.ROLE_REPLY); w.u32(ROLES.indexOf(msg.role)); w.zeros(4); w.u64(msg.generationId);
      break;
    case 'bundle_control':
      header(OFPT.EXPERIMENTER); w.u32(ONF_EXPERIMENTER); w.u32(ONFT_BUNDLE_CONTROL);
      w.u32(msg.bundleId); w.u16(BUNDLE_CTRL.indexOf(msg.ctrlType)); w.u16(bundleFlags(msg.flags));
      break;
    case 'bundle_add':
      header(OFPT.EXPERIMENTER); w.u32(ONF_EXPERIMENTER); w.u32(ONFT_BUNDLE_ADD_MESSAGE);
      w.u32(msg.bundleId); w.zeros(2); w.u16(bundleFlags(msg.flags));
      encodeInto(w, { ...msg.message, xid: msg.xid });
      break;
    default: {
      const never: never = msg;
      throw new Error(`cannot encode ${(never as { type: string }).type}`);
    }
  }
  const len = w.pos - start;
  if (len > OFP_MAX_MESSAGE) throw new RangeError(`${msg.type} message of ${len} bytes exceeds the OpenFlow maximum of 65535`);
  w.patchU16(start + 2, len);
}

/** The hot path: one FLOW_MOD written straight into the writer's buffer, sized first. */
function encodeFlowModInto(w: Writer, msg: MessageOf<'flow_mod'>): void {
  const len = flowModLength(msg);
  w.ensure(len);
  w.pos = putFlowMod(w.buf, w.pos, msg, len);
}

function bundleFlags(f: { atomic?: boolean; ordered?: boolean }): number {
  return (f.atomic ? 1 : 0) | (f.ordered ? 2 : 0);
}

function writeFlowStatsRequest(w: Writer, b: Extract<MultipartRequestBody, { kind: 'flow' | 'aggregate' }>): void {
  w.u8(b.tableId); w.zeros(3); w.u32(b.outPort); w.u32(b.outGroup); w.zeros(4); w.u64(b.cookie); w.u64(b.cookieMask);
  writeMatch(w, b.match);
}

function writeMpRequest(w: Writer, b: MultipartRequestBody): void {
  switch (b.kind) {
    case 'desc': case 'table': case 'port_desc': case 'table_features': break;
    case 'flow': case 'aggregate': writeFlowStatsRequest(w, b); break;
    case 'port_stats': w.u32(b.portNo); w.zeros(4); break;
  }
}

function writeMpReply(w: Writer, b: MultipartReplyBody): void {
  switch (b.kind) {
    case 'desc': w.str(b.mfrDesc, 256); w.str(b.hwDesc, 256); w.str(b.swDesc, 256); w.str(b.serialNum, 32); w.str(b.dpDesc, 256); break;
    case 'flow':
      for (const f of b.flows) {
        const s = w.pos;
        w.u16(0); w.u8(f.tableId); w.zeros(1); w.u32(f.durationSec); w.u32(f.durationNsec); w.u16(f.priority); w.u16(f.idleTimeout); w.u16(f.hardTimeout);
        w.u16(flowFlagsToBits(f.flags)); w.zeros(4); w.u64(f.cookie); w.u64(f.packetCount); w.u64(f.byteCount);
        writeMatch(w, f.match); writeInstructions(w, f.instructions);
        w.patchU16(s, w.pos - s);
      }
      break;
    case 'aggregate': w.u64(b.packetCount); w.u64(b.byteCount); w.u32(b.flowCount); w.zeros(4); break;
    case 'table_features':
      for (const t of b.tables) {
        const s = w.pos;
        w.u16(0); w.u8(t.tableId); w.zeros(5); w.str(t.name, 32); w.u64(t.metadataMatch); w.u64(t.metadataWrite); w.u32(t.config); w.u32(t.maxEntries);
        if (t.matchFields) {
          const ps = w.pos;
          w.u16(OFPTFPT_MATCH); w.u16(0);
          for (const f of t.matchFields) { const d = OXM_BY_NAME[f]; w.u16(d.oxmClass); w.u8(d.oxmField << 1); w.u8(d.bytes); }
          w.patchU16(ps + 2, w.pos - ps);
          w.pad8(ps);
        }
        w.patchU16(s, w.pos - s);
      }
      break;
    case 'table': for (const t of b.tables) { w.u8(t.tableId); w.zeros(3); w.u32(t.activeCount); w.u64(t.lookupCount); w.u64(t.matchedCount); } break;
    case 'port_stats':
      for (const p of b.ports) {
        w.u32(p.portNo); w.zeros(4);
        for (const v of [p.rxPackets, p.txPackets, p.rxBytes, p.txBytes, p.rxDropped, p.txDropped, p.rxErrors, p.txErrors, p.rxFrameErr, p.rxOverErr, p.rxCrcErr, p.collisions]) w.u64(v);
        w.u32(p.durationSec); w.u32(p.durationNsec);
      }
      break;
    case 'port_desc': for (const p of b.ports) writePort(w, p); break;
  }
}

// ---------- decode ----------

/** Decodes one whole message. Never throws. */
export function decode(buf: Buffer): DecodeResult {
  try {
    return { ok: true, message: decodeOrThrow(new Reader(buf)) };
  } catch (e) {
    if (e instanceof DecodeFail) return { ok: false, error: { kind: 'decode_error', code: e.code, message: e.message, offset: e.offset } };
    return { ok: false, error: { kind: 'decode_error', code: 'bad_value', message: (e as Error)?.message ?? String(e), offset: 0 } };
  }
}

function decodeOrThrow(outer: Reader): OfpMessage {
  const at = outer.pos;
  const version = outer.u8();
  const type = outer.u8();
  const length = outer.u16();
  const xid = outer.u32();
  if (version !== OFP_VERSION && type !== OFPT.HELLO && type !== OFPT.ERROR) {
    throw new DecodeFail('bad_version', `OpenFlow version 0x${version.toString(16)} (only 1.3 = 0x04 is spoken)`, at);
  }
  if (length < OFP_HEADER_SIZE) throw new DecodeFail('bad_length', `message length ${length} < 8`, at);
  outer.pos = at;
  outer.need(length);
  outer.pos = at + OFP_HEADER_SIZE;
  const r = outer.sub(length - OFP_HEADER_SIZE);
  switch (type) {
    case OFPT.HELLO: {
      const versions: number[] = [];
      while (r.remaining >= 4) {
        const et = r.u16(); const el = r.u16();
        if (el < 4) throw new DecodeFail('bad_length', `hello element length ${el}`, r.pos);
        const body = r.sub(el - 4);
        r.skip(Math.min(r.remaining, ((el + 7) & ~7) - el));
        if (et === 1) for (let word = 0; body.remaining >= 4; word++) {
          const bits = body.u32();
          for (let i = 0; i < 32; i++) if (bits & (1 << i)) versions.push(word * 32 + i);
        }
      }
      if (!versions.length) versions.push(version);
      return { type: 'hello', xid, versions };
    }
    case OFPT.ERROR: {
      const errType = r.u16(); const code = r.u16();
      if (errType === 0xffff && r.remaining >= 4) {
        const experimenter = r.u32();
        return { type: 'error', xid, errType, code, errTypeName: errorTypeName(errType), codeName: experimenterErrorName(experimenter, code), experimenter, data: r.copy(r.remaining) };
      }
      return { type: 'error', xid, errType, code, errTypeName: errorTypeName(errType), codeName: errorCodeName(errType, code), data: r.copy(r.remaining) };
    }
    case OFPT.ECHO_REQUEST: return { type: 'echo_request', xid, data: r.copy(r.remaining) };
    case OFPT.ECHO_REPLY: return { type: 'echo_reply', xid, data: r.copy(r.remaining) };
    case OFPT.EXPERIMENTER: {
      const experimenter = r.u32(); const expType = r.u32();
      if (experimenter === ONF_EXPERIMENTER && expType === ONFT_BUNDLE_CONTROL) {
        const bundleId = r.u32(); const ct = r.u16(); const fl = r.u16();
        const ctrlType = BUNDLE_CTRL[ct];
        if (!ctrlType) throw new DecodeFail('bad_value', `bundle control type ${ct}`, r.pos - 4);
        return { type: 'bundle_control', xid, bundleId, ctrlType, flags: flagsOf(fl) };
      }
      if (experimenter === ONF_EXPERIMENTER && expType === ONFT_BUNDLE_ADD_MESSAGE) {
        const bundleId = r.u32(); r.skip(2); const fl = r.u16();
        const inner = decodeOrThrow(r);
        return { type: 'bundle_add', xid, bundleId, flags: flagsOf(fl), message: inner };
      }
      return { type: 'experimenter', xid, experimenter, expType, data: r.copy(r.remaining) };
    }
    case OFPT.FEATURES_REQUEST: return { type: 'features_request', xid };
    case OFPT.FEATURES_REPLY: {
      const f = parseSwitchFeatures(r.bytes(OFP_SWITCH_FEATURES_SIZE - OFP_HEADER_SIZE));
      return { type: 'features_reply', xid, datapathId: f.datapathId, nBuffers: f.nBuffers, nTables: f.nTables, auxiliaryId: f.auxiliaryId, capabilities: f.capabilities };
    }
    case OFPT.GET_CONFIG_REQUEST: return { type: 'get_config_request', xid };
    case OFPT.GET_CONFIG_REPLY: return { type: 'get_config_reply', xid, flags: r.u16(), missSendLen: r.u16() };
    case OFPT.SET_CONFIG: return { type: 'set_config', xid, flags: r.u16(), missSendLen: r.u16() };
    case OFPT.PACKET_IN: {
      const bufferId = r.u32(); const totalLen = r.u16(); const reason = r.u8(); const tableId = r.u8(); const cookie = r.u64();
      const m = readMatch(r, true); r.skip(2);
      return { type: 'packet_in', xid, bufferId, totalLen, reason, tableId, cookie, match: m, data: r.copy(r.remaining) };
    }
    case OFPT.FLOW_REMOVED: {
      const cookie = r.u64(); const priority = r.u16(); const reason = r.u8(); const tableId = r.u8();
      const durationSec = r.u32(); const durationNsec = r.u32(); const idleTimeout = r.u16(); const hardTimeout = r.u16();
      const packetCount = r.u64(); const byteCount = r.u64();
      return { type: 'flow_removed', xid, cookie, priority, reason, tableId, durationSec, durationNsec, idleTimeout, hardTimeout, packetCount, byteCount, match: readMatch(r) };
    }
    case OFPT.PORT_STATUS: {
      const reasonCode = r.u8(); r.skip(7);
      const reason = PORT_REASONS[reasonCode];
      if (!reason) throw new DecodeFail('bad_value', `port status reason ${reasonCode}`, r.pos - 8);
      return { type: 'port_status', xid, reason, desc: readPort(r) };
    }
    case OFPT.PACKET_OUT: {
      const bufferId = r.u32(); const inPort = r.u32(); const alen = r.u16(); r.skip(6);
      const actions = readActions(r.sub(alen));
      return { type: 'packet_out', xid, bufferId, inPort, actions, data: r.copy(r.remaining) };
    }
    case OFPT.FLOW_MOD: {
      const cookie = r.u64(); const cookieMask = r.u64(); const tableId = r.u8(); const cmd = r.u8();
      const command = FLOW_COMMANDS[cmd];
      if (!command) throw new DecodeFail('bad_value', `flow mod command ${cmd}`, r.pos - 1);
      const idleTimeout = r.u16(); const hardTimeout = r.u16(); const priority = r.u16(); const bufferId = r.u32();
      const outPort = r.u32(); const outGroup = r.u32(); const flags = bitsToFlowFlags(r.u16()); r.skip(2);
      const m = readMatch(r);
      return { type: 'flow_mod', xid, cookie, cookieMask, tableId, command, idleTimeout, hardTimeout, priority, bufferId, outPort, outGroup, flags, match: m, instructions: readInstructions(r) };
    }
    case OFPT.GROUP_MOD: {
      const cmd = r.u16(); const gt = r.u8(); r.skip(1); const groupId = r.u32();
      const command = GROUP_COMMANDS[cmd]; const groupType = GROUP_TYPES[gt];
      if (!command || !groupType) throw new DecodeFail('bad_value', `group mod command ${cmd} type ${gt}`, r.pos - 8);
      const buckets: Bucket[] = [];
      while (r.remaining > 0) {
        const bl = r.u16();
        if (bl < 16) throw new DecodeFail('bad_length', `bucket length ${bl}`, r.pos - 2);
        const b = r.sub(bl - 2);
        const weight = b.u16(); const watchPort = b.u32(); const watchGroup = b.u32(); b.skip(4);
        buckets.push({ weight, watchPort, watchGroup, actions: readActions(b) });
      }
      return { type: 'group_mod', xid, command, groupType, groupId, buckets };
    }
    case OFPT.METER_MOD: {
      const cmd = r.u16(); const fl = r.u16(); const meterId = r.u32();
      const command = GROUP_COMMANDS[cmd];
      if (!command) throw new DecodeFail('bad_value', `meter mod command ${cmd}`, r.pos - 8);
      const bands: MeterBand[] = [];
      while (r.remaining > 0) {
        const bt = r.u16(); const bl = r.u16();
        if (bl < 16) throw new DecodeFail('bad_length', `meter band length ${bl}`, r.pos - 2);
        const b = r.sub(bl - 4);
        const rate = b.u32(); const burstSize = b.u32();
        if (bt === 1) bands.push({ type: 'drop', rate, burstSize });
        else if (bt === 2) bands.push({ type: 'dscp_remark', rate, burstSize, precLevel: b.u8() });
        else throw new DecodeFail('unknown_type', `meter band type ${bt}`, r.pos);
      }
      const flags: { kbps?: boolean; pktps?: boolean; burst?: boolean; stats?: boolean } = {};
      if (fl & 1) flags.kbps = true; if (fl & 2) flags.pktps = true; if (fl & 4) flags.burst = true; if (fl & 8) flags.stats = true;
      return { type: 'meter_mod', xid, command, flags, meterId, bands };
    }
    case OFPT.MULTIPART_REQUEST: {
      const mp = r.u16(); const flags = r.u16(); r.skip(4);
      return { type: 'multipart_request', xid, flags, body: readMpRequest(r, mp) };
    }
    case OFPT.MULTIPART_REPLY: {
      const mp = r.u16(); const flags = r.u16(); r.skip(4);
      return { type: 'multipart_reply', xid, flags, body: readMpReply(r, mp) };
    }
    case OFPT.BARRIER_REQUEST: return { type: 'barrier_request', xid };
    case OFPT.BARRIER_REPLY: return { type: 'barrier_reply', xid };
    case OFPT.ROLE_REQUEST: case OFPT.ROLE_REPLY: {
      const rc = r.u32(); r.skip(4); const generationId = r.u64();
      const role = ROLES[rc];
      if (!role) throw new DecodeFail('bad_value', `role ${rc}`, r.pos - 16);
      return { type: type === OFPT.ROLE_REQUEST ? 'role_request' : 'role_reply', xid, role, generationId };
    }
    default:
      throw new DecodeFail('unknown_type', `message type ${type} is not supported`, at + 1);
  }
}

function flagsOf(fl: number): { atomic?: boolean; ordered?: boolean } {
  const f: { atomic?: boolean; ordered?: boolean } = {};
  if (fl & 1) f.atomic = true;
  if (fl & 2) f.ordered = true;
  return f;
}

function mpKind(mp: number, at: number): keyof typeof OFPMP {
  const k = OFPMP_BY_CODE[mp];
  if (!k) throw new DecodeFail('unknown_type', `multipart type ${mp} is not supported`, at);
  return k;
}

function readMpRequest(r: Reader, mp: number): MultipartRequestBody {
  const kind = mpKind(mp, r.pos);
  switch (kind) {
    case 'desc': case 'table': case 'port_desc': return { kind };
    case 'table_features':
      // a request with a body sets the features: this codec only asks
      if (r.remaining) throw new DecodeFail('unknown_type', 'table features request with a body (setting features) is not supported', r.pos);
      return { kind };
    case 'flow': case 'aggregate': {
      const tableId = r.u8(); r.skip(3); const outPort = r.u32(); const outGroup = r.u32(); r.skip(4);
      const cookie = r.u64(); const cookieMask = r.u64();
      return { kind, tableId, outPort, outGroup, cookie, cookieMask, match: readMatch(r) };
    }
    case 'port_stats': { const portNo = r.u32(); r.skip(4); return { kind, portNo }; }
  }
}

function readMpReply(r: Reader, mp: number): MultipartReplyBody {
  const kind = mpKind(mp, r.pos);
  switch (kind) {
    case 'desc': return { kind, ...parseDesc(r.bytes(OFP_DESC_SIZE)) };
    case 'flow': {
      const flows: FlowStats[] = [];
      while (r.remaining > 0) {
        const len = r.u16();
        if (len < OFP_FLOW_STATS_SIZE) throw new DecodeFail('bad_length', `flow stats length ${len}`, r.pos - 2);
        const b = r.sub(len - 2);
        const tableId = b.u8(); b.skip(1);
        const durationSec = b.u32(); const durationNsec = b.u32(); const priority = b.u16(); const idleTimeout = b.u16(); const hardTimeout = b.u16();
        const flags = bitsToFlowFlags(b.u16()); b.skip(4);
        const cookie = b.u64(); const packetCount = b.u64(); const byteCount = b.u64();
        const at = b.pos;
        let m: Match | undefined;
        try {
          m = readMatch(b);
          flows.push({ tableId, durationSec, durationNsec, priority, idleTimeout, hardTimeout, flags, cookie, packetCount, byteCount, match: m, instructions: readInstructions(b) });
        } catch (e) {
          // Another tool's flow with fields or actions we do not model: keep it, opaque, so that one foreign flow
          // cannot make a whole table unreadable (structural damage still fails the reply). A match we could read
          // is kept (it names the flow); otherwise its bytes are, to be sent back in a delete.
          if (!(e instanceof DecodeFail) || (e.code !== 'bad_field' && e.code !== 'unknown_type')) throw e;
          let rawMatch: Buffer | undefined;
          if (!m) {
            b.pos = at;
            b.skip(2);
            const mlen = b.u16();
            b.pos = at;
            rawMatch = b.copy((mlen + 7) & ~7);
          }
          flows.push({ tableId, durationSec, durationNsec, priority, idleTimeout, hardTimeout, flags, cookie, packetCount, byteCount, match: m ?? [], instructions: [], ...(rawMatch ? { rawMatch } : {}), undecoded: e.message });
        }
      }
      return { kind, flows };
    }
    case 'aggregate': { const packetCount = r.u64(); const byteCount = r.u64(); const flowCount = r.u32(); return { kind, packetCount, byteCount, flowCount }; }
    case 'table_features': {
      const tables: TableFeatures[] = [];
      while (r.remaining > 0) {
        const at = r.pos;
        const len = r.u16();
        if (len < OFP_TABLE_FEATURES_SIZE) throw new DecodeFail('bad_length', `table features length ${len}`, at);
        const b = r.sub(len - 2);
        const tableId = b.u8(); b.skip(5);
        const name = b.bytes(32).toString('latin1').replace(/\0.*$/s, '');
        const metadataMatch = b.u64(); const metadataWrite = b.u64(); const config = b.u32(); const maxEntries = b.u32();
        let matchFields: OxmFieldName[] | undefined;
        while (b.remaining > 0) {
          const pat = b.pos;
          const ptype = b.u16(); const plen = b.u16();
          if (plen < 4) throw new DecodeFail('bad_length', `table feature property length ${plen}`, pat);
          const body = b.sub(plen - 4);
          b.skip(Math.min(b.remaining, ((plen + 7) & ~7) - plen));
          if (ptype !== OFPTFPT_MATCH) continue;
          matchFields = [];
          while (body.remaining >= 4) {
            const cls = body.u16(); const fh = body.u8(); body.u8();
            if (cls === 0xffff) { if (body.remaining < 4) break; body.skip(4); continue; }
            const d = OXM_FIELDS.find((x) => x.oxmClass === cls && x.oxmField === fh >> 1);
            if (d && !matchFields.includes(d.name)) matchFields.push(d.name);
          }
        }
        tables.push({ tableId, name, metadataMatch, metadataWrite, config, maxEntries, ...(matchFields ? { matchFields } : {}) });
      }
      return { kind, tables };
    }
    case 'table': {
      const tables: TableStats[] = [];
      while (r.remaining > 0) tables.push(parseTableStats(r.bytes(OFP_TABLE_STATS_SIZE)));
      return { kind, tables };
    }
    case 'port_stats': {
      const ports: PortStats[] = [];
      while (r.remaining > 0) ports.push(parsePortStats(r.bytes(OFP_PORT_STATS_SIZE)));
      return { kind, ports };
    }
    case 'port_desc': {
      const ports: PortDesc[] = [];
      while (r.remaining > 0) ports.push(readPort(r));
      return { kind, ports };
    }
  }
}

/** Joins the parts of a multipart reply (OFPMPF_REPLY_MORE) that share an xid into one reply. */
export function mergeMultipart(parts: readonly MessageOf<'multipart_reply'>[]): MessageOf<'multipart_reply'> {
  const first = parts[0];
  const b = first.body;
  switch (b.kind) {
    case 'flow': return { ...first, flags: 0, body: { kind: 'flow', flows: parts.flatMap((p) => (p.body as typeof b).flows) } };
    case 'table': return { ...first, flags: 0, body: { kind: 'table', tables: parts.flatMap((p) => (p.body as typeof b).tables) } };
    case 'table_features': return { ...first, flags: 0, body: { kind: 'table_features', tables: parts.flatMap((p) => (p.body as typeof b).tables) } };
    case 'port_stats': return { ...first, flags: 0, body: { kind: 'port_stats', ports: parts.flatMap((p) => (p.body as typeof b).ports) } };
    case 'port_desc': return { ...first, flags: 0, body: { kind: 'port_desc', ports: parts.flatMap((p) => (p.body as typeof b).ports) } };
    default: return { ...parts[parts.length - 1], flags: 0 };
  }
}

/** Field widths, for callers that validate values before building a match (e.g. the compiler). */
export { OXM_BY_NAME };
