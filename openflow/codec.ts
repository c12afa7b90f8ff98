/**
 * OpenFlow 1.3 message encoder and decoder. `encode` computes every length and padding itself (FLOW_MOD is sized
 * first and written in one pass); `decode` never throws: bad input becomes a DecodeError value. The per-message
 * encoders and decoders are in messages/, the protocol numbers in constants.ts.
 */
import type { DecodeResult, MessageOf, OfpMessage } from './types.js';
import { DecodeFail, Reader, Writer } from './buffer.js';
import { inMessage } from './wire.js';
import { decodeMessage, encodeMessage } from './messages/index.js';
import { encodeFlowMod, flowModLength } from './messages/flow-mod.js';

let scratch = new Writer(1 << 16);

/** Encodes one message; all lengths and padding are computed here. */
export function encode(msg: OfpMessage): Buffer {
  if (msg.type === 'flow_mod') {
    try {
      return encodeFlowMod(msg);
    } catch (e) {
      throw inMessage(e, msg.type);
    }
  }
  const w = scratch;
  w.pos = 0;
  try {
    encodeMessage(w, msg);
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

/** Appends one message at the writer's position. */
export function encodeInto(w: Writer, msg: OfpMessage): void {
  encodeMessage(w, msg);
}

/** Decodes one whole message. Never throws. */
export function decode(buf: Buffer): DecodeResult {
  try {
    return { ok: true, message: decodeMessage(new Reader(buf)) };
  } catch (e) {
    if (e instanceof DecodeFail) return { ok: false, error: { kind: 'decode_error', code: e.code, message: e.message, offset: e.offset } };
    return { ok: false, error: { kind: 'decode_error', code: 'bad_value', message: (e as Error)?.message ?? String(e), offset: 0 } };
  }
}

export { mergeMultipart } from './messages/multipart.js';
export type { MessageOf };
