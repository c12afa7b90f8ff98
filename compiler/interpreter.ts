/**
 * A flow-table interpreter: applies a packet to one switch's tables the way an OpenFlow 1.3 switch would
 * (highest priority match, goto_table, write_metadata with mask, apply actions). `verify` and `explain` use it,
 * so the code that explains a decision is the code that checks it.
 */
import type { Match, OxmEntry, OxmValue } from '../openflow/types.js';
import { OFPP } from '../openflow/types.js';
import { ipv4ToU32 } from '../openflow/buffer.js';
import { parseIpv6 } from './addr.js';
import type { PlannedFlow } from './model.js';
import { isDenySample } from './deny-sample.js';
import { TABLE } from './pipeline.js';

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
  /** TCP flag bits (SYN 0x002, ACK 0x010); 0 when absent. */
  readonly tcpFlags?: number;
  readonly icmpType?: number;
  readonly icmpCode?: number;
  /** IPv6 Neighbor Discovery target (NS/NA). */
  readonly ndTarget?: string;
  readonly arpSpa?: string;
  readonly arpTpa?: string;
  readonly arpSha?: string;
}

export interface Hit {
  readonly tableId: number;
  readonly flow: PlannedFlow;
}

export interface Outcome {
  readonly verdict: 'forward' | 'drop' | 'controller';
  readonly outputs: readonly number[];
  readonly hits: readonly Hit[];
  readonly metadata: bigint;
  /** The packet was dropped by a flow that sends a metered copy to the deny log. */
  readonly sampled?: boolean;
  /** A monitored deny rule would have denied it: forwarded, and a metered copy goes to the deny log as "would deny". */
  readonly monitored?: boolean;
}

function fieldValue(p: Packet, field: OxmEntry['field'], metadata: bigint): OxmValue | undefined {
  switch (field) {
    case 'in_port':
      return p.inPort;
    case 'metadata':
      return metadata;
    case 'eth_src':
      return p.ethSrc;
    case 'eth_dst':
      return p.ethDst;
    case 'eth_type':
      return p.ethType;
    case 'ipv4_src':
      return p.ethType === 0x0800 ? p.ipSrc : undefined;
    case 'ipv4_dst':
      return p.ethType === 0x0800 ? p.ipDst : undefined;
    case 'ip_proto':
      return p.ethType === 0x0800 || p.ethType === 0x86dd ? p.ipProto : undefined;
    case 'ipv6_src':
      return p.ethType === 0x86dd ? p.ipSrc : undefined;
    case 'ipv6_dst':
      return p.ethType === 0x86dd ? p.ipDst : undefined;
    case 'icmpv6_type':
      return p.ethType === 0x86dd && p.ipProto === 58 ? p.icmpType : undefined;
    case 'icmpv6_code':
      return p.ethType === 0x86dd && p.ipProto === 58 ? (p.icmpCode ?? 0) : undefined;
    case 'ipv6_nd_target':
      return p.ethType === 0x86dd && p.ipProto === 58 && (p.icmpType === 135 || p.icmpType === 136) ? p.ndTarget : undefined;
    case 'tcp_src':
      return p.ipProto === 6 ? p.tpSrc : undefined;
    case 'tcp_dst':
      return p.ipProto === 6 ? p.tpDst : undefined;
    case 'tcp_flags':
      return p.ipProto === 6 ? (p.tcpFlags ?? 0) : undefined;
    case 'udp_src':
      return p.ipProto === 17 ? p.tpSrc : undefined;
    case 'udp_dst':
      return p.ipProto === 17 ? p.tpDst : undefined;
    case 'icmpv4_type':
      return p.ethType === 0x0800 && p.ipProto === 1 ? p.icmpType : undefined;
    case 'arp_spa':
      return p.ethType === 0x0806 ? p.arpSpa : undefined;
    case 'arp_tpa':
      return p.ethType === 0x0806 ? p.arpTpa : undefined;
    case 'arp_sha':
      return p.ethType === 0x0806 ? p.arpSha : undefined;
    case 'ct_state':
    case 'ct_zone':
      return 0; // untracked until a ct() recirculates it (FlowTables.apply)
    default:
      return undefined;
  }
}

const IPV4_FIELDS = new Set(['ipv4_src', 'ipv4_dst', 'arp_spa', 'arp_tpa']);
const IPV6_FIELDS = new Set(['ipv6_src', 'ipv6_dst', 'ipv6_nd_target']);

