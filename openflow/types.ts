/**
 * OpenFlow 1.3 message model: the contract between the codec (openflow/), the compiler and the controller.
 *
 * Value conventions (chosen so that plans are JSON-friendly and diffable):
 *  - fields of up to 32 bits are `number`; 64-bit fields (cookie, metadata, tunnel_id, dpid) are `bigint`;
 *  - MAC addresses are lower-case "aa:bb:cc:dd:ee:ff" strings; IPv4 "10.0.0.1"; IPv6 canonical RFC 5952 text;
 *  - a match is an ORDERED list of OXM entries, so encoding is byte-stable.
 */

export { OFP_VERSION, OFPP, OFPG_ANY, OFPTT_ALL, OFPCML_NO_BUFFER, OFP_NO_BUFFER } from './constants.js';

/** Names of the OpenFlow 1.3 OXM basic-class fields (openflow.h `oxm_ofb_match_fields`). */
export type OxmFieldName =
  | 'in_port'
  | 'in_phy_port'
  | 'metadata'
  | 'eth_dst'
  | 'eth_src'
  | 'eth_type'
  | 'vlan_vid'
  | 'vlan_pcp'
  | 'ip_dscp'
  | 'ip_ecn'
  | 'ip_proto'
  | 'ipv4_src'
  | 'ipv4_dst'
  | 'tcp_src'
  | 'tcp_dst'
  | 'udp_src'
  | 'udp_dst'
  | 'sctp_src'
  | 'sctp_dst'
  | 'icmpv4_type'
  | 'icmpv4_code'
  | 'arp_op'
  | 'arp_spa'
  | 'arp_tpa'
  | 'arp_sha'
  | 'arp_tha'
  | 'ipv6_src'
  | 'ipv6_dst'
  | 'ipv6_flabel'
  | 'icmpv6_type'
  | 'icmpv6_code'
  | 'ipv6_nd_target'
  | 'ipv6_nd_sll'
  | 'ipv6_nd_tll'
  | 'mpls_label'
  | 'mpls_tc'
  | 'mpls_bos'
  | 'pbb_isid'
  | 'tunnel_id'
  | 'ipv6_exthdr'
  | 'tcp_flags'
  // Open vSwitch connection tracking (NXM_NX_CT_STATE / CT_ZONE / CT_MARK, class 0x0001)
  | 'ct_state'
  | 'ct_zone'
  | 'ct_mark';

export type OxmValue = number | bigint | string;

export interface OxmEntry {
  readonly field: OxmFieldName;
  readonly value: OxmValue;
  /** Present only for a masked match (same representation as value). */
  readonly mask?: OxmValue;
}

export type Match = readonly OxmEntry[];

export type Action =
  | { readonly type: 'output'; readonly port: number; readonly maxLen?: number }
  | { readonly type: 'group'; readonly groupId: number }
  | { readonly type: 'set_field'; readonly field: OxmFieldName; readonly value: OxmValue }
  | { readonly type: 'push_vlan'; readonly ethertype: number }
  | { readonly type: 'pop_vlan' }
  | { readonly type: 'set_queue'; readonly queueId: number }
  | { readonly type: 'dec_nw_ttl' }
  /**
   * Open vSwitch connection tracking (Nicira experimenter action NXAST_CT). `commit` stores the connection;
   * `zone` (0..65535) separates tracking tables; `table` recirculates the packet, with its ct_state filled in,
   * to that table (absent = no recirculation); `actions` (only set_field of ct_mark) run on commit.
   */
  | {
      readonly type: 'ct';
      readonly commit?: boolean;
      readonly zone?: number;
      readonly table?: number;
      readonly actions?: readonly Action[];
    };

export type Instruction =
  | { readonly type: 'goto_table'; readonly tableId: number }
  | { readonly type: 'write_metadata'; readonly metadata: bigint; readonly mask: bigint }
  | { readonly type: 'apply_actions'; readonly actions: readonly Action[] }
  | { readonly type: 'write_actions'; readonly actions: readonly Action[] }
  | { readonly type: 'clear_actions' }
  | { readonly type: 'meter'; readonly meterId: number };

export type FlowModCommand = 'add' | 'modify' | 'modify_strict' | 'delete' | 'delete_strict';

export interface FlowModFlags {
  readonly sendFlowRem?: boolean;
  readonly checkOverlap?: boolean;
  readonly resetCounts?: boolean;
  readonly noPktCounts?: boolean;
  readonly noBytCounts?: boolean;
}

export interface FlowMod {
  readonly cookie: bigint;
  readonly cookieMask: bigint;
  readonly tableId: number;
  readonly command: FlowModCommand;
  readonly idleTimeout: number;
  readonly hardTimeout: number;
  readonly priority: number;
  readonly bufferId: number;
  readonly outPort: number;
  readonly outGroup: number;
  readonly flags: FlowModFlags;
  readonly match: Match;
  readonly instructions: readonly Instruction[];
  /**
   * The ofp_match bytes (type, length, fields, padding) exactly as a switch sent them, written instead of `match`:
   * lets the controller delete a flow whose fields this codec does not model (FlowStats.rawMatch).
   */
  readonly rawMatch?: Buffer;
}

