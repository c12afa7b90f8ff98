/** OpenFlow 1.3 error types and codes (openflow.h `ofp_error_type` and the per-type code enums), as names. */
import { OFPET, ONF_BUNDLE_ERROR_BASE, ONF_EXPERIMENTER } from './constants.js';

const T: Array<[number, string, string, string[]]> = [
  [OFPET.HELLO_FAILED, 'OFPET_HELLO_FAILED', 'OFPHFC_', ['INCOMPATIBLE', 'EPERM']],
  [
    OFPET.BAD_REQUEST,
    'OFPET_BAD_REQUEST',
    'OFPBRC_',
    [
      'BAD_VERSION',
      'BAD_TYPE',
      'BAD_MULTIPART',
      'BAD_EXPERIMENTER',
      'BAD_EXP_TYPE',
      'EPERM',
      'BAD_LEN',
      'BUFFER_EMPTY',
      'BUFFER_UNKNOWN',
      'BAD_TABLE_ID',
      'IS_SLAVE',
      'BAD_PORT',
      'BAD_PACKET',
      'MULTIPART_BUFFER_OVERFLOW',
    ],
  ],
  [
    OFPET.BAD_ACTION,
    'OFPET_BAD_ACTION',
    'OFPBAC_',
    [
      'BAD_TYPE',
      'BAD_LEN',
      'BAD_EXPERIMENTER',
      'BAD_EXP_TYPE',
      'BAD_OUT_PORT',
      'BAD_ARGUMENT',
      'EPERM',
      'TOO_MANY',
      'BAD_QUEUE',
      'BAD_OUT_GROUP',
      'MATCH_INCONSISTENT',
      'UNSUPPORTED_ORDER',
      'BAD_TAG',
      'BAD_SET_TYPE',
      'BAD_SET_LEN',
      'BAD_SET_ARGUMENT',
    ],
  ],
  [
    OFPET.BAD_INSTRUCTION,
    'OFPET_BAD_INSTRUCTION',
    'OFPBIC_',
    [
      'UNKNOWN_INST',
      'UNSUP_INST',
      'BAD_TABLE_ID',
      'UNSUP_METADATA',
      'UNSUP_METADATA_MASK',
      'BAD_EXPERIMENTER',
      'BAD_EXP_TYPE',
      'BAD_LEN',
      'EPERM',
    ],
  ],
  [
    OFPET.BAD_MATCH,
    'OFPET_BAD_MATCH',
    'OFPBMC_',
    [
      'BAD_TYPE',
      'BAD_LEN',
      'BAD_TAG',
      'BAD_DL_ADDR_MASK',
      'BAD_NW_ADDR_MASK',
      'BAD_WILDCARDS',
      'BAD_FIELD',
      'BAD_VALUE',
      'BAD_MASK',
      'BAD_PREREQ',
      'DUP_FIELD',
      'EPERM',
    ],
  ],
  [
    OFPET.FLOW_MOD_FAILED,
    'OFPET_FLOW_MOD_FAILED',
    'OFPFMFC_',
    ['UNKNOWN', 'TABLE_FULL', 'BAD_TABLE_ID', 'OVERLAP', 'EPERM', 'BAD_TIMEOUT', 'BAD_COMMAND', 'BAD_FLAGS'],
  ],
  [
    OFPET.GROUP_MOD_FAILED,
    'OFPET_GROUP_MOD_FAILED',
    'OFPGMFC_',
    [
      'GROUP_EXISTS',
      'INVALID_GROUP',
      'WEIGHT_UNSUPPORTED',
      'OUT_OF_GROUPS',
      'OUT_OF_BUCKETS',
      'CHAINING_UNSUPPORTED',
      'WATCH_UNSUPPORTED',
      'LOOP',
      'UNKNOWN_GROUP',
      'CHAINED_GROUP',
      'BAD_TYPE',
      'BAD_COMMAND',
      'BAD_BUCKET',
      'BAD_WATCH',
      'EPERM',
    ],
  ],
  [OFPET.PORT_MOD_FAILED, 'OFPET_PORT_MOD_FAILED', 'OFPPMFC_', ['BAD_PORT', 'BAD_HW_ADDR', 'BAD_CONFIG', 'BAD_ADVERTISE', 'EPERM']],
  [OFPET.TABLE_MOD_FAILED, 'OFPET_TABLE_MOD_FAILED', 'OFPTMFC_', ['BAD_TABLE', 'BAD_CONFIG', 'EPERM']],
  [OFPET.QUEUE_OP_FAILED, 'OFPET_QUEUE_OP_FAILED', 'OFPQOFC_', ['BAD_PORT', 'BAD_QUEUE', 'EPERM']],
  [OFPET.SWITCH_CONFIG_FAILED, 'OFPET_SWITCH_CONFIG_FAILED', 'OFPSCFC_', ['BAD_FLAGS', 'BAD_LEN', 'EPERM']],
  [OFPET.ROLE_REQUEST_FAILED, 'OFPET_ROLE_REQUEST_FAILED', 'OFPRRFC_', ['STALE', 'UNSUP', 'BAD_ROLE']],
  [
    OFPET.METER_MOD_FAILED,
    'OFPET_METER_MOD_FAILED',
    'OFPMMFC_',
    [
      'UNKNOWN',
      'METER_EXISTS',
      'INVALID_METER',
      'UNKNOWN_METER',
      'BAD_COMMAND',
      'BAD_FLAGS',
      'BAD_RATE',
      'BAD_BURST',
      'BAD_BAND',
      'BAD_BAND_VALUE',
      'OUT_OF_METERS',
      'OUT_OF_BANDS',
    ],
  ],
  [
    OFPET.TABLE_FEATURES_FAILED,
    'OFPET_TABLE_FEATURES_FAILED',
    'OFPTFFC_',
    ['BAD_TABLE', 'BAD_METADATA', 'BAD_TYPE', 'BAD_LEN', 'BAD_ARGUMENT', 'EPERM'],
  ],
  [OFPET.EXPERIMENTER, 'OFPET_EXPERIMENTER', '', []],
];

