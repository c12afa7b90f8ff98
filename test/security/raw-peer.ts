/**
 * A hostile OpenFlow peer over plain TCP: completes the handshake like a switch (HELLO, FEATURES, PORT_DESC,
 * echo, barrier, empty flow reads), then lets a test send whatever bytes it wants.
 */
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import type { MessageOf, OfpMessage } from '../../openflow/index.js';
import { Framer, decode, encode } from '../../openflow/index.js';

export interface RawPeerOptions {
  /** Answer PORT_DESC ourselves with a custom reply (e.g. an endless one); return true when handled. */
  onPortDesc?: (req: MessageOf<'multipart_request'>, peer: RawPeer) => boolean;
  onFlowRead?: (req: MessageOf<'multipart_request'>, peer: RawPeer) => boolean;
  /** Do not answer echo requests. */
  silent?: boolean;
  ports?: number[];
}

export class RawPeer {
  sock!: Socket;
  closed = false;
  readonly received: OfpMessage[] = [];
  readonly rawReceived: Buffer[] = [];
  private readonly framer = new Framer();
  private readyResolve!: () => void;
  readonly ready = new Promise<void>((r) => {
    this.readyResolve = r;
  });
  readonly gone: Promise<void>;
  private goneResolve!: () => void;

  constructor(
    readonly dpid: bigint,
    readonly opts: RawPeerOptions = {},
  ) {
    this.gone = new Promise((r) => {
      this.goneResolve = r;
    });
  }

  connect(port: number, host = '127.0.0.1', tls?: ConnectionOptions): Promise<void> {
    return new Promise((resolve, reject) => {
      this.sock = tls ? tlsConnect({ ...tls, port, host }, () => resolve()) : connect(port, host, () => resolve());
      this.sock.on('error', (e) => {
        if (!this.closed) reject(e);
      });
      this.sock.on('close', () => {
        this.closed = true;
        this.goneResolve();
      });
      this.sock.on('data', (d) => {
        for (const f of this.framer.push(d)) {
          this.rawReceived.push(Buffer.from(f));
          const r = decode(f);
          if (r.ok) this.onMessage(r.message);
        }
      });
    });
  }

  send(m: OfpMessage): void {
    if (!this.closed) this.sock.write(encode(m));
  }
  raw(b: Buffer): boolean {
    return this.open && this.sock.write(b);
  }
  /**
   * Whether writes can still go out. False as soon as the controller hung up: after its FIN Node ends our side
   * (writes then fail with "write after end"), which happens before the 'close' event sets `closed`.
   */
  get open(): boolean {
    return !this.closed && this.sock.writable && !this.sock.destroyed;
  }
  close(): void {
    this.sock?.destroy();
  }

  /** Resolves when the socket can take more (or is closed). */
  drained(): Promise<void> {
    if (this.closed || !this.sock.writableNeedDrain) return Promise.resolve();
    return new Promise((r) => {
      const d = () => {
        this.sock.off('drain', d);
        this.sock.off('close', d);
        r();
      };
      this.sock.once('drain', d);
      this.sock.once('close', d);
    });
  }

  portDesc(xid: number, more = false): MessageOf<'multipart_reply'> {
    return {
      type: 'multipart_reply',
      xid,
      flags: more ? 1 : 0,
      body: {
        kind: 'port_desc',
        ports: (this.opts.ports ?? [1, 2, 3, 4]).map((p) => ({
          portNo: p,
          hwAddr: `02:00:00:00:ff:${p.toString(16).padStart(2, '0')}`,
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
    };
  }

  private onMessage(m: OfpMessage): void {
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
          datapathId: this.dpid,
          nBuffers: 0,
          nTables: 254,
          auxiliaryId: 0,
          capabilities: 0,
        });
        return;
      case 'multipart_request':
        if (m.body.kind === 'port_desc') {
          if (!this.opts.onPortDesc?.(m, this)) this.send(this.portDesc(m.xid));
          this.readyResolve();
        } else if (m.body.kind === 'flow') {
          if (!this.opts.onFlowRead?.(m, this))
            this.send({ type: 'multipart_reply', xid: m.xid, flags: 0, body: { kind: 'flow', flows: [] } });
        }
        return;
      case 'barrier_request':
        this.send({ type: 'barrier_reply', xid: m.xid });
        return;
      default:
        return;
    }
  }
}

/**
 * One multipart reply part of `bytes` total (≤ 65535) flagged "more": a PORT_DESC body of zeroed ports, the
 * cheapest thing to build; what matters is that it is big and says more is coming.
 */
export function morePart(xid: number, bytes = 16 + 1023 * 64, kind = 13): Buffer {
  const b = Buffer.alloc(bytes);
  b.writeUInt8(4, 0);
  b.writeUInt8(19, 1); // OFPT_MULTIPART_REPLY
  b.writeUInt16BE(bytes, 2);
  b.writeUInt32BE(xid, 4);
  b.writeUInt16BE(kind, 8);
  b.writeUInt16BE(1, 10); // OFPMPF_REPLY_MORE
  for (let off = 16; off + 64 <= bytes; off += 64) b.writeUInt32BE(1 + ((off - 16) >> 6), off); // port numbers
  return b;
}

/** Sends `n` parts as fast as the socket takes them; stops early when the controller hangs up. Returns parts sent. */
export async function bomb(peer: RawPeer, n: number, part: (i: number) => Buffer): Promise<number> {
  let i = 0;
  for (; i < n && peer.open; i++) {
    if (!peer.raw(part(i))) await peer.drained();
  }
  return i;
}
