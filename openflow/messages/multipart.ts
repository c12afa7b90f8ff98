/**
 * MULTIPART_REQUEST and MULTIPART_REPLY: the common part (type, flags) and one body codec per multipart type, kept
 * side by side in a table keyed by the body's kind; mergeMultipart joins the parts of a REPLY_MORE reply.
 */
import type { MessageOf, MultipartReplyBody, MultipartRequestBody, PortDesc, PortStats, TableStats } from '../types.js';
import { OFP_DESC_SIZE, OFP_PORT_STATS_SIZE, OFP_TABLE_STATS_SIZE, OFPMP } from '../constants.js';
import { DecodeFail, type Reader, type Writer } from '../buffer.js';
import { parseDesc, parsePortStats, parseTableStats } from '../structs.js';
import { readPort, writePort } from './async.js';
import { readFlowStats, readFlowStatsRequest, writeFlowStats, writeFlowStatsRequest } from './multipart-flow.js';
import { readTableFeatures, writeTableFeatures } from './table-features.js';

type Kind = keyof typeof OFPMP;
type Req<K extends Kind> = Extract<MultipartRequestBody, { kind: K }>;
type Rep<K extends Kind> = Extract<MultipartReplyBody, { kind: K }>;

interface BodyCodec<K extends Kind> {
  writeRequest(w: Writer, b: Req<K>): void;
  readRequest(r: Reader, kind: K): Req<K>;
  writeReply(w: Writer, b: Rep<K>): void;
  readReply(r: Reader, kind: K): Rep<K>;
}

const noRequestBody = (): void => undefined;
const emptyRequest = <K extends Kind>(_r: Reader, kind: K) => ({ kind }) as Req<K>;

/** Repeats a fixed-size struct parser over the rest of the reader. */
function structs<T>(r: Reader, size: number, parse: (b: Buffer) => T): T[] {
  const out: T[] = [];
  while (r.remaining > 0) out.push(parse(r.bytes(size)));
  return out;
}

function writePortStats(w: Writer, ports: readonly PortStats[]): void {
  for (const p of ports) {
    w.u32(p.portNo);
    w.zeros(4);
    for (const v of [
      p.rxPackets,
      p.txPackets,
      p.rxBytes,
      p.txBytes,
      p.rxDropped,
      p.txDropped,
      p.rxErrors,
      p.txErrors,
      p.rxFrameErr,
      p.rxOverErr,
      p.rxCrcErr,
      p.collisions,
    ])
      w.u64(v);
    w.u32(p.durationSec);
    w.u32(p.durationNsec);
  }
}

const writeTableStats = (w: Writer, tables: readonly TableStats[]): void => {
  for (const t of tables) {
    w.u8(t.tableId);
    w.zeros(3);
    w.u32(t.activeCount);
    w.u64(t.lookupCount);
    w.u64(t.matchedCount);
  }
};

const BODIES: { readonly [K in Kind]: BodyCodec<K> } = {
  desc: {
    writeRequest: noRequestBody,
    readRequest: emptyRequest,
    writeReply: (w, b) => {
      w.str(b.mfrDesc, 256);
      w.str(b.hwDesc, 256);
      w.str(b.swDesc, 256);
      w.str(b.serialNum, 32);
      w.str(b.dpDesc, 256);
    },
    readReply: (r, kind) => ({ kind, ...parseDesc(r.bytes(OFP_DESC_SIZE)) }),
  },
  flow: {
    writeRequest: writeFlowStatsRequest,
    readRequest: readFlowStatsRequest,
    writeReply: (w, b) => writeFlowStats(w, b.flows),
    readReply: (r, kind) => ({ kind, flows: readFlowStats(r) }),
  },
  aggregate: {
    writeRequest: writeFlowStatsRequest,
    readRequest: readFlowStatsRequest,
    writeReply: (w, b) => {
      w.u64(b.packetCount);
      w.u64(b.byteCount);
      w.u32(b.flowCount);
      w.zeros(4);
    },
    readReply: (r, kind) => {
      const packetCount = r.u64();
      const byteCount = r.u64();
      const flowCount = r.u32();
      return { kind, packetCount, byteCount, flowCount };
    },
  },
  table: {
    writeRequest: noRequestBody,
    readRequest: emptyRequest,
    writeReply: (w, b) => writeTableStats(w, b.tables),
    readReply: (r, kind) => ({ kind, tables: structs(r, OFP_TABLE_STATS_SIZE, parseTableStats) }),
  },
  port_stats: {
    writeRequest: (w, b) => {
      w.u32(b.portNo);
      w.zeros(4);
    },
    readRequest: (r, kind) => {
      const portNo = r.u32();
      r.skip(4);
      return { kind, portNo };
    },
    writeReply: (w, b) => writePortStats(w, b.ports),
    readReply: (r, kind) => ({ kind, ports: structs(r, OFP_PORT_STATS_SIZE, parsePortStats) }),
  },
  table_features: {
    writeRequest: noRequestBody,
    readRequest: (r, kind) => {
      // a request with a body sets the features: this codec only asks
      if (r.remaining)
        throw new DecodeFail('unknown_type', 'table features request with a body (setting features) is not supported', r.pos);
      return { kind };
    },
    writeReply: (w, b) => writeTableFeatures(w, b.tables),
    readReply: (r, kind) => ({ kind, tables: readTableFeatures(r) }),
  },
  port_desc: {
    writeRequest: noRequestBody,
    readRequest: emptyRequest,
    writeReply: (w, b) => {
      for (const p of b.ports) writePort(w, p);
    },
    readReply: (r, kind) => {
      const ports: PortDesc[] = [];
      while (r.remaining > 0) ports.push(readPort(r));
      return { kind, ports };
    },
  },
};

