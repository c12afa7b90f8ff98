/** Switch-to-controller messages: PACKET_IN, FLOW_REMOVED, PORT_STATUS (and the ofp_port struct); encode and decode side by side. */
import type { MessageOf, PortDesc } from '../types.js';
import { OFP_PORT_SIZE, OFPPR } from '../constants.js';
import { DecodeFail, macToBytes, type Reader, type Writer } from '../buffer.js';
import { readMatch, writeMatch } from '../match.js';
import { parsePort } from '../structs.js';
import { indexOf } from './message.js';

export function encodePacketIn(w: Writer, m: MessageOf<'packet_in'>): void {
  w.u32(m.bufferId);
  w.u16(m.totalLen);
  w.u8(m.reason);
  w.u8(m.tableId);
  w.u64(m.cookie);
  writeMatch(w, m.match);
  w.zeros(2);
  w.bytes(m.data);
}

/** PACKET_IN's match is read leniently: fields this codec does not model are skipped (see readMatch). */
export function decodePacketIn(r: Reader, xid: number): MessageOf<'packet_in'> {
  const bufferId = r.u32();
  const totalLen = r.u16();
  const reason = r.u8();
  const tableId = r.u8();
  const cookie = r.u64();
  const match = readMatch(r, true);
  r.skip(2);
  return { type: 'packet_in', xid, bufferId, totalLen, reason, tableId, cookie, match, data: r.copy(r.remaining) };
}

export function encodeFlowRemoved(w: Writer, m: MessageOf<'flow_removed'>): void {
  w.u64(m.cookie);
  w.u16(m.priority);
  w.u8(m.reason);
  w.u8(m.tableId);
  w.u32(m.durationSec);
  w.u32(m.durationNsec);
  w.u16(m.idleTimeout);
  w.u16(m.hardTimeout);
  w.u64(m.packetCount);
  w.u64(m.byteCount);
  writeMatch(w, m.match);
}

export function decodeFlowRemoved(r: Reader, xid: number): MessageOf<'flow_removed'> {
  const cookie = r.u64();
  const priority = r.u16();
  const reason = r.u8();
  const tableId = r.u8();
  const durationSec = r.u32();
  const durationNsec = r.u32();
  const idleTimeout = r.u16();
  const hardTimeout = r.u16();
  const packetCount = r.u64();
  const byteCount = r.u64();
  return {
    type: 'flow_removed',
    xid,
    cookie,
    priority,
    reason,
    tableId,
    durationSec,
    durationNsec,
    idleTimeout,
    hardTimeout,
    packetCount,
    byteCount,
    match: readMatch(r),
  };
}

/** struct ofp_port (64 bytes). */
export function writePort(w: Writer, p: PortDesc): void {
  w.u32(p.portNo);
  w.zeros(4);
  w.ensure(6);
  macToBytes(p.hwAddr, w.buf, w.pos);
  w.pos += 6;
  w.zeros(2);
  w.str(p.name, 16);
  w.u32(p.config);
  w.u32(p.state);
  w.u32(p.curr);
  w.u32(p.advertised);
  w.u32(p.supported);
  w.u32(p.peer);
  w.u32(p.currSpeed);
  w.u32(p.maxSpeed);
}

export function readPort(r: Reader): PortDesc {
  return parsePort(r.bytes(OFP_PORT_SIZE));
}

export function encodePortStatus(w: Writer, m: MessageOf<'port_status'>): void {
  w.u8(indexOf(OFPPR, m.reason, 'port status reason'));
  w.zeros(7);
  writePort(w, m.desc);
}

export function decodePortStatus(r: Reader, xid: number): MessageOf<'port_status'> {
  const reasonCode = r.u8();
  r.skip(7);
  const reason = OFPPR[reasonCode];
  if (!reason) throw new DecodeFail('bad_value', `port status reason ${reasonCode}`, r.pos - 8);
  return { type: 'port_status', xid, reason, desc: readPort(r) };
}
