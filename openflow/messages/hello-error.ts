/** HELLO, ERROR and ECHO: encode and decode side by side. */
import type { MessageOf } from '../types.js';
import { OFPET, OFPHET_VERSIONBITMAP } from '../constants.js';
import { DecodeFail, type Reader, type Writer } from '../buffer.js';
import { errorCodeName, errorTypeName, experimenterErrorName } from '../errors.js';

/** HELLO with a version bitmap element (when versions are listed). */
export function encodeHello(w: Writer, m: MessageOf<'hello'>): void {
  if (!m.versions.length) return;
  const words = Math.floor(Math.max(...m.versions) / 32) + 1;
  const bitmap = new Array<number>(words).fill(0);
  for (const v of m.versions) bitmap[v >> 5] |= 1 << (v & 31);
  const el = w.pos;
  w.u16(OFPHET_VERSIONBITMAP);
  w.u16(4 + 4 * words);
  for (const x of bitmap) w.u32(x >>> 0);
  w.pad8(el);
}

/** HELLO: the versions of its bitmap element, or the header's version when it has none. */
export function decodeHello(r: Reader, xid: number, _code: number, version: number): MessageOf<'hello'> {
  const versions: number[] = [];
  while (r.remaining >= 4) {
    const et = r.u16();
    const el = r.u16();
    if (el < 4) throw new DecodeFail('bad_length', `hello element length ${el}`, r.pos);
    const body = r.sub(el - 4);
    r.skip(Math.min(r.remaining, ((el + 7) & ~7) - el));
    if (et === OFPHET_VERSIONBITMAP)
      for (let word = 0; body.remaining >= 4; word++) {
        const bits = body.u32();
        for (let i = 0; i < 32; i++) if (bits & (1 << i)) versions.push(word * 32 + i);
      }
  }
  if (!versions.length) versions.push(version);
  return { type: 'hello', xid, versions };
}

export function encodeError(w: Writer, m: MessageOf<'error'>): void {
  w.u16(m.errType);
  w.u16(m.code);
  if (m.errType === OFPET.EXPERIMENTER && m.experimenter !== undefined) w.u32(m.experimenter);
  w.bytes(m.data);
}

/** ERROR, with the names of its type and code (an experimenter error's code is named by its experimenter). */
export function decodeError(r: Reader, xid: number): MessageOf<'error'> {
  const errType = r.u16();
  const code = r.u16();
  if (errType === OFPET.EXPERIMENTER && r.remaining >= 4) {
    const experimenter = r.u32();
    return {
      type: 'error',
      xid,
      errType,
      code,
      errTypeName: errorTypeName(errType),
      codeName: experimenterErrorName(experimenter, code),
      experimenter,
      data: r.copy(r.remaining),
    };
  }
  return {
    type: 'error',
    xid,
    errType,
    code,
    errTypeName: errorTypeName(errType),
    codeName: errorCodeName(errType, code),
    data: r.copy(r.remaining),
  };
}

export function encodeEcho(w: Writer, m: MessageOf<'echo_request' | 'echo_reply'>): void {
  w.bytes(m.data);
}

export function decodeEchoRequest(r: Reader, xid: number): MessageOf<'echo_request'> {
  return { type: 'echo_request', xid, data: r.copy(r.remaining) };
}

export function decodeEchoReply(r: Reader, xid: number): MessageOf<'echo_reply'> {
  return { type: 'echo_reply', xid, data: r.copy(r.remaining) };
}