/** One flow entry as read back with a multipart FLOW reply. */
export interface FlowStats {
  readonly tableId: number;
  readonly durationSec: number;
  readonly durationNsec: number;
  readonly priority: number;
  readonly idleTimeout: number;
  readonly hardTimeout: number;
  readonly flags: FlowModFlags;
  readonly cookie: bigint;
  readonly packetCount: bigint;
  readonly byteCount: bigint;
  readonly match: Match;
  readonly instructions: readonly Instruction[];
  /**
   * Set when the entry's match uses fields this codec does not model (another tool's flow, e.g. conntrack): the
   * ofp_match bytes as sent; `match` is then empty and meaningless.
   */
  readonly rawMatch?: Buffer;
  /** Set when the entry could not be decoded in full (unknown fields, actions or instructions): why. `instructions` is then empty and meaningless. */
  readonly undecoded?: string;
}

export interface PortDesc {
  readonly portNo: number;
  readonly hwAddr: string;
  readonly name: string;
  readonly config: number;
  readonly state: number;
  readonly curr: number;
  readonly advertised: number;
  readonly supported: number;
  readonly peer: number;
  readonly currSpeed: number;
  readonly maxSpeed: number;
}

export interface PortStats {
  readonly portNo: number;
  readonly rxPackets: bigint;
  readonly txPackets: bigint;
  readonly rxBytes: bigint;
  readonly txBytes: bigint;
  readonly rxDropped: bigint;
  readonly txDropped: bigint;
  readonly rxErrors: bigint;
  readonly txErrors: bigint;
  readonly rxFrameErr: bigint;
  readonly rxOverErr: bigint;
  readonly rxCrcErr: bigint;
  readonly collisions: bigint;
  readonly durationSec: number;
  readonly durationNsec: number;
}

export interface TableStats {
  readonly tableId: number;
  readonly activeCount: number;
  readonly lookupCount: bigint;
  readonly matchedCount: bigint;
}

/** One table of an OFPMP_TABLE_FEATURES reply: what a budget and a profile need (properties other than the match list are skipped). */
export interface TableFeatures {
  readonly tableId: number;
  readonly name: string;
  readonly metadataMatch: bigint;
  readonly metadataWrite: bigint;
  readonly config: number;
  readonly maxEntries: number;
  /** Fields the table can match on (OFPTFPT_MATCH), by name; OXM headers this codec does not model are left out. */
  readonly matchFields?: readonly OxmFieldName[];
}

export type MeterBand =
  | { readonly type: 'drop'; readonly rate: number; readonly burstSize: number }
  | { readonly type: 'dscp_remark'; readonly rate: number; readonly burstSize: number; readonly precLevel: number };

export interface Bucket {
  readonly weight: number;
  readonly watchPort: number;
  readonly watchGroup: number;
  readonly actions: readonly Action[];
}

export type MultipartRequestBody =
  | { readonly kind: 'desc' }
  | {
      readonly kind: 'flow';
      readonly tableId: number;
      readonly outPort: number;
      readonly outGroup: number;
      readonly cookie: bigint;
      readonly cookieMask: bigint;
      readonly match: Match;
    }
  | {
      readonly kind: 'aggregate';
      readonly tableId: number;
      readonly outPort: number;
      readonly outGroup: number;
      readonly cookie: bigint;
      readonly cookieMask: bigint;
      readonly match: Match;
    }
  | { readonly kind: 'table' }
  /** OFPMP_TABLE_FEATURES without a body: ask for the current features (max_entries per table). */
  | { readonly kind: 'table_features' }
  | { readonly kind: 'port_stats'; readonly portNo: number }
  | { readonly kind: 'port_desc' };

export type MultipartReplyBody =
  | {
      readonly kind: 'desc';
      readonly mfrDesc: string;
      readonly hwDesc: string;
      readonly swDesc: string;
      readonly serialNum: string;
      readonly dpDesc: string;
    }
  | { readonly kind: 'flow'; readonly flows: readonly FlowStats[] }
  | { readonly kind: 'aggregate'; readonly packetCount: bigint; readonly byteCount: bigint; readonly flowCount: number }
  | { readonly kind: 'table'; readonly tables: readonly TableStats[] }
  | { readonly kind: 'table_features'; readonly tables: readonly TableFeatures[] }
  | { readonly kind: 'port_stats'; readonly ports: readonly PortStats[] }
  | { readonly kind: 'port_desc'; readonly ports: readonly PortDesc[] };

/**
 * Every OpenFlow 1.3 message we speak. `xid` is the transaction id. Discriminated by `type`.
 * Error `errType`/`code` are numeric on the wire; decode also fills the symbolic names
 * (e.g. 'OFPET_FLOW_MOD_FAILED' / 'OFPFMFC_TABLE_FULL').
 */
