/** OpenFlow 1.3 error types and codes (openflow.h `ofp_error_type` and the per-type code enums), as names. */

const T: Array<[number, string, string, string[]]> = [
  [0, 'OFPET_HELLO_FAILED', 'OFPHFC_', ['INCOMPATIBLE', 'EPERM']],
  [1, 'OFPET_BAD_REQUEST', 'OFPBRC_', ['BAD_VERSION', 'BAD_TYPE', 'BAD_MULTIPART', 'BAD_EXPERIMENTER', 'BAD_EXP_TYPE', 'EPERM', 'BAD_LEN', 'BUFFER_EMPTY', 'BUFFER_UNKNOWN', 'BAD_TABLE_ID', 'IS_SLAVE', 'BAD_PORT', 'BAD_PACKET', 'MULTIPART_BUFFER_OVERFLOW']],
  [2, 'OFPET_BAD_ACTION', 'OFPBAC_', ['BAD_TYPE', 'BAD_LEN', 'BAD_EXPERIMENTER', 'BAD_EXP_TYPE', 'BAD_OUT_PORT', 'BAD_ARGUMENT', 'EPERM', 'TOO_MANY', 'BAD_QUEUE', 'BAD_OUT_GROUP', 'MATCH_INCONSISTENT', 'UNSUPPORTED_ORDER', 'BAD_TAG', 'BAD_SET_TYPE', 'BAD_SET_LEN', 'BAD_SET_ARGUMENT']],
  [3, 'OFPET_BAD_INSTRUCTION', 'OFPBIC_', ['UNKNOWN_INST', 'UNSUP_INST', 'BAD_TABLE_ID', 'UNSUP_METADATA', 'UNSUP_METADATA_MASK', 'BAD_EXPERIMENTER', 'BAD_EXP_TYPE', 'BAD_LEN', 'EPERM']],
  [4, 'OFPET_BAD_MATCH', 'OFPBMC_', ['BAD_TYPE', 'BAD_LEN', 'BAD_TAG', 'BAD_DL_ADDR_MASK', 'BAD_NW_ADDR_MASK', 'BAD_WILDCARDS', 'BAD_FIELD', 'BAD_VALUE', 'BAD_MASK', 'BAD_PREREQ', 'DUP_FIELD', 'EPERM']],
  [5, 'OFPET_FLOW_MOD_FAILED', 'OFPFMFC_', ['UNKNOWN', 'TABLE_FULL', 'BAD_TABLE_ID', 'OVERLAP', 'EPERM', 'BAD_TIMEOUT', 'BAD_COMMAND', 'BAD_FLAGS']],
  [6, 'OFPET_GROUP_MOD_FAILED', 'OFPGMFC_', ['GROUP_EXISTS', 'INVALID_GROUP', 'WEIGHT_UNSUPPORTED', 'OUT_OF_GROUPS', 'OUT_OF_BUCKETS', 'CHAINING_UNSUPPORTED', 'WATCH_UNSUPPORTED', 'LOOP', 'UNKNOWN_GROUP', 'CHAINED_GROUP', 'BAD_TYPE', 'BAD_COMMAND', 'BAD_BUCKET', 'BAD_WATCH', 'EPERM']],
  [7, 'OFPET_PORT_MOD_FAILED', 'OFPPMFC_', ['BAD_PORT', 'BAD_HW_ADDR', 'BAD_CONFIG', 'BAD_ADVERTISE', 'EPERM']],
  [8, 'OFPET_TABLE_MOD_FAILED', 'OFPTMFC_', ['BAD_TABLE', 'BAD_CONFIG', 'EPERM']],
  [9, 'OFPET_QUEUE_OP_FAILED', 'OFPQOFC_', ['BAD_PORT', 'BAD_QUEUE', 'EPERM']],
  [10, 'OFPET_SWITCH_CONFIG_FAILED', 'OFPSCFC_', ['BAD_FLAGS', 'BAD_LEN', 'EPERM']],
  [11, 'OFPET_ROLE_REQUEST_FAILED', 'OFPRRFC_', ['STALE', 'UNSUP', 'BAD_ROLE']],
  [12, 'OFPET_METER_MOD_FAILED', 'OFPMMFC_', ['UNKNOWN', 'METER_EXISTS', 'INVALID_METER', 'UNKNOWN_METER', 'BAD_COMMAND', 'BAD_FLAGS', 'BAD_RATE', 'BAD_BURST', 'BAD_BAND', 'BAD_BAND_VALUE', 'OUT_OF_METERS', 'OUT_OF_BANDS']],
  [13, 'OFPET_TABLE_FEATURES_FAILED', 'OFPTFFC_', ['BAD_TABLE', 'BAD_METADATA', 'BAD_TYPE', 'BAD_LEN', 'BAD_ARGUMENT', 'EPERM']],
  [0xffff, 'OFPET_EXPERIMENTER', '', []],
];

const BY_TYPE = new Map(T.map(([t, name, prefix, codes]) => [t, { name, codes: codes.map((c) => prefix + c) }]));

/** Experimenter id of the ONF extensions (bundles, EXT-230). */
const ONF = 0x4f4e4600;
/**
 * ONF bundle errors as Open vSwitch sends them on OpenFlow 1.3: an OFPET_EXPERIMENTER error with experimenter ONF
 * and these codes from 2300 (OpenFlow 1.4 made them OFPET_BUNDLE_FAILED, type 17).
 */
const BUNDLE_CODES = ['UNKNOWN', 'EPERM', 'BAD_ID', 'BUNDLE_EXIST', 'BUNDLE_CLOSED', 'OUT_OF_BUNDLES', 'BAD_TYPE', 'BAD_FLAGS',
  'MSG_BAD_LEN', 'MSG_BAD_XID', 'MSG_UNSUP', 'MSG_CONFLICT', 'MSG_TOO_MANY', 'MSG_FAILED', 'TIMEOUT', 'BUNDLE_IN_PROGRESS'].map((c) => 'OFPBFC_' + c);
export const ONF_BUNDLE_ERROR_BASE = 2300;

/** Name of an experimenter error code, e.g. (0x4f4e4600, 2313) -> 'OFPBFC_MSG_FAILED'. */
export function experimenterErrorName(experimenter: number, code: number): string | undefined {
  if (experimenter === ONF) return BUNDLE_CODES[code - ONF_BUNDLE_ERROR_BASE];
  return undefined;
}

export function errorTypeName(type: number): string | undefined {
  return BY_TYPE.get(type)?.name;
}

export function errorCodeName(type: number, code: number): string | undefined {
  return BY_TYPE.get(type)?.codes[code];
}

/** Names of an error; for OFPET_EXPERIMENTER pass the experimenter id to name its code (ONF bundle errors). */
export function errorName(type: number, code: number, experimenter?: number): { type: string; code: string } {
  const expName = type === 0xffff && experimenter !== undefined ? experimenterErrorName(experimenter, code) : undefined;
  return {
    type: errorTypeName(type) ?? `type ${type}`,
    code: expName ?? errorCodeName(type, code) ?? (type === 0xffff && experimenter !== undefined
      ? `experimenter 0x${experimenter.toString(16).padStart(8, '0')} code ${code}` : `code ${code}`),
  };
}

/** Number of codes known for each error type (for tests and fuzzing). */
export const ERROR_TYPES: ReadonlyArray<{ type: number; name: string; codes: readonly string[] }> =
  T.map(([type, name, prefix, codes]) => ({ type, name, codes: codes.map((c) => prefix + c) }));
