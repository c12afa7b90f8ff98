/**
 * Hostile input to guest vouchers: guessing (per-address lockout, and a global pause when many addresses guess),
 * replay of a used code from another device, expired and revoked codes, malformed and oversized codes, markup,
 * missing CSRF, and a state file that was tampered with. Nothing is granted on bad input; the code itself is never
 * stored (only its hash).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { SigninServer, type CheckResult, type CredentialChecker } from '../../edge/signin.js';
import { SessionTable } from '../../edge/sessions.js';
import { VoucherStore, normaliseCode } from '../../edge/vouchers.js';
import type { AddressLease } from '../../compiler/model.js';

class NoPasswords implements CredentialChecker {
  calls = 0;
  async check(): Promise<CheckResult> {
    this.calls++;
    return { ok: false, code: 'invalid', message: 'no' };
  }
}

let srv: SigninServer | undefined;
let sessions: SessionTable | undefined;
afterEach(async () => {
  await srv?.close();
  sessions?.stop();
  srv = undefined;
});

const macOf = (i: number) => `02:00:00:00:0a:${i.toString(16).padStart(2, '0')}`;

async function setup(opts: { failuresPerMinute?: number; now?: () => number } = {}) {
  sessions = new SessionTable();
  const now = opts.now ?? Date.now;
  const vouchers = new VoucherStore(now);
  const leases = new Map<string, AddressLease>();
  // device i connects from 127.0.0.(10+i)
  for (let i = 0; i < 20; i++)
    leases.set(`127.0.0.${10 + i}`, { mac: macOf(i), ip: `127.0.0.${10 + i}`, switch: 'e1', port: 3 + i, source: 'dhcp' });
  let changed = 0;
  srv = new SigninServer(
    {
      host: '127.0.0.1',
      port: 0,
      sessionMs: 600_000,
      maxFailures: 3,
      lockoutMs: 60_000,
      requestsPerMinute: 1000,
      voucherFailuresPerMinute: opts.failuresPerMinute,
    },
    {
      leases: { byIp: (ip) => leases.get(ip) },
      sessions: sessions,
      settled: async () => {},
      checker: new NoPasswords(),
      vouchers,
      vouchersChanged: () => {
        changed++;
      },
      now,
    },
  );
  const { port } = await srv.listen();
  const http = (dev: number, method: string, path: string, body?: string) =>
    new Promise<{ status: number; text: string }>((res, rej) => {
      const r = request(
        {
          host: '127.0.0.1',
          port,
          path,
          method,
          localAddress: `127.0.0.${10 + dev}`,
          agent: false,
          headers:
            body !== undefined ? { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) } : {},
        },
        (m) => {
          let t = '';
          m.setEncoding('utf8');
          m.on('data', (c) => (t += c));
          m.on('end', () => res({ status: m.statusCode ?? 0, text: t }));
        },
      );
      r.on('error', rej);
      r.end(body);
    });
  const token = async (dev: number) => (await http(dev, 'GET', '/')).text.match(/name="csrf" value="([^"]+)"/)?.[1] ?? '';
  const redeem = async (dev: number, code: string) =>
    http(dev, 'POST', '/voucher', new URLSearchParams({ csrf: await token(dev), code }).toString());
  return { vouchers, http, token, redeem, changed: () => changed };
}

const randomCode = () => {
  const a = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  let s = '';
  for (let i = 0; i < 16; i++) s += a[Math.floor(Math.random() * 32)];
  return s;
};

describe('guest vouchers against hostile use', () => {
  it('a valid code admits the device as guest; the page offers the voucher form; the store keeps only a hash', async () => {
    const t = await setup();
    expect((await t.http(0, 'GET', '/')).text).toContain('action="/voucher"');
    const c = t.vouchers.create({ validMs: 3_600_000, by: 'admin' });
    if (!c.ok) throw new Error(c.message);
    expect(c.code).toMatch(/^[A-Z2-9]{4}(-[A-Z2-9]{4}){3}$/);
    const r = await t.redeem(0, c.code.toLowerCase().replace(/-/g, ' '));
    expect(r.status).toBe(200);
    expect(r.text).toContain('signed in as a <strong>guest</strong>');
    expect(sessions!.byMac(macOf(0))).toMatchObject({ deviceGroup: 'guest', method: 'web', switch: 'e1', port: 3 });
    expect(t.changed()).toBe(1);
    const stored = JSON.stringify(t.vouchers.snapshot());
    expect(stored).not.toContain(normaliseCode(c.code)!);
    expect(JSON.stringify(t.vouchers.list())).not.toContain('hash');
  });

  it('guessing: wrong codes are refused alike, the address is locked out after 3, and even the right code is then refused', async () => {
    const t = await setup();
    const c = t.vouchers.create({ validMs: 3_600_000, by: 'admin' });
    if (!c.ok) throw new Error(c.message);
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await t.redeem(1, randomCode()));
    expect(answers.map((a) => a.status)).toEqual([401, 401, 401]);
    expect(new Set(answers.map((a) => a.text.match(/role="alert"[^>]*>([^<]*)/)?.[1]))).toEqual(
      new Set(['This voucher code is not valid.']),
    );
    const locked = await t.redeem(1, c.code);
    expect(locked.status).toBe(429);
    expect(sessions!.size).toBe(0);
    expect(t.vouchers.get(c.voucher.id)!.usedBy).toEqual([]);
    // another device is not locked out by this one
    expect((await t.redeem(2, c.code)).status).toBe(200);
  });

  it('many addresses guessing together pause voucher sign-in for everyone (no distributed brute force)', async () => {
    const t = await setup({ failuresPerMinute: 6 });
    const c = t.vouchers.create({ validMs: 3_600_000, by: 'admin' });
    if (!c.ok) throw new Error(c.message);
    for (let dev = 0; dev < 3; dev++) for (let k = 0; k < 2; k++) expect((await t.redeem(dev, randomCode())).status).toBe(401);
    const r = await t.redeem(9, c.code);
    expect(r.status).toBe(429);
    expect(r.text).toContain('paused');
    expect(sessions!.size).toBe(0);
    expect(srv!.counters['voucher-paused']).toBe(1);
  });

  it('replay: a single-use code used by one device is refused for another; the same device again keeps its one use', async () => {
    const t = await setup();
    const c = t.vouchers.create({ validMs: 3_600_000, uses: 1, by: 'admin' });
    if (!c.ok) throw new Error(c.message);
    expect((await t.redeem(3, c.code)).status).toBe(200);
    expect((await t.redeem(4, c.code)).status).toBe(401);
    expect(sessions!.byMac(macOf(4))).toBeUndefined();
    expect((await t.redeem(3, c.code)).status).toBe(200);
    expect(t.vouchers.get(c.voucher.id)!.usedBy).toEqual([macOf(3)]);
    // a captured form (token of device 3) replayed from device 5 is refused before the code is looked at
    const tok3 = await t.token(3);
    const r = await t.http(5, 'POST', '/voucher', new URLSearchParams({ csrf: tok3, code: c.code }).toString());
    expect(r.status).toBe(403);
    expect(sessions!.byMac(macOf(5))).toBeUndefined();
  });

  it('expired and revoked codes are refused like unknown ones', async () => {
    let now = Date.now();
    const t = await setup({ now: () => now });
    const a = t.vouchers.create({ validMs: 120_000, by: 'admin' });
    const b = t.vouchers.create({ validMs: 3_600_000, by: 'admin' });
    if (!a.ok || !b.ok) throw new Error('create');
    t.vouchers.revoke(b.voucher.id);
    now += 121_000;
    expect((await t.redeem(6, a.code)).status).toBe(401);
    expect((await t.redeem(7, b.code)).status).toBe(401);
    expect(sessions!.size).toBe(0);
    expect(
      t.vouchers
        .list()
        .map((v) => v.state)
        .sort(),
    ).toEqual(['expired', 'revoked']);
  });

  it('malformed, oversized, markup and non-ASCII codes and a missing CSRF token never throw and grant nothing', async () => {
    const t = await setup();
    for (const code of [
      '',
      'x'.repeat(5000),
      '<script>alert(1)</script>',
      'ÄÖÜ-ÄÖÜ-ÄÖÜ-ÄÖÜÄ',
      'AAAA-AAAA-AAAA-AAA1',
      '%00%00',
      'AAAA-AAAA-AAAA-AAAA-AAAA',
    ]) {
      const r = await t.redeem(8, code);
      expect([400, 401, 429]).toContain(r.status);
      expect(r.text).not.toContain('<script>alert');
    }
    const noCsrf = await t.http(9, 'POST', '/voucher', new URLSearchParams({ code: 'AAAA-AAAA-AAAA-AAAA' }).toString());
    expect(noCsrf.status).toBe(403);
    expect(sessions!.size).toBe(0);
    for (const s of ['', 'abc', 'A'.repeat(16), 'AAAA AAAA AAAA AAAA', 'aaaa-aaaa-aaaa-aaa0'])
      expect(normaliseCode(s) === undefined || normaliseCode(s) === 'A'.repeat(16)).toBe(true);
  });

  it('a tampered state file restores nothing it cannot trust; valid entries keep working', () => {
    const st = new VoucherStore();
    const c = st.create({ validMs: 3_600_000, by: 'admin' });
    if (!c.ok) throw new Error(c.message);
    const good = st.snapshot()[0];
    const other = new VoucherStore();
    const n = other.restore([
      good,
      { ...good, id: 'v-zz', hash: 'x' },
      { ...good, uses: -1 },
      { ...good, usedBy: [1] },
      null,
      'junk',
      { ...good, sessionMs: 1 },
    ]);
    expect(n).toBe(1);
    expect(other.redeem(c.code, macOf(1)).ok).toBe(true);
    expect(other.restore({ not: 'a list' })).toBe(0);
    expect(new VoucherStore().create({ validMs: 1, by: 'x' }).ok).toBe(false);
    expect(new VoucherStore().create({ validMs: 3_600_000, uses: 0, by: 'x' }).ok).toBe(false);
  });
});
