/**
 * Splits a TCP byte stream into whole OpenFlow messages: partial reads, several messages in one read,
 * and a length field that lies (too small or over the cap) — then `error` is set and nothing more is yielded.
 */
import type { DecodeError, MessageOf } from './types.js';
import { OFP_HEADER_SIZE, OFP_MAX_MESSAGE, OFP_VERSION_MAX, OFPMPF_REPLY_MORE } from './constants.js';
import { mergeMultipart } from './messages/multipart.js';

export class Framer {
  private pending: Buffer | undefined;
  error: DecodeError | undefined;
  constructor(private readonly maxMessage = OFP_MAX_MESSAGE) {}

  /** Returns the complete frames now available, each one whole message including its header. */
  push(chunk: Buffer): Buffer[] {
    if (this.error) return [];
    const buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    const out: Buffer[] = [];
    let off = 0;
    while (buf.length - off >= OFP_HEADER_SIZE) {
      const version = buf[off];
      if (version === 0 || version > OFP_VERSION_MAX) {
        this.error = {
          kind: 'decode_error',
          code: 'bad_version',
          message: `byte 0x${version.toString(16)} is not an OpenFlow version: not an OpenFlow peer`,
          offset: off,
        };
        this.pending = undefined;
        return out;
      }
      const len = buf.readUInt16BE(off + 2);
      if (len < OFP_HEADER_SIZE || len > this.maxMessage) {
        this.error = { kind: 'decode_error', code: 'bad_length', message: `message length field ${len} is impossible`, offset: off };
        this.pending = undefined;
        return out;
      }
      if (buf.length - off < len) break;
      out.push(buf.subarray(off, off + len));
      off += len;
    }
    this.pending = off < buf.length ? Buffer.from(buf.subarray(off)) : undefined;
    return out;
  }

  /** Bytes held waiting for the rest of a message. */
  get buffered(): number {
    return this.pending?.length ?? 0;
  }
}

/**
 * Collects OFPMPF_REPLY_MORE parts per xid; returns the whole reply when the last part arrives.
 * A switch that misbehaves (parts of different kinds under one xid, more parts than `maxParts` in total across all
 * open replies) makes `add` throw a RangeError naming the xid, and that reply is dropped; the caller closes the session.
 */
export class MultipartAssembler {
  private parts = new Map<number, MessageOf<'multipart_reply'>[]>();
  private held = 0;
  constructor(private readonly maxParts = 100_000) {}

  add(msg: MessageOf<'multipart_reply'>): MessageOf<'multipart_reply'> | undefined {
    const list = this.parts.get(msg.xid) ?? [];
    if (list.length && list[0].body.kind !== msg.body.kind) {
      this.drop(msg.xid);
      throw new RangeError(`multipart reply ${msg.xid} mixes ${list[0].body.kind} and ${msg.body.kind} parts`);
    }
    if (msg.flags & OFPMPF_REPLY_MORE) {
      if (this.held + 1 > this.maxParts) {
        this.drop(msg.xid);
        throw new RangeError(`multipart reply ${msg.xid}: more than ${this.maxParts} parts held`);
      }
      list.push(msg);
      this.held++;
      this.parts.set(msg.xid, list);
      return undefined;
    }
    this.drop(msg.xid);
    list.push(msg);
    return list.length === 1 ? { ...msg, flags: 0 } : mergeMultipart(list);
  }

  /** Forgets the parts of one reply (e.g. when its request timed out). */
  drop(xid: number): void {
    const l = this.parts.get(xid);
    if (l) {
      this.held -= l.length;
      this.parts.delete(xid);
    }
  }

  /** Forgets every unfinished reply (the session closed). */
  clear(): void {
    this.parts.clear();
    this.held = 0;
  }

  /** Parts held for unfinished replies. */
  get pending(): number {
    return this.held;
  }
}
