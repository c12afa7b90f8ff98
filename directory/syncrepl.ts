/**
 * A minimal LDAP client for one job: RFC 4533 Content Synchronization (syncrepl) in refreshAndPersist mode, so
 * the server pushes every add, modify and delete the moment it happens. ldapts cannot do this (it rejects
 * IntermediateResponse and buffers entries until a search ends), so this speaks the protocol itself: requests are
 * encoded with ldapts' message classes; responses are parsed here, strictly (any malformed or unexpected message
 * ends the session with an error — the caller then falls back to polling).
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { BindRequest, Control, BerWriter, ExtendedRequest, FilterParser, SearchRequest, UnbindRequest } from 'ldapts';

export const SYNC_REQUEST_OID = '1.3.6.1.4.1.4203.1.9.1.1';
const SYNC_STATE_OID = '1.3.6.1.4.1.4203.1.9.1.2';
const SYNC_INFO_OID = '1.3.6.1.4.1.4203.1.9.1.4';
const STARTTLS_OID = '1.3.6.1.4.1.1466.20037';
/** Largest LDAP message accepted (a group with very many members is big, but not this big). */
const MAX_MESSAGE = 64 * 1024 * 1024;

export class SyncProtocolError extends Error {}

// ---- BER decoding (definite lengths only, single-byte tags: all LDAP needs) ----

interface Tlv {
  tag: number;
  start: number;
  end: number;
}

function readTlv(b: Buffer, off: number, limit: number): Tlv {
  if (off + 2 > limit) throw new SyncProtocolError('truncated BER element');
  const tag = b[off];
  if ((tag & 0x1f) === 0x1f) throw new SyncProtocolError('multi-byte BER tag');
  let len = b[off + 1];
  let p = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new SyncProtocolError(n === 0 ? 'indefinite BER length' : 'BER length too long');
    if (p + n > limit) throw new SyncProtocolError('truncated BER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[p++];
  }
  if (len > limit - p) throw new SyncProtocolError('BER element longer than its container');
  return { tag, start: p, end: p + len };
}

/** Total length of the first complete element in `b`, or -1 when more bytes are needed. */
export function frameLength(b: Buffer): number {
  if (b.length < 2) return -1;
  if (b[0] !== 0x30) throw new SyncProtocolError(`an LDAP message starts with SEQUENCE (0x30), not 0x${b[0].toString(16)}`);
  let len = b[1];
  let p = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new SyncProtocolError('bad LDAP message length');
    if (b.length < 2 + n) return -1;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[p++];
  }
  if (len > MAX_MESSAGE) throw new SyncProtocolError(`LDAP message of ${len} bytes is too large`);
  return b.length < p + len ? -1 : p + len;
}

class Cursor {
  constructor(
    readonly b: Buffer,
    public p: number,
    readonly end: number,
  ) {}
  more(): boolean {
    return this.p < this.end;
  }
  peek(): number {
    return this.b[this.p];
  }
  next(expect?: number): Tlv {
    const t = readTlv(this.b, this.p, this.end);
    if (expect !== undefined && t.tag !== expect)
      throw new SyncProtocolError(`expected BER tag 0x${expect.toString(16)}, found 0x${t.tag.toString(16)}`);
    this.p = t.end;
    return t;
  }
  in(t: Tlv): Cursor {
    return new Cursor(this.b, t.start, t.end);
  }
  str(t: Tlv): string {
    return this.b.toString('utf8', t.start, t.end);
  }
  buf(t: Tlv): Buffer {
    return this.b.subarray(t.start, t.end);
  }
  int(t: Tlv): number {
    const n = t.end - t.start;
    if (n < 1 || n > 6) throw new SyncProtocolError('bad BER integer');
    let v = this.b[t.start] & 0x80 ? -1 : 0;
    for (let i = t.start; i < t.end; i++) v = v * 256 + this.b[i];
    return v;
  }
  bool(t: Tlv): boolean {
    if (t.end - t.start !== 1) throw new SyncProtocolError('bad BER boolean');
    return this.b[t.start] !== 0;
  }
}

// ---- messages ----

export type SyncState = 'present' | 'add' | 'modify' | 'delete';
const STATES: SyncState[] = ['present', 'add', 'modify', 'delete'];

export interface LdapResult {
  code: number;
  matchedDn: string;
  message: string;
}

