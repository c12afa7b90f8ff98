import { describe, expect, it } from 'vitest';
import { ExpiryHeap } from '../../edge/expiry-heap.js';
import { SessionTable } from '../../edge/sessions.js';

describe('ExpiryHeap (the binding tables’ next expiry in O(log n))', () => {
  it('gives the live records due, earliest first and ties in the order added, like a walk over every record', () => {
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed % n);
    const held = new Map<number, { id: number; at: number }>();
    const h = new ExpiryHeap<{ id: number; at: number }>((v) => held.get(v.id) === v);
    let now = 0;
    for (let step = 0; step < 3000; step++) {
      const op = rnd(10);
      if (op < 5) {
        const v = { id: rnd(200), at: now + rnd(50) };
        held.set(v.id, v); // replaces any record with that id: its entry goes stale
        h.push(v.at, v);
      } else if (op < 7) held.delete(rnd(200));
      else {
        now += rnd(20);
        const want = [...held.values()].filter((v) => v.at <= now).sort((a, b) => a.at - b.at);
        const got = h.due(now);
        expect(got.map((v) => v.at)).toEqual(want.map((v) => v.at));
        expect(new Set(got.map((v) => v.id))).toEqual(new Set(want.map((v) => v.id)));
        for (const v of got) held.delete(v.id);
        const rest = [...held.values()].map((v) => v.at);
        expect(h.next()).toBe(rest.length ? Math.min(...rest) : Infinity);
      }
      h.compact(held.values(), (v) => v.at, held.size);
      expect(h.size).toBeLessThanOrEqual(2 * held.size + 65);
    }
  });

  it('a session table with many renewals keeps its heap bounded and still expires the right sessions', () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const t = new SessionTable({ now: () => now });
    const mac = (i: number) => `02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
    for (let round = 0; round < 20; round++)
      for (let i = 0; i < 300; i++)
        t.add({
          mac: mac(i),
          switch: 'e1',
          port: 1,
          method: 'dot1x',
          user: 'u',
          expires: new Date(now + (i % 2 ? 60_000 : 1000) + round).toISOString(),
        });
    const heap = (t as unknown as { expiries: ExpiryHeap<unknown> }).expiries;
    expect(heap.size).toBeLessThanOrEqual(2 * 300 + 65);
    now += 2000;
    const ended = t.expire();
    expect(ended).toHaveLength(150);
    expect(ended.every((s) => parseInt(s.mac.slice(-2), 16) % 2 === 0)).toBe(true);
    expect(t.size).toBe(150);
    t.stop();
  });
});
