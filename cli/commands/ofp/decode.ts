import { Args } from '@oclif/core';
import { AclCommand } from '../../base.js';
import { decode } from '../../../openflow/index.js';

export default class OfpDecode extends AclCommand {
  static description = 'Decode one OpenFlow 1.3 message given as hex (for debugging).';
  static args = { hex: Args.string({ required: true }) };

  async run() {
    const { args } = await this.parse(OfpDecode);
    const hex = args.hex.replace(/\s+/g, '');
    if (!/^([0-9a-f]{2})+$/i.test(hex)) this.failMessage('not hex');
    const r = decode(Buffer.from(hex, 'hex'));
    if (!r.ok) this.failMessage(`${r.error.code} at byte ${r.error.offset}: ${r.error.message}`);
    const out = this.plain(r.message);
    if (!this.jsonEnabled()) this.log(JSON.stringify(out, null, 2));
    return out;
  }
}
