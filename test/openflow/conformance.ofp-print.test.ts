/**
 * Conformance against Open vSwitch: every message type we encode is printed by `ovs-ofctl ofp-print HEX`
 * (Debian openvswitch-common) and its printed fields are checked.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { encode, type OfpMessage } from '../../openflow/index.js';
import { samples } from './samples.js';

const haveOfctl = spawnSync('which', ['ovs-ofctl']).status === 0;

function ofpPrint(m: OfpMessage): string {
  return execFileSync('ovs-ofctl', ['ofp-print', encode(m).toString('hex')], { encoding: 'utf8' });
}

const expectations: Array<[(m: OfpMessage) => boolean, RegExp[]]> = [
  [(m) => m.type === 'hello', [/OFPT_HELLO \(OF1\.3\) \(xid=0x1\)/, /version bitmap: 0x01, 0x04/]],
  [(m) => m.type === 'error' && m.errType === 5, [/OFPT_ERROR \(OF1\.3\) \(xid=0x2\): OFPFMFC_TABLE_FULL/, /OFPT_FEATURES_REQUEST \(OF1\.3\) \(xid=0x63\)/]],
  [(m) => m.type === 'error' && m.errType === 0xffff, [/OFPT_ERROR \(OF1\.3\) \(xid=0x1f\): OFPBFC_MSG_FAILED/, /OFPT_FEATURES_REQUEST \(OF1\.3\) \(xid=0x63\)/]],
  [(m) => m.type === 'echo_request', [/OFPT_ECHO_REQUEST \(OF1\.3\) \(xid=0x3\): 4 bytes of payload/]],
  [(m) => m.type === 'echo_reply', [/OFPT_ECHO_REPLY \(OF1\.3\) \(xid=0x4\): 4 bytes of payload/]],
  [(m) => m.type === 'features_request', [/OFPT_FEATURES_REQUEST \(OF1\.3\) \(xid=0x5\)/]],
  [(m) => m.type === 'features_reply', [/OFPT_FEATURES_REPLY \(OF1\.3\) \(xid=0x6\): dpid:0000000000000010/, /n_tables:254, n_buffers:0/, /capabilities: FLOW_STATS TABLE_STATS PORT_STATS GROUP_STATS QUEUE_STATS/]],
  [(m) => m.type === 'get_config_request', [/OFPT_GET_CONFIG_REQUEST \(OF1\.3\) \(xid=0x7\)/]],
  [(m) => m.type === 'get_config_reply', [/OFPT_GET_CONFIG_REPLY \(OF1\.3\) \(xid=0x8\): frags=normal miss_send_len=128/]],
  [(m) => m.type === 'set_config', [/OFPT_SET_CONFIG \(OF1\.3\) \(xid=0x9\): frags=normal miss_send_len=128/]],
  [(m) => m.type === 'packet_in', [/OFPT_PACKET_IN \(OF1\.3\) \(xid=0x0\): cookie=0x5ac1 total_len=60 in_port=3 \(via no_match\) data_len=60/]],
  [(m) => m.type === 'flow_removed', [/OFPT_FLOW_REMOVED \(OF1\.3\) \(xid=0x0\): priority=100,in_port=1 reason=idle table_id=1 cookie:0x5ac1000000000001 duration10\.000000005s idle60 pkts7 bytes700/]],
  [(m) => m.type === 'port_status', [/OFPT_PORT_STATUS \(OF1\.3\) \(xid=0x0\): ADD: 1\(eth1\): addr:02:00:00:00:00:01/, /state:\s+LIVE/, /speed: 10000 Mbps now/]],
  [(m) => m.type === 'packet_out', [/OFPT_PACKET_OUT \(OF1\.3\) \(xid=0xa\): in_port=CONTROLLER actions=output:2 data_len=64/]],
  [(m) => m.type === 'flow_mod' && m.xid === 42, [/OFPT_FLOW_MOD \(OF1\.3\) \(xid=0x2a\): ADD table:2 priority=200,tcp,metadata=0x20001\/0xffffffff,nw_dst=10\.0\.2\.10,tp_dst=5432 cookie:0x5ac1000000000007 actions=goto_table:3/]],
  [(m) => m.type === 'flow_mod' && m.xid === 11, [/DEL_STRICT priority=100,in_port=1,dl_src=02:00:00:00:01:01 cookie:0x5ac1000000000001\/0xffffffffffffffff/]],
  [(m) => m.type === 'flow_mod' && m.xid === 12, [/MOD priority=10,arp,in_port=2,arp_spa=10\.0\.1\.0\/24,arp_sha=02:00:00:00:01:01 idle:30 hard:300 send_flow_rem check_overlap actions=meter:1,push_vlan:0x8100,set_field:4106->vlan_vid,CONTROLLER:128,write_metadata:0x5\/0xffff,goto_table:1/]],
  [(m) => m.type === 'flow_mod' && m.xid === 13, [/DEL table:255 cookie:0x5ac1000000000000\/0xffff000000000000/]],
  [(m) => m.type === 'flow_mod' && m.xid === 14, [/ADD table:1 priority=5,icmp6,ipv6_src=fe80::1,icmp_type=135 actions=clear_actions,write_actions\(group:7,set_queue:2,dec_ttl,pop_vlan\)/]],
  [(m) => m.type === 'group_mod', [/OFPT_GROUP_MOD \(OF1\.3\) \(xid=0xf\):\s+ADD group_id=7,type=all,bucket=actions=output:1,bucket=actions=output:2/]],
  [(m) => m.type === 'meter_mod', [/OFPT_METER_MOD \(OF1\.3\) \(xid=0x10\): ADD meter=1 pktps bands=\s*type=drop rate=100/]],
  [(m) => m.type === 'multipart_request' && m.body.kind === 'desc', [/OFPST_DESC request \(OF1\.3\) \(xid=0x11\)/]],
  [(m) => m.type === 'multipart_request' && m.body.kind === 'flow', [/^OFPST_FLOW request \(OF1\.3\) \(xid=0x12\):\s*$/]],
  [(m) => m.type === 'multipart_request' && m.body.kind === 'aggregate', [/OFPST_AGGREGATE request \(OF1\.3\) \(xid=0x13\):\s+in_port=1/]],
  [(m) => m.type === 'multipart_request' && m.body.kind === 'table', [/OFPST_TABLE request \(OF1\.3\) \(xid=0x14\)/]],
  [(m) => m.type === 'multipart_request' && m.body.kind === 'port_stats', [/OFPST_PORT request \(OF1\.3\) \(xid=0x15\): port_no=ANY/]],
  [(m) => m.type === 'multipart_request' && m.body.kind === 'port_desc', [/OFPST_PORT_DESC request \(OF1\.3\) \(xid=0x16\)/]],
  [(m) => m.type === 'multipart_reply' && m.body.kind === 'desc', [/OFPST_DESC reply \(OF1\.3\) \(xid=0x11\)/, /Manufacturer: Nicira, Inc\./, /Hardware: Open vSwitch/, /Software: 3\.1\.0/, /Serial Num: None/, /DP Description: br0/]],
  [(m) => m.type === 'multipart_reply' && m.body.kind === 'flow', [/OFPST_FLOW reply \(OF1\.3\) \(xid=0x12\):/, /cookie=0x5ac1000000000007, duration=3s, table=2, n_packets=1, n_bytes=64, priority=200,tcp,metadata=0x20001\/0xffffffff,nw_dst=10\.0\.2\.10,tp_dst=5432 actions=goto_table:3/]],
  [(m) => m.type === 'multipart_reply' && m.body.kind === 'aggregate', [/OFPST_AGGREGATE reply \(OF1\.3\) \(xid=0x13\): packet_count=10 byte_count=1000 flow_count=3/]],
  [(m) => m.type === 'multipart_reply' && m.body.kind === 'table', [/OFPST_TABLE reply \(OF1\.3\) \(xid=0x14\):/, /table 0:\s+active=4, lookup=100, matched=90/]],
  [(m) => m.type === 'multipart_reply' && m.body.kind === 'port_stats', [/OFPST_PORT reply \(OF1\.3\) \(xid=0x15\): 1 ports/, /port\s+1: rx pkts=1, bytes=3/, /tx pkts=2, bytes=4/]],
  [(m) => m.type === 'multipart_reply' && m.body.kind === 'port_desc', [/OFPST_PORT_DESC reply \(OF1\.3\) \(xid=0x16\):/, /1\(eth1\): addr:02:00:00:00:00:01/]],
  [(m) => m.type === 'barrier_request', [/OFPT_BARRIER_REQUEST \(OF1\.3\) \(xid=0x17\)/]],
  [(m) => m.type === 'barrier_reply', [/OFPT_BARRIER_REPLY \(OF1\.3\) \(xid=0x18\)/]],
  [(m) => m.type === 'role_request', [/OFPT_ROLE_REQUEST \(OF1\.3\) \(xid=0x19\):\s+role=(master|primary) generation_id=1/]],
  [(m) => m.type === 'role_reply', [/OFPT_ROLE_REPLY \(OF1\.3\) \(xid=0x1a\):\s+role=equal generation_id=2/]],
  [(m) => m.type === 'bundle_control' && m.ctrlType === 'open_request', [/ONFT_BUNDLE_CONTROL \(OF1\.3\) \(xid=0x1b\):\s+bundle_id=0x1 type=OPEN_REQUEST flags=atomic/]],
  [(m) => m.type === 'bundle_control' && m.ctrlType === 'commit_request', [/bundle_id=0x1 type=COMMIT_REQUEST flags=atomic/]],
  [(m) => m.type === 'bundle_control' && m.ctrlType === 'discard_request', [/bundle_id=0x1 type=DISCARD_REQUEST/]],
  [(m) => m.type === 'bundle_add', [/ONFT_BUNDLE_ADD_MESSAGE \(OF1\.3\) \(xid=0x1e\):\s+bundle_id=0x1 flags=atomic/, /OFPT_FLOW_MOD \(OF1\.3\) \(xid=0x1e\): ADD table:2 priority=200,tcp/]],
];

describe.skipIf(!haveOfctl)('ovs-ofctl ofp-print accepts and prints what we encode', () => {
  it('covers every sample message', () => {
    for (const m of samples) expect(expectations.some(([sel]) => sel(m)), `no expectation for ${m.type} xid ${m.xid}`).toBe(true);
  });
  for (const [sel, patterns] of expectations) {
    const m = samples.find(sel)!;
    it(`${m.type} xid ${m.xid}`, () => {
      const out = ofpPrint(m);
      expect(out).not.toMatch(/\*\*\*|decode error|bad|truncated/i);
      for (const p of patterns) expect(out).toMatch(p);
    });
  }
});