export type OfpMessage =
  | { readonly type: 'hello'; readonly xid: number; readonly versions: readonly number[] }
  /** For errType 0xffff (OFPET_EXPERIMENTER) `code` is the experimenter's code and `experimenter` its id (ONF bundle errors: 0x4f4e4600, codes 2300..2315). */
  | {
      readonly type: 'error';
      readonly xid: number;
      readonly errType: number;
      readonly code: number;
      readonly errTypeName?: string;
      readonly codeName?: string;
      readonly experimenter?: number;
      readonly data: Buffer;
    }
  | { readonly type: 'echo_request'; readonly xid: number; readonly data: Buffer }
  | { readonly type: 'echo_reply'; readonly xid: number; readonly data: Buffer }
  | { readonly type: 'experimenter'; readonly xid: number; readonly experimenter: number; readonly expType: number; readonly data: Buffer }
  | { readonly type: 'features_request'; readonly xid: number }
  | {
      readonly type: 'features_reply';
      readonly xid: number;
      readonly datapathId: bigint;
      readonly nBuffers: number;
      readonly nTables: number;
      readonly auxiliaryId: number;
      readonly capabilities: number;
    }
  | { readonly type: 'get_config_request'; readonly xid: number }
  | { readonly type: 'get_config_reply'; readonly xid: number; readonly flags: number; readonly missSendLen: number }
  | { readonly type: 'set_config'; readonly xid: number; readonly flags: number; readonly missSendLen: number }
  | {
      readonly type: 'packet_in';
      readonly xid: number;
      readonly bufferId: number;
      readonly totalLen: number;
      readonly reason: number;
      readonly tableId: number;
      readonly cookie: bigint;
      readonly match: Match;
      readonly data: Buffer;
    }
  | {
      readonly type: 'flow_removed';
      readonly xid: number;
      readonly cookie: bigint;
      readonly priority: number;
      readonly reason: number;
      readonly tableId: number;
      readonly durationSec: number;
      readonly durationNsec: number;
      readonly idleTimeout: number;
      readonly hardTimeout: number;
      readonly packetCount: bigint;
      readonly byteCount: bigint;
      readonly match: Match;
    }
  | { readonly type: 'port_status'; readonly xid: number; readonly reason: 'add' | 'delete' | 'modify'; readonly desc: PortDesc }
  | {
      readonly type: 'packet_out';
      readonly xid: number;
      readonly bufferId: number;
      readonly inPort: number;
      readonly actions: readonly Action[];
      readonly data: Buffer;
    }
  | ({ readonly type: 'flow_mod'; readonly xid: number } & FlowMod)
  | {
      readonly type: 'group_mod';
      readonly xid: number;
      readonly command: 'add' | 'modify' | 'delete';
      readonly groupType: 'all' | 'select' | 'indirect' | 'ff';
      readonly groupId: number;
      readonly buckets: readonly Bucket[];
    }
  | {
      readonly type: 'meter_mod';
      readonly xid: number;
      readonly command: 'add' | 'modify' | 'delete';
      readonly flags: { readonly kbps?: boolean; readonly pktps?: boolean; readonly burst?: boolean; readonly stats?: boolean };
      readonly meterId: number;
      readonly bands: readonly MeterBand[];
    }
  | { readonly type: 'multipart_request'; readonly xid: number; readonly flags: number; readonly body: MultipartRequestBody }
  | { readonly type: 'multipart_reply'; readonly xid: number; readonly flags: number; readonly body: MultipartReplyBody }
  | { readonly type: 'barrier_request'; readonly xid: number }
  | { readonly type: 'barrier_reply'; readonly xid: number }
  | {
      readonly type: 'role_request';
      readonly xid: number;
      readonly role: 'nochange' | 'equal' | 'master' | 'slave';
      readonly generationId: bigint;
    }
  | {
      readonly type: 'role_reply';
      readonly xid: number;
      readonly role: 'nochange' | 'equal' | 'master' | 'slave';
      readonly generationId: bigint;
    }
  // ONF bundle extension for OF1.3 (ONF experimenter 0x4f4e4600, exp_type 2300 control / 2301 add), as Open vSwitch implements it.
  | {
      readonly type: 'bundle_control';
      readonly xid: number;
      readonly bundleId: number;
      readonly ctrlType:
        | 'open_request'
        | 'open_reply'
        | 'close_request'
        | 'close_reply'
        | 'commit_request'
        | 'commit_reply'
        | 'discard_request'
        | 'discard_reply';
      readonly flags: { readonly atomic?: boolean; readonly ordered?: boolean };
    }
  | {
      readonly type: 'bundle_add';
      readonly xid: number;
      readonly bundleId: number;
      readonly flags: { readonly atomic?: boolean; readonly ordered?: boolean };
      readonly message: OfpMessage;
    };

export type OfpMessageType = OfpMessage['type'];
export type MessageOf<T extends OfpMessageType> = Extract<OfpMessage, { type: T }>;

/** A decode never throws on bad input: it returns this error value instead. */
export interface DecodeError {
  readonly kind: 'decode_error';
  readonly code: 'truncated' | 'bad_length' | 'bad_version' | 'unknown_type' | 'bad_field' | 'bad_value';
  readonly message: string;
  /** Byte offset in the input where the problem was found. */
  readonly offset: number;
}

export type DecodeResult = { readonly ok: true; readonly message: OfpMessage } | { readonly ok: false; readonly error: DecodeError };
