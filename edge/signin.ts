/**
 * Web sign-in: a plain HTML form served by the controller to devices in the `unauthenticated` state.
 *
 * The device is identified by the address it connects from: the DHCP lease of that address (on the port where it
 * was leased) names its MAC and switch port — the switch's anti-spoofing admits that address only from that MAC on
 * that port, so another device cannot sign in for it. Credentials are checked by a real LDAP bind as the user
 * (edge/signin-ldap.ts); the password is never logged or kept. On success a session (method 'web') binds the
 * MAC to the user for `sessionTime`; the answer is sent only after the switches confirm the new flows.
 *
 * Against abuse: a per-address request rate, failure counters per user and per address with lockout, a CSRF token
 * bound to the device's address (HMAC, time-limited) plus an Origin check, a small body limit, no redirect to
 * anything the request names, every output HTML-escaped, security headers. Works without JavaScript.
 */
import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AddressLease } from '../compiler/model.js';
import type { VoucherStore } from './vouchers.js';
import { GUEST_ROLE } from '../compiler/first-contact.js';

export type CheckResult = { ok: true; user: string } | { ok: false; code: 'invalid' | 'unavailable'; message: string };

/** Checks a user name and password (LDAP bind, RADIUS PAP …). Never logs the password. */
export interface CredentialChecker {
  check(user: string, password: string): Promise<CheckResult>;
}

export interface SigninSessions {
  add(
    s: { mac: string; switch: string; port: number; method: 'web'; user?: string; deviceGroup?: string; expires?: string },
    by?: string,
  ): { ok: true; session: { id: string } } | { ok: false; message: string };
  byMac(mac: string): { id: string; user?: string; method: string; switch: string; port: number; expires?: string } | undefined;
  remove(id: string, reason: string, by?: string): boolean;
}

export interface SigninDeps {
  readonly leases: { byIp(ip: string): AddressLease | undefined };
  readonly sessions: SigninSessions;
  /** Resolves when the switches have the flows for every change so far (barrier). */
  readonly settled: () => Promise<void>;
  readonly checker: CredentialChecker;
  readonly event?: (type: string, data: Record<string, unknown>) => void;
  readonly now?: () => number;
  /** Guest vouchers (edge/vouchers.ts): the page offers a voucher form when given. */
  readonly vouchers?: VoucherStore;
  /** Called after a voucher was redeemed (the controller saves its state). */
  readonly vouchersChanged?: () => void;
}

export interface SigninConfig {
  readonly host: string;
  readonly port: number;
  readonly tls?: { cert: Buffer | string; key: Buffer | string };
  /** How long a web session lasts (ms). */
  readonly sessionMs: number;
  /** Failed attempts (per user, and per device address) before a lockout. */
  readonly maxFailures: number;
  readonly lockoutMs: number;
  /** Requests per minute accepted from one address. */
  readonly requestsPerMinute: number;
  /** Title shown on the page. */
  readonly title?: string;
  /** Wrong voucher codes per minute from all addresses together before voucher sign-in pauses for `lockoutMs` (default 100). */
  readonly voucherFailuresPerMinute?: number;
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const USER_RE = /^[A-Za-z0-9._@-]{1,64}$/;
const MAX_BODY = 4096;

/** What the sign-in page counts: requests by outcome (GET /api/v1/leases `signin.counters`; the contract's
 * SigninCounters has these keys). */
export type SigninCounter =
  | 'accepted'
  | 'rejected'
  | 'unavailable'
  | 'bad-input'
  | 'locked-out'
  | 'lease-changed'
  | 'session-refused'
  | 'voucher-accepted'
  | 'voucher-rejected'
  | 'voucher-paused'
  | 'rate-limited'
  | 'no-lease'
  | 'cross-origin'
  | 'bad-body'
  | 'bad-csrf'
  | 'not-found';

interface Failures {
  n: number;
  until: number;
  at: number;
}

export class SigninServer {
  private server?: Server;
  private readonly secret = randomBytes(32);
  private readonly now: () => number;
  private readonly failures = new Map<string, Failures>();
  private readonly rate = new Map<string, { n: number; since: number }>();
  /** Wrong voucher codes from everyone in the current minute, and until when voucher sign-in is paused. */
  private voucherFails = { n: 0, since: 0, pausedUntil: 0 };
  /** Requests by outcome: a key is present once counted. */
  readonly counters: Partial<Record<SigninCounter, number>> = Object.create(null);
  /** Sign-in → session added → switches confirmed, ms (for the benchmark and metrics). */
  readonly latencies: number[] = [];

