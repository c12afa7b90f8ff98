/**
 * EAPOL (IEEE 802.1X-2010 §11) and EAP (RFC 3748 §4) framing: strict decoders that return error values (never
 * throw) and encoders that compute every length themselves. Pure: bytes in, values out.
 *
 *   Ethernet:  dst(6) src(6) [0x8100 tci(2)] type=0x888e(2)
 *   EAPOL:     version(1) type(1) body-length(2) body(body-length)      (then Ethernet padding, ignored)
 *   EAP:       code(1) identifier(1) length(2) [type(1) type-data(length-5)]   (Request/Response carry a type)
 */

export const ETH_P_PAE = 0x888e;
/** The PAE group address supplicants send to (802.1X "nearest non-TPMR bridge"). */
export const PAE_GROUP = '01:80:c2:00:00:03';

export const EAPOL_TYPE = { eap: 0, start: 1, logoff: 2, key: 3, asfAlert: 4 } as const;
export type EapolTypeName = 'eap' | 'start' | 'logoff' | 'key' | 'asf-alert';
const TYPE_NAMES: readonly EapolTypeName[] = ['eap', 'start', 'logoff', 'key', 'asf-alert'];

export const EAP_CODE = { request: 1, response: 2, success: 3, failure: 4 } as const;
export type EapCodeName = keyof typeof EAP_CODE;
const CODE_NAMES: readonly EapCodeName[] = ['request', 'response', 'success', 'failure'];

/** EAP method types we name (others pass through to RADIUS as numbers). */
export const EAP_TYPE = {
  identity: 1,
  notification: 2,
  nak: 3,
  md5: 4,
  otp: 5,
  gtc: 6,
  tls: 13,
  ttls: 21,
  peap: 25,
  mschapv2: 26,
} as const;

export type EapolErrorCode = 'truncated' | 'not-eapol' | 'bad-length' | 'bad-type' | 'bad-eap-code' | 'bad-eap-length' | 'bad-mac';
export interface EapolError {
  readonly code: EapolErrorCode;
  readonly message: string;
}
export type Decoded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: EapolError };

export interface EapPacket {
  readonly code: EapCodeName;
  readonly id: number;
  /** Request/Response only. */
  readonly type?: number;
  /** Type-data (after the type byte); empty for Success/Failure. */
  readonly data: Buffer;
}

export interface EapolFrame {
  readonly dst: string;
  readonly src: string;
  /** 802.1Q VLAN id when the frame was tagged. */
  readonly vlan?: number;
  readonly version: number;
  readonly type: EapolTypeName;
  /** The EAPOL body (exactly body-length bytes). */
  readonly body: Buffer;
  /** For type 'eap': the decoded EAP packet. */
  readonly eap?: EapPacket;
}

const fail = (code: EapolErrorCode, message: string): { ok: false; error: EapolError } => ({ ok: false, error: { code, message } });

export function macText(b: Buffer, off: number): string {
  let s = '';
  for (let i = 0; i < 6; i++) s += (i ? ':' : '') + b[off + i].toString(16).padStart(2, '0');
  return s;
}

function macBytes(mac: string): Buffer | undefined {
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(mac)) return undefined;
  return Buffer.from(mac.replace(/:/g, ''), 'hex');
}

/** Decodes an EAP packet that must fill `buf` exactly. */
export function decodeEap(buf: Buffer): Decoded<EapPacket> {
  if (buf.length < 4) return fail('truncated', `EAP packet of ${buf.length} bytes is shorter than its 4-byte header`);
  const codeNum = buf[0];
  const code = CODE_NAMES[codeNum - 1];
  if (!code) return fail('bad-eap-code', `EAP code ${codeNum} is not Request, Response, Success or Failure`);
  const len = buf.readUInt16BE(2);
  if (len !== buf.length) return fail('bad-eap-length', `EAP length ${len} does not match the ${buf.length} bytes carried`);
  if (code === 'success' || code === 'failure') {
    if (len !== 4) return fail('bad-eap-length', `EAP ${code} must be 4 bytes, not ${len}`);
    return { ok: true, value: { code, id: buf[1], data: Buffer.alloc(0) } };
  }
  if (len < 5) return fail('bad-eap-length', `EAP ${code} of ${len} bytes has no type`);
  return { ok: true, value: { code, id: buf[1], type: buf[4], data: Buffer.from(buf.subarray(5, len)) } };
}

