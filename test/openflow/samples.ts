/** One sample of every message type we encode, shared by round-trip and conformance tests. */
import type { OfpMessage, PortDesc } from '../../openflow/index.js';
import { OFPP, flowMod, match } from '../../openflow/index.js';

export const port: PortDesc = { portNo: 1, hwAddr: '02:00:00:00:00:01', name: 'eth1', config: 0, state: 4, curr: 0x2820, advertised: 0, supported: 0, peer: 0, currSpeed: 10_000_000, maxSpeed: 0 };

export const aclFlow = flowMod({
  xid: 42, cookie: 0x5ac1000000000007n, tableId: 2, priority: 200,
  match: match({ field: 'metadata', value: 0x20001n, mask: 0xffffffffn }, { field: 'eth_type', value: 0x0800 }, { field: 'ip_proto', value: 6 }, { field: 'ipv4_dst', value: '10.0.2.10' }, { field: 'tcp_dst', value: 5432 }),
  instructions: [{ type: 'goto_table', tableId: 3 }],
});

export const samples: OfpMessage[] = [
  { type: 'hello', xid: 1, versions: [1, 4] },
  { type: 'error', xid: 2, errType: 5, code: 1, data: Buffer.from('0405000800000063', 'hex') },
  { type: 'echo_request', xid: 3, data: Buffer.from('ping') },
  { type: 'echo_reply', xid: 4, data: Buffer.from('pong') },
  { type: 'features_request', xid: 5 },
  { type: 'features_reply', xid: 6, datapathId: 0x10n, nBuffers: 0, nTables: 254, auxiliaryId: 0, capabilities: 0x4f },
  { type: 'get_config_request', xid: 7 },
  { type: 'get_config_reply', xid: 8, flags: 0, missSendLen: 128 },
  { type: 'set_config', xid: 9, flags: 0, missSendLen: 128 },
  { type: 'packet_in', xid: 0, bufferId: 0xffffffff, totalLen: 60, reason: 0, tableId: 0, cookie: 0x5ac1n, match: [{ field: 'in_port', value: 3 }], data: Buffer.alloc(60, 1) },
  { type: 'flow_removed', xid: 0, cookie: 0x5ac1000000000001n, priority: 100, reason: 0, tableId: 1, durationSec: 10, durationNsec: 5, idleTimeout: 60, hardTimeout: 0, packetCount: 7n, byteCount: 700n, match: [{ field: 'in_port', value: 1 }] },
  { type: 'port_status', xid: 0, reason: 'add', desc: port },
  { type: 'packet_out', xid: 10, bufferId: 0xffffffff, inPort: OFPP.CONTROLLER, actions: [{ type: 'output', port: 2, maxLen: 0 }], data: Buffer.alloc(64, 2) },
  aclFlow,
  flowMod({ xid: 11, command: 'delete_strict', tableId: 0, priority: 100, cookie: 0x5ac1000000000001n, cookieMask: 0xffffffffffffffffn, outPort: OFPP.ANY, match: match({ field: 'in_port', value: 1 }, { field: 'eth_src', value: '02:00:00:00:01:01' }) }),
  flowMod({ xid: 12, command: 'modify', tableId: 0, priority: 10, flags: { sendFlowRem: true, checkOverlap: true }, idleTimeout: 30, hardTimeout: 300,
    match: match({ field: 'in_port', value: 2 }, { field: 'eth_type', value: 0x0806 }, { field: 'arp_spa', value: '10.0.1.0', mask: '255.255.255.0' }, { field: 'arp_sha', value: '02:00:00:00:01:01' }),
    instructions: [{ type: 'meter', meterId: 1 }, { type: 'apply_actions', actions: [{ type: 'push_vlan', ethertype: 0x8100 }, { type: 'set_field', field: 'vlan_vid', value: 0x1000 | 10 }, { type: 'output', port: OFPP.CONTROLLER, maxLen: 128 }] }, { type: 'write_metadata', metadata: 5n, mask: 0xffffn }, { type: 'goto_table', tableId: 1 }] }),
  flowMod({ xid: 13, command: 'delete', tableId: 0xff, cookie: 0x5ac1000000000000n, cookieMask: 0xffff000000000000n }),
  flowMod({ xid: 14, tableId: 1, priority: 5, match: match({ field: 'eth_type', value: 0x86dd }, { field: 'ipv6_src', value: 'fe80::1' }, { field: 'ip_proto', value: 58 }, { field: 'icmpv6_type', value: 135 }),
    instructions: [{ type: 'write_actions', actions: [{ type: 'group', groupId: 7 }, { type: 'set_queue', queueId: 2 }, { type: 'dec_nw_ttl' }, { type: 'pop_vlan' }] }, { type: 'clear_actions' }] }),
  { type: 'group_mod', xid: 15, command: 'add', groupType: 'all', groupId: 7, buckets: [{ weight: 0, watchPort: OFPP.ANY, watchGroup: 0xffffffff, actions: [{ type: 'output', port: 1, maxLen: 0 }] }, { weight: 0, watchPort: OFPP.ANY, watchGroup: 0xffffffff, actions: [{ type: 'output', port: 2, maxLen: 0 }] }] },
  { type: 'meter_mod', xid: 16, command: 'add', flags: { pktps: true }, meterId: 1, bands: [{ type: 'drop', rate: 100, burstSize: 0 }] },
  { type: 'multipart_request', xid: 17, flags: 0, body: { kind: 'desc' } },
  { type: 'multipart_request', xid: 18, flags: 0, body: { kind: 'flow', tableId: 0xff, outPort: OFPP.ANY, outGroup: 0xffffffff, cookie: 0x5ac1000000000000n, cookieMask: 0xffff000000000000n, match: [] } },
  { type: 'multipart_request', xid: 19, flags: 0, body: { kind: 'aggregate', tableId: 0xff, outPort: OFPP.ANY, outGroup: 0xffffffff, cookie: 0n, cookieMask: 0n, match: [{ field: 'in_port', value: 1 }] } },
  { type: 'multipart_request', xid: 20, flags: 0, body: { kind: 'table' } },
  { type: 'multipart_request', xid: 21, flags: 0, body: { kind: 'port_stats', portNo: OFPP.ANY } },
  { type: 'multipart_request', xid: 22, flags: 0, body: { kind: 'port_desc' } },
  { type: 'multipart_reply', xid: 17, flags: 0, body: { kind: 'desc', mfrDesc: 'Nicira, Inc.', hwDesc: 'Open vSwitch', swDesc: '3.1.0', serialNum: 'None', dpDesc: 'br0' } },
  { type: 'multipart_reply', xid: 18, flags: 0, body: { kind: 'flow', flows: [{ tableId: 2, durationSec: 3, durationNsec: 0, priority: 200, idleTimeout: 0, hardTimeout: 0, flags: {}, cookie: 0x5ac1000000000007n, packetCount: 1n, byteCount: 64n, match: aclFlow.match, instructions: aclFlow.instructions }] } },
  { type: 'multipart_reply', xid: 19, flags: 0, body: { kind: 'aggregate', packetCount: 10n, byteCount: 1000n, flowCount: 3 } },
  { type: 'multipart_reply', xid: 20, flags: 0, body: { kind: 'table', tables: [{ tableId: 0, activeCount: 4, lookupCount: 100n, matchedCount: 90n }] } },
  { type: 'multipart_reply', xid: 21, flags: 0, body: { kind: 'port_stats', ports: [{ portNo: 1, rxPackets: 1n, txPackets: 2n, rxBytes: 3n, txBytes: 4n, rxDropped: 0n, txDropped: 0n, rxErrors: 0n, txErrors: 0n, rxFrameErr: 0n, rxOverErr: 0n, rxCrcErr: 0n, collisions: 0n, durationSec: 5, durationNsec: 0 }] } },
  { type: 'multipart_reply', xid: 22, flags: 0, body: { kind: 'port_desc', ports: [port] } },
  { type: 'barrier_request', xid: 23 },
  { type: 'barrier_reply', xid: 24 },
  { type: 'role_request', xid: 25, role: 'master', generationId: 1n },
  { type: 'role_reply', xid: 26, role: 'equal', generationId: 2n },
  { type: 'bundle_control', xid: 27, bundleId: 1, ctrlType: 'open_request', flags: { atomic: true } },
  { type: 'bundle_control', xid: 28, bundleId: 1, ctrlType: 'commit_request', flags: { atomic: true } },
  { type: 'bundle_control', xid: 29, bundleId: 1, ctrlType: 'discard_request', flags: {} },
  { type: 'bundle_add', xid: 30, bundleId: 1, flags: { atomic: true }, message: { ...aclFlow, xid: 30 } },
  // Open vSwitch conntrack: send untracked IP through conntrack (zone 3) and back into table 2; commit with a mark
  flowMod({ xid: 32, tableId: 2, priority: 400, match: match({ field: 'eth_type', value: 0x0800 }, { field: 'ct_state', value: 0, mask: 0x20 }),
    instructions: [{ type: 'apply_actions', actions: [{ type: 'ct', zone: 3, table: 2 }] }] }),
  flowMod({ xid: 33, tableId: 3, priority: 10, match: match({ field: 'eth_type', value: 0x0800 }, { field: 'ct_state', value: 0x21, mask: 0x31 }, { field: 'ct_zone', value: 3 }),
    instructions: [{ type: 'apply_actions', actions: [{ type: 'ct', commit: true, zone: 3, actions: [{ type: 'set_field', field: 'ct_mark', value: 7 }] }, { type: 'output', port: OFPP.NORMAL, maxLen: 0 }] }] }),
  { type: 'multipart_request', xid: 34, flags: 0, body: { kind: 'table_features' } },
  // ONF bundle error as Open vSwitch sends it on OpenFlow 1.3 (experimenter error, code 2313)
  { type: 'error', xid: 31, errType: 0xffff, code: 2313, experimenter: 0x4f4e4600, data: Buffer.from('0405000800000063', 'hex') },
];