/** An IPv6 address text as a 128-bit value; -1n (equal to no address) when it is not one. */
function v6(v: string): bigint {
  return parseIpv6(v) ?? -1n;
}

function num(v: OxmValue, field: string): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return BigInt(v);
  if (IPV4_FIELDS.has(field)) return BigInt(ipv4ToU32(v));
  if (IPV6_FIELDS.has(field)) return v6(v);
  return BigInt('0x' + v.replace(/:/g, ''));
}

/**
 * A field value as a plain number when it fits exactly (ports, protocols, IPv4 addresses, MACs: < 2^53),
 * else a bigint (metadata). Unparseable text gives NaN, which equals nothing.
 */
function scalar(v: OxmValue, field: string): number | bigint {
  if (typeof v === 'bigint') return field === 'metadata' || IPV6_FIELDS.has(field) ? v : Number(v);
  if (typeof v === 'number') return field === 'metadata' ? BigInt(v) : v;
  try {
    if (IPV4_FIELDS.has(field)) return ipv4ToU32(v);
    if (IPV6_FIELDS.has(field)) return v6(v);
    const hex = v.replace(/:/g, '');
    return /^[0-9a-fA-F]{1,12}$/.test(hex) ? parseInt(hex, 16) : NaN;
  } catch {
    return NaN;
  }
}

export function entryMatches(e: OxmEntry, v: OxmValue | undefined): boolean {
  if (v === undefined) return false;
  if (e.mask === undefined) {
    if (typeof v === 'string' && typeof e.value === 'string' && !IPV6_FIELDS.has(e.field)) return v.toLowerCase() === e.value.toLowerCase();
    return num(v, e.field) === num(e.value, e.field);
  }
  const m = num(e.mask, e.field);
  return (num(v, e.field) & m) === (num(e.value, e.field) & m);
}

export function flowMatches(m: Match, p: Packet, metadata: bigint): boolean {
  for (const e of m) if (!entryMatches(e, fieldValue(p, e.field, metadata))) return false;
  return true;
}

/** One match entry pre-converted for fast comparison: `(packet & mask) === value` (value already masked). */
interface Cond {
  readonly field: OxmEntry['field'];
  readonly value: number | bigint;
  /** undefined = exact; a number mask only for fields of at most 32 bits. */
  readonly mask?: number | bigint;
}

interface Entry {
  readonly flow: PlannedFlow;
  readonly seq: number;
  readonly conds: readonly Cond[];
}

function toCond(e: OxmEntry): Cond {
  const value = scalar(e.value, e.field);
  if (e.mask === undefined) return { field: e.field, value };
  const wide =
    e.field === 'metadata' || typeof value === 'bigint' || (!IPV4_FIELDS.has(e.field) && /^(eth_|arp_sha|arp_tha)/.test(e.field));
  if (wide) {
    const m = num(e.mask, e.field);
    return { field: e.field, value: num(e.value, e.field) & m, mask: m };
  }
  const m = Number(scalar(e.mask, e.field));
  return { field: e.field, value: (value & m) >>> 0, mask: m };
}

/** Packet field values converted once per packet (metadata is passed separately: it changes between tables). */
class PacketView {
  private readonly cache = new Map<string, number | bigint | undefined>();
  /** Conntrack state and zone, set by a ct() that recirculates (0 = untracked). */
  ct = 0;
  zone = 0;
  constructor(readonly p: Packet) {}
  get(field: OxmEntry['field']): number | bigint | undefined {
    if (field === 'ct_state') return this.ct;
    if (field === 'ct_zone') return this.zone;
    if (this.cache.has(field)) return this.cache.get(field);
    const raw = fieldValue(this.p, field, 0n);
    const v = raw === undefined ? undefined : scalar(raw, field);
    this.cache.set(field, v);
    return v;
  }
}

function condHolds(c: Cond, pv: PacketView, metadata: bigint): boolean {
  const v = c.field === 'metadata' ? metadata : pv.get(c.field);
  if (v === undefined) return false;
  if (c.mask === undefined) return typeof v === typeof c.value ? v === c.value : num(v, c.field) === num(c.value, c.field);
  if (typeof c.mask === 'bigint') return ((typeof v === 'bigint' ? v : num(v, c.field)) & c.mask) === c.value;
  return ((v as number) & c.mask) >>> 0 === c.value;
}

function entryHolds(e: Entry, pv: PacketView, metadata: bigint): boolean {
  for (const c of e.conds) if (!condHolds(c, pv, metadata)) return false;
  return true;
}

