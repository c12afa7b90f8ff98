/**
 * Who logged in, and where: the authenticator trusts the EAP identity only when the method proved it (EAP-MD5),
 * never a tunnel's outer identity; an Accept with two different User-Names admits nobody; a MAC logging in on two
 * ports at once (A → B → A) is alerted and, under roaming.conflict deny-both, admitted on neither; a move (A → B)
 * is not a conflict; a device whose session is on another port is asked to authenticate where it now speaks.
 * RADIUS is scripted here (the real FreeRADIUS runs in dot1x.radius / dot1x*.mininet).
 */
import { describe, expect, it } from 'vitest';
import { Authenticator } from '../../edge/authenticator.js';
import { SessionTable } from '../../edge/sessions.js';
import { decodeEapolFrame, eapFrame, encodeEap, encodeEapolFrame, EAP_TYPE, PAE_GROUP } from '../../edge/eapol.js';
import type { AccessRequest, RadiusAnswer } from '../../edge/radius.js';
import type { AuthPolicy } from '../../compiler/auth.js';
import type { ConflictMode } from '../../edge/roaming.js';

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
  eapolPerSecond: 1000,
  failureAlert: { count: 100, windowSeconds: 60 },
  conversationSeconds: 30,
};
const MAC = '02:00:00:00:77:01';

/** The Accept RADIUS gives at the end of a conversation (the method round before it is a Challenge). */
type Final = { attributes?: Record<string, unknown>; userNames?: string[] };

