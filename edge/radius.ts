/**
 * A RADIUS client for the 802.1X authenticator (RFC 2865 Access-Request/Accept/Reject/Challenge, RFC 3579
 * EAP-Message + Message-Authenticator): retransmission, per-try timeouts, several servers with failover.
 *
 * Packets are encoded with the npm `radius` package (dictionary, attribute encoding, Message-Authenticator on
 * requests). Answers are checked here, with constant-time comparisons over the raw bytes, before anything is
 * decoded: length, identifier, source address, Response Authenticator, and Message-Authenticator (required
 * whenever the answer carries EAP-Message). The package's own verify_response compares digests as UTF-8
 * strings, which is not an exact byte comparison, so it is not used. An answer that fails any check is dropped
 * (counted) and the request keeps waiting for the real one: a forged packet cannot end a login.
 */
import { createSocket, type Socket } from 'node:dgram';
import { createHash, createHmac, randomFillSync, timingSafeEqual } from 'node:crypto';
import radius from 'radius';

export interface RadiusServer {
  readonly host: string;
  readonly port: number;
  readonly secret: Buffer;
  /** Shown in status and events. */
  readonly name?: string;
}

export interface RadiusClientOptions {
  readonly servers: readonly RadiusServer[];
  /** Wait per try (ms). Default 1000. */
  readonly timeoutMs?: number;
  /** Retransmissions to one server before failing over. Default 2 (three tries). */
  readonly retries?: number;
  /** A server that failed is skipped for this long (ms) unless all are down. Default 10,000. */
  readonly deadTimeMs?: number;
  /** Local address to send from (default 0.0.0.0; 127.0.0.1 keeps tests on loopback). */
  readonly bindAddress?: string;
  /** UDP sockets at most (256 requests in flight per socket per server). Default 32. */
  readonly maxSockets?: number;
  /**
   * Requests outstanding to one server at most; more wait here (their timeout starts when sent), so a login
   * storm queues at the controller instead of timing out at a saturated server. Default 128.
   */
  readonly maxInFlight?: number;
}

export type RadiusCode = 'Access-Accept' | 'Access-Reject' | 'Access-Challenge';

export interface RadiusReply {
  readonly ok: true;
  readonly code: RadiusCode;
  /** Decoded attributes by name (the `radius` package's dictionary); repeated ones as the last value. */
  readonly attributes: Readonly<Record<string, unknown>>;
  /** The EAP packet (EAP-Message attributes concatenated), if any. */
  readonly eap?: Buffer;
  readonly state?: Buffer;
  /** Every User-Name in the answer, in order (`attributes` keeps only the last; more than one is ambiguous). */
  readonly userNames?: readonly string[];
  readonly server: string;
  /** Round trip of the try that was answered (ms). */
  readonly ms: number;
}
export interface RadiusFailure {
  readonly ok: false;
  readonly code: 'timeout' | 'no-servers' | 'encode-error' | 'closed';
  readonly message: string;
}
export type RadiusAnswer = RadiusReply | RadiusFailure;

/** Attributes of an Access-Request, by dictionary name; EAP-Message is given as one buffer and split here. */
export interface AccessRequest {
  readonly userName?: string;
  readonly eap?: Buffer;
  readonly state?: Buffer;
  /** Anything else: [name, value] pairs the `radius` package knows (Calling-Station-Id, NAS-Port …). */
  readonly attributes?: ReadonlyArray<readonly [string, unknown]>;
  /** For MAB or PAP: the password (User-Password is hidden with the secret by the encoder). */
  readonly password?: string;
}

export interface RadiusStats {
  sent: number;
  retransmits: number;
  answers: number;
  timeouts: number;
  failovers: number;
  /** Dropped answers, by reason. */
  dropped: Record<string, number>;
}

const CODES: Record<number, RadiusCode> = { 2: 'Access-Accept', 3: 'Access-Reject', 11: 'Access-Challenge' };
const ATTR_EAP = 79,
  ATTR_MA = 80,
  ATTR_STATE = 24;

interface Pending {
  readonly server: RadiusServer;
  readonly key: string;
  readonly reqAuth: Buffer;
  readonly id: number;
  readonly sock: Sock;
  readonly sentAt: number;
  resolve(a: { packet: Buffer; ms: number }): void;
}

