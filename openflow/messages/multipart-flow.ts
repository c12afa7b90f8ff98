/** The flow-stats bodies of MULTIPART messages: the FLOW/AGGREGATE request and the FLOW reply; write and read side by side. */
import type { FlowStats, Match, MultipartRequestBody } from '../types.js';
import { OFP_FLOW_STATS_SIZE } from '../constants.js';
import { DecodeFail, type Reader, type Writer } from '../buffer.js';
import { readMatch, writeMatch } from '../match.js';
import { readInstructions, writeInstructions } from '../instructions.js';
import { bitsToFlowFlags, flowFlagsToBits } from './flow-mod.js';

type FlowRequest = Extract<MultipartRequestBody, { kind: 'flow' | 'aggregate' }>;

export function writeFlowStatsRequest(w: Writer, b: FlowRequest): void {
  w.u8(b.tableId);
  w.zeros(3);
  w.u32(b.outPort);
  w.u32(b.outGroup);
  w.zeros(4);
  w.u64(b.cookie);
  w.u64(b.cookieMask);
  writeMatch(w, b.match);
}

export function readFlowStatsRequest<K extends FlowRequest['kind']>(r: Reader, kind: K): FlowRequest & { kind: K } {
  const tableId = r.u8();
  r.skip(3);
  const outPort = r.u32();
  const outGroup = r.u32();
  r.skip(4);
  const cookie = r.u64();
  const cookieMask = r.u64();
  return { kind, tableId, outPort, outGroup, cookie, cookieMask, match: readMatch(r) } as FlowRequest & { kind: K };
}

export function writeFlowStats(w: Writer, flows: readonly FlowStats[]): void {
  for (const f of flows) {
    const s = w.pos;
    w.u16(0);
    w.u8(f.tableId);
    w.zeros(1);
    w.u32(f.durationSec);
    w.u32(f.durationNsec);
    w.u16(f.priority);
    w.u16(f.idleTimeout);
    w.u16(f.hardTimeout);
    w.u16(flowFlagsToBits(f.flags));
    w.zeros(4);
    w.u64(f.cookie);
    w.u64(f.packetCount);
    w.u64(f.byteCount);
    writeMatch(w, f.match);
    writeInstructions(w, f.instructions);
    w.patchU16(s, w.pos - s);
  }
}

type FlowStatsHead = Omit<FlowStats, 'match' | 'instructions' | 'rawMatch' | 'undecoded'>;

/**
 * One flow entry. Another tool's flow with fields or actions we do not model is kept, opaque, so that one foreign
 * flow cannot make a whole table unreadable (structural damage still fails the reply). A match we could read is kept
 * (it names the flow); otherwise its bytes are, to be sent back in a delete.
 */
function readFlowStatsEntry(b: Reader): FlowStats {
  const tableId = b.u8();
  b.skip(1);
  const durationSec = b.u32();
  const durationNsec = b.u32();
  const priority = b.u16();
  const idleTimeout = b.u16();
  const hardTimeout = b.u16();
  const flags = bitsToFlowFlags(b.u16());
  b.skip(4);
  const cookie = b.u64();
  const packetCount = b.u64();
  const byteCount = b.u64();
  const at = b.pos;
  let m: Match | undefined;
  try {
    m = readMatch(b);
    return {
      tableId,
      durationSec,
      durationNsec,
      priority,
      idleTimeout,
      hardTimeout,
      flags,
      cookie,
      packetCount,
      byteCount,
      match: m,
      instructions: readInstructions(b),
    };
  } catch (e) {
    if (!(e instanceof DecodeFail) || (e.code !== 'bad_field' && e.code !== 'unknown_type')) throw e;
    const head: FlowStatsHead = {
      tableId,
      durationSec,
      durationNsec,
      priority,
      idleTimeout,
      hardTimeout,
      flags,
      cookie,
      packetCount,
      byteCount,
    };
    return { ...head, match: m ?? [], instructions: [], ...(m ? {} : { rawMatch: rawMatchAt(b, at) }), undecoded: e.message };
  }
}

/** The ofp_match bytes (padded to 8) that start at `at`. */
function rawMatchAt(b: Reader, at: number): Buffer {
  b.pos = at;
  b.skip(2);
  const mlen = b.u16();
  b.pos = at;
  return b.copy((mlen + 7) & ~7);
}

export function readFlowStats(r: Reader): FlowStats[] {
  const flows: FlowStats[] = [];
  while (r.remaining > 0) {
    const len = r.u16();
    if (len < OFP_FLOW_STATS_SIZE) throw new DecodeFail('bad_length', `flow stats length ${len}`, r.pos - 2);
    flows.push(readFlowStatsEntry(r.sub(len - 2)));
  }
  return flows;
}