  constructor(
    readonly config: SigninConfig,
    private readonly deps: SigninDeps,
  ) {
    this.now = deps.now ?? Date.now;
  }

  private count(k: SigninCounter): void {
    this.counters[k] = (this.counters[k] ?? 0) + 1;
  }

  async listen(): Promise<{ host: string; port: number }> {
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      this.handle(req, res).catch(() => {
        if (!res.headersSent) this.page(res, 500, 'Error', '<p role="alert">Something went wrong. Try again.</p>');
        else res.end();
      });
    };
    this.server = this.config.tls ? createHttps({ cert: this.config.tls.cert, key: this.config.tls.key }, handler) : createHttp(handler);
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 15_000;
    this.server.maxHeadersCount = 50;
    await new Promise<void>((res, rej) => {
      this.server!.once('error', rej);
      this.server!.listen(this.config.port, this.config.host, () => res());
    });
    const a = this.server.address() as { address: string; port: number };
    return { host: a.address, port: a.port };
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections?.();
    await new Promise<void>((res) => s.close(() => res()));
  }

  // ---------- abuse controls ----------

  private allowRequest(ip: string): boolean {
    const t = this.now();
    let r = this.rate.get(ip);
    if (!r || t - r.since > 60_000) {
      r = { n: 0, since: t };
      this.rate.set(ip, r);
      if (this.rate.size > 100_000) this.rate.delete(this.rate.keys().next().value!);
    }
    return ++r.n <= this.config.requestsPerMinute;
  }

  private locked(key: string): number {
    const f = this.failures.get(key);
    if (!f) return 0;
    const t = this.now();
    if (f.until > t) return f.until - t;
    if (t - f.at > this.config.lockoutMs) this.failures.delete(key);
    return 0;
  }

  private fail(key: string): void {
    const t = this.now();
    let f = this.failures.get(key);
    if (!f || (f.until <= t && t - f.at > this.config.lockoutMs)) f = { n: 0, until: 0, at: t };
    f.n++;
    f.at = t;
    if (f.n >= this.config.maxFailures) {
      f.until = t + this.config.lockoutMs;
      f.n = 0;
    }
    this.failures.set(key, f);
    if (this.failures.size > 100_000) this.failures.delete(this.failures.keys().next().value!);
  }

  /** A CSRF token bound to the device's address, valid for 30 minutes. */
  token(ip: string): string {
    const ts = Math.floor(this.now() / 1000).toString(36);
    return `${ts}.${createHmac('sha256', this.secret).update(`${ip}|${ts}`).digest('base64url')}`;
  }

  private tokenOk(ip: string, tok: string | undefined): boolean {
    if (!tok || tok.length > 100) return false;
    const [ts, mac] = tok.split('.');
    if (!ts || !mac || !/^[0-9a-z]{1,10}$/.test(ts)) return false;
    const age = this.now() / 1000 - parseInt(ts, 36);
    if (!(age >= -5 && age <= 1800)) return false;
    const want = createHmac('sha256', this.secret).update(`${ip}|${ts}`).digest();
    const got = Buffer.from(mac, 'base64url');
    return got.length === want.length && timingSafeEqual(got, want);
  }

  // ---------- HTTP ----------

