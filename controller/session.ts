/**
 * One OpenFlow 1.3 switch connection: handshake, keepalive, request/response by xid, batched writes.
 * A misbehaving peer (garbage, lying lengths, silence) is dropped without affecting other sessions.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { MessageOf, OfpMessage, PortDesc } from '../openflow/index.js';
import { Framer, MultipartAssembler, OFPMPF_REPLY_MORE, decode, encode, encodeMany, formatError } from '../openflow/index.js';
import { SessionBudget, processBudget, type GlobalBudget, type Violation } from './peer-limits.js';
import { helloRefusal } from './hello-refusal.js';
import { WriteBatch } from './write-batch.js';

export interface SessionOptions {
  readonly echoIntervalMs?: number;
  readonly deadAfterMs?: number;
  readonly requestTimeoutMs?: number;
  readonly maxPacketInQueue?: number;
  /** A peer that has not completed the OpenFlow handshake by then is dropped. */
  readonly handshakeTimeoutMs?: number;
  /** Byte caps on unfinished multipart replies, shared by the sessions of one controller (per session and global). */
  readonly budget?: GlobalBudget;
}

/** A port list is small: a peer answering PORT_DESC with more than this is not a switch (16k ports). */
const PORT_DESC_MAX_BYTES = 1024 * 1024;
/** TABLE_FEATURES: Open vSwitch answers ~2 KiB for each of its 255 tables; 4 MiB is far beyond any real switch. */
const TABLE_FEATURES_MAX_BYTES = 4 * 1024 * 1024;

export class OfpRequestError extends Error {
  constructor(
    readonly reply: MessageOf<'error'>,
    readonly request?: OfpMessage,
  ) {
    super(`switch refused ${request?.type ?? 'request'}: ${formatError(reply)}`);
  }
}

interface Pending {
  resolve: (m: OfpMessage) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
  request: OfpMessage;
  /** Cap on the bytes of this one multipart reply. */
  maxBytes?: number;
}

export class SwitchSession extends EventEmitter {
  dpid: bigint | undefined;
  nTables = 0;
  ports = new Map<number, PortDesc>();
  /** DESC as the switch answered it at connect (absent when it did not). */
  desc: { mfrDesc: string; hwDesc: string; swDesc: string } | undefined;
  /** max_entries per table from TABLE_FEATURES at connect (absent when the switch did not answer). */
  tableMax: Readonly<Record<number, number>> | undefined;
  state: 'handshake' | 'ready' | 'closed' = 'handshake';
  readonly remote: string;
  readonly connectedAt = Date.now();
  lastSeen = Date.now();
  packetIns = 0;
  packetInsDropped = 0;
  private nextXid = 1;
  private readonly framer = new Framer();
  private readonly mp = new MultipartAssembler();
  /** Undecoded "more" parts by xid: held as the bytes that were charged, decoded only once the reply is whole. */
  private readonly rawParts = new Map<number, Buffer[]>();
  private readonly pending = new Map<number, Pending>();
  /** xids of fire-and-forget messages whose errors we want to attribute. */
  private readonly tracked = new Map<number, OfpMessage>();
  readonly errors: Array<{ error: string; request?: OfpMessage; at: number }> = [];
  private echoTimer: NodeJS.Timeout | undefined;
  private readonly opts: Required<Omit<SessionOptions, 'budget'>>;
  private readonly budget: SessionBudget;
  /** Why this session was disconnected for breaking a limit (set before 'closed'). */
  violation?: Violation;

