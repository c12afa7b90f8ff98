/**
 * The 802.1X authenticator (pass-through, RFC 3579 §3) and MAC authentication bypass, one conversation per
 * (switch, port, MAC). EAP from the supplicant goes to RADIUS in Access-Requests; Access-Challenge EAP goes back
 * to the supplicant; Access-Accept makes a session in the SessionTable (bound to the user RADIUS names), and EAP-
 * Success is sent once the flows are installed; Access-Reject sends EAP-Failure and nothing else.
 *
 * Fail closed everywhere: a frame that does not decode, a response to a request we did not send, an answer that
 * does not verify (edge/radius.ts), a user not in the directory, a full port — nothing is granted. Per-port rate
 * limits and conversation caps keep one port from starving the others.
 */
import type { AuthPolicy, PortAuthRule } from '../compiler/auth.js';
import { decodeEapolFrame, eapFrame, EAP_TYPE, encodeEap, decodeEap, PAE_GROUP, type EapPacket } from './eapol.js';
import { sessionFrom, whoLoggedIn, type Accepted } from './auth-accept.js';
import { PortGuard } from './port-guard.js';
import type { AccessRequest, RadiusAnswer } from './radius.js';
import type { SessionTable } from './sessions.js';
import { MacSightings, type ConflictMode } from './roaming.js';

export interface AuthenticatorDeps {
  readonly radius: () => { request(r: AccessRequest): Promise<RadiusAnswer> } | undefined;
  readonly sessions: SessionTable;
  readonly config: () => AuthPolicy | undefined;
  /** How a port authenticates (undefined: it does not). */
  readonly portRule: (sw: string, port: number) => PortAuthRule | undefined;
  /** PACKET_OUT of a whole Ethernet frame on one switch port. */
  readonly send: (sw: string, port: number, frame: Buffer) => void;
  /** Resolves when the sessions added so far are installed on the switches. */
  readonly settled: () => Promise<void>;
  readonly knownUser: (id: string) => boolean;
  /** The directory's owner of a device MAC (MAB from the directory). */
  readonly deviceOwner: (mac: string) => string | undefined;
  readonly event: (type: string, data: Record<string, unknown>) => void;
  readonly now?: () => number;
  /** Source MAC of frames we send (the authenticator's port address). */
  readonly ourMac?: string;
  readonly nasIdentifier?: string;
  /** The policy's `roaming.conflict`: a MAC logging in on two ports at once is admitted on neither (default) or the newest wins. */
  readonly conflictMode?: () => ConflictMode;
}

type Phase = 'identity' | 'radius' | 'challenge' | 'done';

interface Conversation {
  readonly key: string;
  readonly sw: string;
  readonly port: number;
  readonly mac: string;
  phase: Phase;
  /** Id of the last EAP Request we sent (responses must carry it). */
  eapId: number;
  identity?: string;
  state?: Buffer;
  /** The last Request we sent (retransmitted when the supplicant says Start again). */
  lastRequest?: Buffer;
  sentAt: number;
  tries: number;
  reauth: boolean;
  lastActivity: number;
  method: 'dot1x' | 'mab';
  /** EAP methods the supplicant answered with (other than Identity, Nak, Notification). */
  eapTypes?: Set<number>;
}

export interface AuthenticatorStats {
  eapolIn: number;
  malformed: number;
  rateLimited: number;
  ignored: number;
  accepts: number;
  rejects: number;
  timeouts: number;
  mab: number;
  /** Access-Accept → flows installed (ms), the last ones (bounded). */
  acceptToFlowsMs: number[];
}

const MAX_CONV_PER_PORT = 64;
const MAX_CONV = 50_000;
const MAX_SEEN = 100_000;

