export * from './types.js';
export { encode, encodeMany, encodeInto, decode, mergeMultipart, OFPT, OFPMPF_REPLY_MORE, ONF_EXPERIMENTER, ONFT_BUNDLE_CONTROL, ONFT_BUNDLE_ADD_MESSAGE,
  OFP_HEADER_SIZE, OFP_MATCH_SIZE, OFP_FLOW_MOD_SIZE, OFP_ACTION_OUTPUT_SIZE, OFP_PORT_SIZE, OFP_FLOW_STATS_SIZE, OFP_PORT_STATS_SIZE,
  OFP_TABLE_STATS_SIZE, OFP_DESC_SIZE, OFP_PACKET_OUT_SIZE, OFP_SWITCH_FEATURES_SIZE, OFP_MAX_MESSAGE } from './codec.js';
export { Framer, MultipartAssembler } from './framer.js';
export { OXM_FIELDS, OXM_BY_NAME, OFPVID_PRESENT, MatchError, checkMatch, match } from './oxm.js';
export type { OxmFieldDef, OxmKind, Prerequisite } from './oxm.js';
export { errorName, errorTypeName, errorCodeName, experimenterErrorName, ERROR_TYPES, ONF_BUNDLE_ERROR_BASE } from './errors.js';
export { flowMod, addFlowMod, formatError } from './build.js';
export type { FlowEntry } from './build.js';
export { Writer, Reader, macToBytes, bytesToMac, ipv4ToU32, u32ToIpv4 } from './buffer.js';
export { messageToJson, messageFromJson } from './json.js';
export type { FromJsonResult } from './json.js';
export { encodeFlowMod, flowModLength } from './flowmod.js';
