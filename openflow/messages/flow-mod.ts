/**
 * FLOW_MOD, the hot path: the exact length is computed first, then every byte is written straight into one buffer
 * (no growable writer, no intermediate arrays, no second copy). Decode beside it. The flow flags are shared with
 * flow stats (multipart-flow.ts).
 */
import type { FlowModFlags, MessageOf } from '../types.js';
import { OFP_FLOW_MOD_FIXED, OFP_MAX_MESSAGE, OFP_VERSION, OFPFC, OFPFF, OFPT } from '../constants.js';
import { DecodeFail, type Reader, type Writer } from '../buffer.js';
import { matchLength, putMatch, readMatch } from '../match.js';
import { instructionsLength, putInstructions, readInstructions } from '../instructions.js';
import { put16, put32, put64, put8 } from '../wire.js';

/** struct ofp_flow_mod: byte offsets of its fields (the ofp_match starts at OFP_FLOW_MOD_FIXED). */
const AT = {
  version: 0,
  type: 1,
  length: 2,
  xid: 4,
  cookie: 8,
  cookieMask: 16,
  tableId: 24,
  command: 25,
  idleTimeout: 26,
  hardTimeout: 28,
  priority: 30,
  bufferId: 32,
  outPort: 36,
  outGroup: 40,
  flags: 44,
  pad: 46,
} as const;

const COMMAND = new Map<string, number>(OFPFC.map((c, i) => [c, i]));

export function flowFlagsToBits(f: FlowModFlags): number {
  return (
    (f.sendFlowRem ? OFPFF.SEND_FLOW_REM : 0) |
    (f.checkOverlap ? OFPFF.CHECK_OVERLAP : 0) |
    (f.resetCounts ? OFPFF.RESET_COUNTS : 0) |
    (f.noPktCounts ? OFPFF.NO_PKT_COUNTS : 0) |
    (f.noBytCounts ? OFPFF.NO_BYT_COUNTS : 0)
  );
}

export function bitsToFlowFlags(b: number): FlowModFlags {
  const f: { -readonly [K in keyof FlowModFlags]: FlowModFlags[K] } = {};
  if (b & OFPFF.SEND_FLOW_REM) f.sendFlowRem = true;
  if (b & OFPFF.CHECK_OVERLAP) f.checkOverlap = true;
  if (b & OFPFF.RESET_COUNTS) f.resetCounts = true;
  if (b & OFPFF.NO_PKT_COUNTS) f.noPktCounts = true;
  if (b & OFPFF.NO_BYT_COUNTS) f.noBytCounts = true;
  return f;
}

/** Total length of the FLOW_MOD on the wire. */
export function flowModLength(msg: MessageOf<'flow_mod'>): number {
  return OFP_FLOW_MOD_FIXED + (msg.rawMatch ? msg.rawMatch.length : matchLength(msg.match)) + instructionsLength(msg.instructions);
}

/**
 * Writes one FLOW_MOD of `len` bytes (from flowModLength) at p into b, which must have room; returns the end.
 * Throws RangeError when the message exceeds the OpenFlow maximum of 65,535 bytes.
 */
export function putFlowMod(b: Buffer, p: number, msg: MessageOf<'flow_mod'>, len: number): number {
  if (len > OFP_MAX_MESSAGE) throw new RangeError(`flow_mod message of ${len} bytes exceeds the OpenFlow maximum of 65535`);
  const command = COMMAND.get(msg.command);
  if (command === undefined) throw new TypeError(`unknown flow mod command '${String(msg.command)}'`);
  b[p + AT.version] = OFP_VERSION;
  b[p + AT.type] = OFPT.FLOW_MOD;
  put16(b, p + AT.length, len);
  put32(b, p + AT.xid, msg.xid, 'xid');
  put64(b, p + AT.cookie, msg.cookie, 'cookie');
  put64(b, p + AT.cookieMask, msg.cookieMask, 'cookieMask');
  put8(b, p + AT.tableId, msg.tableId, 'tableId');
  b[p + AT.command] = command;
  put16(b, p + AT.idleTimeout, msg.idleTimeout, 'idleTimeout');
  put16(b, p + AT.hardTimeout, msg.hardTimeout, 'hardTimeout');
  put16(b, p + AT.priority, msg.priority, 'priority');
  put32(b, p + AT.bufferId, msg.bufferId, 'bufferId');
  put32(b, p + AT.outPort, msg.outPort, 'outPort');
  put32(b, p + AT.outGroup, msg.outGroup, 'outGroup');
  put16(b, p + AT.flags, flowFlagsToBits(msg.flags));
  b[p + AT.pad] = 0;
  b[p + AT.pad + 1] = 0;
  const m = p + OFP_FLOW_MOD_FIXED;
  const end = putInstructions(b, msg.rawMatch ? m + msg.rawMatch.copy(b, m) : putMatch(b, m, msg.match), msg.instructions);
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

/** One FLOW_MOD written straight into the writer's buffer, sized first. */
export function writeFlowMod(w: Writer, msg: MessageOf<'flow_mod'>): void {
  const len = flowModLength(msg);
  w.ensure(len);
  w.pos = putFlowMod(w.buf, w.pos, msg, len);
}

export function decodeFlowMod(r: Reader, xid: number): MessageOf<'flow_mod'> {
  const cookie = r.u64();
  const cookieMask = r.u64();
  const tableId = r.u8();
  const cmd = r.u8();
  const command = OFPFC[cmd];
  if (!command) throw new DecodeFail('bad_value', `flow mod command ${cmd}`, r.pos - 1);
  const idleTimeout = r.u16();
  const hardTimeout = r.u16();
  const priority = r.u16();
  const bufferId = r.u32();
  const outPort = r.u32();
  const outGroup = r.u32();
  const flags = bitsToFlowFlags(r.u16());
  r.skip(2);
  const match = readMatch(r);
  return {
    type: 'flow_mod',
    xid,
    cookie,
    cookieMask,
    tableId,
    command,
    idleTimeout,
    hardTimeout,
    priority,
    bufferId,
    outPort,
    outGroup,
    flags,
    match,
    instructions: readInstructions(r),
  };
}
