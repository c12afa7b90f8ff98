/**
 * A small in-memory OpenFlow 1.3 switch for unit tests (no OVS): handshake, echo, flow table with add/delete_strict,
 * ONF bundles (or refusing them), flow stats filtered by cookie, barrier, and hooks to refuse chosen flow mods.
 * Records every flow mod in the order it was applied, so tests can check ordering and "zero changes".
 */
import { connect, type Socket } from 'node:net';
import type { FlowStats, MessageOf, OfpMessage } from '../../openflow/index.js';
import { Framer, decode, encode } from '../../openflow/index.js';
import type { Match } from '../../openflow/index.js';

/**
 * The fake switch's own idea of a flow entry's identity, written independently of the controller's flowKey so
 * that a bug there cannot hide here: (table, priority, match as a set), each value in canonical hex, each value
 * masked by its mask (as a switch stores it), and a mask with every bit of the field set dropped. Widths are
 * OpenFlow 1.3's (ofp_oxm_ofb_match_fields).
 */
const FIELD_BITS: Readonly<Record<string, number>> = {
  in_port: 32,
  metadata: 64,
  eth_dst: 48,
  eth_src: 48,
  eth_type: 16,
  vlan_vid: 13,
  ip_proto: 8,
  ipv4_src: 32,
  ipv4_dst: 32,
  tcp_src: 16,
  tcp_dst: 16,
  udp_src: 16,
  udp_dst: 16,
  icmpv4_type: 8,
  icmpv4_code: 8,
  arp_op: 16,
  arp_spa: 32,
  arp_tpa: 32,
  arp_sha: 48,
  arp_tha: 48,
  tcp_flags: 12,
  ipv6_src: 128,
  ipv6_dst: 128,
  ct_state: 32,
  ct_zone: 16,
  ct_mark: 32,
};

function asBig(x: unknown): bigint {
  if (typeof x === 'bigint') return x;
  if (typeof x === 'number') return BigInt(x);
  const t = String(x);
  if (t.includes('.')) return t.split('.').reduce((n, o) => (n << 8n) | BigInt(Number(o)), 0n); // dotted IPv4
  if (/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(t)) return BigInt('0x' + t.replace(/:/g, '')); // MAC
  throw new Error(`fake switch: cannot read match value ${t}`);
}

export function entryKey(f: { tableId: number; priority: number; match: Match }): string {
  const fields = f.match.map((e) => {
    const bits = FIELD_BITS[e.field];
    if (bits === undefined) throw new Error(`fake switch: no width for ${e.field}`);
    const all = (1n << BigInt(bits)) - 1n;
    const mask = e.mask === undefined ? all : asBig(e.mask) & all;
    const value = asBig(e.value) & mask;
    return mask === all ? `${e.field}:${value.toString(16)}` : `${e.field}:${value.toString(16)}&${mask.toString(16)}`;
  });
  return `${f.tableId} ${f.priority} ${fields.sort().join(' ')}`;
}

export interface FakeSwitchOptions {
  dpid: bigint;
  /** Refuse ONF bundles with OFPET_BAD_REQUEST/BAD_EXPERIMENTER (like a switch without the extension). */
  noBundles?: boolean;
  /** Return an error (FLOW_MOD_FAILED/EPERM) for flow mods this predicate selects. */
  refuse?: (fm: MessageOf<'flow_mod'>) => boolean;
  /** Do not answer echo requests (a hung switch). */
  silent?: boolean;
  /**
   * The switch's clock (epoch ms; default Date.now): flow stats report each flow's duration since its add by it, and
   * `expire()` drops flows whose hard_timeout ran out, as a switch does (tests pass the controller's manual clock).
   */
  now?: () => number;
}

export class FakeSwitch {
  readonly flows = new Map<string, FlowStats>();
  /** When each flow was added (by `opts.now`), for its duration and hard_timeout. */
  private readonly addedAt = new Map<string, number>();
  /** Every flow mod as applied (bundled ones at commit time). */
  readonly applied: Array<MessageOf<'flow_mod'>> = [];
  readonly received: OfpMessage[] = [];
  meters = 0;
  role: 'equal' | 'master' | 'slave' = 'equal';
  private generation?: bigint;
  private readonly bundles = new Map<number, Array<MessageOf<'flow_mod'>>>();
  private sock!: Socket;
  private readonly framer = new Framer();
  closed = false;

