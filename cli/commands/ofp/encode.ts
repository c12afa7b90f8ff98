import { Args, Flags } from '@oclif/core';
import { readFileSync } from 'node:fs';
import { AclCommand } from '../../base.js';
import { encode, messageFromJson } from '../../../openflow/index.js';

export default class OfpEncode extends AclCommand {
  static description =
    'Encode OpenFlow 1.3 messages given as JSON (one message or an array, as `acl ofp decode --json` prints them) to hex.';
  static examples = [
    '<%= config.bin %> ofp encode flowmod.json',
    'echo \'{"type":"barrier_request","xid":1}\' | <%= config.bin %> ofp encode -',
  ];
  static args = { file: Args.string({ required: true, description: 'JSON file, or - for standard input' }) };
  static flags = { concat: Flags.boolean({ description: 'print all messages as one hex string (one socket write)' }) };

  async run() {
    const { args, flags } = await this.parse(OfpEncode);
    let text: string;
    try {
      text = readFileSync(args.file === '-' ? 0 : args.file, 'utf8');
    } catch (e) {
      this.failMessage(`cannot read ${args.file}: ${(e as Error).message}`);
    }
    let input: unknown;
    try {
      input = JSON.parse(text);
    } catch (e) {
      this.failMessage(`${args.file}: not JSON: ${(e as Error).message}`);
    }
    const list = Array.isArray(input) ? input : [input];
    const messages = [];
    for (const [i, v] of list.entries()) {
      const r = messageFromJson(v);
      if (!r.ok) this.failMessage(`${args.file}: ${Array.isArray(input) ? `message ${i}: ` : ''}${r.error}`);
      const bytes = encode(r.message);
      messages.push({ type: r.message.type, xid: r.message.xid, length: bytes.length, hex: bytes.toString('hex') });
    }
    if (!this.jsonEnabled()) {
      if (flags.concat) this.log(messages.map((m) => m.hex).join(''));
      else for (const m of messages) this.log(m.hex);
    }
    return { ok: true, messages };
  }
}
