/**
 * Hostile input at the edge: malformed and flooded EAPOL from one port, EAP responses nobody asked for, RADIUS
 * answers with a wrong Response Authenticator or Message-Authenticator (or none), a RADIUS server that never
 * answers. Nothing crashes, nothing is granted, other ports keep working.
 */
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createSocket, type Socket } from 'node:dgram';
import { createHash, createHmac } from 'node:crypto';
import radius from 'radius';
import { Authenticator } from '../../edge/authenticator.js';
import { SessionTable } from '../../edge/sessions.js';
import { RadiusClient, checkAnswer } from '../../edge/radius.js';
import { eapFrame, PAE_GROUP } from '../../edge/eapol.js';
import type { AuthPolicy } from '../../compiler/auth.js';
import { Md5Supplicant } from '../helpers/supplicant.js';

const SECRET = 'hostile-test-secret';
const PORT_BASE = 18460;

const cfg: AuthPolicy = {
  servers: [],
  timeoutMs: 200,
  retries: 1,
  deadTimeMs: 1000,
  ports: [{ switch: 'e1', auth: 'dot1x', path: [] }],
  userAttribute: 'User-Name',
  mab: { quietMs: 100000, source: 'radius', groupAttribute: 'Filter-Id' },
  deviceGroups: [],
  reauthSeconds: 0,
  eapolPerSecond: 20,
  failureAlert: { count: 3, windowSeconds: 60 },
  conversationSeconds: 30,
};

/** A UDP "RADIUS server" whose answers a test shapes (or that never answers). */
function fakeServer(port: number, answer: (req: Buffer) => Buffer | undefined): Promise<Socket> {
  const s = createSocket('udp4');
  s.on('message', (m, r) => {
    const a = answer(m);
    if (a) s.send(a, r.port, r.address);
  });
  return new Promise((res) => s.bind(port, '127.0.0.1', () => res(s)));
}

/** A correct Access-Accept (or another code) for a request, with Message-Authenticator. */
function goodAnswer(
  req: Buffer,
  code = 'Access-Accept',
  attributes: Array<[string, unknown]> = [['User-Name', 'alice']],
  eap?: Buffer,
): Buffer {
  const parsed = radius.decode({ packet: req, secret: SECRET });
  const attrs: Array<[string, unknown]> = [...attributes];
  if (eap) attrs.push(['EAP-Message', eap]);
  return radius.encode_response({ packet: parsed, code, secret: SECRET, attributes: attrs });
}

function setup(client?: RadiusClient) {
  const sessions = new SessionTable();
  const sent: Array<{ port: number; frame: Buffer }> = [];
  const events: Array<{ type: string; [k: string]: unknown }> = [];
  const auth = new Authenticator({
    radius: () => client,
    sessions,
    config: () => cfg,
    portRule: (sw, port) => (sw === 'e1' ? cfg.ports[0] : undefined),
    send: (_sw, port, frame) => sent.push({ port, frame }),
    settled: async () => undefined,
    knownUser: (id) => id === 'alice',
    deviceOwner: () => undefined,
    event: (type, data) => events.push({ type, ...data }),
  });
  return { sessions, sent, events, auth };
}