const BY_TYPE = new Map(T.map(([t, name, prefix, codes]) => [t, { name, codes: codes.map((c) => prefix + c) }]));

/**
 * ONF bundle errors as Open vSwitch sends them on OpenFlow 1.3: an OFPET_EXPERIMENTER error with experimenter ONF
 * and these codes from 2300 (OpenFlow 1.4 made them OFPET_BUNDLE_FAILED, type 17).
 */
const BUNDLE_CODES = [
  'UNKNOWN',
  'EPERM',
  'BAD_ID',
  'BUNDLE_EXIST',
  'BUNDLE_CLOSED',
  'OUT_OF_BUNDLES',
  'BAD_TYPE',
  'BAD_FLAGS',
  'MSG_BAD_LEN',
  'MSG_BAD_XID',
  'MSG_UNSUP',
  'MSG_CONFLICT',
  'MSG_TOO_MANY',
  'MSG_FAILED',
  'TIMEOUT',
  'BUNDLE_IN_PROGRESS',
].map((c) => 'OFPBFC_' + c);

/** Name of an experimenter error code, e.g. (0x4f4e4600, 2313) -> 'OFPBFC_MSG_FAILED'. */
export function experimenterErrorName(experimenter: number, code: number): string | undefined {
  if (experimenter === ONF_EXPERIMENTER) return BUNDLE_CODES[code - ONF_BUNDLE_ERROR_BASE];
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
  const expName = type === OFPET.EXPERIMENTER && experimenter !== undefined ? experimenterErrorName(experimenter, code) : undefined;
  return {
    type: errorTypeName(type) ?? `type ${type}`,
    code:
      expName ??
      errorCodeName(type, code) ??
      (type === OFPET.EXPERIMENTER && experimenter !== undefined
        ? `experimenter 0x${experimenter.toString(16).padStart(8, '0')} code ${code}`
        : `code ${code}`),
  };
}

/** Number of codes known for each error type (for tests and fuzzing). */
export const ERROR_TYPES: ReadonlyArray<{ type: number; name: string; codes: readonly string[] }> = T.map(
  ([type, name, prefix, codes]) => ({ type, name, codes: codes.map((c) => prefix + c) }),
);
