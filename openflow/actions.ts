/**
 * Actions (OF1.3 ofp_action_* and the Open vSwitch NXAST_CT conntrack action): length, sized write and read, side
 * by side per action type.
 */
import type { Action } from './types.js';
import {
  NX_ACTION_CT_SIZE,
  NX_CT_F_COMMIT,
  NX_CT_RECIRC_NONE,
  NX_VENDOR_ID,
  NXAST_CT,
  OFP_ACTION_HEADER_SIZE,
  OFP_ACTION_OUTPUT_SIZE,
  OFPAT,
  OFPCML_NO_BUFFER,
} from './constants.js';
import { DecodeFail, Reader, Writer } from './buffer.js';
import { fieldDef, oxmLength, putOxm, readOxm } from './oxm.js';
import { align8, bad, pad8, put16, put32, zero } from './wire.js';

/** Bytes of a list of actions. */
export function actionsLength(actions: readonly Action[]): number {
  let n = 0;
  for (let i = 0; i < actions.length; i++) {
    const a = actions[i];
    if (a.type === 'output') n += OFP_ACTION_OUTPUT_SIZE;
    else if (a.type === 'ct') n += NX_ACTION_CT_SIZE + actionsLength(a.actions ?? []);
    else if (a.type === 'set_field') n += align8(4 + oxmLength(a));
    else n += OFP_ACTION_HEADER_SIZE;
  }
  return n;
}

/** An 8-byte action: type, length 8, then a 32-bit argument (or four zero bytes). */
function put8ByteAction(b: Buffer, p: number, type: number, arg: number, field: string): number {
  put16(b, p, type);
  put16(b, p + 2, OFP_ACTION_HEADER_SIZE);
  put32(b, p + 4, arg, field);
  return p + OFP_ACTION_HEADER_SIZE;
}

/** struct nx_action_conntrack: byte offsets of its fields (nested actions follow at NX_ACTION_CT_SIZE). */
const CT_AT = { type: 0, len: 2, vendor: 4, subtype: 8, flags: 10, zoneSrc: 12, zone: 16, recircTable: 18, pad: 19, alg: 22 } as const;

function putCt(b: Buffer, p: number, a: Extract<Action, { type: 'ct' }>): number {
  const start = p;
  if (a.table !== undefined && (a.table === NX_CT_RECIRC_NONE || (a.table & 0xff) !== a.table)) bad('ct table', a.table);
  put16(b, p + CT_AT.type, OFPAT.EXPERIMENTER);
  put32(b, p + CT_AT.vendor, NX_VENDOR_ID);
  put16(b, p + CT_AT.subtype, NXAST_CT);
  put16(b, p + CT_AT.flags, a.commit ? NX_CT_F_COMMIT : 0);
  put32(b, p + CT_AT.zoneSrc, 0);
  put16(b, p + CT_AT.zone, a.zone ?? 0, 'ct zone');
  b[p + CT_AT.recircTable] = a.table ?? NX_CT_RECIRC_NONE;
  zero(b, p + CT_AT.pad, NX_ACTION_CT_SIZE - CT_AT.pad);
  p = putActions(b, p + NX_ACTION_CT_SIZE, a.actions ?? []);
  put16(b, start + CT_AT.len, p - start);
  return p;
}

function putSetField(b: Buffer, p: number, a: Extract<Action, { type: 'set_field' }>): number {
  if (!fieldDef(a.field).settable) throw new RangeError(`set_field: ${a.field} can be matched but not set`);
  const start = p;
  put16(b, p, OFPAT.SET_FIELD);
  p = pad8(b, start, putOxm(b, p + 4, { field: a.field, value: a.value }));
  put16(b, start + 2, p - start);
  return p;
}