interface Sock {
  readonly s: Socket;
  readonly used: Map<string, Set<number>>;
  next: Map<string, number>;
  ready: Promise<void>;
}

const serverKey = (s: RadiusServer) => `${s.host}:${s.port}`;

/**
 * Checks an answer against the request it claims to answer. Returns undefined when it is authentic, else why
 * not. Pure: used by the client and by the hostile-input tests.
 */
export function checkAnswer(packet: Buffer, reqAuth: Buffer, id: number, secret: Buffer): string | undefined {
  if (packet.length < 20) return 'short';
  const len = packet.readUInt16BE(2);
  if (len < 20 || len > packet.length || len > 4096) return 'bad-length';
  const p = packet.subarray(0, len);
  if (p[1] !== id) return 'wrong-id';
  if (!CODES[p[0]]) return 'bad-code';
  // Response Authenticator = MD5(Code | ID | Length | Request Authenticator | Attributes | Secret)
  const h = createHash('md5');
  h.update(p.subarray(0, 4));
  h.update(reqAuth);
  h.update(p.subarray(20));
  h.update(secret);
  if (!timingSafeEqual(h.digest(), p.subarray(4, 20))) return 'bad-authenticator';
  // walk the attributes: well-formed, find EAP-Message and Message-Authenticator
  let off = 20,
    maAt = -1,
    hasEap = false;
  while (off < len) {
    if (off + 2 > len) return 'bad-attribute';
    const t = p[off],
      l = p[off + 1];
    if (l < 2 || off + l > len) return 'bad-attribute';
    if (t === ATTR_EAP) hasEap = true;
    if (t === ATTR_MA) {
      if (l !== 18 || maAt >= 0) return 'bad-message-authenticator';
      maAt = off;
    }
    off += l;
  }
  if (hasEap && maAt < 0) return 'missing-message-authenticator';
  if (maAt >= 0) {
    // HMAC-MD5 over the packet with the Request Authenticator in place and the Message-Authenticator zeroed
    const copy = Buffer.from(p);
    reqAuth.copy(copy, 4);
    copy.fill(0, maAt + 2, maAt + 18);
    const mac = createHmac('md5', secret).update(copy).digest();
    if (!timingSafeEqual(mac, p.subarray(maAt + 2, maAt + 18))) return 'bad-message-authenticator';
  }
  return undefined;
}

/** An answer's attributes by dictionary name (empty when the package cannot decode them; the raw ones suffice). */
function decodeAttributes(p: Buffer): Record<string, unknown> {
  try {
    return radius.decode_without_secret({ packet: p }).attributes ?? {};
  } catch {
    return {};
  }
}

/** Raw attributes of one type, in order (EAP-Message fragments, State). */
function rawAttrs(p: Buffer, type: number): Buffer[] {
  const out: Buffer[] = [];
  const len = p.readUInt16BE(2);
  for (let off = 20; off + 2 <= len;) {
    const l = p[off + 1];
    if (l < 2) break;
    if (p[off] === type) out.push(p.subarray(off + 2, off + l));
    off += l;
  }
  return out;
}

/**
 * Request Authenticators (RFC 2865 §3: unpredictable and unique over the secret's lifetime) come from the CSPRNG,
 * filled 4 KiB at a time: one system call per 256 requests instead of one per request (the package's default).
 */
const authPool = Buffer.alloc(4096);
let authAt = authPool.length;
function requestAuthenticator(): Buffer {
  if (authAt === authPool.length) {
    randomFillSync(authPool);
    authAt = 0;
  }
  authAt += 16;
  return Buffer.from(authPool.subarray(authAt - 16, authAt));
}

export class RadiusClient {
  private readonly socks: Sock[] = [];
  private readonly pending = new Map<string, Pending>();
  private readonly deadUntil = new Map<string, number>();
  private closed = false;
  readonly stats: RadiusStats = { sent: 0, retransmits: 0, answers: 0, timeouts: 0, failovers: 0, dropped: {} };
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly deadTimeMs: number;

  constructor(readonly opts: RadiusClientOptions) {
    this.timeoutMs = opts.timeoutMs ?? 1000;
    this.retries = opts.retries ?? 2;
    this.deadTimeMs = opts.deadTimeMs ?? 10_000;
  }

