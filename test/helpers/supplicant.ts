/**
 * A simulated 802.1X supplicant at the EAPOL level (EAP-MD5 only), for tests and the login-storm bench:
 * it answers the authenticator's frames as wpa_supplicant would, and reports Success/Failure.
 */
import { createHash } from 'node:crypto';
import { decodeEapolFrame, eapFrame, encodeEapolFrame, EAP_TYPE, PAE_GROUP } from '../../edge/eapol.js';

export class Md5Supplicant {
  result?: 'success' | 'failure';
  frames = 0;
  constructor(
    readonly mac: string,
    readonly identity: string,
    readonly password: string,
  ) {}

  start(): Buffer {
    return encodeEapolFrame({ dst: PAE_GROUP, src: this.mac, version: 2, type: 'start' });
  }
  logoff(): Buffer {
    return encodeEapolFrame({ dst: PAE_GROUP, src: this.mac, version: 2, type: 'logoff' });
  }

  /** The answer to a frame from the authenticator, if any. */
  onFrame(frame: Buffer): Buffer | undefined {
    this.frames++;
    const r = decodeEapolFrame(frame);
    if (!r.ok || !r.value.eap) return undefined;
    const e = r.value.eap;
    if (e.code === 'success') {
      this.result = 'success';
      return undefined;
    }
    if (e.code === 'failure') {
      this.result = 'failure';
      return undefined;
    }
    if (e.code !== 'request') return undefined;
    if (e.type === EAP_TYPE.identity)
      return eapFrame(PAE_GROUP, this.mac, { code: 'response', id: e.id, type: EAP_TYPE.identity, data: Buffer.from(this.identity) });
    if (e.type === EAP_TYPE.md5) {
      const n = e.data[0];
      const challenge = e.data.subarray(1, 1 + n);
      const value = createHash('md5')
        .update(Buffer.from([e.id]))
        .update(this.password)
        .update(challenge)
        .digest();
      return eapFrame(PAE_GROUP, this.mac, {
        code: 'response',
        id: e.id,
        type: EAP_TYPE.md5,
        data: Buffer.concat([Buffer.from([value.length]), value]),
      });
    }
    // anything else: Nak, asking for MD5
    return eapFrame(PAE_GROUP, this.mac, { code: 'response', id: e.id, type: EAP_TYPE.nak, data: Buffer.from([EAP_TYPE.md5]) });
  }
}