export class Authenticator {
  private readonly convs = new Map<string, Conversation>();
  private readonly convCount = new Map<string, number>();
  /** First time a MAC was seen on an authenticating port without EAPOL (for MAB). */
  private readonly seen = new Map<string, { at: number; eapol: boolean; mabDone: boolean }>();
  private readonly now: () => number;
  private readonly ourMac: string;
  private timer?: NodeJS.Timeout;
  private readonly guard: PortGuard;
  /** Where each MAC logged in last: moves vs. two ports at once (edge/roaming.ts). */
  readonly sightings: MacSightings;
  readonly stats: AuthenticatorStats = {
    eapolIn: 0,
    malformed: 0,
    rateLimited: 0,
    ignored: 0,
    accepts: 0,
    rejects: 0,
    timeouts: 0,
    mab: 0,
    acceptToFlowsMs: [],
  };

  constructor(private readonly d: AuthenticatorDeps) {
    this.now = d.now ?? Date.now;
    this.ourMac = d.ourMac ?? '0e:00:5a:c1:00:01';
    this.sightings = new MacSightings({ now: this.now });
    this.guard = new PortGuard({ config: d.config, event: d.event, now: this.now, onRateLimited: () => this.stats.rateLimited++ });
  }

  /** Starts the housekeeping timer (conversation expiry, MAB quiet periods, re-authentication). */
  start(intervalMs = 250): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** An EAPOL frame from a switch port (packet-in). Never throws. */
  eapol(sw: string, port: number, frame: Buffer): void {
    this.stats.eapolIn++;
    const rule = this.d.portRule(sw, port);
    if (!rule) {
      this.stats.ignored++;
      return;
    }
    if (!this.guard.allow(sw, port)) return;
    const r = decodeEapolFrame(frame);
    if (!r.ok) {
      this.stats.malformed++;
      return;
    }
    const f = r.value;
    const seen = this.seen.get(`${f.src}@${sw}:${port}`);
    if (seen) seen.eapol = true;
    else this.remember(sw, port, f.src, true);
    if (rule.auth === 'mab') {
      this.stats.ignored++;
      return;
    }
    switch (f.type) {
      case 'start':
        return this.onStart(sw, port, f.src);
      case 'logoff':
        return this.onLogoff(sw, port, f.src);
      case 'eap':
        return this.onEap(sw, port, f.src, f.eap!);
      default:
        this.stats.ignored++;
    }
  }

  /** A non-EAPOL frame from a MAC on an authenticating port (discovery packet-in): MAB candidates. */
  seenMac(sw: string, port: number, mac: string): void {
    const rule = this.d.portRule(sw, port);
    if (!rule || (rule.auth !== 'mab' && rule.auth !== 'dot1x-then-mab')) {
      // a dot1x port: ask a device not logged in here to authenticate (a supplicant that missed our first request,
      // or one whose session is on another port: moved, or on two ports at once)
      const s = this.d.sessions.byMac(mac);
      if (
        rule &&
        !(s && s.switch === sw && s.port === port) &&
        !this.convs.has(`${mac}@${sw}:${port}`) &&
        !this.isHeld(mac) &&
        this.guard.allow(sw, port)
      )
        this.onStart(sw, port, mac);
      return;
    }
    const k = `${mac}@${sw}:${port}`;
    if (this.seen.has(k)) return;
    const s = this.d.sessions.byMac(mac);
    if (s && s.switch === sw && s.port === port) return;
    this.remember(sw, port, mac, false);
    if (rule.auth === 'dot1x-then-mab' && !this.convs.has(k) && this.guard.allow(sw, port)) this.onStart(sw, port, mac);
    if (rule.auth === 'mab' || (this.d.config()?.mab.quietMs ?? 0) === 0) void this.mab(sw, port, mac);
  }

  /** A port went down: its sessions and conversations end. */
  portDown(sw: string, port: number): number {
    for (const [k, c] of this.convs) if (c.sw === sw && c.port === port) this.dropConv(k);
    for (const k of [...this.seen.keys()]) if (k.endsWith(`@${sw}:${port}`)) this.seen.delete(k);
    return this.d.sessions.removeWhere((s) => s.switch === sw && s.port === port, 'port-down', 'switch');
  }

