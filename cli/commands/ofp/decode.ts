import { Args } from '@oclif/core';
import { AclCommand } from '../../base.js';
import { Framer, decode, messageToJson } from '../../../openflow/index.js';

export default class OfpDecode extends AclCommand {
  static description = 'Decode OpenFlow 1.3 messages given as hex (one message, or several back to back) for debugging.';
  static examples = [
    '<%= config.bin %> ofp decode 0414000800000001',
    '<%= config.bin %> ofp decode --json 04000010000000010001000800000010',
  ];
  static args = { hex: Args.string({ required: true, description: 'hex bytes (spaces and colons allowed)' }) };

  async run() {
    const { args } = await this.parse(OfpDecode);
    const hex = args.hex.replace(/[\s:]+/g, '');
    if (!/^([0-9a-f]{2})+$/i.test(hex)) this.failMessage('not hex: expected an even number of hex digits');
    const bytes = Buffer.from(hex, 'hex');
    const framer = new Framer();
    const frames = framer.push(bytes);
    if (framer.error) this.failMessage(`${framer.error.code} at byte ${framer.error.offset}: ${framer.error.message}`);
    if (framer.buffered) this.failMessage(`truncated: the last ${framer.buffered} bytes are not a whole message`);
    const out: unknown[] = [];
    let offset = 0;
    for (const f of frames) {
      const r = decode(f);
      if (!r.ok) this.failMessage(`${r.error.code} at byte ${offset + r.error.offset}: ${r.error.message}`);
      out.push(messageToJson(r.message));
      offset += f.length;
    }
    const result = out.length === 1 ? out[0] : out;
    if (!this.jsonEnabled()) this.log(JSON.stringify(result, null, 2));
    return result;
  }
}