  /** Servers in the order they will be tried now: live ones first (configured order), then dead ones. */
  order(now = Date.now()): RadiusServer[] {
    const live = this.opts.servers.filter((s) => (this.deadUntil.get(serverKey(s)) ?? 0) <= now);
    const dead = this.opts.servers.filter((s) => !live.includes(s));
    return [...live, ...dead];
  }

  status(): Array<{ server: string; up: boolean }> {
    const now = Date.now();
    return this.opts.servers.map((s) => ({ server: s.name ?? serverKey(s), up: (this.deadUntil.get(serverKey(s)) ?? 0) <= now }));
  }

  /** Sends an Access-Request, failing over between servers; never rejects. */
  async request(req: AccessRequest): Promise<RadiusAnswer> {
    if (this.closed) return { ok: false, code: 'closed', message: 'RADIUS client closed' };
    const servers = this.order();
    if (!servers.length) return { ok: false, code: 'no-servers', message: 'no RADIUS servers configured' };
    for (let i = 0; i < servers.length; i++) {
      const server = servers[i];
      if (i > 0) this.stats.failovers++;
      const r = await this.tryServer(server, req);
      if (r.ok || r.code !== 'timeout') {
        if (r.ok) this.deadUntil.delete(serverKey(server));
        return r;
      }
      this.deadUntil.set(serverKey(server), Date.now() + this.deadTimeMs);
      if (this.closed) break;
    }
    return { ok: false, code: 'timeout', message: `no answer from ${servers.map((s) => s.name ?? serverKey(s)).join(', ')}` };
  }

  private readonly inFlight = new Map<string, number>();
  private readonly waiting = new Map<string, Array<() => void>>();

  private async acquire(key: string): Promise<void> {
    const max = this.opts.maxInFlight ?? 128;
    const n = this.inFlight.get(key) ?? 0;
    if (n < max) {
      this.inFlight.set(key, n + 1);
      return;
    }
    await new Promise<void>((res) => {
      const q = this.waiting.get(key) ?? [];
      q.push(res);
      this.waiting.set(key, q);
    });
  }

  private releaseSlot(key: string): void {
    const next = this.waiting.get(key)?.shift();
    if (next)
      next(); // the slot passes on
    else this.inFlight.set(key, Math.max(0, (this.inFlight.get(key) ?? 1) - 1));
  }

  private async tryServer(server: RadiusServer, req: AccessRequest): Promise<RadiusAnswer> {
    const key = serverKey(server);
    await this.acquire(key);
    try {
      return await this.tryServerNow(server, req, key);
    } finally {
      this.releaseSlot(key);
    }
  }

  private async tryServerNow(server: RadiusServer, req: AccessRequest, key: string): Promise<RadiusAnswer> {
    const slot = await this.allocate(key);
    if (!slot) return { ok: false, code: 'timeout', message: `too many requests in flight to ${key}` };
    const { sock, id } = slot;
    let packet: Buffer;
    try {
      const attributes: Array<[string, unknown]> = [];
      if (req.userName !== undefined) attributes.push(['User-Name', req.userName]);
      if (req.password !== undefined) attributes.push(['User-Password', req.password]);
      for (const [k, v] of req.attributes ?? []) attributes.push([k, v]);
      if (req.state) attributes.push(['State', req.state]);
      if (req.eap) for (let o = 0; o < req.eap.length; o += 253) attributes.push(['EAP-Message', req.eap.subarray(o, o + 253)]);
      packet = radius.encode({
        code: 'Access-Request',
        identifier: id,
        secret: server.secret.toString('utf8'),
        attributes,
        add_message_authenticator: true,
        authenticator: requestAuthenticator(),
      });
    } catch (e) {
      this.release(sock, key, id);
      return { ok: false, code: 'encode-error', message: `cannot encode the Access-Request: ${(e as Error).message}` };
    }
    const reqAuth = Buffer.from(packet.subarray(4, 20));
    const pkey = `${this.socks.indexOf(sock)}/${key}/${id}`;
    try {
      for (let attempt = 0; attempt <= this.retries; attempt++) {
        if (this.closed) return { ok: false, code: 'closed', message: 'RADIUS client closed' };
        const got = await new Promise<{ packet: Buffer; ms: number } | undefined>((resolve) => {
          const timer = setTimeout(() => {
            this.pending.delete(pkey);
            resolve(undefined);
          }, this.timeoutMs);
          this.pending.set(pkey, {
            server,
            key,
            reqAuth,
            id,
            sock,
            sentAt: performance.now(),
            resolve: (a) => {
              clearTimeout(timer);
              this.pending.delete(pkey);
              resolve(a);
            },
          });
          if (attempt > 0) this.stats.retransmits++;
          this.stats.sent++;
          sock.s.send(packet, server.port, server.host, (err) => {
            if (err) {
              /* counted as a timeout by the timer */
            }
          });
        });
        if (!got) continue;
        this.stats.answers++;
        const p = got.packet;
        const eapParts = rawAttrs(p, ATTR_EAP);
        const state = rawAttrs(p, ATTR_STATE)[0];
        const userNames = rawAttrs(p, 1).map((b) => b.toString('utf8'));
        let attributes: Record<string, unknown> | undefined;
        return {
          ok: true,
          code: CODES[p[0]],
          // decoded by the dictionary when first read (an Access-Challenge, half of a storm's answers, needs only
          // its EAP-Message and State)
          get attributes() {
            return (attributes ??= decodeAttributes(p));
          },
          ...(eapParts.length ? { eap: Buffer.concat(eapParts) } : {}),
          ...(state ? { state: Buffer.from(state) } : {}),
          ...(userNames.length ? { userNames } : {}),
          server: server.name ?? key,
          ms: got.ms,
        };
      }
      this.stats.timeouts++;
      return { ok: false, code: 'timeout', message: `no answer from ${server.name ?? key} after ${this.retries + 1} tries` };
    } finally {
      this.release(sock, key, id);
    }
  }