  /**
   * A port came (back) up: ask whoever is there to authenticate, as a switch's authenticator does on link up (an
   * EAP-Request/Identity to the PAE group address). A supplicant that was logged in before the link went down does
   * not notice the link itself (wpa_supplicant's wired driver); this request makes it log in again.
   */
  portUp(sw: string, port: number): void {
    const rule = this.d.portRule(sw, port);
    if (!rule || rule.auth === 'mab' || !this.guard.allow(sw, port)) return;
    const req = { code: 'request' as const, id: Math.floor(Math.random() * 256), type: EAP_TYPE.identity, data: Buffer.alloc(0) };
    this.d.send(sw, port, eapFrame(PAE_GROUP, this.ourMac, req));
  }

  conversations(): number {
    return this.convs.size;
  }

  // ---------- EAPOL ----------

  private onStart(sw: string, port: number, mac: string): void {
    const k = `${mac}@${sw}:${port}`;
    let c = this.convs.get(k);
    if (c && c.phase === 'radius') return; // a RADIUS answer is on its way
    if (this.isHeld(mac)) {
      // on two ports at once: refused everywhere until the hold ends, without asking RADIUS
      this.stats.ignored++;
      this.d.send(sw, port, eapFrame(mac, this.ourMac, { code: 'failure', id: c?.eapId ?? 0, data: Buffer.alloc(0) }));
      return;
    }
    if (!c) {
      c = this.newConv(sw, port, mac, 'dot1x', !!this.d.sessions.byMac(mac));
      if (!c) return;
    }
    c.phase = 'identity';
    c.state = undefined;
    c.identity = undefined;
    this.request(c, { code: 'request', id: this.nextId(c), type: EAP_TYPE.identity, data: Buffer.alloc(0) });
  }

  private onLogoff(sw: string, port: number, mac: string): void {
    const k = `${mac}@${sw}:${port}`;
    this.dropConv(k);
    const s = this.d.sessions.byMac(mac);
    if (s && s.switch === sw && s.port === port && s.method === 'dot1x') this.d.sessions.remove(s.id, 'logoff', 'supplicant');
  }

  private onEap(sw: string, port: number, mac: string, eap: EapPacket): void {
    if (eap.code !== 'response') {
      this.stats.ignored++;
      return;
    }
    const k = `${mac}@${sw}:${port}`;
    let c = this.convs.get(k);
    if (!c) {
      // an unsolicited Response/Identity starts a conversation (some supplicants skip EAPOL-Start)
      if (eap.type !== EAP_TYPE.identity) {
        this.stats.ignored++;
        return;
      }
      c = this.newConv(sw, port, mac, 'dot1x', !!this.d.sessions.byMac(mac));
      if (!c) return;
      c.eapId = eap.id;
      c.phase = 'identity';
    }
    if (c.phase === 'radius' || c.phase === 'done' || eap.id !== c.eapId) {
      this.stats.ignored++;
      return;
    }
    if (eap.type === EAP_TYPE.identity) {
      if (c.phase !== 'identity') {
        this.stats.ignored++;
        return;
      }
      const id = eap.data.toString('utf8');
      // eslint-disable-next-line no-control-regex -- an identity with control characters is refused: matching them is the point
      if (!id || id.length > 253 || /[\u0000-\u001f]/.test(id)) {
        this.stats.malformed++;
        this.dropConv(k);
        return;
      }
      c.identity = id;
    } else if (c.phase !== 'challenge') {
      this.stats.ignored++;
      return;
    } else if (eap.type !== undefined && eap.type !== EAP_TYPE.nak && eap.type !== EAP_TYPE.notification)
      (c.eapTypes ??= new Set()).add(eap.type);
    c.lastActivity = this.now();
    c.phase = 'radius';
    void this.relay(c, encodeEap(eap));
  }

  // ---------- RADIUS ----------

