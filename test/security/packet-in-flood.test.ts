/**
 * Issue #11 item 6 (PACKET_IN flood): a switch peer sends spoofed PACKET_INs at a high rate — a user's MAC jumping
 * between two ports and thousands of invented MACs. The controller (a child process, RSS from /proc) learns at a
 * bounded rate per port, holds the flapping MAC with one alert instead of recompiling per packet, keeps the audit
 * bounded and its event loop responsive (what a status request waits during the flood, in the controller's CPU time).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { encodeMany, type OfpMessage } from '../../openflow/index.js';
import { copyExample, waitFor } from '../helpers/tmp.js';
import { startChild, type Child } from './child.js';
import { RawPeer } from './raw-peer.js';

const OF = 18210,
  API = 18211;
const TOM = '02:00:00:00:01:0a'; // campus: tom is learned (not listed under hosts)

function arp(mac: string, ip: string): Buffer {
  const b = Buffer.alloc(60);
  b.write('ffffffffffff', 0, 'hex');
  b.write(mac.replace(/:/g, ''), 6, 'hex');
  b.writeUInt16BE(0x0806, 12);
  b.write('0001080006040001', 14, 'hex');
  b.write(mac.replace(/:/g, ''), 22, 'hex');
  ip.split('.').forEach((o, i) => b.writeUInt8(Number(o), 28 + i));
  return b;
}
const pin = (port: number, data: Buffer, xid = 0): OfpMessage => ({
  type: 'packet_in',
  xid,
  bufferId: 0xffffffff,
  totalLen: data.length,
  reason: 0,
  tableId: 0,
  cookie: 0n,
  match: [{ field: 'in_port', value: port }],
  data,
});

interface Status {
  alerts: Array<{ type: string; mac?: string }>;
  learning: { rateLimited: number; flapsHeld: number; recompiles: number; tracked: { ports: number; macs: number; reports: number } };
  packetIns: number;
}
const status = async (): Promise<Status> => (await fetch(`http://127.0.0.1:${API}/api/v1/status`)).json() as Promise<Status>;

describe('PACKET_IN flood from a switch peer (controller child process)', () => {
  let ctl: Child;
  let dir: string;
  beforeAll(async () => {
    dir = copyExample('campus');
    ctl = await startChild(join(dir, 'policy.yaml'), OF, API, {
      events: ['binding-learned', 'mac-flapping', 'device-moved', 'unknown-device'],
      options: { stateFile: join(dir, 'state.json') },
    });
  }, 40_000);
  afterAll(async () => {
    await ctl?.stop();
  });

  it('50,000 spoofed PACKET_INs: bounded learning and recompiles, flapping MAC held and alerted, API responsive, RSS bounded', async () => {
    const peer = new RawPeer(1n, { ports: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] });
    await peer.connect(OF);
    await peer.ready;
    await waitFor(
      'edge1 synced',
      async () =>
        ((await (await fetch(`http://127.0.0.1:${API}/api/v1/switches`)).json()) as Array<{ name?: string; lastSync?: string }>).find(
          (s) => s.name === 'edge1',
        )?.lastSync,
      20_000,
    );
    const base = ctl.rssMb();
    const before = await status();
    const tom = [arp(TOM, '10.0.1.10')];
    let top = base,
      worst = 0,
      wallWorst = 0,
      sent = 0,
      probes = 0,
      done = false;
    // how long a status request waits, as the controller's CPU time while it is outstanding: a stall (work the
    // event loop does before it answers) shows, other processes on a loaded machine do not (wall time is printed only)
    const lat: number[] = [];
    const probing = (async () => {
      while (!done) {
        const t0 = performance.now();
        const c0 = ctl.cpuMs();
        await fetch(`http://127.0.0.1:${API}/api/v1/status`);
        const cpu = ctl.cpuMs() - c0;
        lat.push(cpu);
        worst = Math.max(worst, cpu);
        wallWorst = Math.max(wallWorst, performance.now() - t0);
        probes++;
        top = Math.max(top, ctl.rssMb());
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const t0 = performance.now();
    while (sent < 50_000) {
      const batch: OfpMessage[] = [];
      for (let i = 0; i < 1000; i++, sent++) {
        if (i % 2 === 0)
          batch.push(pin(7 + ((sent >> 1) & 1), tom[0], sent)); // tom on port 7, 8, 7, 8, ...
        else {
          const m = `06:${[sent >> 16, sent >> 8, sent].map((x) => (x & 0xff).toString(16).padStart(2, '0')).join(':')}:00:01`;
          batch.push(pin(9, arp(m, '10.0.9.9'), sent));
        }
      }
      if (!peer.raw(encodeMany(batch))) await peer.drained();
      await new Promise((r) => setImmediate(r));
    }
    const ms = performance.now() - t0;
    await new Promise((r) => setTimeout(r, 1000));
    done = true;
    await probing;
    const median = lat.sort((a, b) => a - b)[lat.length >> 1];
    const after = await status();
    const learned = ctl.events.filter((e) => e.type === 'binding-learned' && e.mac === TOM).length;
    const recompiles = after.learning.recompiles - before.learning.recompiles;
    console.log(
      `flood: 50,000 PACKET_INs in ${ms.toFixed(0)} ms; tom learned ${learned}x, recompiles ${recompiles}, rate-limited ${after.learning.rateLimited}, unknown-device reports ${ctl.events.filter((e) => e.type === 'unknown-device').length}, flaps held ${after.learning.flapsHeld}; API median ${median.toFixed(0)} ms, worst ${worst.toFixed(0)} ms of controller CPU (wall: worst ${wallWorst.toFixed(0)} ms) over ${probes} probes; RSS ${base.toFixed(0)} → peak ${top.toFixed(0)} MB`,
    );
    expect(peer.closed).toBe(false);
    // learning is bounded: the flap damping stops the moves after a handful, the rate limit drops the rest
    expect(learned).toBeLessThanOrEqual(6);
    expect(recompiles).toBeLessThanOrEqual(6);
    // the invented MACs on port 9 cost at most the port's rate of reports (20/s, burst 40), not one per packet
    const unknown = ctl.events.filter((e) => e.type === 'unknown-device').length;
    expect(after.learning.rateLimited).toBeGreaterThan(1_000);
    expect(unknown).toBeLessThanOrEqual(40 + 20 * Math.ceil((performance.now() - t0) / 1000));
    expect(after.alerts.filter((a) => a.type === 'mac-flapping' && a.mac === TOM)).toHaveLength(1);
    // (the issue measured a 1.8 s stall on main: a 1.8 s busy stall during the flood reads as ~1,700 ms here)
    expect(median).toBeLessThan(300);
    expect(worst).toBeLessThan(1500);
    expect(top - base).toBeLessThan(100);
    // the audit of learned bindings (state file) holds tom once, where he was last legitimately learned
    const st = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { bindings: Array<{ mac: string; port: number }> };
    expect(st.bindings.filter((b) => b.mac === TOM)).toHaveLength(1);
    expect(after.learning.tracked.macs).toBeLessThan(100);
    peer.close();
  }, 120_000);
});