describe('hostile EAPOL', () => {
  it('random and malformed frames from a port never throw and never grant; the port is rate limited; another port still logs in', async () => {
    let answered = 0;
    const srv = await fakeServer(PORT_BASE, (req) => {
      answered++;
      return goodAnswer(req, 'Access-Accept', [['User-Name', 'alice']], Buffer.from('03010004', 'hex'));
    });
    const client = new RadiusClient({
      servers: [{ host: '127.0.0.1', port: PORT_BASE, secret: Buffer.from(SECRET) }],
      timeoutMs: 300,
      retries: 0,
      bindAddress: '127.0.0.1',
    });
    const t = setup(client);
    try {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (a, stamp) => {
          const b = Buffer.from(a);
          if (stamp && b.length >= 14) b.writeUInt16BE(0x888e, 12);
          t.auth.eapol('e1', 1, b);
          return true;
        }),
        { numRuns: 3000 },
      );
      // EAP responses nobody asked for (wrong ids, wrong types) from many MACs
      for (let i = 0; i < 500; i++)
        t.auth.eapol(
          'e1',
          1,
          eapFrame(PAE_GROUP, `02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`, {
            code: 'response',
            id: i & 255,
            type: 4,
            data: Buffer.alloc(17),
          }),
        );
      expect(t.sessions.size).toBe(0);
      expect(t.auth.stats.rateLimited).toBeGreaterThan(3000);
      expect(t.events.some((e) => e.type === 'eapol-flood' && e.port === 1)).toBe(true);
      expect(t.auth.conversations()).toBeLessThanOrEqual(64);
      // port 2 is unaffected: a real login still works there
      const sup = new Md5Supplicant('02:00:00:00:99:01', 'alice', 'x');
      t.auth.eapol('e1', 2, sup.start());
      const req = t.sent.filter((s) => s.port === 2).at(-1)!;
      t.auth.eapol('e1', 2, sup.onFrame(req.frame)!);
      for (let i = 0; i < 50 && !t.sessions.byMac('02:00:00:00:99:01'); i++) await new Promise((r) => setTimeout(r, 20));
      expect(t.sessions.byMac('02:00:00:00:99:01')?.user).toBe('alice');
      expect(answered).toBeGreaterThan(0);
    } finally {
      t.auth.stop();
      t.sessions.stop();
      client.close();
      srv.close();
    }
  });
});