  private baseAttributes(c: Conversation): Array<[string, unknown]> {
    return [
      ['NAS-Identifier', this.d.nasIdentifier ?? 'sdn-acl'],
      ['NAS-Port', c.port],
      ['NAS-Port-Type', 'Ethernet'],
      ['NAS-Port-Id', `${c.sw}:${c.port}`],
      ['Calling-Station-Id', c.mac.toUpperCase().replace(/:/g, '-')],
      ['Called-Station-Id', this.ourMac.toUpperCase().replace(/:/g, '-')],
      ['Framed-MTU', 1400],
    ];
  }

  private async relay(c: Conversation, eapBytes: Buffer): Promise<void> {
    const client = this.d.radius();
    if (!client) {
      this.dropConv(c.key);
      return;
    }
    const ans = await client.request({
      userName: c.identity,
      eap: eapBytes,
      state: c.state,
      attributes: [...this.baseAttributes(c), ['Service-Type', 'Framed-User']],
    });
    if (this.convs.get(c.key) !== c) return; // ended meanwhile (logoff, port down)
    c.lastActivity = this.now();
    if (!ans.ok) {
      this.stats.timeouts++;
      this.d.event('radius-unreachable', { switch: c.sw, port: c.port, mac: c.mac, error: ans.message });
      // a re-authentication that cannot reach RADIUS keeps the session until it expires
      this.dropConv(c.key);
      return;
    }
    const eap = ans.eap ? decodeEap(ans.eap) : undefined;
    if (ans.code === 'Access-Challenge') {
      if (!eap?.ok || eap.value.code !== 'request') {
        this.fail(c, 'bad-challenge', ans);
        return;
      }
      c.state = ans.state;
      c.phase = 'challenge';
      c.eapId = eap.value.id;
      this.request(c, eap.value);
      return;
    }
    if (ans.code === 'Access-Reject') {
      this.fail(c, 'reject', ans);
      return;
    }
    await this.accept(c, ans, eap?.ok ? eap.value : undefined);
  }

  private async accept(c: Conversation, ans: Accepted, eap: EapPacket | undefined): Promise<void> {
    const cfg = this.d.config();
    const who = whoLoggedIn(c, ans, cfg, this.d);
    if (!who.ok) {
      this.fail(c, who.reason, ans, who.user);
      return;
    }
    const user = who.user;
    const rule = this.d.portRule(c.sw, c.port);
    if (!rule) {
      this.fail(c, 'port-not-authenticating', ans);
      return;
    }
    const others = this.d.sessions.byPort(c.sw, c.port).filter((s) => s.mac !== c.mac).length;
    if (rule.maxDevices !== undefined && others >= rule.maxDevices) {
      this.fail(c, 'max-devices', ans, user);
      return;
    }
    const s = sessionFrom(c, ans, cfg, who, this.d.sessions.byMac(c.mac), this.now());
    if (this.conflict(c)) {
      this.fail(c, 'mac-conflict', ans, user);
      return;
    }
    const t0 = performance.now();
    const added = this.d.sessions.add(s, `radius:${ans.server}`);
    if (!added.ok) {
      this.fail(c, added.code, ans, user);
      return;
    }
    this.stats.accepts++;
    if (c.method === 'mab') this.stats.mab++;
    this.d.event('auth-accept', {
      switch: c.sw,
      port: c.port,
      mac: c.mac,
      method: c.method,
      user,
      deviceGroup: who.deviceGroup,
      session: added.session.id,
      reauth: c.reauth,
      radiusMs: Math.round(ans.ms),
    });
    await this.d.settled();
    const ms = performance.now() - t0;
    this.stats.acceptToFlowsMs.push(ms);
    if (this.stats.acceptToFlowsMs.length > 20_000) this.stats.acceptToFlowsMs.splice(0, 10_000);
    if (c.method === 'dot1x') {
      const success = eap && eap.code === 'success' ? eap : { code: 'success' as const, id: c.eapId, data: Buffer.alloc(0) };
      this.d.send(c.sw, c.port, eapFrame(c.mac, this.ourMac, success));
    }
    c.phase = 'done';
    this.dropConv(c.key);
  }

