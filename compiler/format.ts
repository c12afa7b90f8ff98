/** Output formats: `ovs-ofctl add-flows` text, JSON (bigints as hex strings) and FLOW_MOD hex. */
import type { Action, Instruction, OxmEntry } from '../openflow/types.js';
import { OFPP } from '../openflow/types.js';
import { CT } from '../openflow/constants.js';
import { addFlowMod, encode } from '../openflow/index.js';
import type { PlannedFlow, SwitchPlan } from './model.js';
import { jsonReplacer } from './json.js';
import { flowAt } from './schedule.js';

export { jsonReplacer };

const OVS_FIELD: Partial<Record<OxmEntry['field'], string>> = {
  in_port: 'in_port',
  metadata: 'metadata',
  eth_src: 'dl_src',
  eth_dst: 'dl_dst',
  eth_type: 'dl_type',
  ipv4_src: 'nw_src',
  ipv4_dst: 'nw_dst',
  ip_proto: 'nw_proto',
  tcp_src: 'tcp_src',
  tcp_dst: 'tcp_dst',
  udp_src: 'udp_src',
  udp_dst: 'udp_dst',
  icmpv4_type: 'icmp_type',
  icmpv4_code: 'icmp_code',
  arp_spa: 'arp_spa',
  arp_tpa: 'arp_tpa',
  arp_sha: 'arp_sha',
  arp_tha: 'arp_tha',
  arp_op: 'arp_op',
  ipv6_src: 'ipv6_src',
  ipv6_dst: 'ipv6_dst',
  icmpv6_type: 'icmpv6_type',
  icmpv6_code: 'icmpv6_code',
  ipv6_nd_target: 'nd_target',
  ipv6_nd_sll: 'nd_sll',
  ipv6_nd_tll: 'nd_tll',
  ct_zone: 'ct_zone',
  ct_mark: 'ct_mark',
};

const CT_FLAG_NAMES: ReadonlyArray<[number, string]> = Object.entries(CT).map(([name, bit]) => [bit, name]);

/** ct_state as ovs-ofctl writes it: +trk+est-rpl (numeric when the mask covers unnamed bits). */
export function ctStateText(value: number, mask: number): string {
  if (mask & ~0xff) return `0x${value.toString(16)}/0x${mask.toString(16)}`;
  return CT_FLAG_NAMES.filter(([bit]) => mask & bit)
    .map(([bit, n]) => (value & bit ? '+' : '-') + n)
    .join('');
}

function val(v: OxmEntry['value'], field: string): string {
  if (typeof v === 'bigint') return '0x' + v.toString(16);
  if (typeof v === 'number' && (field === 'eth_type' || field.endsWith('_src') || field.endsWith('_dst')) && field === 'eth_type')
    return '0x' + v.toString(16).padStart(4, '0');
  if (typeof v === 'number' && (field.startsWith('tcp_') || field.startsWith('udp_'))) return String(v);
  return String(v);
}

const TCP_FLAG_NAMES: ReadonlyArray<[number, string]> = [
  [0x001, 'fin'],
  [0x002, 'syn'],
  [0x004, 'rst'],
  [0x008, 'psh'],
  [0x010, 'ack'],
  [0x020, 'urg'],
  [0x040, 'ece'],
  [0x080, 'cwr'],
  [0x100, 'ns'],
];

/** tcp_flags as ovs-ofctl writes it: +ack, +syn-ack (numeric when the mask covers unnamed bits). */
function tcpFlagsText(value: number, mask: number): string {
  if (mask & ~0x1ff) return `0x${value.toString(16).padStart(3, '0')}/0x${mask.toString(16).padStart(3, '0')}`;
  return TCP_FLAG_NAMES.filter(([bit]) => mask & bit)
    .map(([bit, n]) => (value & bit ? '+' : '-') + n)
    .join('');
}

function entryText(e: OxmEntry): string {
  if (e.field === 'ct_state') return `ct_state=${ctStateText(e.value as number, (e.mask as number | undefined) ?? 0xffffffff)}`;
  if (e.field === 'tcp_flags') return `tcp_flags=${tcpFlagsText(e.value as number, (e.mask as number | undefined) ?? 0xfff)}`;
  const name = OVS_FIELD[e.field] ?? e.field;
  const mask = e.mask === undefined ? '' : '/' + (typeof e.mask === 'number' ? '0x' + e.mask.toString(16) : val(e.mask, e.field));
  return `${name}=${val(e.value, e.field)}${mask}`;
}

