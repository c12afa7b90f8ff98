/**
 * The syncrepl client's parser (strict: garbage is a SyncProtocolError, never a crash) and, against a fake server,
 * what a misbehaving push connection does: the session ends, the sync falls back to polling, the last good
 * snapshot stays, and an empty refresh is held by the shrink guard.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server, type Socket } from 'node:net';
import { BerWriter } from 'ldapts';
import { frameLength, parseMessage, SyncProtocolError } from '../../directory/syncrepl.js';
import { DirectorySync, LdapDirectorySource, readLdapConfig } from '../../directory/ldap.js';
import type { Directory } from '../../compiler/model.js';

const STATE = '1.3.6.1.4.1.4203.1.9.1.2',
  INFO = '1.3.6.1.4.1.4203.1.9.1.4';

function msg(id: number, body: (w: BerWriter) => void, controls?: (w: BerWriter) => void): Buffer {
  const w = new BerWriter();
  w.startSequence();
  w.writeInt(id);
  body(w);
  if (controls) {
    w.startSequence(0xa0);
    controls(w);
    w.endSequence();
  }
  w.endSequence();
  return w.buffer;
}
const result =
  (tag: number, code = 0) =>
  (w: BerWriter) => {
    w.startSequence(tag);
    w.writeEnumeration(code);
    w.writeString('');
    w.writeString('');
    w.endSequence();
  };
const uuid = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
const entry = (id: number, dn: string, state: number) =>
  msg(
    id,
    (w) => {
      w.startSequence(0x64);
      w.writeString(dn);
      w.startSequence();
      w.startSequence();
      w.writeString('uid');
      w.startSequence(0x31);
      w.writeString('x');
      w.endSequence();
      w.endSequence();
      w.endSequence();
      w.endSequence();
    },
    (w) => {
      const v = new BerWriter();
      v.startSequence();
      v.writeEnumeration(state);
      v.writeBuffer(uuid, 0x04);
      v.endSequence();
      w.startSequence();
      w.writeString(STATE);
      w.writeBuffer(v.buffer, 0x04);
      w.endSequence();
    },
  );
const info = (id: number, value: Buffer) =>
  msg(id, (w) => {
    w.startSequence(0x79);
    w.writeString(INFO, 0x80);
    w.writeBuffer(value, 0x81);
    w.endSequence();
  });
const refreshPresentDone = () => {
  const v = new BerWriter();
  v.startSequence(0xa2);
  v.writeBoolean(true);
  v.endSequence();
  return v.buffer;
};

describe('syncrepl message parser', () => {
  it('reads entries with their sync state, sync info and results', () => {
    const e = parseMessage(entry(7, 'uid=x,dc=t', 2));
    expect(e).toMatchObject({ id: 7, kind: 'entry', dn: 'uid=x,dc=t', state: 'modify', uuid: uuid.toString('hex') });
    expect(e.kind === 'entry' && e.attrs.get('uid')).toEqual(['x']);
    expect(parseMessage(info(3, refreshPresentDone()))).toEqual({
      id: 3,
      kind: 'info',
      info: { type: 'refreshPresent', cookie: undefined, refreshDone: true },
    });
    const ids = new BerWriter();
    ids.startSequence(0xa3);
    ids.writeBoolean(true);
    ids.startSequence(0x31);
    ids.writeBuffer(uuid, 0x04);
    ids.endSequence();
    ids.endSequence();
    expect(parseMessage(info(3, ids.buffer))).toMatchObject({
      info: { type: 'syncIdSet', refreshDeletes: true, uuids: [uuid.toString('hex')] },
    });
    expect(parseMessage(msg(4, result(0x65, 4096)))).toMatchObject({ kind: 'done', result: { code: 4096 } });
  });

  it('frames only complete messages', () => {
    const m = entry(1, 'uid=x,dc=t', 1);
    for (let n = 0; n < m.length; n++) expect(frameLength(m.subarray(0, n))).toBe(-1);
    expect(frameLength(Buffer.concat([m, m]))).toBe(m.length);
  });

  it('rejects malformed input with a SyncProtocolError, never anything else', () => {
    const good = [entry(1, 'uid=x,dc=t', 1), info(2, refreshPresentDone()), msg(3, result(0x65))];
    let rejected = 0;
    const check = (b: Buffer) => {
      try {
        const n = frameLength(b);
        if (n > 0) parseMessage(b.subarray(0, n));
      } catch (e) {
        expect(e).toBeInstanceOf(SyncProtocolError);
        rejected++;
      }
    };
    // every truncation (re-labelled as complete) and every single-byte corruption of valid messages
    for (const g of good) {
      for (let n = 2; n < g.length; n++) {
        const t = Buffer.from(g.subarray(0, n));
        t[1] = n - 2 < 128 ? n - 2 : t[1];
        check(t);
      }
      for (let i = 0; i < g.length; i++)
        for (const v of [0x00, 0x7f, 0x80, 0x84, 0xff]) {
          const c = Buffer.from(g);
          c[i] = v;
          check(c);
        }
    }
    // random bytes behind a SEQUENCE header
    let seed = 1;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff;
    for (let k = 0; k < 3000; k++) {
      const n = 1 + (rnd() % 60);
      const b = Buffer.from([0x30, n, ...Array.from({ length: n }, rnd)]);
      check(b);
    }
    expect(rejected).toBeGreaterThan(3000);
    expect(() => frameLength(Buffer.from([0x30, 0x84, 0x7f, 0xff, 0xff, 0xff]))).toThrow(/too large/);
    expect(() => frameLength(Buffer.from([0x31, 0x00]))).toThrow(SyncProtocolError);
  });
});

/** A fake LDAP server: the first connection answers the bind and completes the refresh of every search, then sends `garbage`; later connections are closed at once. */
async function fakeServer(garbage: Buffer): Promise<{ server: Server; port: number; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  let first = true;
  const server = createServer((sock) => {
    sockets.push(sock);
    if (!first) {
      sock.destroy();
      return;
    }
    first = false;
    let buf = Buffer.alloc(0);
    const searches: number[] = [];
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (let n = frameLength(buf); n > 0; n = frameLength(buf)) {
        const m = parseMessage(buf.subarray(0, n));
        buf = buf.subarray(n);
        if (m.kind !== 'other') continue;
        if (m.op === 0x60) sock.write(msg(m.id, result(0x61)));
        if (m.op === 0x63) {
          searches.push(m.id);
          sock.write(info(m.id, refreshPresentDone()));
          if (searches.length === 3) setTimeout(() => sock.write(garbage), 300);
        }
      }
    });
    sock.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, port: (server.address() as { port: number }).port, sockets };
}

