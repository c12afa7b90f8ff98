/**
 * Issue #11 item 4: a peer on the OpenFlow port cannot exhaust the controller's memory with multipart replies.
 * The controller runs as a child process (its RSS is read from /proc/PID/status); hostile peers are raw TCP clients
 * that complete the OpenFlow handshake and then send 64 KiB parts flagged "more".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { copyExample, waitFor } from '../helpers/tmp.js';
import { startChild, type Child } from './child.js';
import { RawPeer, bomb, morePart } from './raw-peer.js';

const OF = 18200,
  API = 18201;
let ctl: Child;
let base = 0;
const peak = { rss: 0 };

async function status(): Promise<{ alerts: Array<{ type: string; kind?: string; remote?: string }> }> {
  return (await fetch(`http://127.0.0.1:${API}/api/v1/status`)).json() as never;
}

/** A flow-stats part: `n` minimal entries (56 bytes each: header, empty OXM match, no instructions), flagged more. */
function flowPart(xid: number, n = 1169): Buffer {
  const b = Buffer.alloc(16 + n * 56);
  b.writeUInt8(4, 0);
  b.writeUInt8(19, 1);
  b.writeUInt16BE(b.length, 2);
  b.writeUInt32BE(xid, 4);
  b.writeUInt16BE(1, 8);
  b.writeUInt16BE(1, 10);
  for (let i = 0; i < n; i++) {
    const o = 16 + i * 56;
    b.writeUInt16BE(56, o);
    b.writeUInt16BE(1000 + (i & 0xff), o + 12); // length, priority
    b.writeBigUInt64BE(0x5ac1000000000000n + BigInt(i), o + 24); // cookie
    b.writeUInt16BE(1, o + 48);
    b.writeUInt16BE(4, o + 50); // OFPMT_OXM, length 4 (padded to 8)
  }
  return b;
}

/** Samples the child's RSS every 50 ms while `fn` runs; returns the peak. */
async function sampling<T>(fn: () => Promise<T>): Promise<T> {
  const t = setInterval(() => {
    try {
      peak.rss = Math.max(peak.rss, ctl.rssMb());
    } catch {
      /* exited */
    }
  }, 50);
  try {
    return await fn();
  } finally {
    clearInterval(t);
    peak.rss = Math.max(peak.rss, ctl.rssMb());
  }
}

