/**
 * EXPERIMENTER messages: the ONF bundle extension (EXT-230 as Open vSwitch implements it on OF1.3: BUNDLE_CONTROL and
 * BUNDLE_ADD_MESSAGE) and any other experimenter message as opaque data; encode and decode side by side.
 * A bundle_add carries a whole message: the caller passes the message encoder/decoder (index.ts) in.
 */
import type { MessageOf, OfpMessage } from '../types.js';
import { OFPBCT, OFPBF, ONF_EXPERIMENTER, ONFT_BUNDLE_ADD_MESSAGE, ONFT_BUNDLE_CONTROL } from '../constants.js';
import { DecodeFail, type Reader, type Writer } from '../buffer.js';
import { bitsToFlags, flagsToBits, indexOf } from './message.js';

const BUNDLE_FLAGS = { atomic: OFPBF.ATOMIC, ordered: OFPBF.ORDERED } as const;

export function encodeExperimenter(w: Writer, m: MessageOf<'experimenter'>): void {
  w.u32(m.experimenter);
  w.u32(m.expType);
  w.bytes(m.data);
}

export function encodeBundleControl(w: Writer, m: MessageOf<'bundle_control'>): void {
  w.u32(ONF_EXPERIMENTER);
  w.u32(ONFT_BUNDLE_CONTROL);
  w.u32(m.bundleId);
  w.u16(indexOf(OFPBCT, m.ctrlType, 'bundle control type'));
  w.u16(flagsToBits(BUNDLE_FLAGS, m.flags));
}

/** BUNDLE_ADD_MESSAGE: the inner message is written whole, with the bundle_add's xid. */
export function encodeBundleAdd(w: Writer, m: MessageOf<'bundle_add'>, encodeInner: (w: Writer, m: OfpMessage) => void): void {
  w.u32(ONF_EXPERIMENTER);
  w.u32(ONFT_BUNDLE_ADD_MESSAGE);
  w.u32(m.bundleId);
  w.zeros(2);
  w.u16(flagsToBits(BUNDLE_FLAGS, m.flags));
  encodeInner(w, { ...m.message, xid: m.xid });
}

function decodeBundleControl(r: Reader, xid: number): MessageOf<'bundle_control'> {
  const bundleId = r.u32();
  const ct = r.u16();
  const fl = r.u16();
  const ctrlType = OFPBCT[ct];
  if (!ctrlType) throw new DecodeFail('bad_value', `bundle control type ${ct}`, r.pos - 4);
  return { type: 'bundle_control', xid, bundleId, ctrlType, flags: bitsToFlags(BUNDLE_FLAGS, fl) };
}

function decodeBundleAdd(r: Reader, xid: number, decodeInner: (r: Reader) => OfpMessage): MessageOf<'bundle_add'> {
  const bundleId = r.u32();
  r.skip(2);
  const fl = r.u16();
  const message = decodeInner(r);
  return { type: 'bundle_add', xid, bundleId, flags: bitsToFlags(BUNDLE_FLAGS, fl), message };
}

/** An EXPERIMENTER message: an ONF bundle message, or opaque. */
export function decodeExperimenter(r: Reader, xid: number, decodeInner: (r: Reader) => OfpMessage): OfpMessage {
  const experimenter = r.u32();
  const expType = r.u32();
  if (experimenter === ONF_EXPERIMENTER && expType === ONFT_BUNDLE_CONTROL) return decodeBundleControl(r, xid);
  if (experimenter === ONF_EXPERIMENTER && expType === ONFT_BUNDLE_ADD_MESSAGE) return decodeBundleAdd(r, xid, decodeInner);
  return { type: 'experimenter', xid, experimenter, expType, data: r.copy(r.remaining) };
}
