/**
 * The switch pipeline, declared as data. Every flow the compiler emits is made through its table's builder
 * (`TABLES.policy.flow(...)`), which checks it against the table's declared match fields, goto targets and metadata
 * bits; that catches compiler bugs early.
 *
 *  table 0 classify  — anti-spoofing: a bound device's (in_port, eth_src, ipv4_src | ipv6_src) → source class in
 *                      metadata[0:16]; ARP and IPv6 Neighbor Discovery of bound addresses; RA guard, DHCPv6 trust
 *  table 1 dest      — ipv4_dst / ipv6_dst → destination class metadata[16:32] (set of resources the address is in)
 *                      and, for device/server addresses, the owner's class metadata[32:48] (for replies)
 *  table 2 policy    — metadata(src class, dst class) + ip_proto + port → forward; replies by dst owner class
 *  table 3 forward   — NORMAL (ovs profile: commit new connections to conntrack first; see profile.ts)
 *  table 4 monitor   — a packet a monitored deny rule would deny (metadata bit 63, set in table 2) arrives here
 *                      after table 3 has forwarded it, and is copied to the controller under the deny-sample meter:
 *                      a meter drops the whole packet when over rate, so it sits where nothing is left to drop
 */
import type { Instruction, OxmEntry, OxmFieldName } from '../openflow/types.js';
import type { PlannedFlow } from './model.js';
import { cookedFlow, type CompiledFlow } from './cookie.js';

export const TABLE = { classify: 0, dest: 1, policy: 2, forward: 3, monitor: 4 } as const;

export const METADATA = {
  srcMask: 0xffffn,
  dstShift: 16n,
  dstMask: 0xffff0000n,
  ownerShift: 32n,
  ownerMask: 0xffff00000000n,
  /** Set by a monitored deny rule's flow in table 2: forward as usual, then sample in table 4 ("would deny"). */
  monitor: 0x8000000000000000n,
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
  /** A monitored deny (mode: monitor): above allow, below deny and conntrack's related (250) stays apart. */
  monitor: 260,
  /** Table 3: a monitored packet's copy of a forward flow sits this much higher (then goes on to table 4). */
  monitorForward: 1000,
  allow: 200,
  reply: 200,
  defaultDeny: 0,
  /** IPv6 (tables.ts): RA guard and DHCPv6 trust above everything on a port; ND of bound addresses above classification. */
  v6TrustedPort: 170,
  v6Guard: 165,
  nd: 110,
  v6Client: 105,
  linkNd: 15,
} as const;

export interface TableDef {
  readonly id: number;
  readonly name: string;
  /** The only match fields a flow of this table may use. */
  readonly fields: readonly OxmFieldName[];
  /** Tables a flow of this table may go to (always later ones). */
  readonly next: readonly number[];
  /** Metadata bits a flow of this table may write (0n: none). */
  readonly writesMetadata: bigint;
}

export const PIPELINE: readonly TableDef[] = [
  {
    id: 0,
    name: 'classify',
    fields: [
      'in_port',
      'eth_src',
      'eth_type',
      'ipv4_src',
      'arp_spa',
      'arp_sha',
      'ipv6_src',
      'ip_proto',
      'udp_src',
      'udp_dst',
      'icmpv6_type',
      'ipv6_nd_target',
    ],
    next: [TABLE.dest, TABLE.forward],
    writesMetadata: METADATA.srcMask,
  },
  {
    id: 1,
    name: 'dest',
    fields: ['eth_type', 'ipv4_dst', 'ipv6_dst'],
    next: [TABLE.policy],
    writesMetadata: METADATA.dstMask | METADATA.ownerMask,
  },
  {
    id: 2,
    name: 'policy',
    fields: [
      'metadata',
      'eth_type',
      'ipv4_src',
      'ipv6_src',
      'ip_proto',
      'tcp_src',
      'tcp_dst',
      'tcp_flags',
      'udp_src',
      'udp_dst',
      'icmpv4_type',
      'icmpv6_type',
      'ct_state',
    ],
    next: [TABLE.forward],
    writesMetadata: METADATA.monitor,
  },
  {
    id: 3,
    name: 'forward',
    fields: ['metadata', 'eth_type', 'ip_proto', 'icmpv6_type', 'ct_state'],
    next: [TABLE.monitor],
    writesMetadata: 0n,
  },
  { id: 4, name: 'monitor', fields: [], next: [], writesMetadata: 0n },
];

/**
 * A table of the pipeline as the compiler writes it (after Faucet's valve_table): every flow made through it is
 * checked against the table's declared match fields, goto targets and metadata bits, so a compiler bug fails the
 * compile instead of reaching a switch.
 */
export class PipelineTable {
  readonly #fields: ReadonlySet<string>;
  constructor(readonly def: TableDef) {
    this.#fields = new Set(def.fields);
  }
  /** A flow of this table, with its stable cookie; throws when it does not fit the table. */
  flow(priority: number, match: OxmEntry[], instructions: Instruction[], origin: string): CompiledFlow {
    const f = cookedFlow(this.def.id, priority, match, instructions, origin);
    this.check(f);
    return f;
  }
  check(flow: PlannedFlow): void {
    const t = this.def;
    if (flow.tableId !== t.id)
      throw new Error(`compiler bug: flow for table ${flow.tableId} checked against table ${t.name} (${flow.origin})`);
    if (flow.priority < 0 || flow.priority > 0xffff || !Number.isInteger(flow.priority))
      throw new Error(`compiler bug: priority ${flow.priority} in table ${t.name} (${flow.origin})`);
    for (const e of flow.match) {
      if (!this.#fields.has(e.field)) throw new Error(`compiler bug: table ${t.name} does not match on ${e.field} (${flow.origin})`);
    }
    for (const i of flow.instructions) {
      if (i.type === 'goto_table' && !t.next.includes(i.tableId))
        throw new Error(`compiler bug: goto_table ${i.tableId} from table ${flow.tableId} (${flow.origin})`);
      if (i.type === 'write_metadata' && ((i.mask & ~t.writesMetadata) !== 0n || (i.metadata & ~i.mask) !== 0n))
        throw new Error(`compiler bug: table ${t.name} writes metadata bits 0x${i.mask.toString(16)} it does not own (${flow.origin})`);
    }
  }
}

/** The pipeline's tables, by name. */
export const TABLES = {
  classify: new PipelineTable(PIPELINE[TABLE.classify]),
  dest: new PipelineTable(PIPELINE[TABLE.dest]),
  policy: new PipelineTable(PIPELINE[TABLE.policy]),
  forward: new PipelineTable(PIPELINE[TABLE.forward]),
  monitor: new PipelineTable(PIPELINE[TABLE.monitor]),
} as const;

const BY_ID: readonly PipelineTable[] = [TABLES.classify, TABLES.dest, TABLES.policy, TABLES.forward, TABLES.monitor];

function tableOf(tableId: number, origin: string): PipelineTable {
  const t = BY_ID[tableId];
  if (!t) throw new Error(`compiler bug: flow for unknown table ${tableId} (${origin})`);
  return t;
}

/** A flow of the table with this id, checked (for flow makers that take the table as a number). */
export function tableFlow(tableId: number, priority: number, match: OxmEntry[], instructions: Instruction[], origin: string): CompiledFlow {
  return tableOf(tableId, origin).flow(priority, match, instructions, origin);
}

/** Checks any planned flow against its table's declaration. */
export function assertFits(flow: PlannedFlow): void {
  tableOf(flow.tableId, flow.origin).check(flow);
}
