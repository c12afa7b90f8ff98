/**
 * Hostile deny samples: a switch port can put any bytes in a denied packet, and the controller decodes every
 * sample. The strict decoder never throws on random, truncated or mutated frames; every length it reads is
 * inside the capture; the deny log stays bounded under a flood of distinct garbage.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadPolicy } from '../../loader/load.js';
import { compile, type Compiled } from '../../compiler/compile.js';
import { decodeFrame } from '../../controller/packet.js';
import { DenialLog } from '../../controller/denials.js';
import { frame } from '../helpers/frames.js';

const ROOT = new URL('../../', import.meta.url).pathname;
let c: Compiled;
beforeAll(async () => {
  const r = await loadPolicy(join(ROOT, 'examples/basic/policy.yaml'));
  if (!r.ok) throw new Error('basic example invalid');
  c = compile(r.value);
});

/** Deterministic PRNG so a failure reproduces. */
function rng(seed: number) {
  let x = seed >>> 0;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

describe('deny samples from a hostile port', () => {
  it('random bytes, every truncation and single-byte mutations of valid frames never throw', () => {
    const r = rng(42);
    let ok = 0,
      refused = 0;
    for (let i = 0; i < 20_000; i++) {
      const b = Buffer.alloc(Math.floor(r() * 160));
      for (let k = 0; k < b.length; k++) b[k] = Math.floor(r() * 256);
      // bias towards interesting ethertypes so the IP/IPv6/ARP paths get garbage too
      if (b.length > 14) b.writeUInt16BE([0x0800, 0x86dd, 0x0806, 0x8100, 0x88a8][i % 5], 12);
      const d = decodeFrame(b);
      if (d.ok) ok++;
      else refused++;
    }
    expect(ok + refused).toBe(20_000);
    expect(refused).toBeGreaterThan(1000);
    const valid = [
      frame({ src: '02:00:00:00:01:02', ipSrc: '10.0.1.2', ipDst: '10.0.2.10', proto: 'tcp', dport: 5432 }),
      frame({ src: '02:00:00:00:01:02', ipSrc: '10.0.1.2', ipDst: '10.0.2.10', proto: 'udp', dport: 53 }),
      Buffer.from('ffffffffffff020000000102080600010800060400010200000001020a0001020000000000000a00020a', 'hex'),
    ];
    for (const v of valid) {
      for (let n = 0; n <= v.length; n++) decodeFrame(v.subarray(0, n)); // every truncation
      for (let i = 0; i < v.length; i++)
        for (const x of [0, 0xff, 0x80, 0x0f]) {
          const m = Buffer.from(v);
          m[i] = x;
          const d = decodeFrame(m);
          if (d.ok && d.frame.l3 === 'ipv4') expect(d.frame.ipSrc).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
        }
    }
  });

  it('an IPv4 header claiming more header than captured, or IPv6 with endless extension headers, is refused or marked truncated', () => {
    const f = frame({ src: '02:00:00:00:01:02', ipSrc: '10.0.1.2', ipDst: '10.0.2.10', proto: 'tcp', dport: 22 });
    const big = Buffer.from(f);
    big[14] = 0x4f; // IHL 60 bytes, capture holds 40
    const d = decodeFrame(big);
    expect(d).toMatchObject({ ok: false, code: 'bad-ipv4-length' }); // total length 40 < header 60
    big.writeUInt16BE(1500, 16); // now the datagram claims 1500 bytes: the capture ends inside the header
    const t = decodeFrame(big);
    expect(t.ok && t.frame.truncated).toBe(true);
    expect(t.ok && t.frame.dstPort).toBeUndefined();
    // IPv6 with 20 hop-by-hop headers in a row
    const hdrs = Buffer.alloc(20 * 8);
    for (let i = 0; i < 20; i++) hdrs[i * 8] = 0;
    const v6 = Buffer.concat([
      Buffer.from('33330000000102000000010286dd', 'hex'),
      Buffer.from('6000000000a00040', 'hex'),
      Buffer.alloc(32, 1),
      hdrs,
    ]);
    expect(decodeFrame(v6)).toMatchObject({ ok: false, code: 'too-many-extensions' });
  });

  it('a flood of distinct garbage and distinct scans keeps the deny log bounded and fast', () => {
    const log = new DenialLog({ maxEntries: 1000 });
    const r = rng(7);
    // CPU time of this process, not wall time: other processes on a loaded machine do not count
    const c0 = process.cpuUsage();
    for (let i = 0; i < 100_000; i++) {
      const ip = `10.${Math.floor(r() * 255)}.${Math.floor(r() * 255)}.${Math.floor(r() * 255)}`;
      const b =
        i % 3 === 0
          ? Buffer.alloc(10, i)
          : frame({
              src:
                i % 2
                  ? '02:00:00:00:01:02'
                  : `02:66:00:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`,
              ipSrc: '10.0.1.2',
              ipDst: ip,
              proto: 'udp',
              dport: i & 0xffff,
            });
      log.ingest(c, b, { switch: 'edge1', port: 2, source: i % 4 === 0 ? 'discovery' : 'policy' });
    }
    const cpu = process.cpuUsage(c0);
    expect(log.size).toBeLessThanOrEqual(1000);
    expect(log.counters.decodeErrors).toBeGreaterThan(30_000);
    expect(log.query({ limit: 10_000 }).length).toBeLessThanOrEqual(1000);
    expect((cpu.user + cpu.system) / 1000).toBeLessThan(20_000);
  });
});