function setup(final: Final, mode: ConflictMode = 'deny-both') {
  const sessions = new SessionTable();
  const sent: Array<{ port: number; frame: Buffer }> = [];
  const events: Array<{ type: string; [k: string]: unknown }> = [];
  const requests: AccessRequest[] = [];
  let now = 1_000_000;
  const radius = {
    async request(r: AccessRequest): Promise<RadiusAnswer> {
      requests.push(r);
      // Identity → a challenge for the method the test names in the identity ("peap:ann" / "md5:ann"); then Accept
      if (!r.state) {
        const type = r.userName!.startsWith('peap') ? EAP_TYPE.peap : EAP_TYPE.md5;
        return {
          ok: true,
          code: 'Access-Challenge',
          attributes: {},
          eap: encodeEap({ code: 'request', id: 7, type, data: Buffer.from([1, 2, 3]) }),
          state: Buffer.from('st'),
          server: 'fake',
          ms: 1,
        };
      }
      return {
        ok: true,
        code: 'Access-Accept',
        attributes: final.attributes ?? {},
        ...(final.userNames ? { userNames: final.userNames } : {}),
        eap: encodeEap({ code: 'success', id: 7, data: Buffer.alloc(0) }),
        server: 'fake',
        ms: 1,
      };
    },
  };
  const auth = new Authenticator({
    radius: () => radius,
    sessions,
    config: () => cfg,
    portRule: (sw) => (sw === 'e1' || sw === 'e2' ? { switch: sw, auth: 'dot1x', path: [] } : undefined),
    send: (_sw, port, frame) => sent.push({ port, frame }),
    settled: async () => undefined,
    knownUser: (id) => id === 'ann' || id === 'ben',
    deviceOwner: () => undefined,
    event: (type, data) => events.push({ type, ...data }),
    now: () => now,
    conflictMode: () => mode,
  });
  /** One login: Start, Identity, one method round (the type named by the identity's prefix); resolves when answered. */
  const login = async (sw: string, port: number, identity: string, mac = MAC): Promise<'success' | 'failure' | undefined> => {
    const before = sent.length;
    auth.eapol(sw, port, encodeEapolFrame({ dst: PAE_GROUP, src: mac, version: 2, type: 'start' }));
    const req = lastEap(sent.slice(before));
    if (!req) return undefined;
    if (req.code === 'failure') return 'failure';
    auth.eapol(sw, port, eapFrame(PAE_GROUP, mac, { code: 'response', id: req.id, type: EAP_TYPE.identity, data: Buffer.from(identity) }));
    await tick();
    const ch = lastEap(sent.slice(before))!;
    if (ch.code !== 'request') return ch.code === 'success' ? 'success' : 'failure';
    auth.eapol(sw, port, eapFrame(PAE_GROUP, mac, { code: 'response', id: ch.id, type: ch.type, data: Buffer.from([9]) }));
    await tick();
    const end = lastEap(sent.slice(before))!;
    return end.code === 'success' ? 'success' : end.code === 'failure' ? 'failure' : undefined;
  };
  return {
    sessions,
    sent,
    events,
    requests,
    auth,
    login,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

function lastEap(list: Array<{ frame: Buffer }>) {
  const f = list.at(-1);
  if (!f) return undefined;
  const d = decodeEapolFrame(f.frame);
  return d.ok ? d.value.eap : undefined;
}
const tick = () => new Promise((r) => setTimeout(r, 5));

describe('authenticator: whose login it is', () => {
  it('EAP-MD5 with no User-Name in the Accept: the identity it proved is the user', async () => {
    const t = setup({});
    expect(await t.login('e1', 1, 'ann')).toBe('success'); // (the fake server runs MD5 for identities without 'peap')
    expect(t.sessions.byMac(MAC)).toMatchObject({ user: 'ann', port: 1 });
  });

  it('a tunnel (PEAP) with no User-Name in the Accept: the outer identity is not trusted, nobody is admitted', async () => {
    const t = setup({});
    // the outer identity names a known user; the inner one is unknown to us
    const r = await t.login('e1', 1, 'peap:ann');
    expect(r).toBe('failure');
    expect(t.sessions.size).toBe(0);
    expect(t.events.find((e) => e.type === 'auth-reject')).toMatchObject({ reason: 'no-identity' });
  });

  it('a tunnel (PEAP) whose Accept names the inner user admits that user', async () => {
    const t = setup({ attributes: { 'User-Name': 'ben' }, userNames: ['ben'] });
    expect(await t.login('e1', 1, 'peap:anonymous')).toBe('success');
    expect(t.sessions.byMac(MAC)?.user).toBe('ben');
  });

  it('two different User-Names in one Accept (outer next to inner) admit nobody', async () => {
    const t = setup({ attributes: { 'User-Name': 'ben' }, userNames: ['ann', 'ben'] });
    expect(await t.login('e1', 1, 'peap:ann')).toBe('failure');
    expect(t.sessions.size).toBe(0);
    expect(t.events.find((e) => e.type === 'auth-reject')).toMatchObject({ reason: 'ambiguous-user' });
  });
});

describe('authenticator: roaming and a MAC on two ports at once', () => {
  const ann = { attributes: { 'User-Name': 'ann' }, userNames: ['ann'] };

  it('A → B is a move: the session follows, no alert', async () => {
    const t = setup(ann);
    expect(await t.login('e1', 1, 'ann')).toBe('success');
    expect(await t.login('e2', 5, 'ann')).toBe('success');
    expect(t.sessions.byMac(MAC)).toMatchObject({ switch: 'e2', port: 5 });
    expect(t.events.filter((e) => e.type === 'mac-conflict')).toEqual([]);
  });

  it('A → B → A within the window (deny-both): alerted, the session ends, the MAC is refused on both ports without asking RADIUS until the hold ends', async () => {
    const t = setup(ann);
    await t.login('e1', 1, 'ann');
    await t.login('e2', 5, 'ann');
    t.advance(2000);
    expect(await t.login('e1', 1, 'ann')).toBe('failure');
    expect(t.sessions.byMac(MAC)).toBeUndefined();
    expect(t.events.find((e) => e.type === 'mac-conflict')).toMatchObject({
      mac: MAC,
      switch: 'e1',
      port: 1,
      alsoAt: 'e2:5',
      action: 'deny-both',
    });
    expect(t.events.find((e) => e.type === 'auth-reject' && e.reason === 'mac-conflict')).toMatchObject({ switch: 'e1', port: 1 });
    // held: both ports get EAP-Failure at once, RADIUS is not asked
    const asked = t.requests.length;
    expect(await t.login('e2', 5, 'ann')).toBe('failure');
    expect(await t.login('e1', 1, 'ann')).toBe('failure');
    expect(t.requests.length).toBe(asked);
    expect(t.sessions.size).toBe(0);
    // a frame from the MAC does not start a conversation either
    const n = t.sent.length;
    t.auth.seenMac('e2', 5, MAC);
    expect(t.sent.length).toBe(n);
    // after the hold (60 s) it may log in again, as a first sighting
    t.advance(61_000);
    expect(await t.login('e2', 5, 'ann')).toBe('success');
    expect(t.sessions.byMac(MAC)).toMatchObject({ switch: 'e2', port: 5 });
    // another MAC was never affected
    expect(await t.login('e1', 1, 'ann', '02:00:00:00:77:02')).toBe('success');
  });

  it('a session hours old at A, a login at B, and A logs in again seconds later: a conflict (the window runs from the arrival at B)', async () => {
    const t = setup(ann);
    await t.login('e1', 1, 'ann');
    t.advance(3 * 3600_000);
    await t.login('e2', 5, 'ann');
    t.advance(5000);
    expect(await t.login('e1', 1, 'ann')).toBe('failure');
    expect(t.events.filter((e) => e.type === 'mac-conflict')).toHaveLength(1);
  });

  it('A → B → A after the window is two moves, not a conflict', async () => {
    const t = setup(ann);
    await t.login('e1', 1, 'ann');
    await t.login('e2', 5, 'ann');
    t.advance(31_000); // back at the first desk half a minute after arriving at the second
    expect(await t.login('e1', 1, 'ann')).toBe('success');
    expect(t.events.filter((e) => e.type === 'mac-conflict')).toEqual([]);
  });

  it('roaming.conflict newest: alerted, and the newest login wins', async () => {
    const t = setup(ann, 'newest');
    await t.login('e1', 1, 'ann');
    await t.login('e2', 5, 'ann');
    expect(await t.login('e1', 1, 'ann')).toBe('success');
    expect(t.events.find((e) => e.type === 'mac-conflict')).toMatchObject({ action: 'newest' });
    expect(t.sessions.byMac(MAC)).toMatchObject({ switch: 'e1', port: 1 });
  });

  it('a device logged in elsewhere that speaks on a dot1x port is asked to authenticate there', async () => {
    const t = setup(ann);
    await t.login('e1', 1, 'ann');
    const n = t.sent.length;
    t.auth.seenMac('e1', 1, MAC); // where it is logged in: nothing to ask
    expect(t.sent.length).toBe(n);
    t.auth.seenMac('e2', 5, MAC); // somewhere else: EAP-Request/Identity there
    expect(t.sent.length).toBe(n + 1);
    expect(t.sent.at(-1)!.port).toBe(5);
    expect(lastEap(t.sent)).toMatchObject({ code: 'request', type: EAP_TYPE.identity });
  });

  it('link up: the port is asked for an identity (EAP-Request/Identity to the PAE group) and the answer logs the device in again', async () => {
    const t = setup({ attributes: { 'User-Name': 'ann' } });
    expect(await t.login('e1', 1, 'md5:ann')).toBe('success');
    expect(t.auth.portDown('e1', 1)).toBe(1);
    expect(t.sessions.byMac(MAC)).toBeUndefined();
    const before = t.sent.length;
    t.auth.portUp('e1', 1);
    t.auth.portUp('nope', 1); // not an authenticating port: nothing sent
    expect(t.sent.length).toBe(before + 1);
    const f = decodeEapolFrame(t.sent[before].frame);
    if (!f.ok) throw new Error('undecodable');
    expect(f.value.dst).toBe(PAE_GROUP);
    expect(f.value.eap).toMatchObject({ code: 'request', type: EAP_TYPE.identity });
    // the supplicant answers the group request (it sent no EAPOL-Start): a conversation starts from its Response
    t.auth.eapol(
      'e1',
      1,
      eapFrame(PAE_GROUP, MAC, { code: 'response', id: f.value.eap!.id, type: EAP_TYPE.identity, data: Buffer.from('md5:ann') }),
    );
    await tick();
    const ch = lastEap(t.sent)!;
    expect(ch).toMatchObject({ code: 'request', type: EAP_TYPE.md5 });
    t.auth.eapol('e1', 1, eapFrame(PAE_GROUP, MAC, { code: 'response', id: ch.id, type: ch.type, data: Buffer.from([9]) }));
    await tick();
    expect(lastEap(t.sent)?.code).toBe('success');
    expect(t.sessions.byMac(MAC)).toMatchObject({ user: 'ann', switch: 'e1', port: 1 });
  });
});
