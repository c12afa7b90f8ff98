/**
 * Every OpenFlow 1.3 protocol number this repository uses, defined once (openflow.h names, plus the Open vSwitch
 * Nicira and ONF extensions it speaks). The codec, the OXM table, the builders and the compiler import them from
 * here; nothing else defines a protocol number.
 */

export const OFP_VERSION = 0x04;
/** Highest version byte any OpenFlow peer sends (1.5 = 0x06): anything else is not OpenFlow. */
export const OFP_VERSION_MAX = 0x06;

// ---------- sizes ----------

export const OFP_HEADER_SIZE = 8;
export const OFP_MATCH_SIZE = 8;
export const OFP_FLOW_MOD_SIZE = 56;
/** ofp_flow_mod without its ofp_match. */
export const OFP_FLOW_MOD_FIXED = OFP_FLOW_MOD_SIZE - OFP_MATCH_SIZE;
export const OFP_ACTION_OUTPUT_SIZE = 16;
/** ofp_action_header, and the actions of that size (group, set_queue, push/pop_vlan, dec_nw_ttl). */
export const OFP_ACTION_HEADER_SIZE = 8;
/** nx_action_conntrack without its nested actions. */
export const NX_ACTION_CT_SIZE = 24;
/** ofp_instruction (goto_table, clear_actions, meter, and the header of apply/write_actions). */
export const OFP_INSTRUCTION_SIZE = 8;
export const OFP_INSTRUCTION_WRITE_METADATA_SIZE = 24;
export const OFP_PORT_SIZE = 64;
export const OFP_FLOW_STATS_SIZE = 56;
export const OFP_PORT_STATS_SIZE = 112;
export const OFP_TABLE_STATS_SIZE = 24;
export const OFP_DESC_SIZE = 1056;
export const OFP_PACKET_OUT_SIZE = 24;
export const OFP_SWITCH_FEATURES_SIZE = 32;
/** ofp_table_features without properties. */
export const OFP_TABLE_FEATURES_SIZE = 64;
export const OFP_BUCKET_SIZE = 16;
export const OFP_METER_BAND_SIZE = 16;
/** Largest message we accept (OpenFlow lengths are 16-bit). */
export const OFP_MAX_MESSAGE = 0xffff;

// ---------- message types ----------

export const OFPT = {
  HELLO: 0,
  ERROR: 1,
  ECHO_REQUEST: 2,
  ECHO_REPLY: 3,
  EXPERIMENTER: 4,
  FEATURES_REQUEST: 5,
  FEATURES_REPLY: 6,
  GET_CONFIG_REQUEST: 7,
  GET_CONFIG_REPLY: 8,
  SET_CONFIG: 9,
  PACKET_IN: 10,
  FLOW_REMOVED: 11,
  PORT_STATUS: 12,
  PACKET_OUT: 13,
  FLOW_MOD: 14,
  GROUP_MOD: 15,
  PORT_MOD: 16,
  TABLE_MOD: 17,
  MULTIPART_REQUEST: 18,
  MULTIPART_REPLY: 19,
  BARRIER_REQUEST: 20,
  BARRIER_REPLY: 21,
  ROLE_REQUEST: 24,
  ROLE_REPLY: 25,
  METER_MOD: 29,
} as const;

/** OFPHET_VERSIONBITMAP, the hello element listing the versions a peer speaks. */
export const OFPHET_VERSIONBITMAP = 1;

/** Multipart (stats) types, by the name the message model uses. */
export const OFPMP = { desc: 0, flow: 1, aggregate: 2, table: 3, port_stats: 4, table_features: 12, port_desc: 13 } as const;
export const OFPMPF_REPLY_MORE = 1;
/** OFPTFPT_MATCH, the table-features property listing the OXM headers a table matches. */
export const OFPTFPT_MATCH = 8;

// ---------- enumerations carried as numbers (index = wire value) ----------

