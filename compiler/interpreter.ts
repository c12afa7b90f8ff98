/**
 * A flow-table interpreter: applies a packet to one switch's tables the way an OpenFlow 1.3 switch would
 * (highest priority match, goto_table, write_metadata with mask, apply actions). `verify` and `explain` use it,
 * so the code that explains a decision is the code that checks it.
 */
import type { Match, OxmEntry, OxmValue } from '../openflow/types.js';
import { OFPP } from '../openflow/types.js';
import { ipv4ToU32 } from '../openflow/buffer.js';
import type { PlannedFlow } from './model.js';

export interface Packet {
  readonly inPort: number;
  readonly ethSrc: string;
  readonly ethDst?: string;
  readonly ethType: number;
  readonly ipSrc?: string;
  readonly ipDst?: string;
  readonly ipProto?: number;
  readonly tpSrc?: number;
  readonly tpDst?: number;
  readonly icmpType?: number;
  readonly arpSpa?: string;
  readonly arpTpa?: string;
  readonly arpSha?: string;
}

export interface Hit { readonly tableId: number; readonly flow: PlannedFlow }

export interface Outcome {
  readonly verdict: 'forward' | 'drop' | 'controller';
  readonly outputs: readonly number[];
  readonly hits: readonly Hit[];
  readonly metadata: bigint;
}

function fieldValue(p: Packet, field: OxmEntry['field'], metadata: bigint): OxmValue | undefined {
  switch (field) {
    case 'in_port': return p.inPort;
    case 'metadata': return metadata;
    case 'eth_src': return p.ethSrc;
    case 'eth_dst': return p.ethDst;
    case 'eth_type': return p.ethType;
    case 'ipv4_src': return p.ethType === 0x0800 ? p.ipSrc : undefined;
    case 'ipv4_dst': return p.ethType === 0x0800 ? p.ipDst : undefined;
    case 'ip_proto': return p.ethType === 0x0800 ? p.ipProto : undefined;
    case 'tcp_src': return p.ipProto === 6 ? p.tpSrc : undefined;
    case 'tcp_dst': return p.ipProto === 6 ? p.tpDst : undefined;
    case 'udp_src': return p.ipProto === 17 ? p.tpSrc : undefined;
    case 'udp_dst': return p.ipProto === 17 ? p.tpDst : undefined;
    case 'icmpv4_type': return p.ipProto === 1 ? p.icmpType : undefined;
    case 'arp_spa': return p.ethType === 0x0806 ? p.arpSpa : undefined;
    case 'arp_tpa': return p.ethType === 0x0806 ? p.arpTpa : undefined;
    case 'arp_sha': return p.ethType === 0x0806 ? p.arpSha : undefined;
    default: return undefined;
  }
}

function num(v: OxmValue, field: string): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return BigInt(v);
  if (field.includes('ipv4') || field.startsWith('arp_spa') || field.startsWith('arp_tpa')) return BigInt(ipv4ToU32(v));
  return BigInt('0x' + v.replace(/:/g, ''));
}

export function entryMatches(e: OxmEntry, v: OxmValue | undefined): boolean {
  if (v === undefined) return false;
  if (e.mask === undefined) {
    if (typeof v === 'string' && typeof e.value === 'string') return v.toLowerCase() === e.value.toLowerCase();
    return num(v, e.field) === num(e.value, e.field);
  }
  const m = num(e.mask, e.field);
  return (num(v, e.field) & m) === (num(e.value, e.field) & m);
}

export function flowMatches(m: Match, p: Packet, metadata: bigint): boolean {
  for (const e of m) if (!entryMatches(e, fieldValue(p, e.field, metadata))) return false;
  return true;
}

/** Flows grouped by table, highest priority first. Build once per switch, apply many packets. */
export class FlowTables {
  private readonly tables = new Map<number, PlannedFlow[]>();
  constructor(flows: readonly PlannedFlow[]) {
    for (const f of flows) {
      const t = this.tables.get(f.tableId) ?? [];
      t.push(f);
      this.tables.set(f.tableId, t);
    }
    for (const t of this.tables.values()) t.sort((a, b) => b.priority - a.priority);
  }

  lookup(tableId: number, p: Packet, metadata: bigint): PlannedFlow | undefined {
    for (const f of this.tables.get(tableId) ?? []) if (flowMatches(f.match, p, metadata)) return f;
    return undefined;
  }

  apply(p: Packet): Outcome {
    let table = 0;
    let metadata = 0n;
    const hits: Hit[] = [];
    const outputs: number[] = [];
    for (let steps = 0; steps < 256; steps++) {
      const f = this.lookup(table, p, metadata);
      if (!f) return { verdict: 'drop', outputs, hits, metadata };
      hits.push({ tableId: table, flow: f });
      let next: number | undefined;
      for (const ins of f.instructions) {
        if (ins.type === 'write_metadata') metadata = (metadata & ~ins.mask) | (ins.metadata & ins.mask);
        else if (ins.type === 'apply_actions' || ins.type === 'write_actions') {
          for (const a of ins.actions) if (a.type === 'output') outputs.push(a.port);
        } else if (ins.type === 'goto_table') next = ins.tableId;
      }
      if (next === undefined) break;
      table = next;
    }
    const verdict = outputs.includes(OFPP.CONTROLLER) ? 'controller' : outputs.length ? 'forward' : 'drop';
    return { verdict, outputs, hits, metadata };
  }
}

/** Can one packet match both? (Fields absent from a match are wildcards.) */
export function matchesOverlap(a: Match, b: Match): boolean {
  for (const ea of a) {
    const eb = b.find((x) => x.field === ea.field);
    if (!eb) continue;
    const ma = ea.mask === undefined ? -1n : num(ea.mask, ea.field);
    const mb = eb.mask === undefined ? -1n : num(eb.mask, eb.field);
    const common = ma & mb;
    if ((num(ea.value, ea.field) & common) !== (num(eb.value, eb.field) & common)) return false;
  }
  return true;
}