export function encodeEap(p: EapPacket): Buffer {
  const hasType = p.code === 'request' || p.code === 'response';
  if (hasType && p.type === undefined) throw new RangeError(`EAP ${p.code} needs a type`);
  const len = hasType ? 5 + p.data.length : 4;
  if (len > 0xffff) throw new RangeError(`EAP packet of ${len} bytes is too long`);
  const b = Buffer.alloc(len);
  b[0] = EAP_CODE[p.code];
  b[1] = p.id & 0xff;
  b.writeUInt16BE(len, 2);
  if (hasType) {
    b[4] = p.type!;
    p.data.copy(b, 5);
  }
  return b;
}

/**
 * Decodes an Ethernet frame carrying EAPOL (optionally 802.1Q-tagged). Ethernet padding after the EAPOL body is
 * ignored; a body-length beyond the frame, or (for EAP) an EAP length different from the body-length, is an error.
 */
export function decodeEapolFrame(frame: Buffer): Decoded<EapolFrame> {
  if (frame.length < 14) return fail('truncated', `frame of ${frame.length} bytes is shorter than an Ethernet header`);
  let off = 12;
  let ethType = frame.readUInt16BE(off);
  let vlan: number | undefined;
  if (ethType === 0x8100) {
    if (frame.length < 18) return fail('truncated', 'tagged frame shorter than its 802.1Q header');
    vlan = frame.readUInt16BE(14) & 0x0fff;
    off = 16;
    ethType = frame.readUInt16BE(off);
  }
  if (ethType !== ETH_P_PAE) return fail('not-eapol', `ethertype 0x${ethType.toString(16).padStart(4, '0')} is not EAPOL (0x888e)`);
  off += 2;
  if (frame.length < off + 4) return fail('truncated', 'EAPOL header truncated');
  const version = frame[off];
  const typeNum = frame[off + 1];
  const bodyLen = frame.readUInt16BE(off + 2);
  if (version === 0) return fail('bad-type', 'EAPOL protocol version 0 does not exist');
  const type = TYPE_NAMES[typeNum];
  if (type === undefined) return fail('bad-type', `EAPOL packet type ${typeNum} is not one we handle`);
  const start = off + 4;
  if (start + bodyLen > frame.length)
    return fail('bad-length', `EAPOL body length ${bodyLen} runs past the ${frame.length - start} bytes carried`);
  const src = macText(frame, 6);
  if (frame[6] & 1) return fail('bad-mac', `source ${src} is a group address`);
  const body = Buffer.from(frame.subarray(start, start + bodyLen));
  const base = { dst: macText(frame, 0), src, ...(vlan !== undefined ? { vlan } : {}), version, type, body };
  if (type !== 'eap') return { ok: true, value: base };
  const eap = decodeEap(body);
  if (!eap.ok) return eap;
  return { ok: true, value: { ...base, eap: eap.value } };
}

export interface EapolFrameInput {
  readonly dst: string;
  readonly src: string;
  readonly vlan?: number;
  /** Default 2 (802.1X-2004); 3 is 802.1X-2010. */
  readonly version?: number;
  readonly type: EapolTypeName;
  readonly body?: Buffer;
}

/** Encodes an EAPOL frame in Ethernet, padded to the 60-byte minimum. */
export function encodeEapolFrame(f: EapolFrameInput): Buffer {
  const dst = macBytes(f.dst),
    src = macBytes(f.src);
  if (!dst || !src) throw new RangeError(`bad MAC address in ${f.dst} / ${f.src}`);
  const body = f.body ?? Buffer.alloc(0);
  if (body.length > 0xffff) throw new RangeError('EAPOL body too long');
  const tag = f.vlan !== undefined ? 4 : 0;
  const len = Math.max(60, 14 + tag + 4 + body.length);
  const b = Buffer.alloc(len);
  dst.copy(b, 0);
  src.copy(b, 6);
  let off = 12;
  if (f.vlan !== undefined) {
    b.writeUInt16BE(0x8100, 12);
    b.writeUInt16BE(f.vlan & 0x0fff, 14);
    off = 16;
  }
  b.writeUInt16BE(ETH_P_PAE, off);
  b[off + 2] = f.version ?? 2;
  b[off + 3] = TYPE_NAMES.indexOf(f.type);
  b.writeUInt16BE(body.length, off + 4);
  body.copy(b, off + 6);
  return b;
}

/** An EAPOL frame carrying one EAP packet. */
export function eapFrame(dst: string, src: string, p: EapPacket, version = 2): Buffer {
  return encodeEapolFrame({ dst, src, version, type: 'eap', body: encodeEap(p) });
}