export const OFPFC = ['add', 'modify', 'modify_strict', 'delete', 'delete_strict'] as const;
/** Group and meter mod commands (OFPGC_*, OFPMC_*: the same three values). */
export const OFPGC = ['add', 'modify', 'delete'] as const;
export const OFPGT = ['all', 'select', 'indirect', 'ff'] as const;
export const OFPCR_ROLE = ['nochange', 'equal', 'master', 'slave'] as const;
export const OFPPR = ['add', 'delete', 'modify'] as const;
export const OFPBCT = [
  'open_request',
  'open_reply',
  'close_request',
  'close_reply',
  'commit_request',
  'commit_reply',
  'discard_request',
  'discard_reply',
] as const;

// ---------- flag bits ----------

export const OFPFF = { SEND_FLOW_REM: 1, CHECK_OVERLAP: 2, RESET_COUNTS: 4, NO_PKT_COUNTS: 8, NO_BYT_COUNTS: 16 } as const;
export const OFPMF = { KBPS: 1, PKTPS: 2, BURST: 4, STATS: 8 } as const;
export const OFPMBT = { DROP: 1, DSCP_REMARK: 2 } as const;
/** Bundle flags (ONF EXT-230). */
export const OFPBF = { ATOMIC: 1, ORDERED: 2 } as const;

// ---------- ports, groups, tables, buffers ----------

/** Reserved port numbers (openflow.h `ofp_port_no`). */
export const OFPP = {
  MAX: 0xffffff00,
  IN_PORT: 0xfffffff8,
  TABLE: 0xfffffff9,
  NORMAL: 0xfffffffa,
  FLOOD: 0xfffffffb,
  ALL: 0xfffffffc,
  CONTROLLER: 0xfffffffd,
  LOCAL: 0xfffffffe,
  ANY: 0xffffffff,
} as const;

export const OFPG_ANY = 0xffffffff;
export const OFPTT_ALL = 0xff;
/** OFP_DEFAULT_PRIORITY, a flow's priority when none is given. */
export const OFP_DEFAULT_PRIORITY = 0x8000;
/** max_len of an output to the controller: send the whole packet, do not buffer it. */
export const OFPCML_NO_BUFFER = 0xffff;
export const OFP_NO_BUFFER = 0xffffffff;

// ---------- actions and instructions ----------

export const OFPAT = {
  OUTPUT: 0,
  PUSH_VLAN: 17,
  POP_VLAN: 18,
  SET_QUEUE: 21,
  GROUP: 22,
  DEC_NW_TTL: 24,
  SET_FIELD: 25,
  EXPERIMENTER: 0xffff,
} as const;
export const OFPIT = { GOTO_TABLE: 1, WRITE_METADATA: 2, WRITE_ACTIONS: 3, APPLY_ACTIONS: 4, CLEAR_ACTIONS: 5, METER: 6 } as const;

// ---------- match (OXM) ----------

export const OFPMT_OXM = 1;
/** OXM classes: Nicira extension class 1 (NXM_1, as Open vSwitch accepts in OF1.3 matches), OpenFlow basic, experimenter. */
export const OFPXMC = { NXM_1: 0x0001, OPENFLOW_BASIC: 0x8000, EXPERIMENTER: 0xffff } as const;

/** OXM field numbers of class OFPXMC_OPENFLOW_BASIC (openflow.h `oxm_ofb_match_fields`). */
export const OFPXMT_OFB = {
  in_port: 0,
  in_phy_port: 1,
  metadata: 2,
  eth_dst: 3,
  eth_src: 4,
  eth_type: 5,
  vlan_vid: 6,
  vlan_pcp: 7,
  ip_dscp: 8,
  ip_ecn: 9,
  ip_proto: 10,
  ipv4_src: 11,
  ipv4_dst: 12,
  tcp_src: 13,
  tcp_dst: 14,
  udp_src: 15,
  udp_dst: 16,
  sctp_src: 17,
  sctp_dst: 18,
  icmpv4_type: 19,
  icmpv4_code: 20,
  arp_op: 21,
  arp_spa: 22,
  arp_tpa: 23,
  arp_sha: 24,
  arp_tha: 25,
  ipv6_src: 26,
  ipv6_dst: 27,
  ipv6_flabel: 28,
  icmpv6_type: 29,
  icmpv6_code: 30,
  ipv6_nd_target: 31,
  ipv6_nd_sll: 32,
  ipv6_nd_tll: 33,
  mpls_label: 34,
  mpls_tc: 35,
  mpls_bos: 36,
  pbb_isid: 37,
  tunnel_id: 38,
  ipv6_exthdr: 39,
} as const;