  constructor(
    readonly socket: Socket,
    opts: SessionOptions = {},
  ) {
    super();
    const { budget, ...rest } = opts;
    this.opts = {
      echoIntervalMs: 5000,
      deadAfterMs: 15000,
      requestTimeoutMs: 30000,
      maxPacketInQueue: 1000,
      handshakeTimeoutMs: 10000,
      ...rest,
    };
    this.budget = new SessionBudget(budget ?? processBudget);
    this.globalBudget = budget ?? processBudget;
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', (e) => this.close(`socket error: ${e.message}`));
    socket.on('close', () => this.close('connection closed'));
    this.write(encode({ type: 'hello', xid: this.xid(), versions: [4] }));
    this.echoTimer = setInterval(() => this.keepalive(), this.opts.echoIntervalMs);
    this.echoTimer.unref();
    const hs = setTimeout(() => {
      if (this.state === 'handshake') this.close(`no OpenFlow handshake within ${this.opts.handshakeTimeoutMs} ms`);
    }, this.opts.handshakeTimeoutMs);
    hs.unref();
  }

  private readonly globalBudget: GlobalBudget;
  /** Writes gathered per loop turn (controller/write-batch.ts). */
  private out?: WriteBatch;

  xid(): number {
    const x = this.nextXid;
    this.nextXid = this.nextXid >= 0x7fffffff ? 1 : this.nextXid + 1;
    return x;
  }

  get id(): string {
    return this.dpid === undefined ? this.remote : `0x${this.dpid.toString(16).padStart(16, '0')}`;
  }

  private lastTick = Date.now();

  private keepalive(): void {
    if (this.state === 'closed') return;
    // When our own event loop was stalled, the peer's answers may be waiting unread in the socket: the silence is
    // ours, not the switch's, so it is not judged dead on this tick.
    const now = Date.now();
    const stalled = now - this.lastTick > this.opts.echoIntervalMs * 2;
    this.lastTick = now;
    if (stalled) this.lastSeen = Math.max(this.lastSeen, now - this.opts.echoIntervalMs);
    if (now - this.lastSeen > this.opts.deadAfterMs) {
      this.close(`no message for ${this.opts.deadAfterMs} ms (dead peer)`);
      return;
    }
    this.write(encode({ type: 'echo_request', xid: this.xid(), data: Buffer.alloc(0) }));
  }

  /** Queues bytes for the switch; they leave with the rest of this loop turn's writes, in order (flush: now). */
  write(buf: Buffer, flush = false): boolean {
    if (this.state === 'closed' || this.socket.destroyed) return false;
    const ok = (this.out ??= new WriteBatch(this.socket)).write(buf);
    if (flush) this.out.flush();
    return ok;
  }

