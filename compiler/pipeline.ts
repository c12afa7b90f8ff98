/**
 * The switch pipeline, declared as data. Every flow the compiler emits must fit its table's declared match
 * fields (`assertFits`), which catches compiler bugs early.
 *
 *  table 0 classify  — anti-spoofing: a bound device's (in_port, eth_src, ipv4_src) → source class in metadata[0:16]
 *  table 1 dest      — ipv4_dst → destination class metadata[16:32] (set of resources the address is in)
 *                      and, for device/server addresses, the owner's class metadata[32:48] (for replies)
 *  table 2 policy    — metadata(src class, dst class) + ip_proto + port → forward; replies by dst owner class
 *  table 3 forward   — NORMAL
 */
import type { OxmFieldName } from '../openflow/types.js';
import type { PlannedFlow } from './model.js';

export const TABLE = { classify: 0, dest: 1, policy: 2, forward: 3 } as const;

export const METADATA = {
  srcMask: 0xffffn,
  dstShift: 16n,
  dstMask: 0xffff0000n,
  ownerShift: 32n,
  ownerMask: 0xffff00000000n,
} as const;

export const PRIORITY = {
  /** EAPOL to the controller (802.1X): above every device flow; a listed port above the switch-wide one. */
  eapolPort: 160,
  eapolAll: 150,
  classifyDevice: 100,
  linkClassify: 20,
  linkArp: 15,
  linkPass: 10,
  discovery: 0,
  destBase: 100, // + prefix length
  deny: 300,
  allow: 200,
  reply: 200,
  defaultDeny: 0,
} as const;

export interface TableDef {
  readonly id: number;
  readonly name: string;
  readonly fields: readonly OxmFieldName[];
}

export const PIPELINE: readonly TableDef[] = [
  { id: 0, name: 'classify', fields: ['in_port', 'eth_src', 'eth_type', 'ipv4_src', 'arp_spa', 'arp_sha', 'ip_proto', 'udp_src', 'udp_dst'] },
  { id: 1, name: 'dest', fields: ['eth_type', 'ipv4_dst'] },
  { id: 2, name: 'policy', fields: ['metadata', 'eth_type', 'ipv4_src', 'ip_proto', 'tcp_src', 'tcp_dst', 'tcp_flags', 'udp_src', 'udp_dst', 'icmpv4_type'] },
  { id: 3, name: 'forward', fields: [] },
];

export function assertFits(flow: PlannedFlow): void {
  const t = PIPELINE[flow.tableId];
  if (!t) throw new Error(`compiler bug: flow for unknown table ${flow.tableId} (${flow.origin})`);
  for (const e of flow.match) {
    if (!t.fields.includes(e.field)) throw new Error(`compiler bug: table ${t.name} does not match on ${e.field} (${flow.origin})`);
  }
  for (const i of flow.instructions) {
    if (i.type === 'goto_table' && i.tableId <= flow.tableId) throw new Error(`compiler bug: goto_table ${i.tableId} from table ${flow.tableId}`);
  }
}