function portText(p: number): string {
  if (p === OFPP.NORMAL) return 'NORMAL';
  if (p === OFPP.CONTROLLER) return 'CONTROLLER';
  if (p === OFPP.FLOOD) return 'FLOOD';
  if (p === OFPP.ALL) return 'ALL';
  if (p === OFPP.IN_PORT) return 'IN_PORT';
  if (p === OFPP.LOCAL) return 'LOCAL';
  return String(p);
}

function actionText(a: Action): string {
  switch (a.type) {
    case 'output':
      return a.port === OFPP.CONTROLLER && a.maxLen !== undefined ? `CONTROLLER:${a.maxLen}` : `output:${portText(a.port)}`;
    case 'group':
      return `group:${a.groupId}`;
    case 'set_field':
      return `set_field:${String(a.value)}->${OVS_FIELD[a.field] ?? a.field}`;
    case 'push_vlan':
      return `push_vlan:0x${a.ethertype.toString(16)}`;
    case 'pop_vlan':
      return 'pop_vlan';
    case 'set_queue':
      return `set_queue:${a.queueId}`;
    case 'dec_nw_ttl':
      return 'dec_ttl';
    case 'ct': {
      const parts = [...(a.commit ? ['commit'] : []), `zone=${a.zone ?? 0}`, ...(a.table !== undefined ? [`table=${a.table}`] : [])];
      if (a.actions?.length) parts.push(`exec(${a.actions.map(actionText).join(',')})`);
      return `ct(${parts.join(',')})`;
    }
  }
}

export function instructionsText(ins: readonly Instruction[]): string {
  const parts: string[] = [];
  for (const i of ins) {
    switch (i.type) {
      case 'meter':
        parts.push(`meter:${i.meterId}`);
        break;
      case 'apply_actions':
        parts.push(...i.actions.map(actionText));
        break;
      case 'clear_actions':
        parts.push('clear_actions');
        break;
      case 'write_actions':
        parts.push(`write_actions(${i.actions.map(actionText).join(',')})`);
        break;
      case 'write_metadata':
        parts.push(`write_metadata:0x${i.metadata.toString(16)}/0x${i.mask.toString(16)}`);
        break;
      case 'goto_table':
        parts.push(`goto_table:${i.tableId}`);
        break;
    }
  }
  return parts.length ? parts.join(',') : 'drop';
}

/**
 * One flow as `ovs-ofctl add-flows` reads it; with the hard_timeout to send it with when `f.hardTimeout` is set
 * (a flow as sent, from flowAt). One argument only, so `flows.map(flowText)` cannot pass an index as a timeout.
 */
export function flowText(f: PlannedFlow & { readonly hardTimeout?: number }): string {
  const m = f.match.map(entryText);
  const t = f.hardTimeout ? `, hard_timeout=${f.hardTimeout}` : '';
  return `table=${f.tableId}, priority=${f.priority}, cookie=0x${f.cookie.toString(16)}${t}${m.length ? ', ' + m.join(', ') : ''}, actions=${instructionsText(f.instructions)}`;
}

/** The flows to send at `at` (time-bound ones with the hard_timeout left then, none whose end has passed); all as planned without. */
const sentAt = (sp: SwitchPlan, at: number | undefined): ReadonlyArray<PlannedFlow & { readonly hardTimeout?: number }> =>
  at === undefined ? sp.flows : sp.flows.flatMap((f) => flowAt(f, at) ?? []);

/**
 * `ovs-ofctl -O OpenFlow13 add-flows BRIDGE FILE` input, with a comment per flow saying why it exists. With `at`
 * (the instant the flows are added), time-bound flows carry the hard_timeout left until their end.
 */
export function formatOvsFlows(sp: SwitchPlan, opts: { comments?: boolean; at?: number } = {}): string {
  const lines = [`# switch ${sp.name} (dpid 0x${sp.dpid.toString(16)}, ${sp.kind}): ${sp.flows.length} flows`];
  for (const f of sentAt(sp, opts.at)) {
    if (opts.comments !== false) lines.push(`# ${f.origin}`);
    lines.push(flowText(f));
  }
  return lines.join('\n') + '\n';
}

/** FLOW_MOD (add) messages in hex; with `at`, as formatOvsFlows. */
export function formatHex(sp: SwitchPlan, at?: number): string {
  return (
    sentAt(sp, at)
      .map((f) => encode(addFlowMod(f)).toString('hex'))
      .join('\n') + '\n'
  );
}

export function planJson(sp: SwitchPlan): unknown {
  return JSON.parse(JSON.stringify(sp, jsonReplacer));
}