  private page(res: ServerResponse, status: number, title: string, body: string): void {
    const t = esc(this.config.title ?? 'Network sign-in');
    const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} — ${t}</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem;line-height:1.5}label{display:block;margin-top:1rem;font-weight:600}input{font-size:1rem;padding:.5rem;width:100%;box-sizing:border-box}button{margin-top:1.25rem;font-size:1rem;padding:.6rem 1.2rem}[role=alert]{color:#8b0000;font-weight:600}</style>
</head><body><main><h1>${esc(title)}</h1>
${body}
</main></body></html>`;
    res.writeHead(status, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy':
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
      'x-frame-options': 'DENY',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'same-origin', // no-referrer would make browsers send "Origin: null" with the form
    });
    res.end(html);
  }

  private form(ip: string, msg?: string): string {
    return `${msg ? `<p role="alert" id="err">${esc(msg)}</p>` : '<p>Sign in with your directory account to use the network.</p>'}
<form method="post" action="/signin">
<input type="hidden" name="csrf" value="${esc(this.token(ip))}">
<label for="user">User name</label>
<input id="user" name="user" autocomplete="username" required maxlength="64"${msg ? ' aria-describedby="err"' : ''}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required maxlength="256">
<button type="submit">Sign in</button>
</form>${
      this.deps.vouchers
        ? `
<h2>Guests</h2>
<form method="post" action="/voucher">
<input type="hidden" name="csrf" value="${esc(this.token(ip))}">
<label for="code">Voucher code</label>
<input id="code" name="code" autocomplete="off" required maxlength="32" placeholder="XXXX-XXXX-XXXX-XXXX" spellcheck="false">
<button type="submit">Use voucher</button>
</form>`
        : ''
    }`;
  }

  private async body(req: IncomingMessage): Promise<URLSearchParams | undefined> {
    const ct = String(req.headers['content-type'] ?? '')
      .split(';')[0]
      .trim()
      .toLowerCase();
    if (ct !== 'application/x-www-form-urlencoded') return undefined;
    const len = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(len) && len > MAX_BODY) return undefined;
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const c of req) {
      n += (c as Buffer).length;
      if (n > MAX_BODY) return undefined;
      chunks.push(c as Buffer);
    }
    return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
  }

  /** A POST from another site: its Origin (when a browser sends one) must be this server. */
  private sameOrigin(req: IncomingMessage): boolean {
    const o = req.headers.origin;
    if (o === undefined) return true;
    try {
      return new URL(String(o)).host === String(req.headers.host ?? '');
    } catch {
      return false;
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const ip = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    if (!this.allowRequest(ip)) {
      this.count('rate-limited');
      res.writeHead(429, { 'retry-after': '60', 'content-type': 'text/plain' });
      res.end('Too many requests: wait a minute.\n');
      return;
    }
    const path = (req.url ?? '/').split('?')[0];
    const lease = this.deps.leases.byIp(ip);
    if (req.method === 'GET' && (path === '/' || path === '/signin')) {
      if (!lease) {
        this.count('no-lease');
        this.page(
          res,
          403,
          'Not on this network',
          '<p role="alert">This device has no address from this network’s DHCP: sign-in is only possible from a device on an access port.</p>',
        );
        return;
      }
      const s = this.deps.sessions.byMac(lease.mac);
      if (
        s &&
        s.method === 'web' &&
        (s.user || (s as { deviceGroup?: string }).deviceGroup === GUEST_ROLE) &&
        s.switch === lease.switch &&
        s.port === lease.port
      ) {
        this.page(
          res,
          200,
          'Signed in',
          `<p>You are signed in as <strong>${esc(s.user ?? 'guest')}</strong>${s.expires ? ` until ${esc(s.expires)}` : ''}.</p>
<form method="post" action="/signout"><input type="hidden" name="csrf" value="${esc(this.token(ip))}"><button type="submit">Sign out</button></form>`,
        );
        return;
      }
      this.page(res, 200, 'Sign in', this.form(ip));
      return;
    }
    if (req.method === 'POST' && (path === '/signin' || path === '/signout' || (path === '/voucher' && this.deps.vouchers))) {
      if (!this.sameOrigin(req)) {
        this.count('cross-origin');
        this.page(res, 403, 'Refused', '<p role="alert">This form must be sent from the sign-in page itself.</p>');
        return;
      }
      const form = await this.body(req);
      if (!form) {
        this.count('bad-body');
        this.page(res, 400, 'Refused', '<p role="alert">The form could not be read.</p>');
        return;
      }
      if (!this.tokenOk(ip, form.get('csrf') ?? undefined)) {
        this.count('bad-csrf');
        this.page(res, 403, 'Sign in', this.form(ip, 'The form expired or did not come from this page. Please try again.'));
        return;
      }
      if (!lease) {
        this.count('no-lease');
        this.page(res, 403, 'Not on this network', '<p role="alert">This device has no address from this network’s DHCP.</p>');
        return;
      }
      if (path === '/signout') {
        const s = this.deps.sessions.byMac(lease.mac);
        if (s && s.method === 'web') this.deps.sessions.remove(s.id, 'sign-out', 'web');
        await this.deps.settled();
        this.deps.event?.('signin-signout', { mac: lease.mac, switch: lease.switch, port: lease.port, user: s?.user });
        this.page(res, 200, 'Signed out', '<p>You are signed out. <a href="/">Sign in again</a></p>');
        return;
      }
      if (path === '/voucher') {
        await this.voucher(res, ip, lease, form);
        return;
      }
      await this.signin(res, ip, lease, form);
      return;
    }
    this.count('not-found');
    res.writeHead(req.method === 'GET' || req.method === 'POST' ? 404 : 405, { 'content-type': 'text/plain' });
    res.end('Not found\n');
  }

  /** A guest's voucher: the device joins the role `guest` for the voucher's session time. */
  private async voucher(res: ServerResponse, ip: string, lease: AddressLease, form: URLSearchParams): Promise<void> {
    const store = this.deps.vouchers!;
    const code = form.get('code') ?? '';
    const t = this.now();
    if (this.voucherFails.pausedUntil > t) {
      this.count('voucher-paused');
      this.page(res, 429, 'Sign in', this.form(ip, 'Voucher sign-in is paused after many wrong codes. Try again in a few minutes.'));
      return;
    }
    const lockIp = this.locked(`a:${ip}`);
    if (lockIp) {
      this.count('locked-out');
      this.deps.event?.('signin-locked', { ip, mac: lease.mac, voucher: true });
      this.page(res, 429, 'Sign in', this.form(ip, `Too many failed attempts. Try again in ${Math.ceil(lockIp / 60_000)} minute(s).`));
      return;
    }
    const r = code.length <= 64 ? store.redeem(code, lease.mac) : { ok: false as const, code: 'invalid' as const };
    if (!r.ok) {
      this.fail(`a:${ip}`);
      const vf = this.voucherFails;
      if (t - vf.since > 60_000) {
        vf.n = 0;
        vf.since = t;
      }
      if (++vf.n >= (this.config.voucherFailuresPerMinute ?? 100)) {
        vf.pausedUntil = t + this.config.lockoutMs;
        this.deps.event?.('voucher-guessing-alert', { failures: vf.n, pausedUntil: new Date(vf.pausedUntil).toISOString() });
      }
      this.count('voucher-rejected');
      this.deps.event?.('voucher-failed', { ip, mac: lease.mac, switch: lease.switch, port: lease.port });
      this.page(res, 401, 'Sign in', this.form(ip, 'This voucher code is not valid.'));
      return;
    }
    const expires = new Date(Math.min(t + r.sessionMs, t + 31 * 86_400_000)).toISOString();
    const a = this.deps.sessions.add(
      { mac: lease.mac, switch: lease.switch, port: lease.port, method: 'web', deviceGroup: GUEST_ROLE, expires },
      `voucher:${r.voucher.id}`,
    );
    if (!a.ok) {
      this.count('session-refused');
      this.page(res, 503, 'Sign in', this.form(ip, 'Sign-in could not be completed. Try again later.'));
      return;
    }
    this.deps.vouchersChanged?.();
    await this.deps.settled();
    this.count('voucher-accepted');
    this.deps.event?.('voucher-redeemed', {
      voucher: r.voucher.id,
      mac: lease.mac,
      switch: lease.switch,
      port: lease.port,
      ip,
      expires,
      again: r.again,
    });
    this.page(
      res,
      200,
      'Signed in',
      `<p>You are signed in as a <strong>guest</strong> until ${esc(expires)}.</p>
<form method="post" action="/signout"><input type="hidden" name="csrf" value="${esc(this.token(ip))}"><button type="submit">Sign out</button></form>`,
    );
  }

  private async signin(res: ServerResponse, ip: string, lease: AddressLease, form: URLSearchParams): Promise<void> {
    const t0 = performance.now();
    const user = (form.get('user') ?? '').trim();
    const password = form.get('password') ?? '';
    if (!USER_RE.test(user) || !password || password.length > 256) {
      this.count('bad-input');
      this.page(res, 400, 'Sign in', this.form(ip, 'Enter your user name and password.'));
      return;
    }
    const lockUser = this.locked(`u:${user.toLowerCase()}`),
      lockIp = this.locked(`a:${ip}`);
    if (lockUser || lockIp) {
      this.count('locked-out');
      this.deps.event?.('signin-locked', { user, ip, mac: lease.mac });
      this.page(
        res,
        429,
        'Sign in',
        this.form(ip, `Too many failed attempts. Try again in ${Math.ceil(Math.max(lockUser, lockIp) / 60_000)} minute(s).`),
      );
      return;
    }
    const r = await this.deps.checker.check(user, password);
    if (!r.ok) {
      if (r.code === 'invalid') {
        this.fail(`u:${user.toLowerCase()}`);
        this.fail(`a:${ip}`);
      }
      this.count(r.code === 'invalid' ? 'rejected' : 'unavailable');
      this.deps.event?.('signin-failed', { user, ip, mac: lease.mac, switch: lease.switch, port: lease.port, reason: r.code });
      this.page(
        res,
        r.code === 'invalid' ? 401 : 503,
        'Sign in',
        this.form(
          ip,
          r.code === 'invalid' ? 'The user name or password is wrong.' : 'The sign-in service is unavailable. Try again later.',
        ),
      );
      return;
    }
    this.failures.delete(`u:${user.toLowerCase()}`);
    // the lease may have moved while the directory answered: bind only what still holds
    const now = this.deps.leases.byIp(ip);
    if (!now || now.mac !== lease.mac || now.switch !== lease.switch || now.port !== lease.port) {
      this.count('lease-changed');
      this.page(res, 409, 'Sign in', this.form(ip, 'Your address changed while signing in. Please try again.'));
      return;
    }
    const expires = new Date(this.now() + this.config.sessionMs).toISOString();
    const a = this.deps.sessions.add(
      { mac: lease.mac, switch: lease.switch, port: lease.port, method: 'web', user: r.user, expires },
      'web',
    );
    if (!a.ok) {
      this.count('session-refused');
      this.page(res, 503, 'Sign in', this.form(ip, 'Sign-in could not be completed. Try again later.'));
      return;
    }
    await this.deps.settled();
    const ms = performance.now() - t0;
    this.latencies.push(ms);
    if (this.latencies.length > 10_000) this.latencies.splice(0, 5_000);
    this.count('accepted');
    this.deps.event?.('signin-accepted', {
      user: r.user,
      mac: lease.mac,
      switch: lease.switch,
      port: lease.port,
      ip,
      expires,
      ms: Math.round(ms),
    });
    // no redirect to anything the request names: a fixed page of our own
    this.page(
      res,
      200,
      'Signed in',
      `<p>You are signed in as <strong>${esc(r.user)}</strong> until ${esc(expires)}.</p>
<form method="post" action="/signout"><input type="hidden" name="csrf" value="${esc(this.token(ip))}"><button type="submit">Sign out</button></form>`,
    );
  }
}