/**
 * One table: entries by priority (ties in insertion order), plus an index on the (field, mask) that most entries
 * match on, so a lookup scans one bucket and the few entries without that field instead of the whole table.
 */
class Table {
  private readonly all: Entry[];
  private readonly keyField?: OxmEntry['field'];
  private readonly keyMask?: number | bigint;
  private readonly buckets = new Map<number | bigint, Entry[]>();
  private readonly rest: Entry[] = [];

  constructor(flows: readonly PlannedFlow[]) {
    this.all = flows
      .map((flow) => ({ flow, conds: flow.match.map(toCond) }))
      .sort((a, b) => b.flow.priority - a.flow.priority)
      .map((e, seq) => ({ ...e, seq }));
    if (this.all.length < 16) return;
    const counts = new Map<string, { n: number; field: OxmEntry['field']; mask?: number | bigint }>();
    for (const e of this.all)
      for (const c of e.conds) {
        const k = `${c.field}/${String(c.mask)}`;
        const x = counts.get(k);
        if (x) x.n++;
        else counts.set(k, { n: 1, field: c.field, mask: c.mask });
      }
    let best: { n: number; field: OxmEntry['field']; mask?: number | bigint } | undefined;
    for (const x of counts.values()) if (!best || x.n > best.n) best = x;
    if (!best || best.n < this.all.length / 2) return;
    this.keyField = best.field;
    this.keyMask = best.mask;
    for (const e of this.all) {
      const c = e.conds.find((x) => x.field === best.field && x.mask === best.mask);
      if (!c) {
        this.rest.push(e);
        continue;
      }
      const b = this.buckets.get(c.value);
      if (b) b.push(e);
      else this.buckets.set(c.value, [e]);
    }
  }

  private keyOf(pv: PacketView, metadata: bigint): number | bigint | undefined {
    const v = this.keyField === 'metadata' ? metadata : pv.get(this.keyField!);
    if (v === undefined || this.keyMask === undefined) return v;
    if (typeof this.keyMask === 'bigint') return (typeof v === 'bigint' ? v : BigInt(v)) & this.keyMask;
    return ((v as number) & this.keyMask) >>> 0;
  }

  lookup(pv: PacketView, metadata: bigint): PlannedFlow | undefined {
    if (this.keyField === undefined) {
      for (const e of this.all) if (entryHolds(e, pv, metadata)) return e.flow;
      return undefined;
    }
    let found: Entry | undefined;
    const k = this.keyOf(pv, metadata);
    if (k !== undefined)
      for (const e of this.buckets.get(k) ?? [])
        if (entryHolds(e, pv, metadata)) {
          found = e;
          break;
        }
    for (const e of this.rest) {
      if (found && e.seq > found.seq) break;
      if (entryHolds(e, pv, metadata)) {
        found = e;
        break;
      }
    }
    return found?.flow;
  }
}

/** Flows grouped by table, highest priority first. Build once per switch, apply many packets. */
export class FlowTables {
  private readonly tables = new Map<number, Table>();
  constructor(flows: readonly PlannedFlow[]) {
    const byTable = new Map<number, PlannedFlow[]>();
    for (const f of flows) {
      const t = byTable.get(f.tableId);
      if (t) t.push(f);
      else byTable.set(f.tableId, [f]);
    }
    for (const [id, fs] of byTable) this.tables.set(id, new Table(fs));
  }

  lookup(tableId: number, p: Packet, metadata: bigint): PlannedFlow | undefined {
    return this.tables.get(tableId)?.lookup(new PacketView(p), metadata);
  }