  /** Resolves when the socket's write buffer has drained (backpressure for bulk pushes). */
  drained(): Promise<void> {
    this.out?.flush();
    if (!this.socket.writableNeedDrain) return Promise.resolve();
    return new Promise((res) => {
      const done = () => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        res();
      };
      this.socket.once('drain', done);
      this.socket.once('close', done);
    });
  }

  /** Sends messages in one write; errors that come back for their xids are recorded with the message. */
  sendTracked(msgs: readonly OfpMessage[]): boolean {
    for (const m of msgs) this.tracked.set(m.xid, m);
    if (this.tracked.size > 200_000) {
      const drop = this.tracked.size - 100_000;
      let i = 0;
      for (const k of this.tracked.keys()) {
        if (i++ >= drop) break;
        this.tracked.delete(k);
      }
    }
    return this.write(encodeMany(msgs));
  }

  forget(msgs: readonly OfpMessage[]): void {
    for (const m of msgs) this.tracked.delete(m.xid);
  }

  /** Sends a request and resolves with its reply (multipart replies reassembled); an ERROR for its xid rejects. */
  request<T extends OfpMessage = OfpMessage>(msg: OfpMessage, timeoutMs = this.opts.requestTimeoutMs, maxBytes?: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.state === 'closed') {
        reject(new Error('session closed'));
        return;
      }
      const timer = setTimeout(() => {
        this.forgetReply(msg.xid);
        reject(new Error(`${msg.type} to ${this.id} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(msg.xid, { resolve: resolve as (m: OfpMessage) => void, reject, timer, request: msg, maxBytes });
      this.write(encode(msg), true); // someone waits for the reply: no reason to hold it (nor what came before it)
    });
  }

  barrier(): Promise<OfpMessage> {
    return this.request({ type: 'barrier_request', xid: this.xid() });
  }

  /** Drops whatever is held for one reply (answered, failed or timed out). */
  private forgetReply(xid: number): void {
    this.pending.delete(xid);
    this.mp.drop(xid);
    this.rawParts.delete(xid);
    this.budget.release(xid);
  }

  /** Disconnects a peer that broke a limit; the controller raises the alert from the 'violation' event. */
  private violate(v: Violation): void {
    this.violation = v;
    this.globalBudget.count(v.kind);
    this.emit('violation', v);
    this.close(v.message);
  }

  private onData(chunk: Buffer): void {
    this.lastSeen = Date.now();
    for (const frame of this.framer.push(chunk)) {
      // Multipart parts are checked before they are decoded: only for a request we are waiting for, within the caps.
      if (frame[1] === 19 && frame.length >= 12 && frame[0] === 4) {
        const xid = frame.readUInt32BE(4);
        const p = this.pending.get(xid);
        if (!p) {
          this.violate({ kind: 'unsolicited-multipart', message: `multipart reply ${xid} for no outstanding request` });
          return;
        }
        if (frame.readUInt16BE(10) & OFPMPF_REPLY_MORE) {
          const v = this.budget.charge(xid, frame.length, p.maxBytes);
          if (v) {
            this.violate(v);
            return;
          }
          const list = this.rawParts.get(xid);
          if (list) list.push(Buffer.from(frame));
          else this.rawParts.set(xid, [Buffer.from(frame)]);
          continue;
        }
      }
      const r = decode(frame);
      if (!r.ok) {
        // Unknown message types from a healthy switch are skipped; structural garbage drops the peer.
        if (r.error.code === 'unknown_type') {
          this.emit('warning', `ignored message: ${r.error.message}`);
          continue;
        }
        this.close(`undecodable message: ${r.error.message}`);
        return;
      }
      this.onMessage(r.message);
      if (this.state === 'closed') return;
    }
    if (this.framer.error) this.close(`bad framing: ${this.framer.error.message}`);
  }

  private onMessage(m: OfpMessage): void {
    switch (m.type) {
      case 'hello': {
        // A hello without a version bitmap carries only the sender's highest version: anything >= 1.3 negotiates 1.3.
        if (!m.versions.includes(4) && !(m.versions.length === 1 && m.versions[0] > 4)) {
          // The refusal speaks the peer's version (an OpenFlow 1.0 switch reads only a 1.0 header).
          this.write(helloRefusal(m.versions, m.xid));
          this.close(`switch does not speak OpenFlow 1.3 (offers versions ${m.versions.join(', ')})`);
          return;
        }
        void this.handshake();
        return;
      }
      case 'echo_request':
        this.write(encode({ type: 'echo_reply', xid: m.xid, data: m.data }));
        return;
      case 'packet_in':
        this.packetIns++;
        if (this.listenerCount('packet_in') && this.queuedPacketIns < this.opts.maxPacketInQueue) {
          this.queuedPacketIns++;
          setImmediate(() => {
            this.queuedPacketIns--;
            this.emit('packet_in', m);
          });
        } else this.packetInsDropped++;
        return;
      case 'port_status':
        if (m.reason === 'delete') this.ports.delete(m.desc.portNo);
        else this.ports.set(m.desc.portNo, m.desc);
        this.emit('port_status', m);
        return;
      case 'flow_removed':
        this.emit('flow_removed', m);
        return;
      case 'multipart_reply': {
        let whole: MessageOf<'multipart_reply'> | undefined;
        try {
          for (const part of this.rawParts.get(m.xid) ?? []) {
            const r = decode(part);
            if (!r.ok || r.message.type !== 'multipart_reply')
              throw new Error(`undecodable multipart part: ${r.ok ? r.message.type : r.error.message}`);
            this.mp.add(r.message);
          }
          this.rawParts.delete(m.xid);
          whole = this.mp.add(m);
        } catch (e) {
          this.close((e as Error).message);
          return;
        }
        this.budget.release(m.xid);
        if (whole) this.settle(whole);
        return;
      }
      case 'error': {
        const p = this.pending.get(m.xid);
        if (p) {
          clearTimeout(p.timer);
          this.forgetReply(m.xid);
          p.reject(new OfpRequestError(m, p.request));
          return;
        }
        const req = this.tracked.get(m.xid);
        this.tracked.delete(m.xid);
        const entry = { error: formatError(m), request: req, at: Date.now() };
        this.errors.push(entry);
        if (this.errors.length > 1000) this.errors.splice(0, this.errors.length - 1000);
        this.emit('switch_error', entry);
        return;
      }
      default:
        this.settle(m);
    }
  }
  private queuedPacketIns = 0;

  private settle(m: OfpMessage): void {
    const p = this.pending.get(m.xid);
    if (!p) return;
    clearTimeout(p.timer);
    this.pending.delete(m.xid);
    p.resolve(m);
  }

  private async handshake(): Promise<void> {
    try {
      const f = await this.request<MessageOf<'features_reply'>>({ type: 'features_request', xid: this.xid() }, 10_000);
      this.dpid = f.datapathId;
      this.nTables = f.nTables;
      this.write(encode({ type: 'set_config', xid: this.xid(), flags: 0, missSendLen: 128 }));
      const pd = await this.request<MessageOf<'multipart_reply'>>(
        { type: 'multipart_request', xid: this.xid(), flags: 0, body: { kind: 'port_desc' } },
        10_000,
        PORT_DESC_MAX_BYTES,
      );
      if (pd.body.kind === 'port_desc') for (const p of pd.body.ports) this.ports.set(p.portNo, p);
      await this.probeTables();
      this.state = 'ready';
      this.emit('ready');
    } catch (e) {
      this.close(`handshake failed: ${(e as Error).message}`);
    }
  }

  /**
   * What the switch is (DESC: its profile) and how large its tables are (TABLE_FEATURES max_entries: its budget),
   * asked together and settled by a barrier: a switch that answers neither is still admitted (desc/tableMax stay
   * unset), one that answers with an error likewise.
   */
  private async probeTables(): Promise<void> {
    const dx = this.xid(),
      tx = this.xid();
    const descP = this.request<MessageOf<'multipart_reply'>>(
      { type: 'multipart_request', xid: dx, flags: 0, body: { kind: 'desc' } },
      10_000,
      64 * 1024,
    ).catch(() => undefined);
    const tfP = this.request<MessageOf<'multipart_reply'>>(
      { type: 'multipart_request', xid: tx, flags: 0, body: { kind: 'table_features' } },
      10_000,
      TABLE_FEATURES_MAX_BYTES,
    ).catch(() => undefined);
    await this.request({ type: 'barrier_request', xid: this.xid() }, 10_000);
    for (const x of [dx, tx]) {
      const p = this.pending.get(x);
      if (p) {
        clearTimeout(p.timer);
        this.forgetReply(x);
        p.reject(new Error('not answered'));
      }
    }
    const d = await descP,
      t = await tfP;
    if (d?.body.kind === 'desc') this.desc = { mfrDesc: d.body.mfrDesc, hwDesc: d.body.hwDesc, swDesc: d.body.swDesc };
    if (t?.body.kind === 'table_features') {
      const m: Record<number, number> = {};
      for (const tb of t.body.tables) m[tb.tableId] = tb.maxEntries;
      this.tableMax = m;
    }
  }

  close(reason: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (this.echoTimer) clearInterval(this.echoTimer);
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new Error(`session closed: ${reason}`));
    }
    this.pending.clear();
    this.tracked.clear();
    this.mp.clear();
    this.rawParts.clear();
    this.budget.releaseAll();
    this.out?.flush(); // what was written before the close (a HELLO refusal, an ERROR) still leaves
    this.out?.clear();
    this.socket.destroy();
    this.emit('closed', reason);
  }
}
