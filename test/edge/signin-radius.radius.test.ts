/**
 * Web sign-in against RADIUS PAP, for real: a private FreeRADIUS (users file, PAP) answers the RadiusPapChecker;
 * the sign-in page binds the device's MAC to the user RADIUS accepted. A wrong password, an unknown user and a
 * server that does not answer grant nothing. A guest voucher on the same page works without any RADIUS.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../helpers/needs.js';
import { haveFreeradius, startFreeRadius, type FreeRadius } from '../helpers/freeradius.js';
import { RadiusClient } from '../../edge/radius.js';
import { RadiusPapChecker } from '../../edge/signin-radius.js';
import { SigninServer } from '../../edge/signin.js';
import { SessionTable } from '../../edge/sessions.js';
import { VoucherStore } from '../../edge/vouchers.js';

const PORT = 21520;
const LAPTOP = '02:00:00:00:0b:01';

describeWith({ freeradius: haveFreeradius }, 'web sign-in against a real FreeRADIUS (PAP)', () => {
  let fr: FreeRadius;
  let client: RadiusClient;
  beforeAll(async () => {
    fr = await startFreeRadius({
      port: PORT,
      innerPort: PORT + 1,
      users: [
        { name: 'dana', password: 'dana-pap-secret' },
        { name: 'eve', password: 'eve-pw', reply: { 'User-Name': 'eve.long' } },
      ],
    });
    client = new RadiusClient({
      servers: [{ host: '127.0.0.1', port: PORT, secret: Buffer.from(fr.secret), name: 'fr' }],
      timeoutMs: 1500,
      retries: 1,
      bindAddress: '127.0.0.1',
    });
  }, 60_000);
  afterAll(async () => {
    client?.close();
    await fr?.stop();
  });

  it('accepts the right password, names the user RADIUS answers with, refuses wrong passwords and unknown users', async () => {
    const pap = new RadiusPapChecker(() => client);
    expect(await pap.check('dana', 'dana-pap-secret')).toEqual({ ok: true, user: 'dana' });
    expect(await pap.check('eve', 'eve-pw')).toEqual({ ok: true, user: 'eve.long' });
    expect(await pap.check('dana', 'wrong')).toMatchObject({ ok: false, code: 'invalid' });
    expect(await pap.check('mallory', 'dana-pap-secret')).toMatchObject({ ok: false, code: 'invalid' });
    expect(await new RadiusPapChecker(() => undefined).check('dana', 'dana-pap-secret')).toMatchObject({ ok: false, code: 'unavailable' });
    // FreeRADIUS saw the password only hidden (its log never shows it in clear in our requests)
    expect(fr.log()).not.toContain('dana-pap-secret');
  }, 30_000);

  it('a server that does not answer is "unavailable" (fail closed), never a grant', async () => {
    const dead = new RadiusClient({
      servers: [{ host: '127.0.0.1', port: PORT + 5, secret: Buffer.from(fr.secret), name: 'dead' }],
      timeoutMs: 300,
      retries: 0,
      bindAddress: '127.0.0.1',
    });
    try {
      expect(await new RadiusPapChecker(() => dead).check('dana', 'dana-pap-secret')).toMatchObject({ ok: false, code: 'unavailable' });
    } finally {
      dead.close();
    }
  }, 30_000);

  it('the sign-in page binds the device to the RADIUS user; a wrong password binds nothing; a voucher makes a guest', async () => {
    const sessions = new SessionTable();
    const vouchers = new VoucherStore();
    const srv = new SigninServer(
      { host: '127.0.0.1', port: 0, sessionMs: 600_000, maxFailures: 5, lockoutMs: 60_000, requestsPerMinute: 1000 },
      {
        leases: { byIp: (ip) => (ip === '127.0.0.1' ? { mac: LAPTOP, ip, switch: 'e1', port: 4, source: 'dhcp' } : undefined) },
        sessions: sessions,
        settled: async () => {},
        checker: new RadiusPapChecker(() => client),
        vouchers,
      },
    );
    const { port } = await srv.listen();
    try {
      const base = `http://127.0.0.1:${port}`;
      const token = async () => (await (await fetch(`${base}/`)).text()).match(/name="csrf" value="([^"]+)"/)![1];
      const post = async (path: string, form: Record<string, string>) =>
        fetch(`${base}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ csrf: await token(), ...form }).toString(),
        });
      const bad = await post('/signin', { user: 'dana', password: 'nope' });
      expect(bad.status).toBe(401);
      expect(sessions.size).toBe(0);
      const ok = await post('/signin', { user: 'dana', password: 'dana-pap-secret' });
      expect(ok.status).toBe(200);
      expect(sessions.byMac(LAPTOP)).toMatchObject({ user: 'dana', method: 'web', switch: 'e1', port: 4 });
      await post('/signout', {});
      expect(sessions.size).toBe(0);
      const v = vouchers.create({ validMs: 3_600_000, by: 'test' });
      if (!v.ok) throw new Error(v.message);
      expect((await post('/voucher', { code: v.code })).status).toBe(200);
      expect(sessions.byMac(LAPTOP)).toMatchObject({ deviceGroup: 'guest', method: 'web' });
    } finally {
      await srv.close();
      sessions.stop();
    }
  }, 30_000);
});
