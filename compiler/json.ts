/** JSON output of compiled values (kept apart from format.ts, so printing JSON does not load the OpenFlow encoder). */

/** JSON.stringify replacer: bigints and byte buffers as hex strings. */
export function jsonReplacer(this: unknown, k: string, v: unknown): unknown {
  if (typeof v === 'bigint') return '0x' + v.toString(16);
  // Buffer.prototype.toJSON has already run by now ({type:'Buffer',data}); the holder still has the Buffer itself
  const raw = this !== null && typeof this === 'object' ? (this as Record<string, unknown>)[k] : v;
  if (raw instanceof Uint8Array) return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('hex');
  return v;
}