/** Writes the actions at p (the caller made room: actionsLength); returns the end. */
export function putActions(b: Buffer, p: number, actions: readonly Action[]): number {
  for (let i = 0; i < actions.length; i++) {
    const a = actions[i];
    switch (a.type) {
      case 'output':
        put16(b, p, OFPAT.OUTPUT);
        put16(b, p + 2, OFP_ACTION_OUTPUT_SIZE);
        put32(b, p + 4, a.port, 'output port');
        put16(b, p + 8, a.maxLen ?? OFPCML_NO_BUFFER, 'output max_len');
        zero(b, p + 10, 6);
        p += OFP_ACTION_OUTPUT_SIZE;
        break;
      case 'group':
        p = put8ByteAction(b, p, OFPAT.GROUP, a.groupId, 'group id');
        break;
      case 'set_queue':
        p = put8ByteAction(b, p, OFPAT.SET_QUEUE, a.queueId, 'queue id');
        break;
      case 'push_vlan':
        put16(b, p, OFPAT.PUSH_VLAN);
        put16(b, p + 2, OFP_ACTION_HEADER_SIZE);
        put16(b, p + 4, a.ethertype, 'push_vlan ethertype');
        zero(b, p + 6, 2);
        p += OFP_ACTION_HEADER_SIZE;
        break;
      case 'pop_vlan':
        p = put8ByteAction(b, p, OFPAT.POP_VLAN, 0, 'pop_vlan');
        break;
      case 'dec_nw_ttl':
        p = put8ByteAction(b, p, OFPAT.DEC_NW_TTL, 0, 'dec_nw_ttl');
        break;
      case 'ct':
        p = putCt(b, p, a);
        break;
      case 'set_field':
        p = putSetField(b, p, a);
        break;
      default:
        throw new TypeError(`cannot encode action ${(a as { type: string }).type}`);
    }
  }
  return p;
}

/** putActions at the writer's position. */
export function writeActions(w: Writer, actions: readonly Action[]): void {
  w.ensure(actionsLength(actions));
  w.pos = putActions(w.buf, w.pos, actions);
}

/** Reads actions until the reader is empty. */
export function readActions(r: Reader): Action[] {
  const out: Action[] = [];
  while (r.remaining > 0) {
    const at = r.pos;
    const type = r.u16();
    const len = r.u16();
    if (len < 8 || len % 8) throw new DecodeFail('bad_length', `action length ${len}`, at);
    const b = r.sub(len - 4);
    switch (type) {
      case OFPAT.OUTPUT: {
        const port = b.u32();
        const maxLen = b.u16();
        out.push({ type: 'output', port, maxLen });
        break;
      }
      case OFPAT.GROUP:
        out.push({ type: 'group', groupId: b.u32() });
        break;
      case OFPAT.SET_QUEUE:
        out.push({ type: 'set_queue', queueId: b.u32() });
        break;
      case OFPAT.PUSH_VLAN:
        out.push({ type: 'push_vlan', ethertype: b.u16() });
        break;
      case OFPAT.POP_VLAN:
        out.push({ type: 'pop_vlan' });
        break;
      case OFPAT.DEC_NW_TTL:
        out.push({ type: 'dec_nw_ttl' });
        break;
      case OFPAT.SET_FIELD: {
        const e = readOxm(b);
        out.push({ type: 'set_field', field: e.field, value: e.value });
        break;
      }
      case OFPAT.EXPERIMENTER:
        out.push(readExperimenterAction(b, at));
        break;
      default:
        throw new DecodeFail('unknown_type', `unsupported action type ${type}`, at);
    }
  }
  return out;
}

/** The Nicira experimenter actions this codec models (only ct); anything else is unknown_type (a foreign flow stays opaque). */
function readExperimenterAction(b: Reader, at: number): Action {
  const vendor = b.u32();
  const subtype = b.u16();
  if (vendor !== NX_VENDOR_ID || subtype !== NXAST_CT)
    throw new DecodeFail('unknown_type', `unsupported experimenter action 0x${vendor.toString(16)}/${subtype}`, at);
  if (b.remaining < 14) throw new DecodeFail('bad_length', `ct action shorter than ${NX_ACTION_CT_SIZE} bytes`, at);
  const flags = b.u16();
  const zoneSrc = b.u32();
  const zone = b.u16();
  const table = b.u8();
  b.skip(3);
  const alg = b.u16();
  if (flags & ~NX_CT_F_COMMIT) throw new DecodeFail('unknown_type', `ct flags 0x${flags.toString(16)} (only commit is modelled)`, at);
  if (zoneSrc !== 0) throw new DecodeFail('unknown_type', 'ct zone taken from a field (only an immediate zone is modelled)', at);
  if (alg !== 0) throw new DecodeFail('unknown_type', `ct alg ${alg} (no ALG is modelled)`, at);
  const actions = readActions(b);
  return {
    type: 'ct',
    ...(flags & NX_CT_F_COMMIT ? { commit: true } : {}),
    zone,
    ...(table !== NX_CT_RECIRC_NONE ? { table } : {}),
    ...(actions.length ? { actions } : {}),
  };
}