export type SyncMessage =
  | { id: number; kind: 'entry'; dn: string; attrs: Map<string, string[]>; state?: SyncState; uuid?: string }
  | { id: number; kind: 'info'; info: SyncInfo }
  | { id: number; kind: 'done' | 'bind' | 'extended'; result: LdapResult; name?: string }
  | { id: number; kind: 'reference' | 'other'; op: number };

export type SyncInfo =
  | { type: 'newcookie'; cookie: Buffer }
  | { type: 'refreshDelete' | 'refreshPresent'; cookie?: Buffer; refreshDone: boolean }
  | { type: 'syncIdSet'; cookie?: Buffer; refreshDeletes: boolean; uuids: string[] };

function parseResult(c: Cursor): LdapResult {
  const code = c.int(c.next(0x0a));
  const matchedDn = c.str(c.next(0x04));
  const message = c.str(c.next(0x04));
  return { code, matchedDn, message };
}

function uuidOf(c: Cursor, t: Tlv): string {
  if (t.end - t.start !== 16) throw new SyncProtocolError('a syncUUID has 16 bytes');
  return c.buf(t).toString('hex');
}

function parseSyncInfo(v: Buffer): SyncInfo {
  const c = new Cursor(v, 0, v.length);
  const t = c.next();
  if (c.more()) throw new SyncProtocolError('trailing bytes after syncInfoValue');
  const k = c.in(t);
  const cookie = () => (k.more() && k.peek() === 0x04 ? k.buf(k.next()) : undefined);
  switch (t.tag) {
    case 0x80:
      return { type: 'newcookie', cookie: c.buf(t) };
    case 0xa1:
    case 0xa2: {
      const ck = cookie();
      const refreshDone = k.more() ? k.bool(k.next(0x01)) : true;
      return { type: t.tag === 0xa1 ? 'refreshDelete' : 'refreshPresent', cookie: ck, refreshDone };
    }
    case 0xa3: {
      const ck = cookie();
      const refreshDeletes = k.more() && k.peek() === 0x01 ? k.bool(k.next(0x01)) : false;
      const set = k.in(k.next(0x31));
      const uuids: string[] = [];
      while (set.more()) uuids.push(uuidOf(set, set.next(0x04)));
      return { type: 'syncIdSet', cookie: ck, refreshDeletes, uuids };
    }
    default:
      throw new SyncProtocolError(`unknown syncInfoValue choice 0x${t.tag.toString(16)}`);
  }
}

/** Parses one complete LDAPMessage (exactly `b`). Throws SyncProtocolError on anything malformed. */
export function parseMessage(b: Buffer): SyncMessage {
  const top = new Cursor(b, 0, b.length);
  const seq = top.next(0x30);
  if (seq.end !== b.length) throw new SyncProtocolError('trailing bytes after an LDAP message');
  const c = top.in(seq);
  const id = c.int(c.next(0x02));
  const opT = c.next();
  const op = c.in(opT);
  // controls: only the Sync State control matters here
  let state: SyncState | undefined, uuid: string | undefined;
  if (c.more()) {
    const ctls = c.in(c.next(0xa0));
    while (ctls.more()) {
      const ctl = ctls.in(ctls.next(0x30));
      const type = ctl.str(ctl.next(0x04));
      if (ctl.more() && ctl.peek() === 0x01) ctl.next(0x01);
      const value = ctl.more() ? ctl.next(0x04) : undefined;
      if (type === SYNC_STATE_OID) {
        if (!value) throw new SyncProtocolError('Sync State control without a value');
        const s = ctl.in(ctl.in(value).next(0x30));
        const n = s.int(s.next(0x0a));
        if (!STATES[n]) throw new SyncProtocolError(`unknown sync state ${n}`);
        state = STATES[n];
        uuid = uuidOf(s, s.next(0x04));
      }
    }
  }
  switch (opT.tag) {
    case 0x64: {
      // SearchResultEntry
      const dn = op.str(op.next(0x04));
      const attrs = new Map<string, string[]>();
      const list = op.in(op.next(0x30));
      while (list.more()) {
        const a = list.in(list.next(0x30));
        const type = a.str(a.next(0x04));
        const vals = a.in(a.next(0x31));
        const out: string[] = [];
        while (vals.more()) out.push(vals.str(vals.next(0x04)));
        attrs.set(type, out);
      }
      return { id, kind: 'entry', dn, attrs, state, uuid };
    }
    case 0x65:
      return { id, kind: 'done', result: parseResult(op) };
    case 0x61:
      return { id, kind: 'bind', result: parseResult(op) };
    case 0x78: {
      const result = parseResult(op);
      let name: string | undefined;
      while (op.more()) {
        const t = op.next();
        if (t.tag === 0x8a) name = op.str(t);
      }
      return { id, kind: 'extended', result, name };
    }
    case 0x79: {
      // IntermediateResponse
      let name: string | undefined, value: Buffer | undefined;
      if (op.more() && op.peek() === 0x80) name = op.str(op.next(0x80));
      if (op.more() && op.peek() === 0x81) value = op.buf(op.next(0x81));
      if (op.more()) throw new SyncProtocolError('trailing bytes in an IntermediateResponse');
      if (name !== SYNC_INFO_OID || !value) throw new SyncProtocolError(`unexpected IntermediateResponse ${name ?? '(no name)'}`);
      return { id, kind: 'info', info: parseSyncInfo(value) };
    }
    case 0x73:
      return { id, kind: 'reference', op: opT.tag };
    default:
      return { id, kind: 'other', op: opT.tag };
  }
}