  private isHeld(mac: string): boolean {
    return (this.d.conflictMode?.() ?? 'deny-both') === 'deny-both' && this.sightings.held(mac);
  }

  /**
   * Before a login is admitted: is its MAC on two ports at once (edge/roaming.ts)? Under deny-both its session ends
   * wherever it is and the MAC is held (true: refuse this login).
   */
  private conflict(c: Conversation): boolean {
    const refuse = this.sightings.admit(c.mac, c.sw, c.port, this.d.conflictMode?.() ?? 'deny-both', this.d.event);
    const s = refuse ? this.d.sessions.byMac(c.mac) : undefined;
    if (s) this.d.sessions.remove(s.id, 'mac-conflict', 'authenticator');
    return refuse;
  }

  private fail(c: Conversation, reason: string, ans?: RadiusAnswer, user?: string): void {
    this.stats.rejects++;
    if (c.method === 'dot1x')
      this.d.send(c.sw, c.port, eapFrame(c.mac, this.ourMac, { code: 'failure', id: c.eapId, data: Buffer.alloc(0) }));
    this.d.event('auth-reject', {
      switch: c.sw,
      port: c.port,
      mac: c.mac,
      method: c.method,
      identity: c.identity,
      user,
      reason,
      server: ans?.ok ? ans.server : undefined,
    });
    // a failed re-authentication ends the session
    const s = this.d.sessions.byMac(c.mac);
    if (s && s.switch === c.sw && s.port === c.port && c.reauth) this.d.sessions.remove(s.id, 'reauth-failed', 'radius');
    this.guard.noteFailure(c.sw, c.port);
    c.phase = 'done';
    this.dropConv(c.key);
  }

  /** MAC authentication bypass: the directory's device list, or RADIUS with the MAC as user name. */
  private async mab(sw: string, port: number, mac: string): Promise<void> {
    const k = `${mac}@${sw}:${port}`;
    const seen = this.seen.get(k);
    if (seen) seen.mabDone = true;
    const cfg = this.d.config();
    if (!cfg || (this.convs.has(k) && this.convs.get(k)!.phase === 'radius')) return;
    if (this.d.sessions.byMac(mac)?.switch === sw && this.d.sessions.byMac(mac)?.port === port) return;
    if (cfg.mab.source === 'directory') {
      const owner = this.d.deviceOwner(mac);
      const c = this.newConv(sw, port, mac, 'mab', false);
      if (!c) return;
      if (!owner) {
        this.fail(c, 'unknown-device');
        return;
      }
      await this.accept(c, { ok: true, code: 'Access-Accept', attributes: {}, server: 'directory', ms: 0 }, undefined);
      return;
    }
    const client = this.d.radius();
    if (!client) return;
    const c = this.newConv(sw, port, mac, 'mab', false);
    if (!c) return;
    c.phase = 'radius';
    const name = mac.replace(/:/g, '');
    c.identity = name;
    const ans = await client.request({
      userName: name,
      password: cfg.mab.password ?? name,
      attributes: [...this.baseAttributes(c), ['Service-Type', 'Call-Check']],
    });
    if (this.convs.get(k) !== c) return;
    if (!ans.ok) {
      this.stats.timeouts++;
      this.d.event('radius-unreachable', { switch: sw, port, mac, error: ans.message });
      this.dropConv(k);
      return;
    }
    if (ans.code !== 'Access-Accept') {
      this.fail(c, ans.code === 'Access-Reject' ? 'reject' : 'unexpected-challenge', ans);
      return;
    }
    await this.accept(c, ans, undefined);
  }

  // ---------- housekeeping ----------

