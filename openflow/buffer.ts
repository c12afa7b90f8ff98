/** Cursor reader with bounds checks, and a growable writer. Decoders throw DecodeFail, caught at the top. */
import { ipv4OrNaN, ipv6Groups } from './addr-text.js';

export { ipv4OrNaN, u32ToIpv4, ipv6At as bytesToIpv6, macAt as bytesToMac } from './addr-text.js';

export class DecodeFail extends Error {
  constructor(
    readonly code: 'truncated' | 'bad_length' | 'bad_version' | 'unknown_type' | 'bad_field' | 'bad_value',
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

export class Reader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }
  need(n: number): void {
    if (n < 0 || this.pos + n > this.end) {
      throw new DecodeFail('truncated', `need ${n} bytes at offset ${this.pos}, have ${this.end - this.pos}`, this.pos);
    }
  }
  get remaining(): number {
    return this.end - this.pos;
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++];
  }
  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  u64(): bigint {
    this.need(8);
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }
  bytes(n: number): Buffer {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  /** Copy of the bytes (so that decoded messages don't pin a large receive buffer). */
  copy(n: number): Buffer {
    return Buffer.from(this.bytes(n));
  }
  /** NUL-padded fixed-length string. */
  str(n: number): string {
    const b = this.bytes(n);
    const z = b.indexOf(0);
    return b.toString('latin1', 0, z < 0 ? n : z);
  }
  /** A sub-reader over the next n bytes; this reader moves past them. */
  sub(n: number): Reader {
    this.need(n);
    const r = new Reader(this.buf, this.pos, this.pos + n);
    this.pos += n;
    return r;
  }
}

function outOfRange(bits: number, v: unknown): never {
  throw new RangeError(`value ${String(v)} does not fit in an unsigned ${bits}-bit field`);
}

/** Growable big-endian writer. */
export class Writer {
  buf: Buffer;
  pos = 0;
  constructor(size = 256) {
    this.buf = Buffer.allocUnsafe(size);
  }
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const nb = Buffer.allocUnsafe(size);
    this.buf.copy(nb, 0, 0, this.pos);
    this.buf = nb;
  }
  // Out-of-range values throw a RangeError (fail closed) instead of being silently truncated.
  u8(v: number): void {
    if ((v & 0xff) !== v) outOfRange(8, v);
    this.ensure(1);
    this.buf[this.pos++] = v;
  }
  u16(v: number): void {
    if ((v & 0xffff) !== v) outOfRange(16, v);
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
  }
  u32(v: number): void {
    if (v >>> 0 !== v) outOfRange(32, v);
    this.ensure(4);
    this.buf.writeUInt32BE(v, this.pos);
    this.pos += 4;
  }
  u64(v: bigint): void {
    if (typeof v !== 'bigint' || v < 0n || v > 0xffffffffffffffffn) outOfRange(64, v);
    this.ensure(8);
    this.buf.writeBigUInt64BE(v, this.pos);
    this.pos += 8;
  }
  zeros(n: number): void {
    this.ensure(n);
    this.buf.fill(0, this.pos, this.pos + n);
    this.pos += n;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  str(s: string, n: number): void {
    this.ensure(n);
    this.buf.fill(0, this.pos, this.pos + n);
    this.buf.write(s.slice(0, n - 1), this.pos, 'latin1');
    this.pos += n;
  }
  /** Pads with zeros up to a multiple of 8 counted from `from`. */
  pad8(from: number): void {
    const rem = (this.pos - from) % 8;
    if (rem) this.zeros(8 - rem);
  }
  patchU16(at: number, v: number): void {
    this.buf.writeUInt16BE(v, at);
  }
  patchU32(at: number, v: number): void {
    this.buf.writeUInt32BE(v >>> 0, at);
  }
  /** A copy of what was written. */
  take(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    return out;
  }
}

// ---- address text <-> bytes ----

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

export function macToBytes(mac: string, out: Buffer, at: number): void {
  const m = mac.toLowerCase();
  if (!MAC_RE.test(m)) throw new RangeError(`bad MAC address '${mac}'`);
  for (let i = 0; i < 6; i++) out[at + i] = parseInt(m.substr(i * 3, 2), 16);
}

/** Dotted quad → unsigned 32-bit; exactly four parts of 1–3 decimal digits, each at most 255. No allocation. */
export function ipv4ToU32(ip: string): number {
  const v = ipv4OrNaN(ip);
  if (v !== v) throw new RangeError(`bad IPv4 address '${ip}'`);
  return v;
}

/** IPv6 text (ipv6Groups) → 16 bytes at `at`; a RangeError for anything else. */
export function ipv6ToBytes(ip: string, out: Buffer, at: number): void {
  const g = ipv6Groups(ip);
  if (!g) throw new RangeError(`bad IPv6 address '${ip}'`);
  for (let i = 0; i < 8; i++) out.writeUInt16BE(g[i], at + i * 2);
}