/** The Sync Request control: refreshAndPersist (3), optional cookie. */
class SyncRequestControl extends Control {
  constructor(private readonly cookie?: Buffer) {
    super(SYNC_REQUEST_OID, { critical: true });
  }
  protected override writeControl(writer: BerWriter): void {
    const w = new BerWriter();
    w.startSequence();
    w.writeEnumeration(3);
    if (this.cookie?.length) w.writeBuffer(this.cookie, 0x04);
    w.endSequence();
    writer.writeBuffer(w.buffer, 0x04);
  }
}

// ---- the connection ----

export interface SyncConnectOptions {
  url: string;
  startTls: boolean;
  ca?: Buffer;
  bindDn?: string;
  password?: string;
  timeoutMs: number;
}

export interface SyncSearchSpec {
  base: string;
  filter: string;
  attributes: string[];
}

/** One connection carrying persistent sync searches. Messages arrive through `onMessage`; the end (any cause) through `onClose` once. */
export class SyncConnection {
  private socket!: Socket | TLSSocket;
  private buf: Buffer = Buffer.alloc(0);
  private nextId = 1;
  private waiting = new Map<number, { res: (m: SyncMessage) => void; rej: (e: Error) => void }>();
  private closed = false;
  private closeError?: Error;
  /** Messages of searches (by message id). */
  onMessage: (m: SyncMessage) => void = () => undefined;
  onClose: (err: Error) => void = () => undefined;

  private constructor(private readonly opts: SyncConnectOptions) {}

  /** Connects (TLS or StartTLS as configured) and binds. Rejects with a message naming what failed. */
  static async open(opts: SyncConnectOptions): Promise<SyncConnection> {
    const c = new SyncConnection(opts);
    try {
      await c.connect();
      if (opts.bindDn) {
        const r = await c.request(new BindRequest({ messageId: c.nextId++, dn: opts.bindDn, password: opts.password ?? '' }), 'bind');
        if (r.kind !== 'bind' || r.result.code !== 0)
          throw new Error(
            `bind as ${opts.bindDn} refused (${r.kind === 'bind' ? `${r.result.code} ${r.result.message}` : 'unexpected answer'})`,
          );
      }
      return c;
    } catch (e) {
      c.close();
      throw e;
    }
  }