describe('multipart bomb (raw OpenFlow peer against a controller child process)', () => {
  beforeAll(async () => {
    const dir = copyExample('basic');
    ctl = await startChild(join(dir, 'policy.yaml'), OF, API, {
      options: { multipartLimits: { perSessionBytes: 8 << 20, globalBytes: 12 << 20 } },
    });
    await new Promise((r) => setTimeout(r, 500));
    base = ctl.rssMb();
  }, 40_000);
  afterAll(async () => {
    await ctl?.stop();
  });

  it('unsolicited "more" parts (no request outstanding) get the peer disconnected at once; RSS stays bounded', async () => {
    const peers = await Promise.all(
      [0, 1, 2, 3].map(async (i) => {
        const p = new RawPeer(0xbad0n + BigInt(i));
        await p.connect(OF);
        await p.ready;
        return p;
      }),
    );
    await new Promise((r) => setTimeout(r, 200));
    const sent = await sampling(() => Promise.all(peers.map((p, i) => bomb(p, 4500, () => morePart(0x7fff0000 + i)))));
    await Promise.all(peers.map((p) => p.gone));
    // The controller hung up long before 4,500 parts (what it read before that sat in socket buffers only).
    for (const n of sent) expect(n).toBeLessThan(4500);
    console.log(
      `unsolicited bomb: parts written before disconnect ${sent.join(', ')}; RSS ${base.toFixed(0)} → peak ${peak.rss.toFixed(0)} MB`,
    );
    expect(peak.rss - base).toBeLessThan(100);
    const st = await status();
    expect(st.alerts.filter((a) => a.type === 'peer-violation' && a.kind === 'unsolicited-multipart').length).toBeGreaterThanOrEqual(4);
  }, 60_000);

  it('an endless reply to the handshake PORT_DESC is cut at its 1 MiB cap', async () => {
    const peer = new RawPeer(0xbad10n, {
      onPortDesc: (req, p) => {
        void bomb(p, 4500, () => morePart(req.xid));
        return true;
      },
    });
    await peer.connect(OF);
    await sampling(() => peer.gone);
    expect((await status()).alerts.some((a) => a.type === 'peer-violation' && a.kind === 'multipart-request-cap')).toBe(true);
    expect(peak.rss - base).toBeLessThan(100);
  }, 60_000);

  it('an endless flow read is cut at the per-session byte cap', async () => {
    let parts = 0;
    const peer = new RawPeer(0xbad20n, {
      onFlowRead: (req, p) => {
        void bomb(p, 4500, () => {
          parts++;
          return flowPart(req.xid);
        });
        return true;
      },
    });
    await peer.connect(OF);
    await sampling(() => peer.gone);
    expect(parts).toBeLessThan(4500);
    expect((await status()).alerts.some((a) => a.type === 'peer-violation' && a.kind === 'multipart-session-cap')).toBe(true);
    expect(peak.rss - base).toBeLessThan(100);
  }, 60_000);

  it('sessions each under their own cap are stopped by the global cap; the others keep their session', async () => {
    // 3 peers hold 5 MiB each of an unfinished flow read (cap 8 MiB per session, 12 MiB overall): the third is refused.
    const holders: RawPeer[] = [];
    const sent: number[] = [];
    for (let i = 0; i < 3; i++) {
      const idx = i;
      sent[idx] = 0;
      const p = new RawPeer(0xbad30n + BigInt(i), {
        onFlowRead: (req, peer) => {
          void (async () => {
            for (let k = 0; k < 80 && peer.open; k++) {
              sent[idx]++;
              if (!peer.raw(flowPart(req.xid))) await peer.drained();
            }
          })();
          return true;
        },
      });
      await p.connect(OF);
      holders.push(p);
      await waitFor(`peer ${i} sent its parts`, () => sent[idx] >= 80 || p.closed, 20_000);
      await new Promise((r) => setTimeout(r, 300));
    }
    await waitFor('the third peer is disconnected', () => holders[2].closed, 10_000);
    expect(holders[0].closed).toBe(false);
    expect(holders[1].closed).toBe(false);
    expect((await status()).alerts.some((a) => a.type === 'peer-violation' && a.kind === 'multipart-global-cap')).toBe(true);
    // What the closed sessions held is released: once the holders go, a new peer can hold as much again.
    for (const p of holders) p.close();
    await Promise.all(holders.map((p) => p.gone));
    await new Promise((r) => setTimeout(r, 300));
    let n = 0;
    const again = new RawPeer(0xbad40n, {
      onFlowRead: (req, peer) => {
        void (async () => {
          for (let k = 0; k < 80 && peer.open; k++) {
            n++;
            if (!peer.raw(flowPart(req.xid))) await peer.drained();
          }
        })();
        return true;
      },
    });
    await again.connect(OF);
    await waitFor('the new peer sent its parts', () => n >= 80, 20_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(again.closed).toBe(false);
    again.close();
  }, 90_000);

  it('memory is returned after the sessions close and the controller still answers', async () => {
    await new Promise((r) => setTimeout(r, 1000));
    const after = ctl.rssMb();
    console.log(`multipart bombs: RSS base ${base.toFixed(0)} MB, peak ${peak.rss.toFixed(0)} MB, after ${after.toFixed(0)} MB`);
    expect(after - base).toBeLessThan(100);
    expect((await fetch(`http://127.0.0.1:${API}/healthz`)).status).toBe(200);
  }, 20_000);
});

describe('multipart bomb against the default caps', () => {
  it('4,500 parts of 64 KiB answering a flow read: disconnected at the 32 MiB session cap, RSS < +100 MB', async () => {
    const dir = copyExample('basic');
    const c = await startChild(join(dir, 'policy.yaml'), OF + 2, API + 2);
    try {
      await new Promise((r) => setTimeout(r, 500));
      const b0 = c.rssMb();
      let parts = 0,
        top = b0;
      const peer = new RawPeer(0xbad50n, {
        onFlowRead: (req, p) => {
          void bomb(p, 4500, () => {
            parts++;
            return flowPart(req.xid);
          });
          return true;
        },
      });
      await peer.connect(OF + 2);
      const t = setInterval(() => {
        top = Math.max(top, c.rssMb());
      }, 50);
      await peer.gone;
      clearInterval(t);
      await new Promise((r) => setTimeout(r, 500));
      const after = c.rssMb();
      console.log(
        `default caps: ${parts} parts (${((parts * 65480) / 2 ** 20).toFixed(0)} MiB) written before disconnect; RSS ${b0.toFixed(0)} → peak ${top.toFixed(0)} → after ${after.toFixed(0)} MB`,
      );
      expect(parts).toBeLessThan(4500);
      expect(top - b0).toBeLessThan(100);
      expect(after - b0).toBeLessThan(100);
    } finally {
      await c.stop();
    }
  }, 60_000);
});