/**
 * Nicira NXM_1 fields Open vSwitch matches in OpenFlow 1.3: NXM_NX_TCP_FLAGS and connection tracking
 * (NXM_NX_CT_STATE, NXM_NX_CT_ZONE, NXM_NX_CT_MARK).
 */
export const NXM_NX = { tcp_flags: 34, ct_state: 105, ct_zone: 106, ct_mark: 107 } as const;

/** vlan_vid bit marking a tagged packet. */
export const OFPVID_PRESENT = 0x1000;

/** ct_state bits (Open vSwitch). */
export const CT = { new: 0x01, est: 0x02, rel: 0x04, rpl: 0x08, inv: 0x10, trk: 0x20, snat: 0x40, dnat: 0x80 } as const;

// ---------- experimenters ----------

/** Nicira (Open vSwitch) experimenter id, its conntrack action NXAST_CT, the commit flag and "no recirculation". */
export const NX_VENDOR_ID = 0x00002320;
export const NXAST_CT = 35;
export const NX_CT_F_COMMIT = 1;
export const NX_CT_RECIRC_NONE = 0xff;

/** ONF experimenter id (extensions EXT-230 bundles, and the tcp_flags OXM Open vSwitch answers with). */
export const ONF_EXPERIMENTER = 0x4f4e4600;
export const ONFT_BUNDLE_CONTROL = 2300;
export const ONFT_BUNDLE_ADD_MESSAGE = 2301;
/** ONFOXM_ET_TCP_FLAGS, the experimenter OXM field of tcp_flags. */
export const ONFOXM_ET_TCP_FLAGS = 42;
/** ONF bundle error codes (OFPBFC_*) start here, under OFPET_EXPERIMENTER. */
export const ONF_BUNDLE_ERROR_BASE = 2300;

// ---------- errors ----------

/** OFPET_ROLE_REQUEST_FAILED: the switch saw a newer generation_id (a stale master). */
export const OFPRRFC_STALE = 0;

/** OFPET_HELLO_FAILED codes (openflow.h `ofp_hello_failed_code`). */
export const OFPHFC = { INCOMPATIBLE: 0, EPERM: 1 } as const;

/** OFPET_BAD_REQUEST codes the controller decides on (openflow.h `ofp_bad_request_code`). */
export const OFPBRC = { BAD_VERSION: 0, BAD_TYPE: 1, BAD_MULTIPART: 2, BAD_EXPERIMENTER: 3, BAD_EXP_TYPE: 4 } as const;

/** Error types (openflow.h `ofp_error_type`); the per-type code names are in errors.ts. */
export const OFPET = {
  HELLO_FAILED: 0,
  BAD_REQUEST: 1,
  BAD_ACTION: 2,
  BAD_INSTRUCTION: 3,
  BAD_MATCH: 4,
  FLOW_MOD_FAILED: 5,
  GROUP_MOD_FAILED: 6,
  PORT_MOD_FAILED: 7,
  TABLE_MOD_FAILED: 8,
  QUEUE_OP_FAILED: 9,
  SWITCH_CONFIG_FAILED: 10,
  ROLE_REQUEST_FAILED: 11,
  METER_MOD_FAILED: 12,
  TABLE_FEATURES_FAILED: 13,
  EXPERIMENTER: 0xffff,
} as const;