  private onMessage(sock: Sock, msg: Buffer, rinfo: { address: string; port: number }): void {
    const drop = (why: string) => {
      this.stats.dropped[why] = (this.stats.dropped[why] ?? 0) + 1;
    };
    if (msg.length < 20) return drop('short');
    const key = `${rinfo.address}:${rinfo.port}`;
    const p = this.pending.get(`${this.socks.indexOf(sock)}/${key}/${msg[1]}`);
    if (!p) return drop('unexpected');
    const bad = checkAnswer(msg, p.reqAuth, p.id, p.server.secret);
    if (bad) return drop(bad);
    p.resolve({ packet: Buffer.from(msg.subarray(0, msg.readUInt16BE(2))), ms: performance.now() - p.sentAt });
  }

  /** A free identifier for this server on some socket (opening another socket when all are taken). */
  private async allocate(key: string): Promise<{ sock: Sock; id: number } | undefined> {
    for (const sock of this.socks) {
      const got = this.takeId(sock, key);
      if (got !== undefined) {
        await sock.ready;
        return { sock, id: got };
      }
    }
    if (this.socks.length >= (this.opts.maxSockets ?? 32)) return undefined;
    const s = createSocket('udp4');
    const sock: Sock = {
      s,
      used: new Map(),
      next: new Map(),
      ready: new Promise((res, rej) => {
        s.once('error', rej);
        s.bind(0, this.opts.bindAddress ?? '0.0.0.0', () => {
          s.off('error', rej);
          try {
            s.setRecvBufferSize(4 << 20);
          } catch {
            /* kernel limit */
          }
          res();
        });
      }),
    };
    s.on('message', (m, r) => this.onMessage(sock, m, r));
    s.on('error', () => undefined);
    this.socks.push(sock);
    await sock.ready;
    const id = this.takeId(sock, key)!;
    return { sock, id };
  }

  private takeId(sock: Sock, key: string): number | undefined {
    let used = sock.used.get(key);
    if (!used) sock.used.set(key, (used = new Set()));
    if (used.size >= 256) return undefined;
    let id = sock.next.get(key) ?? Math.floor(Math.random() * 256);
    while (used.has(id)) id = (id + 1) & 0xff;
    used.add(id);
    sock.next.set(key, (id + 1) & 0xff);
    return id;
  }

  private release(sock: Sock, key: string, id: number): void {
    sock.used.get(key)?.delete(id);
  }

  close(): void {
    this.closed = true;
    for (const q of this.waiting.values()) for (const w of q.splice(0)) w();
    for (const p of [...this.pending.values()]) p.resolve = () => undefined;
    for (const s of this.socks) {
      try {
        s.s.close();
      } catch {
        /* closed */
      }
    }
    this.socks.length = 0;
  }
}
