/**
 * Dispatch: one table from message type to its encoder, one from the OFPT code on the wire to its decoder. The
 * encoders and decoders live side by side in the message modules of this folder.
 */
import type { OfpMessage, OfpMessageType } from '../types.js';
import { OFP_HEADER_SIZE, OFP_VERSION, OFPT } from '../constants.js';
import { DecodeFail, Reader, type Writer } from '../buffer.js';
import { inMessage } from '../wire.js';
import { framed, noBody, type Decoder, type Encoder } from './message.js';
import { decodeEchoReply, decodeEchoRequest, decodeError, decodeHello, encodeEcho, encodeError, encodeHello } from './hello-error.js';
import {
  decodeBarrierReply,
  decodeBarrierRequest,
  decodeFeaturesReply,
  decodeFeaturesRequest,
  decodeGetConfigReply,
  decodeGetConfigRequest,
  decodeRole,
  decodeSetConfig,
  encodeConfig,
  encodeFeaturesReply,
  encodeRole,
} from './switch.js';
import { decodeFlowRemoved, decodePacketIn, decodePortStatus, encodeFlowRemoved, encodePacketIn, encodePortStatus } from './async.js';
import { decodeFlowMod, writeFlowMod } from './flow-mod.js';
import { decodeGroupMod, decodeMeterMod, decodePacketOut, encodeGroupMod, encodeMeterMod, encodePacketOut } from './controller-mods.js';
import { decodeMultipartReply, decodeMultipartRequest, encodeMultipartReply, encodeMultipartRequest } from './multipart.js';
import { decodeExperimenter, encodeBundleAdd, encodeBundleControl, encodeExperimenter } from './experimenter.js';

const ENCODERS: { readonly [T in OfpMessageType]: Encoder<T> } = {
  hello: framed(OFPT.HELLO, encodeHello),
  error: framed(OFPT.ERROR, encodeError),
  echo_request: framed<'echo_request'>(OFPT.ECHO_REQUEST, encodeEcho),
  echo_reply: framed<'echo_reply'>(OFPT.ECHO_REPLY, encodeEcho),
  experimenter: framed(OFPT.EXPERIMENTER, encodeExperimenter),
  features_request: framed(OFPT.FEATURES_REQUEST, noBody),
  features_reply: framed(OFPT.FEATURES_REPLY, encodeFeaturesReply),
  get_config_request: framed(OFPT.GET_CONFIG_REQUEST, noBody),
  get_config_reply: framed<'get_config_reply'>(OFPT.GET_CONFIG_REPLY, encodeConfig),
  set_config: framed<'set_config'>(OFPT.SET_CONFIG, encodeConfig),
  packet_in: framed(OFPT.PACKET_IN, encodePacketIn),
  flow_removed: framed(OFPT.FLOW_REMOVED, encodeFlowRemoved),
  port_status: framed(OFPT.PORT_STATUS, encodePortStatus),
  packet_out: framed(OFPT.PACKET_OUT, encodePacketOut),
  flow_mod: writeFlowMod,
  group_mod: framed(OFPT.GROUP_MOD, encodeGroupMod),
  meter_mod: framed(OFPT.METER_MOD, encodeMeterMod),
  multipart_request: framed(OFPT.MULTIPART_REQUEST, encodeMultipartRequest),
  multipart_reply: framed(OFPT.MULTIPART_REPLY, encodeMultipartReply),
  barrier_request: framed(OFPT.BARRIER_REQUEST, noBody),
  barrier_reply: framed(OFPT.BARRIER_REPLY, noBody),
  role_request: framed<'role_request'>(OFPT.ROLE_REQUEST, encodeRole),
  role_reply: framed<'role_reply'>(OFPT.ROLE_REPLY, encodeRole),
  bundle_control: framed(OFPT.EXPERIMENTER, encodeBundleControl),
  bundle_add: framed(OFPT.EXPERIMENTER, (w, m) => encodeBundleAdd(w, m, encodeMessage)),
};

const ENCODER_BY_TYPE = new Map<string, Encoder<OfpMessageType>>(Object.entries(ENCODERS) as Array<[string, Encoder<OfpMessageType>]>);

const DECODER_LIST: ReadonlyArray<readonly [number, Decoder]> = [
  [OFPT.HELLO, decodeHello],
  [OFPT.ERROR, decodeError],
  [OFPT.ECHO_REQUEST, decodeEchoRequest],
  [OFPT.ECHO_REPLY, decodeEchoReply],
  [OFPT.EXPERIMENTER, (r, xid) => decodeExperimenter(r, xid, decodeMessage)],
  [OFPT.FEATURES_REQUEST, decodeFeaturesRequest],
  [OFPT.FEATURES_REPLY, decodeFeaturesReply],
  [OFPT.GET_CONFIG_REQUEST, decodeGetConfigRequest],
  [OFPT.GET_CONFIG_REPLY, decodeGetConfigReply],
  [OFPT.SET_CONFIG, decodeSetConfig],
  [OFPT.PACKET_IN, decodePacketIn],
  [OFPT.FLOW_REMOVED, decodeFlowRemoved],
  [OFPT.PORT_STATUS, decodePortStatus],
  [OFPT.PACKET_OUT, decodePacketOut],
  [OFPT.FLOW_MOD, decodeFlowMod],
  [OFPT.GROUP_MOD, decodeGroupMod],
  [OFPT.METER_MOD, decodeMeterMod],
  [OFPT.MULTIPART_REQUEST, decodeMultipartRequest],
  [OFPT.MULTIPART_REPLY, decodeMultipartReply],
  [OFPT.BARRIER_REQUEST, decodeBarrierRequest],
  [OFPT.BARRIER_REPLY, decodeBarrierReply],
  [OFPT.ROLE_REQUEST, decodeRole],
  [OFPT.ROLE_REPLY, decodeRole],
];
/** Decoders indexed by OFPT code (an array: the codes are small integers). */
const DECODERS: ReadonlyArray<Decoder | undefined> = Array.from({ length: 256 }, (_, code) => DECODER_LIST.find(([c]) => c === code)?.[1]);

/**
 * Writes one whole message at the writer's position. A value out of its field's range throws a RangeError naming
 * the message and the field ("flow_mod: priority 70000 is out of range"; inside a bundle_add, the inner message).
 */
export function encodeMessage(w: Writer, msg: OfpMessage): void {
  const encoder = ENCODER_BY_TYPE.get(msg.type);
  if (encoder === undefined) throw new Error(`cannot encode ${String(msg.type)}`);
  try {
    encoder(w, msg);
  } catch (e) {
    throw inMessage(e, msg.type);
  }
}

/** Reads one whole message at the reader's position (throws DecodeFail); the reader moves past it. */
export function decodeMessage(outer: Reader): OfpMessage {
  const at = outer.pos;
  const version = outer.u8();
  const type = outer.u8();
  const length = outer.u16();
  const xid = outer.u32();
  if (version !== OFP_VERSION && type !== OFPT.HELLO && type !== OFPT.ERROR) {
    throw new DecodeFail('bad_version', `OpenFlow version 0x${version.toString(16)} (only 1.3 = 0x04 is spoken)`, at);
  }
  if (length < OFP_HEADER_SIZE) throw new DecodeFail('bad_length', `message length ${length} < 8`, at);
  outer.pos = at;
  outer.need(length);
  outer.pos = at + OFP_HEADER_SIZE;
  const r = outer.sub(length - OFP_HEADER_SIZE);
  const decoder = DECODERS[type];
  if (decoder === undefined) throw new DecodeFail('unknown_type', `message type ${type} is not supported`, at + 1);
  return decoder(r, xid, type, version);
}