  /**
   * One packet through the tables. `conntrack` is the connection tracker the packet meets (one per conversation
   * being checked): a ct() that recirculates sets the packet's ct_state from it, ct(commit) stores the connection.
   * Without one, every packet is the first of its connection (+trk+new).
   */
  apply(p: Packet, conntrack: Conntrack = new Conntrack()): Outcome {
    const pv = new PacketView(p);
    let table = 0;
    let metadata = 0n;
    const hits: Hit[] = [];
    const outputs: number[] = [];
    let sampled = false,
      monitored = false;
    for (let steps = 0; steps < 256; steps++) {
      const f = this.tables.get(table)?.lookup(pv, metadata);
      if (!f) return { verdict: 'drop', outputs, hits, metadata };
      hits.push({ tableId: table, flow: f });
      let next: number | undefined;
      let recirc: number | undefined;
      // a deny sample (meter 2 + output:CONTROLLER) copies a dropped packet to the deny log: still a drop
      if (isDenySample(f.instructions)) {
        // in the monitor table the packet was forwarded already (table 3): the copy is a "would deny" sample
        if (table === TABLE.monitor) monitored = true;
        else sampled = true;
        break;
      }
      for (const ins of f.instructions) {
        if (ins.type === 'write_metadata') metadata = (metadata & ~ins.mask) | (ins.metadata & ins.mask);
        else if (ins.type === 'apply_actions' || ins.type === 'write_actions') {
          for (const a of ins.actions) {
            if (a.type === 'output') outputs.push(a.port);
            else if (a.type === 'ct') {
              const zone = a.zone ?? 0;
              if (a.commit) conntrack.commit(p, zone);
              if (a.table !== undefined) {
                pv.ct = conntrack.state(p, zone);
                pv.zone = zone;
                recirc = a.table;
              }
            }
          }
        } else if (ins.type === 'goto_table') next = ins.tableId;
      }
      // ct(table=N) resumes the packet, now tracked, in table N (which may be this one: the state differs)
      if (recirc !== undefined) {
        table = recirc;
        continue;
      }
      if (next === undefined || next <= table) break;
      table = next;
    }
    const verdict = outputs.includes(OFPP.CONTROLLER) ? 'controller' : outputs.length ? 'forward' : 'drop';
    return { verdict, outputs, hits, metadata, ...(sampled ? { sampled } : {}), ...(monitored ? { monitored } : {}) };
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

const SYN = 0x002,
  ACK = 0x010,
  RST = 0x004;
const CT_NEW = 0x01,
  CT_EST = 0x02,
  CT_RPL = 0x08,
  CT_INV = 0x10,
  CT_TRK = 0x20;

/**
 * A model of Open vSwitch connection tracking for the interpreter: committed connections per zone, keyed by
 * protocol and both endpoints. A packet of a committed connection is +est (+rpl in the reply direction); a TCP
 * packet that is not a connection's first SYN (ACK or RST set, or SYN missing when flags are given) and an ICMP
 * echo reply without its request are +inv; anything else is +new.
 */
export class Conntrack {
  private readonly zones = new Map<number, Set<string>>();

  private static key(p: Packet, reverse: boolean): string | undefined {
    if (p.ipSrc === undefined || p.ipDst === undefined) return undefined;
    const [a, b] = reverse ? [p.ipDst, p.ipSrc] : [p.ipSrc, p.ipDst];
    if (p.ipProto === 6 || p.ipProto === 17) {
      const [x, y] = reverse ? [p.tpDst, p.tpSrc] : [p.tpSrc, p.tpDst];
      return `${p.ipProto}|${a}|${x}|${b}|${y}`;
    }
    if (p.ipProto === 1 || p.ipProto === 58) return `${p.ipProto}|${a}|${b}`;
    return `${p.ipProto}|${a}|${b}`;
  }

  state(p: Packet, zone: number): number {
    const z = this.zones.get(zone);
    const fwd = Conntrack.key(p, false),
      rev = Conntrack.key(p, true);
    if (fwd === undefined) return CT_TRK | CT_INV;
    if (z?.has(fwd)) return CT_TRK | CT_EST;
    if (rev !== undefined && z?.has(rev)) return CT_TRK | CT_EST | CT_RPL;
    if (p.ipProto === 6 && p.tcpFlags !== undefined && (!(p.tcpFlags & SYN) || p.tcpFlags & (ACK | RST))) return CT_TRK | CT_INV;
    if (p.ipProto === 1 && p.icmpType === 0) return CT_TRK | CT_INV;
    if (p.ipProto === 58 && p.icmpType === 129) return CT_TRK | CT_INV;
    return CT_TRK | CT_NEW;
  }

  commit(p: Packet, zone: number): void {
    const k = Conntrack.key(p, false);
    if (k === undefined) return;
    const z = this.zones.get(zone) ?? this.zones.set(zone, new Set()).get(zone)!;
    // a reply direction packet being committed belongs to the connection already stored
    const rev = Conntrack.key(p, true);
    if (rev !== undefined && z.has(rev)) return;
    z.add(k);
  }

  /** Forgets every connection of a zone (ct flush). */
  flush(zone?: number): void {
    if (zone === undefined) this.zones.clear();
    else this.zones.delete(zone);
  }
}
