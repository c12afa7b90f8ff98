/**
 * Sized big-endian writes: the caller computed the length first and made room, so each write is a bounds-free store.
 * Every value is range-checked (fail closed: a priority of 70000 must not silently become 4464); the error names the
 * field and `encode` adds the message type ("flow_mod: priority 70000 is out of range").
 */

/** A value that does not fit its field. `messageType` is set once, by the outermost encode. */
export class FieldRangeError extends RangeError {
  messageType: string | undefined;
  constructor(
    readonly field: string,
    readonly value: unknown,
  ) {
    super(`${field} ${String(value)} is out of range`);
    this.name = 'RangeError';
  }
}

/** Names the message a FieldRangeError came from (once: a bundle_add keeps its inner message's name). */
export function inMessage(e: unknown, type: string): unknown {
  if (e instanceof FieldRangeError && e.messageType === undefined) {
    e.messageType = type;
    e.message = `${type}: ${e.message}`;
  }
  return e;
}

export function bad(field: string, v: unknown): never {
  throw new FieldRangeError(field, v);
}

export function put8(b: Buffer, p: number, v: number, field = 'value'): void {
  if ((v & 0xff) !== v) bad(field, v);
  b[p] = v;
}

export function put16(b: Buffer, p: number, v: number, field = 'value'): void {
  if ((v & 0xffff) !== v) bad(field, v);
  b[p] = v >>> 8;
  b[p + 1] = v;
}

export function put24(b: Buffer, p: number, v: number, field = 'value'): void {
  if ((v & 0xffffff) !== v) bad(field, v);
  b[p] = v >>> 16;
  b[p + 1] = v >>> 8;
  b[p + 2] = v;
}

export function put32(b: Buffer, p: number, v: number, field = 'value'): void {
  if (v >>> 0 !== v) bad(field, v);
  b[p] = v >>> 24;
  b[p + 1] = v >>> 16;
  b[p + 2] = v >>> 8;
  b[p + 3] = v;
}

const U32 = 0xffffffffn;
const U64 = 0xffffffffffffffffn;
export function put64(b: Buffer, p: number, v: bigint, field = 'value'): void {
  if (v === 0n) {
    b.fill(0, p, p + 8);
    return;
  }
  if (typeof v !== 'bigint' || v < 0n || v > U64) bad(field, v);
  put32(b, p, Number((v >> 32n) & U32));
  put32(b, p + 4, Number(v & U32));
}

export function zero(b: Buffer, p: number, n: number): void {
  for (let i = 0; i < n; i++) b[p + i] = 0;
}

/** Zero padding from p up to a multiple of 8 counted from start; returns the end. */
export function pad8(b: Buffer, start: number, p: number): number {
  while ((p - start) & 7) b[p++] = 0;
  return p;
}

/** `n` rounded up to a multiple of 8. */
export function align8(n: number): number {
  return (n + 7) & ~7;
}