const servers: Array<{ server: Server; sockets: Socket[] }> = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    for (const k of s.sockets) k.destroy();
    await new Promise((r) => s.server.close(r));
  }
});

describe('a misbehaving push connection', () => {
  for (const [what, garbage, error] of [
    ['malformed bytes', Buffer.from([0x30, 0x06, 0x02, 0x01, 0x02, 0x64, 0x85, 0xff]), /malformed/],
    ['an unknown message id', entry(99, 'uid=x,dc=t', 1), /unknown request 99/],
    [
      'an entry without a sync state',
      msg(2, (w) => {
        w.startSequence(0x64);
        w.writeString('uid=x');
        w.startSequence();
        w.endSequence();
        w.endSequence();
      }),
      /without a Sync State/,
    ],
    ['the end of a sync search', msg(2, result(0x65, 4096)), /refresh required/],
  ] as const) {
    it(`ends the session on ${what}: polling again, the last good snapshot kept, an empty refresh held`, async () => {
      const f = await fakeServer(garbage);
      servers.push(f);
      const { config } = readLdapConfig(
        { url: `ldap://127.0.0.1:${f.port}`, baseDn: 'dc=t', sync: 'push', timeout: '1s', pollInterval: '60s' },
        () => undefined,
      );
      const initial: Directory = { organizations: [], users: [{ id: 'ann', name: 'Ann', roles: [], devices: [] }], source: 'test' };
      const modes: string[] = [];
      let held = 0;
      const sync = new DirectorySync(
        new LdapDirectorySource(config!, '.'),
        { intervalMs: 60_000, pushRetryMs: 60_000, onMode: (m) => modes.push(m), onHeld: () => held++ },
        initial,
      );
      sync.start();
      try {
        const t = performance.now();
        while (!(modes.length === 2 && sync.status().consecutiveErrors > 0) && performance.now() - t < 5000)
          await new Promise((r) => setTimeout(r, 10));
        expect(modes).toEqual(['push', 'poll']);
        expect(sync.status().pushError).toMatch(error);
        expect(held).toBe(1); // the fake refresh had no users: held by the shrink guard, not published
        expect(sync.snapshot).toBe(initial);
        expect(sync.status().lastError).toMatch(/cannot reach|LDAP/); // the poll right away found the server gone
      } finally {
        sync.stop();
      }
    });
  }
});
