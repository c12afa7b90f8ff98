/** Switch configuration and control: FEATURES, GET/SET_CONFIG, BARRIER, ROLE; encode and decode side by side. */
import type { MessageOf } from '../types.js';
import { OFP_HEADER_SIZE, OFP_SWITCH_FEATURES_SIZE, OFPCR_ROLE, OFPT } from '../constants.js';
import { DecodeFail, type Reader, type Writer } from '../buffer.js';
import { parseSwitchFeatures } from '../structs.js';
import { indexOf } from './message.js';

export function encodeFeaturesReply(w: Writer, m: MessageOf<'features_reply'>): void {
  w.u64(m.datapathId);
  w.u32(m.nBuffers);
  w.u8(m.nTables);
  w.u8(m.auxiliaryId);
  w.zeros(2);
  w.u32(m.capabilities);
  w.u32(0);
}

export function decodeFeaturesReply(r: Reader, xid: number): MessageOf<'features_reply'> {
  const f = parseSwitchFeatures(r.bytes(OFP_SWITCH_FEATURES_SIZE - OFP_HEADER_SIZE));
  return {
    type: 'features_reply',
    xid,
    datapathId: f.datapathId,
    nBuffers: f.nBuffers,
    nTables: f.nTables,
    auxiliaryId: f.auxiliaryId,
    capabilities: f.capabilities,
  };
}

/** GET_CONFIG_REPLY and SET_CONFIG share their body. */
export function encodeConfig(w: Writer, m: MessageOf<'get_config_reply' | 'set_config'>): void {
  w.u16(m.flags);
  w.u16(m.missSendLen);
}

export function decodeGetConfigReply(r: Reader, xid: number): MessageOf<'get_config_reply'> {
  return { type: 'get_config_reply', xid, flags: r.u16(), missSendLen: r.u16() };
}

export function decodeSetConfig(r: Reader, xid: number): MessageOf<'set_config'> {
  return { type: 'set_config', xid, flags: r.u16(), missSendLen: r.u16() };
}

export const decodeFeaturesRequest = (_r: Reader, xid: number): MessageOf<'features_request'> => ({ type: 'features_request', xid });
export const decodeGetConfigRequest = (_r: Reader, xid: number): MessageOf<'get_config_request'> => ({ type: 'get_config_request', xid });
export const decodeBarrierRequest = (_r: Reader, xid: number): MessageOf<'barrier_request'> => ({ type: 'barrier_request', xid });
export const decodeBarrierReply = (_r: Reader, xid: number): MessageOf<'barrier_reply'> => ({ type: 'barrier_reply', xid });

/** ROLE_REQUEST and ROLE_REPLY share their body. */
export function encodeRole(w: Writer, m: MessageOf<'role_request' | 'role_reply'>): void {
  w.u32(indexOf(OFPCR_ROLE, m.role, 'role'));
  w.zeros(4);
  w.u64(m.generationId);
}

export function decodeRole(r: Reader, xid: number, code: number): MessageOf<'role_request' | 'role_reply'> {
  const rc = r.u32();
  r.skip(4);
  const generationId = r.u64();
  const role = OFPCR_ROLE[rc];
  if (!role) throw new DecodeFail('bad_value', `role ${rc}`, r.pos - 16);
  return { type: code === OFPT.ROLE_REQUEST ? 'role_request' : 'role_reply', xid, role, generationId };
}
