/**
 * The ERROR sent to a peer whose HELLO offers no OpenFlow 1.3: HELLO_FAILED/INCOMPATIBLE in the peer's own
 * version, so an OpenFlow 1.0 switch (which reads only 1.0 headers) understands why it is refused.
 * The ofp_error_msg layout (type, code, data) and OFPT_ERROR = 1 are the same in every OpenFlow version.
 */
export function helloRefusal(peerVersions: readonly number[], xid: number, text = 'OpenFlow 1.3 required'): Buffer {
  const offered = peerVersions.filter((v) => v >= 1 && v < 4);
  const version = offered.length ? Math.max(...offered) : 4;
  const data = Buffer.from(text);
  const b = Buffer.alloc(12 + data.length);
  b.writeUInt8(version, 0);
  b.writeUInt8(1, 1); // OFPT_ERROR
  b.writeUInt16BE(b.length, 2);
  b.writeUInt32BE(xid >>> 0, 4);
  b.writeUInt16BE(0, 8); // OFPET_HELLO_FAILED
  b.writeUInt16BE(0, 10); // OFPHFC_INCOMPATIBLE
  data.copy(b, 12);
  return b;
}