  constructor(readonly opts: FakeSwitchOptions) {}

  connect(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.sock = connect(port, '127.0.0.1', () => resolve());
      this.sock.on('error', reject);
      this.sock.on('close', () => {
        this.closed = true;
      });
      this.sock.on('data', (d) => {
        for (const f of this.framer.push(d)) {
          const r = decode(f);
          if (r.ok) this.onMessage(r.message);
        }
      });
    });
  }

  send(m: OfpMessage): void {
    if (!this.closed) this.sock.write(encode(m));
  }
  private packetInXid = 1;
  /** A frame arriving on `inPort`, sent to the controller whole (no buffer), as a table-0 miss would be. */
  packetIn(inPort: number, data: Buffer): void {
    this.send(packetInMessage(inPort, data, this.packetInXid++));
  }
  raw(b: Buffer): void {
    if (!this.closed) this.sock.write(b);
  }
  /** Like raw(), resolving once the bytes are handed to the kernel (a writer that awaits it goes at the reader's pace). */
  rawFlushed(b: Buffer): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => this.sock.write(b, () => resolve()));
  }
  close(): void {
    this.sock?.destroy();
  }

  addForeign(
    f: Omit<FlowStats, 'durationSec' | 'durationNsec' | 'packetCount' | 'byteCount' | 'idleTimeout' | 'hardTimeout' | 'flags'>,
  ): void {
    this.flows.set(entryKey(f), {
      durationSec: 0,
      durationNsec: 0,
      packetCount: 0n,
      byteCount: 0n,
      idleTimeout: 0,
      hardTimeout: 0,
      flags: {},
      ...f,
    });
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  /** A flow as its stats report it: with the time since it was added. */
  private aged(k: string, f: FlowStats): FlowStats {
    const ms = Math.max(0, this.now() - (this.addedAt.get(k) ?? this.now()));
    return { ...f, durationSec: Math.floor(ms / 1000), durationNsec: (ms % 1000) * 1e6 };
  }

  /** Drops the flows whose hard_timeout has run out by the switch's clock (as a switch does on its own); returns how many. */
  expire(): number {
    let n = 0;
    for (const [k, f] of this.flows)
      if (f.hardTimeout && this.now() >= (this.addedAt.get(k) ?? 0) + f.hardTimeout * 1000) {
        this.flows.delete(k);
        n++;
      }
    return n;
  }

  private err(xid: number, errType: number, code: number): void {
    this.send({ type: 'error', xid, errType, code, data: Buffer.alloc(0) });
  }

  private apply(fm: MessageOf<'flow_mod'>): boolean {
    if (this.opts.refuse?.(fm)) {
      this.err(fm.xid, 5, 4);
      return false;
    }
    this.applied.push(fm);
    const k = entryKey(fm);
    if (fm.command === 'add') {
      this.addedAt.set(k, this.now()); // an add replaces the entry: its duration and hard_timeout start again
      this.flows.set(k, {
        tableId: fm.tableId,
        durationSec: 0,
        durationNsec: 0,
        priority: fm.priority,
        idleTimeout: fm.idleTimeout,
        hardTimeout: fm.hardTimeout,
        flags: {},
        cookie: fm.cookie,
        packetCount: 0n,
        byteCount: 0n,
        match: fm.match,
        instructions: fm.instructions,
      });
    } else if (fm.command === 'delete_strict') {
      const have = this.flows.get(k);
      if (have && (have.cookie & fm.cookieMask) === (fm.cookie & fm.cookieMask)) this.flows.delete(k);
    }
    return true;
  }

  /** Called for every PACKET_OUT (tests wire simulated hosts to it). */
  onPacketOut?: (m: MessageOf<'packet_out'>) => void;

  private onMessage(m: OfpMessage): void {
    if (m.type === 'packet_out') {
      this.onPacketOut?.(m);
    }
    this.received.push(m);
    switch (m.type) {
      case 'hello':
        this.send({ type: 'hello', xid: m.xid, versions: [4] });
        return;
      case 'echo_request':
        if (!this.opts.silent) this.send({ type: 'echo_reply', xid: m.xid, data: m.data });
        return;
      case 'features_request':
        this.send({
          type: 'features_reply',
          xid: m.xid,
          datapathId: this.opts.dpid,
          nBuffers: 0,
          nTables: 254,
          auxiliaryId: 0,
          capabilities: 0,
        });
        return;
      case 'multipart_request':
        if (m.body.kind === 'port_desc') {
          this.send({
            type: 'multipart_reply',
            xid: m.xid,
            flags: 0,
            body: {
              kind: 'port_desc',
              ports: [1, 2, 3].map((p) => ({
                portNo: p,
                hwAddr: `02:00:00:00:00:0${p}`,
                name: `p${p}`,
                config: 0,
                state: 0,
                curr: 0,
                advertised: 0,
                supported: 0,
                peer: 0,
                currSpeed: 0,
                maxSpeed: 0,
              })),
            },
          });
        } else if (m.body.kind === 'flow') {
          const { cookie, cookieMask } = m.body;
          const flows = [...this.flows.entries()]
            .filter(([, f]) => (f.cookie & cookieMask) === (cookie & cookieMask))
            .map(([k, f]) => this.aged(k, f));
          // split into several replies with the MORE flag, like a real switch
          for (let i = 0; i < Math.max(1, flows.length); i += 100) {
            const more = i + 100 < flows.length;
            this.send({ type: 'multipart_reply', xid: m.xid, flags: more ? 1 : 0, body: { kind: 'flow', flows: flows.slice(i, i + 100) } });
          }
        }
        return;
      case 'meter_mod':
        this.meters++;
        if (this.meters > 1) this.err(m.xid, 12, 1);
        return;
      case 'flow_mod':
        this.apply(m);
        return;
      case 'bundle_control':
        if (this.opts.noBundles) {
          this.err(m.xid, 1, 3);
          return;
        }
        if (m.ctrlType === 'open_request') {
          this.bundles.set(m.bundleId, []);
          this.send({ ...m, ctrlType: 'open_reply' });
        } else if (m.ctrlType === 'commit_request') {
          const mods = this.bundles.get(m.bundleId) ?? [];
          this.bundles.delete(m.bundleId);
          if (mods.some((fm) => this.opts.refuse?.(fm))) {
            for (const fm of mods) if (this.opts.refuse?.(fm)) this.err(fm.xid, 5, 4);
            this.err(m.xid, 5, 0);
            return;
          }
          for (const fm of mods) this.apply(fm);
          this.send({ ...m, ctrlType: 'commit_reply' });
        } else if (m.ctrlType === 'discard_request') {
          this.bundles.delete(m.bundleId);
          this.send({ ...m, ctrlType: 'discard_reply' });
        }
        return;
      case 'bundle_add':
        if (m.message.type === 'flow_mod') this.bundles.get(m.bundleId)?.push(m.message);
        return;
      case 'barrier_request':
        this.send({ type: 'barrier_reply', xid: m.xid });
        return;
      case 'role_request': {
        // OpenFlow 1.3 6.3.5: MASTER/SLAVE requests carry a generation id; an older one than seen is stale.
        if (m.role === 'master' || m.role === 'slave') {
          if (this.generation !== undefined && BigInt.asIntN(64, m.generationId - this.generation) < 0n) {
            this.err(m.xid, 11, 0);
            return;
          }
          this.generation = m.generationId;
        }
        if (m.role !== 'nochange') this.role = m.role;
        this.send({ type: 'role_reply', xid: m.xid, role: this.role, generationId: m.generationId });
        return;
      }
      default:
        return;
    }
  }
}

/** A PACKET_IN of table 0 carrying the whole frame `data` (no buffer) that arrived on `inPort`. */
export function packetInMessage(inPort: number, data: Buffer, xid: number, reason = 1): OfpMessage {
  return {
    type: 'packet_in',
    xid,
    bufferId: 0xffffffff,
    totalLen: data.length,
    reason,
    tableId: 0,
    cookie: 0n,
    match: [{ field: 'in_port', value: inPort }],
    data,
  };
}
