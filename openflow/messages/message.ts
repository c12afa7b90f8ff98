/**
 * What every message module shares: the shape of an encoder (writes one whole message at the writer's position) and
 * of a decoder (reads one message body, after the 8-byte header), the header itself, and flag-bit conversions.
 * Each message module keeps its encode and decode side by side; index.ts dispatches to them by message type.
 */
import type { MessageOf, OfpMessage, OfpMessageType } from '../types.js';
import { OFP_MAX_MESSAGE, OFP_VERSION } from '../constants.js';
import type { Reader, Writer } from '../buffer.js';

/** Writes one whole message (header included) at the writer's position. */
export type Encoder<T extends OfpMessageType> = (w: Writer, m: MessageOf<T>) => void;
/** Writes a message's body; `framed` adds the header and the length. */
export type BodyEncoder<T extends OfpMessageType> = (w: Writer, m: MessageOf<T>) => void;
/** Reads a message's body (the reader holds exactly the body); `code` and `version` are the header's. */
export type Decoder = (r: Reader, xid: number, code: number, version: number) => OfpMessage;

/** An encoder that writes the header, the body, and then the length the body came to. */
export function framed<T extends OfpMessageType>(code: number, body: BodyEncoder<T>): Encoder<T> {
  return (w, m) => {
    const start = w.pos;
    w.u8(OFP_VERSION);
    w.u8(code);
    w.u16(0);
    w.u32(m.xid);
    body(w, m);
    const len = w.pos - start;
    if (len > OFP_MAX_MESSAGE) throw new RangeError(`${m.type} message of ${len} bytes exceeds the OpenFlow maximum of 65535`);
    w.patchU16(start + 2, len);
  };
}

/** A message with nothing after its header. */
export const noBody = (): void => undefined;

/** Flags object → bits, with `bits` naming the bit of each flag. */
export function flagsToBits<K extends string>(bits: Readonly<Record<K, number>>, flags: Partial<Record<K, boolean | undefined>>): number {
  let n = 0;
  for (const k in bits) if (flags[k]) n |= bits[k];
  return n;
}

/** Bits → flags object holding only the flags that are set. */
export function bitsToFlags<K extends string>(bits: Readonly<Record<K, number>>, n: number): Partial<Record<K, true>> {
  const out: Partial<Record<K, true>> = {};
  for (const k in bits) if (n & bits[k]) out[k] = true;
  return out;
}

/** The wire value of a name in an enumeration carried as an index (e.g. OFPCR_ROLE), or a RangeError. */
export function indexOf<T extends string>(names: readonly T[], name: T, what: string): number {
  const i = names.indexOf(name);
  if (i < 0) throw new RangeError(`${what} '${String(name)}' is not one of ${names.join(', ')}`);
  return i;
}