describe('hostile RADIUS answers', () => {
  const stops: Array<() => void> = [];
  afterEach(() => {
    for (const s of stops.splice(0)) s();
  });

  async function loginWith(port: number, answer: (req: Buffer) => Buffer | undefined) {
    const srv = await fakeServer(port, answer);
    const client = new RadiusClient({
      servers: [{ host: '127.0.0.1', port, secret: Buffer.from(SECRET) }],
      timeoutMs: 200,
      retries: 1,
      bindAddress: '127.0.0.1',
    });
    const t = setup(client);
    stops.push(() => {
      t.auth.stop();
      t.sessions.stop();
      client.close();
      srv.close();
    });
    const sup = new Md5Supplicant('02:00:00:00:77:01', 'alice', 'x');
    t.auth.eapol('e1', 3, sup.start());
    t.auth.eapol('e1', 3, sup.onFrame(t.sent.at(-1)!.frame)!);
    await new Promise((r) => setTimeout(r, 700));
    return { t, client, sup };
  }

  it('an Accept with a wrong Response Authenticator is dropped: no session, the request times out', async () => {
    const { t, client } = await loginWith(PORT_BASE + 1, (req) => {
      const a = goodAnswer(req);
      a[5] ^= 0xff;
      return a;
    });
    expect(t.sessions.size).toBe(0);
    expect(client.stats.dropped['bad-authenticator']).toBeGreaterThanOrEqual(1);
    expect(t.events.some((e) => e.type === 'radius-unreachable')).toBe(true);
  });

  it('an Accept carrying EAP-Message with a wrong Message-Authenticator (response authenticator recomputed) is dropped', async () => {
    const { t, client } = await loginWith(PORT_BASE + 2, (req) => {
      const a = goodAnswer(req, 'Access-Accept', [['User-Name', 'alice']], Buffer.from('03010004', 'hex'));
      // corrupt the Message-Authenticator, then fix the Response Authenticator so only the MA is wrong
      let off = 20;
      while (off < a.length && a[off] !== 80) off += a[off + 1];
      a[off + 2] ^= 0x55;
      const reqAuth = req.subarray(4, 20);
      const h = createHash('md5').update(a.subarray(0, 4)).update(reqAuth).update(a.subarray(20)).update(SECRET).digest();
      h.copy(a, 4);
      return a;
    });
    expect(t.sessions.size).toBe(0);
    expect(client.stats.dropped['bad-message-authenticator']).toBeGreaterThanOrEqual(1);
  });

  it('an Accept carrying EAP-Message without any Message-Authenticator is dropped (RFC 3579)', async () => {
    const { t, client } = await loginWith(PORT_BASE + 3, (req) => {
      const parsed = radius.decode({ packet: req, secret: SECRET });
      return radius.encode_response({
        packet: { ...parsed, attributes: {} },
        code: 'Access-Accept',
        secret: SECRET,
        attributes: [
          ['User-Name', 'alice'],
          ['EAP-Message', Buffer.from('03010004', 'hex')],
        ],
      });
    });
    expect(t.sessions.size).toBe(0);
    expect(client.stats.dropped['missing-message-authenticator']).toBeGreaterThanOrEqual(1);
  });

  it('an Accept for a user not in the directory grants nothing and sends EAP-Failure', async () => {
    const { t, sup } = await loginWith(PORT_BASE + 4, (req) =>
      goodAnswer(req, 'Access-Accept', [['User-Name', 'mallory']], Buffer.from('03010004', 'hex')),
    );
    expect(t.sessions.size).toBe(0);
    sup.onFrame(t.sent.at(-1)!.frame);
    expect(sup.result).toBe('failure');
    expect(t.events.some((e) => e.type === 'auth-reject' && e.reason === 'unknown-user')).toBe(true);
  });

  it('a server that never answers: retransmitted, then failover to the second server, which grants', async () => {
    const silent = await fakeServer(PORT_BASE + 5, () => undefined);
    let hits = 0;
    const good = await fakeServer(PORT_BASE + 6, (req) => {
      hits++;
      return goodAnswer(req, 'Access-Accept', [['User-Name', 'alice']], Buffer.from('03010004', 'hex'));
    });
    const client = new RadiusClient({
      servers: [
        { host: '127.0.0.1', port: PORT_BASE + 5, secret: Buffer.from(SECRET) },
        { host: '127.0.0.1', port: PORT_BASE + 6, secret: Buffer.from(SECRET) },
      ],
      timeoutMs: 150,
      retries: 1,
      bindAddress: '127.0.0.1',
    });
    stops.push(() => {
      client.close();
      silent.close();
      good.close();
    });
    const a = await client.request({ userName: 'alice', password: 'x' });
    expect(a.ok && a.code).toBe('Access-Accept');
    expect(client.stats.retransmits).toBe(1);
    expect(client.stats.failovers).toBe(1);
    expect(client.status()).toEqual([
      { server: '127.0.0.1:18465', up: false },
      { server: '127.0.0.1:18466', up: true },
    ]);
    // the dead server is skipped next time
    const b = await client.request({ userName: 'alice', password: 'x' });
    expect(b.ok).toBe(true);
    expect(hits).toBe(2);
  });

  it('checkAnswer: random bytes and bit flips of a good answer never pass', () => {
    const reqAuth = Buffer.alloc(16, 7);
    const make = () => {
      const body = radius.encode({
        code: 'Access-Accept',
        identifier: 9,
        authenticator: reqAuth,
        secret: SECRET,
        attributes: [
          ['User-Name', 'alice'],
          ['EAP-Message', Buffer.from('03090004', 'hex')],
        ],
        add_message_authenticator: true,
      });
      return body;
    };
    const good = make();
    expect(checkAnswer(good, reqAuth, 9, Buffer.from(SECRET))).toBeUndefined();
    fc.assert(
      fc.property(fc.nat(good.length * 8 - 1), (bit) => {
        const b = Buffer.from(good);
        b[bit >> 3] ^= 1 << (bit & 7);
        return checkAnswer(b, reqAuth, 9, Buffer.from(SECRET)) !== undefined;
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (a) => checkAnswer(Buffer.from(a), reqAuth, 9, Buffer.from(SECRET)) !== undefined),
      { numRuns: 3000 },
    );
    void createHmac;
  });
});