  private tick(): void {
    const now = this.now();
    const cfg = this.d.config();
    const life = (cfg?.conversationSeconds ?? 30) * 1000;
    for (const [k, c] of this.convs) {
      if (now - c.lastActivity > life) this.dropConv(k);
      else if ((c.phase === 'identity' || c.phase === 'challenge') && c.lastRequest && now - c.sentAt > 3000) {
        // retransmit our last request every 3 s, 3 times at most
        if (c.tries >= 3) {
          this.dropConv(k);
          continue;
        }
        c.tries++;
        c.sentAt = now;
        this.d.send(c.sw, c.port, c.lastRequest);
      }
    }
    // MAB after the quiet period
    const quiet = cfg?.mab.quietMs ?? 3000;
    for (const [k, s] of this.seen) {
      if (now - s.at > 10 * 60_000) {
        this.seen.delete(k);
        continue;
      }
      if (s.eapol || s.mabDone || now - s.at < quiet) continue;
      const [mac, where] = k.split('@');
      const i = where.lastIndexOf(':');
      const sw = where.slice(0, i),
        port = Number(where.slice(i + 1));
      const rule = this.d.portRule(sw, port);
      if (rule?.auth === 'dot1x-then-mab' || rule?.auth === 'mab') void this.mab(sw, port, mac);
      else s.mabDone = true;
    }
    // re-authentication before Session-Timeout ends a session (the session stays active meanwhile)
    for (const s of this.d.sessions.list()) {
      if (!s.reauthAt || Date.parse(s.reauthAt) > now) continue;
      const k = `${s.mac}@${s.switch}:${s.port}`;
      if (this.convs.has(k)) continue;
      if (s.method === 'dot1x') {
        const c = this.newConv(s.switch, s.port, s.mac, 'dot1x', true);
        if (!c) continue;
        c.phase = 'identity';
        this.request(c, { code: 'request', id: this.nextId(c), type: EAP_TYPE.identity, data: Buffer.alloc(0) });
      } else if (s.method === 'mab') {
        const c = this.newConv(s.switch, s.port, s.mac, 'mab', true);
        if (!c) continue;
        this.dropConv(k);
        this.seen.delete(k);
        void this.mab(s.switch, s.port, s.mac);
      }
    }
  }

  private newConv(sw: string, port: number, mac: string, method: 'dot1x' | 'mab', reauth: boolean): Conversation | undefined {
    const pk = `${sw}:${port}`;
    const n = this.convCount.get(pk) ?? 0;
    if (n >= MAX_CONV_PER_PORT || this.convs.size >= MAX_CONV) {
      this.stats.rateLimited++;
      return undefined;
    }
    const c: Conversation = {
      key: `${mac}@${sw}:${port}`,
      sw,
      port,
      mac,
      phase: 'identity',
      eapId: Math.floor(Math.random() * 256),
      reauth,
      lastActivity: this.now(),
      sentAt: this.now(),
      tries: 0,
      method,
    };
    this.convs.set(c.key, c);
    this.convCount.set(pk, n + 1);
    return c;
  }

  private dropConv(k: string): void {
    const c = this.convs.get(k);
    if (!c) return;
    this.convs.delete(k);
    const pk = `${c.sw}:${c.port}`;
    const n = (this.convCount.get(pk) ?? 1) - 1;
    if (n <= 0) this.convCount.delete(pk);
    else this.convCount.set(pk, n);
  }

  private nextId(c: Conversation): number {
    c.eapId = (c.eapId + 1) & 0xff;
    return c.eapId;
  }

  private request(c: Conversation, p: EapPacket): void {
    c.eapId = p.id;
    c.lastRequest = eapFrame(c.mac, this.ourMac, p);
    c.lastActivity = c.sentAt = this.now();
    c.tries = 0;
    this.d.send(c.sw, c.port, c.lastRequest);
  }

  private remember(sw: string, port: number, mac: string, eapol: boolean): void {
    if (this.seen.size >= MAX_SEEN) return;
    this.seen.set(`${mac}@${sw}:${port}`, { at: this.now(), eapol, mabDone: false });
  }
}

export { PAE_GROUP };
