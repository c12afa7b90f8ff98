/** Controller-to-switch modifications other than FLOW_MOD: PACKET_OUT, GROUP_MOD, METER_MOD; encode and decode side by side. */
import type { Bucket, MessageOf, MeterBand } from '../types.js';
import { OFP_BUCKET_SIZE, OFP_METER_BAND_SIZE, OFPGC, OFPGT, OFPMBT, OFPMF } from '../constants.js';
import { DecodeFail, type Reader, type Writer } from '../buffer.js';
import { readActions, writeActions } from '../actions.js';
import { bitsToFlags, flagsToBits, indexOf } from './message.js';

export function encodePacketOut(w: Writer, m: MessageOf<'packet_out'>): void {
  w.u32(m.bufferId);
  w.u32(m.inPort);
  const lenAt = w.pos;
  w.u16(0);
  w.zeros(6);
  const a = w.pos;
  writeActions(w, m.actions);
  w.patchU16(lenAt, w.pos - a);
  w.bytes(m.data);
}

export function decodePacketOut(r: Reader, xid: number): MessageOf<'packet_out'> {
  const bufferId = r.u32();
  const inPort = r.u32();
  const alen = r.u16();
  r.skip(6);
  const actions = readActions(r.sub(alen));
  return { type: 'packet_out', xid, bufferId, inPort, actions, data: r.copy(r.remaining) };
}

export function encodeGroupMod(w: Writer, m: MessageOf<'group_mod'>): void {
  w.u16(indexOf(OFPGC, m.command, 'group mod command'));
  w.u8(indexOf(OFPGT, m.groupType, 'group type'));
  w.zeros(1);
  w.u32(m.groupId);
  for (const b of m.buckets) {
    const bs = w.pos;
    w.u16(0);
    w.u16(b.weight);
    w.u32(b.watchPort);
    w.u32(b.watchGroup);
    w.zeros(4);
    writeActions(w, b.actions);
    w.patchU16(bs, w.pos - bs);
  }
}

export function decodeGroupMod(r: Reader, xid: number): MessageOf<'group_mod'> {
  const cmd = r.u16();
  const gt = r.u8();
  r.skip(1);
  const groupId = r.u32();
  const command = OFPGC[cmd];
  const groupType = OFPGT[gt];
  if (!command || !groupType) throw new DecodeFail('bad_value', `group mod command ${cmd} type ${gt}`, r.pos - 8);
  const buckets: Bucket[] = [];
  while (r.remaining > 0) {
    const bl = r.u16();
    if (bl < OFP_BUCKET_SIZE) throw new DecodeFail('bad_length', `bucket length ${bl}`, r.pos - 2);
    const b = r.sub(bl - 2);
    const weight = b.u16();
    const watchPort = b.u32();
    const watchGroup = b.u32();
    b.skip(4);
    buckets.push({ weight, watchPort, watchGroup, actions: readActions(b) });
  }
  return { type: 'group_mod', xid, command, groupType, groupId, buckets };
}

const METER_FLAGS = { kbps: OFPMF.KBPS, pktps: OFPMF.PKTPS, burst: OFPMF.BURST, stats: OFPMF.STATS } as const;

export function encodeMeterMod(w: Writer, m: MessageOf<'meter_mod'>): void {
  w.u16(indexOf(OFPGC, m.command, 'meter mod command'));
  w.u16(flagsToBits(METER_FLAGS, m.flags));
  w.u32(m.meterId);
  for (const b of m.bands) {
    w.u16(b.type === 'drop' ? OFPMBT.DROP : OFPMBT.DSCP_REMARK);
    w.u16(OFP_METER_BAND_SIZE);
    w.u32(b.rate);
    w.u32(b.burstSize);
    if (b.type === 'drop') w.zeros(4);
    else {
      w.u8(b.precLevel);
      w.zeros(3);
    }
  }
}

function readBand(r: Reader): MeterBand {
  const bt = r.u16();
  const bl = r.u16();
  if (bl < OFP_METER_BAND_SIZE) throw new DecodeFail('bad_length', `meter band length ${bl}`, r.pos - 2);
  const b = r.sub(bl - 4);
  const rate = b.u32();
  const burstSize = b.u32();
  if (bt === OFPMBT.DROP) return { type: 'drop', rate, burstSize };
  if (bt === OFPMBT.DSCP_REMARK) return { type: 'dscp_remark', rate, burstSize, precLevel: b.u8() };
  throw new DecodeFail('unknown_type', `meter band type ${bt}`, r.pos);
}

export function decodeMeterMod(r: Reader, xid: number): MessageOf<'meter_mod'> {
  const cmd = r.u16();
  const fl = r.u16();
  const meterId = r.u32();
  const command = OFPGC[cmd];
  if (!command) throw new DecodeFail('bad_value', `meter mod command ${cmd}`, r.pos - 8);
  const bands: MeterBand[] = [];
  while (r.remaining > 0) bands.push(readBand(r));
  return { type: 'meter_mod', xid, command, flags: bitsToFlags(METER_FLAGS, fl), meterId, bands };
}
