/** Instructions (ofp_instruction_*): length, sized write and read, side by side per instruction type. */
import type { Instruction } from './types.js';
import { OFP_INSTRUCTION_SIZE, OFP_INSTRUCTION_WRITE_METADATA_SIZE, OFPIT } from './constants.js';
import { DecodeFail, Reader, Writer } from './buffer.js';
import { actionsLength, putActions, readActions } from './actions.js';
import { put16, put32, put64, put8, zero } from './wire.js';

/** Bytes of a list of instructions. */
export function instructionsLength(ins: readonly Instruction[]): number {
  let n = 0;
  for (let i = 0; i < ins.length; i++) {
    const x = ins[i];
    if (x.type === 'write_metadata') n += OFP_INSTRUCTION_WRITE_METADATA_SIZE;
    else if (x.type === 'apply_actions' || x.type === 'write_actions') n += OFP_INSTRUCTION_SIZE + actionsLength(x.actions);
    else n += OFP_INSTRUCTION_SIZE;
  }
  return n;
}

function putHeader(b: Buffer, p: number, type: number, len: number): void {
  put16(b, p, type);
  put16(b, p + 2, len);
}

/** Writes the instructions at p (the caller made room: instructionsLength); returns the end. */
export function putInstructions(b: Buffer, p: number, ins: readonly Instruction[]): number {
  for (let i = 0; i < ins.length; i++) {
    const x = ins[i];
    switch (x.type) {
      case 'goto_table':
        putHeader(b, p, OFPIT.GOTO_TABLE, OFP_INSTRUCTION_SIZE);
        put8(b, p + 4, x.tableId, 'goto_table');
        zero(b, p + 5, 3);
        p += OFP_INSTRUCTION_SIZE;
        break;
      case 'write_metadata':
        putHeader(b, p, OFPIT.WRITE_METADATA, OFP_INSTRUCTION_WRITE_METADATA_SIZE);
        zero(b, p + 4, 4);
        put64(b, p + 8, x.metadata, 'write_metadata');
        put64(b, p + 16, x.mask, 'write_metadata mask');
        p += OFP_INSTRUCTION_WRITE_METADATA_SIZE;
        break;
      case 'apply_actions':
      case 'write_actions': {
        const start = p;
        zero(b, p + 4, 4);
        p = putActions(b, p + OFP_INSTRUCTION_SIZE, x.actions);
        putHeader(b, start, x.type === 'apply_actions' ? OFPIT.APPLY_ACTIONS : OFPIT.WRITE_ACTIONS, p - start);
        break;
      }
      case 'clear_actions':
        putHeader(b, p, OFPIT.CLEAR_ACTIONS, OFP_INSTRUCTION_SIZE);
        zero(b, p + 4, 4);
        p += OFP_INSTRUCTION_SIZE;
        break;
      case 'meter':
        putHeader(b, p, OFPIT.METER, OFP_INSTRUCTION_SIZE);
        put32(b, p + 4, x.meterId, 'meter id');
        p += OFP_INSTRUCTION_SIZE;
        break;
      default:
        throw new TypeError(`cannot encode instruction ${(x as { type: string }).type}`);
    }
  }
  return p;
}

/** putInstructions at the writer's position. */
export function writeInstructions(w: Writer, ins: readonly Instruction[]): void {
  w.ensure(instructionsLength(ins));
  w.pos = putInstructions(w.buf, w.pos, ins);
}

/** Reads instructions until the reader is empty. */
export function readInstructions(r: Reader): Instruction[] {
  const out: Instruction[] = [];
  while (r.remaining > 0) {
    const at = r.pos;
    const type = r.u16();
    const len = r.u16();
    if (len < 8 || len % 8) throw new DecodeFail('bad_length', `instruction length ${len}`, at);
    const b = r.sub(len - 4);
    switch (type) {
      case OFPIT.GOTO_TABLE:
        out.push({ type: 'goto_table', tableId: b.u8() });
        break;
      case OFPIT.WRITE_METADATA: {
        b.skip(4);
        const metadata = b.u64();
        const mask = b.u64();
        out.push({ type: 'write_metadata', metadata, mask });
        break;
      }
      case OFPIT.APPLY_ACTIONS:
        b.skip(4);
        out.push({ type: 'apply_actions', actions: readActions(b) });
        break;
      case OFPIT.WRITE_ACTIONS:
        b.skip(4);
        out.push({ type: 'write_actions', actions: readActions(b) });
        break;
      case OFPIT.CLEAR_ACTIONS:
        out.push({ type: 'clear_actions' });
        break;
      case OFPIT.METER:
        out.push({ type: 'meter', meterId: b.u32() });
        break;
      default:
        throw new DecodeFail('unknown_type', `unsupported instruction type ${type}`, at);
    }
  }
  return out;
}
