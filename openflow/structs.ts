/**
 * Fixed-layout OpenFlow 1.3 structures decoded with binary-parser (declared once, compiled to straight-line code).
 * Callers hand over exactly the struct's bytes (Reader.bytes checks they are present), so a parser never reads
 * past its input. Variable-length parts (matches, instructions, actions, TLVs) are read by hand in messages/, actions.ts, instructions.ts, match.ts and oxm.ts.
 * Their sizes are in constants.ts (OFP_PORT_SIZE, …).
 */
// The package's "exports" hide its typings from NodeNext resolution; its CommonJS build carries them.
import { Parser } from 'binary-parser/dist/binary_parser.js';
import type { PortDesc, PortStats, TableStats } from './types.js';
import { bytesToMac } from './buffer.js';

/** Fixed-length NUL-padded text: up to the first NUL. */
const cString = (s: string): string => {
  const z = s.indexOf('\0');
  return z < 0 ? s : s.slice(0, z);
};
const text = (length: number) => ({ length, encoding: 'latin1', formatter: cString });
const mac = { length: 6, type: 'uint8' as const, formatter: (b: number[]) => bytesToMac(Buffer.from(b)) };

/** struct ofp_port (64 bytes). */
export const OFP_PORT = new Parser()
  .endianness('big')
  .uint32('portNo')
  .seek(4)
  .array('hwAddr', mac)
  .seek(2)
  .string('name', text(16))
  .uint32('config')
  .uint32('state')
  .uint32('curr')
  .uint32('advertised')
  .uint32('supported')
  .uint32('peer')
  .uint32('currSpeed')
  .uint32('maxSpeed');

/** struct ofp_port_stats (112 bytes). */
export const OFP_PORT_STATS = new Parser()
  .endianness('big')
  .uint32('portNo')
  .seek(4)
  .uint64('rxPackets')
  .uint64('txPackets')
  .uint64('rxBytes')
  .uint64('txBytes')
  .uint64('rxDropped')
  .uint64('txDropped')
  .uint64('rxErrors')
  .uint64('txErrors')
  .uint64('rxFrameErr')
  .uint64('rxOverErr')
  .uint64('rxCrcErr')
  .uint64('collisions')
  .uint32('durationSec')
  .uint32('durationNsec');

/** struct ofp_table_stats (24 bytes). */
export const OFP_TABLE_STATS = new Parser()
  .endianness('big')
  .uint8('tableId')
  .seek(3)
  .uint32('activeCount')
  .uint64('lookupCount')
  .uint64('matchedCount');

/** struct ofp_desc (1056 bytes). */
export const OFP_DESC = new Parser()
  .endianness('big')
  .string('mfrDesc', text(256))
  .string('hwDesc', text(256))
  .string('swDesc', text(256))
  .string('serialNum', text(32))
  .string('dpDesc', text(256));

/** struct ofp_switch_features after the header (24 bytes). */
export const OFP_SWITCH_FEATURES_BODY = new Parser()
  .endianness('big')
  .uint64('datapathId')
  .uint32('nBuffers')
  .uint8('nTables')
  .uint8('auxiliaryId')
  .seek(2)
  .uint32('capabilities')
  .seek(4);

export const parsePort = (b: Buffer): PortDesc => OFP_PORT.parse(b) as PortDesc;
export const parsePortStats = (b: Buffer): PortStats => OFP_PORT_STATS.parse(b) as PortStats;
export const parseTableStats = (b: Buffer): TableStats => OFP_TABLE_STATS.parse(b) as TableStats;
export const parseDesc = (b: Buffer) =>
  OFP_DESC.parse(b) as { mfrDesc: string; hwDesc: string; swDesc: string; serialNum: string; dpDesc: string };
export const parseSwitchFeatures = (b: Buffer) =>
  OFP_SWITCH_FEATURES_BODY.parse(b) as { datapathId: bigint; nBuffers: number; nTables: number; auxiliaryId: number; capabilities: number };