  private async connect(): Promise<void> {
    const u = new URL(this.opts.url);
    const tlsUrl = u.protocol === 'ldaps:';
    const host = u.hostname.replace(/^\[|\]$/g, '');
    const port = Number(u.port || (tlsUrl ? 636 : 389));
    const sock: Socket = await new Promise((res, rej) => {
      const s = tlsUrl
        ? tlsConnect({ host, port, ca: this.opts.ca, servername: isIp(host) ? undefined : host })
        : netConnect({ host, port });
      const timer = setTimeout(() => {
        s.destroy();
        rej(new Error(`connect to ${this.opts.url} timed out`));
      }, this.opts.timeoutMs);
      s.once(tlsUrl ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        res(s);
      });
      s.once('error', (e) => {
        clearTimeout(timer);
        rej(e);
      });
    });
    this.attach(sock);
    if (this.opts.startTls && !tlsUrl) {
      const r = await this.request(new ExtendedRequest({ messageId: this.nextId++, oid: STARTTLS_OID }), 'StartTLS');
      if (r.kind !== 'extended' || r.result.code !== 0)
        throw new Error(`StartTLS refused (${r.kind === 'extended' ? `${r.result.code} ${r.result.message}` : 'unexpected answer'})`);
      if (this.buf.length) throw new SyncProtocolError('data after the StartTLS answer');
      this.detach();
      const secure: TLSSocket = await new Promise((res, rej) => {
        const s = tlsConnect({ socket: sock, ca: this.opts.ca, servername: isIp(host) ? undefined : host });
        const timer = setTimeout(() => {
          s.destroy();
          rej(new Error('TLS handshake timed out'));
        }, this.opts.timeoutMs);
        s.once('secureConnect', () => {
          clearTimeout(timer);
          s.removeAllListeners('error');
          res(s);
        });
        s.once('error', (e) => {
          clearTimeout(timer);
          rej(e);
        });
      });
      this.attach(secure);
    }
  }

  private readonly onData = (d: Buffer) => {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    try {
      for (;;) {
        const n = frameLength(this.buf);
        if (n < 0) break;
        const m = parseMessage(this.buf.subarray(0, n));
        this.buf = this.buf.subarray(n);
        if (m.id === 0)
          throw new Error(`the server ended the connection${m.kind === 'extended' ? ` (${m.result.code} ${m.result.message})` : ''}`);
        const w = this.waiting.get(m.id);
        if (w) {
          this.waiting.delete(m.id);
          w.res(m);
        } else this.onMessage(m);
        if (this.closed) return;
      }
    } catch (e) {
      this.fail(
        e instanceof SyncProtocolError ? new SyncProtocolError(`malformed message from ${this.opts.url}: ${e.message}`) : (e as Error),
      );
    }
  };
  private readonly onErr = (e: Error) => this.fail(e);
  private readonly onEnd = () => this.fail(new Error(`connection to ${this.opts.url} closed`));

  private attach(s: Socket): void {
    this.socket = s;
    s.setNoDelay(true);
    s.setKeepAlive(true, 10_000);
    s.on('data', this.onData);
    s.on('error', this.onErr);
    s.on('close', this.onEnd);
  }

  private detach(): void {
    this.socket.off('data', this.onData);
    this.socket.off('error', this.onErr);
    this.socket.off('close', this.onEnd);
  }

  private request(msg: { messageId: number; write(): Buffer }, what: string): Promise<SyncMessage> {
    if (this.closed) return Promise.reject(this.closeError ?? new Error('connection closed'));
    return new Promise((res, rej) => {
      const timer = setTimeout(() => {
        this.waiting.delete(msg.messageId);
        rej(new Error(`${what} timed out`));
        this.fail(new Error(`${what} timed out`));
      }, this.opts.timeoutMs);
      this.waiting.set(msg.messageId, {
        res: (m) => {
          clearTimeout(timer);
          res(m);
        },
        rej: (e) => {
          clearTimeout(timer);
          rej(e);
        },
      });
      this.socket.write(msg.write());
    });
  }

  /** Starts a refreshAndPersist search; its messages come through `onMessage` with the returned id. */
  search(spec: SyncSearchSpec, cookie?: Buffer): number {
    const id = this.nextId++;
    const req = new SearchRequest({
      messageId: id,
      baseDN: spec.base,
      scope: 'sub',
      filter: FilterParser.parseString(spec.filter),
      attributes: spec.attributes,
      controls: [new SyncRequestControl(cookie)],
    });
    this.socket.write(req.write());
    return id;
  }

  private fail(e: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.closeError = e;
    this.socket?.destroy();
    for (const w of this.waiting.values()) w.rej(e);
    this.waiting.clear();
    this.onClose(e);
  }

  /** Unbinds and closes; `onClose` is not called for a close we asked for. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.socket?.end(new UnbindRequest({ messageId: this.nextId++ }).write());
    } catch {
      /* closing anyway */
    }
    const s = this.socket;
    setTimeout(() => s?.destroy(), 1000).unref();
    for (const w of this.waiting.values()) w.rej(new Error('connection closed'));
    this.waiting.clear();
  }
}

function isIp(h: string): boolean {
  return /^[\d.]+$/.test(h) || h.includes(':');
}