const KIND_BY_CODE = new Map<number, Kind>(Object.entries(OFPMP).map(([k, v]) => [v, k as Kind]));

function bodyCodec(kind: Kind): BodyCodec<Kind> {
  const c = BODIES[kind] as BodyCodec<Kind> | undefined;
  if (!c || !Object.hasOwn(BODIES, kind)) throw new RangeError(`multipart kind '${String(kind)}' is not supported`);
  return c;
}

/** The multipart header: type, flags, 4 bytes of padding. */
function writeMultipartHeader(w: Writer, kind: Kind, flags: number): void {
  bodyCodec(kind);
  w.u16(OFPMP[kind]);
  w.u16(flags);
  w.zeros(4);
}

function readMultipartHeader(r: Reader): { kind: Kind; flags: number } {
  const mp = r.u16();
  const flags = r.u16();
  r.skip(4);
  const kind = KIND_BY_CODE.get(mp);
  if (!kind) throw new DecodeFail('unknown_type', `multipart type ${mp} is not supported`, r.pos);
  return { kind, flags };
}

export function encodeMultipartRequest(w: Writer, m: MessageOf<'multipart_request'>): void {
  writeMultipartHeader(w, m.body.kind, m.flags);
  bodyCodec(m.body.kind).writeRequest(w, m.body);
}

export function decodeMultipartRequest(r: Reader, xid: number): MessageOf<'multipart_request'> {
  const { kind, flags } = readMultipartHeader(r);
  return { type: 'multipart_request', xid, flags, body: bodyCodec(kind).readRequest(r, kind) };
}

export function encodeMultipartReply(w: Writer, m: MessageOf<'multipart_reply'>): void {
  writeMultipartHeader(w, m.body.kind, m.flags);
  bodyCodec(m.body.kind).writeReply(w, m.body);
}

export function decodeMultipartReply(r: Reader, xid: number): MessageOf<'multipart_reply'> {
  const { kind, flags } = readMultipartHeader(r);
  return { type: 'multipart_reply', xid, flags, body: bodyCodec(kind).readReply(r, kind) };
}

/** Joins the parts of a multipart reply (OFPMPF_REPLY_MORE) that share an xid into one reply. */
export function mergeMultipart(parts: readonly MessageOf<'multipart_reply'>[]): MessageOf<'multipart_reply'> {
  const first = parts[0];
  const b = first.body;
  switch (b.kind) {
    case 'flow':
      return { ...first, flags: 0, body: { kind: 'flow', flows: parts.flatMap((p) => (p.body as typeof b).flows) } };
    case 'table':
      return { ...first, flags: 0, body: { kind: 'table', tables: parts.flatMap((p) => (p.body as typeof b).tables) } };
    case 'table_features':
      return { ...first, flags: 0, body: { kind: 'table_features', tables: parts.flatMap((p) => (p.body as typeof b).tables) } };
    case 'port_stats':
      return { ...first, flags: 0, body: { kind: 'port_stats', ports: parts.flatMap((p) => (p.body as typeof b).ports) } };
    case 'port_desc':
      return { ...first, flags: 0, body: { kind: 'port_desc', ports: parts.flatMap((p) => (p.body as typeof b).ports) } };
    default:
      return { ...parts[parts.length - 1], flags: 0 };
  }
}
