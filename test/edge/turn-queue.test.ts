import { describe, expect, it } from 'vitest';
import { TurnQueue } from '../../edge/turn-queue.js';

const turn = () => new Promise((r) => setImmediate(r));

describe('TurnQueue (new edge work, a bounded slice per loop turn)', () => {
  it('does everything, in arrival order, at most perTurn items per turn', async () => {
    const q = new TurnQueue({ perTurn: 10, budgetMs: 1e9 });
    const done: number[] = [];
    for (let i = 0; i < 35; i++) q.push(() => done.push(i));
    expect(done).toEqual([]);
    await turn();
    expect(done).toHaveLength(10);
    // something that arrives between slices (a barrier reply, a RADIUS answer) is not behind the other 25
    let between = -1;
    setImmediate(() => (between = done.length));
    for (let i = 0; i < 5; i++) await turn();
    expect(done).toEqual(Array.from({ length: 35 }, (_, i) => i));
    expect(between).toBeLessThan(35);
    expect(q.length).toBe(0);
  });

  it('stops a slice at its time budget (the item that crosses it finishes)', async () => {
    let t = 0;
    const q = new TurnQueue({ perTurn: 1000, budgetMs: 5, now: () => t });
    let n = 0;
    const busy = () => {
      t += 3; // each item takes 3 ms of the (test's) clock
      n++;
    };
    for (let i = 0; i < 10; i++) q.push(busy);
    await turn();
    expect(n).toBe(2);
    q.drain();
    expect(n).toBe(10);
  });

  it('never drops: past maxQueued the oldest item runs at once, order kept', async () => {
    const q = new TurnQueue({ maxQueued: 3 });
    const done: number[] = [];
    for (let i = 0; i < 5; i++) q.push(() => done.push(i));
    expect(done).toEqual([0, 1]);
    expect(q.stats.overflowRuns).toBe(2);
    expect(q.length).toBe(3);
    await turn();
    expect(done).toEqual([0, 1, 2, 3, 4]);
  });

  it('an item that throws is counted and the rest still run; clear() forgets the queue', async () => {
    const q = new TurnQueue();
    const done: number[] = [];
    q.push(() => done.push(1));
    q.push(() => {
      throw new Error('boom');
    });
    q.push(() => done.push(3));
    await turn();
    expect(done).toEqual([1, 3]);
    expect(q.stats.errors).toBe(1);
    q.push(() => done.push(4));
    q.clear();
    await turn();
    expect(done).toEqual([1, 3]);
  });

  it('keeps its memory bounded over many items (the consumed head is released)', async () => {
    const q = new TurnQueue({ perTurn: 100_000, budgetMs: 1e9 });
    let n = 0;
    for (let i = 0; i < 50_000; i++) q.push(() => n++);
    q.drain();
    expect(n).toBe(50_000);
    expect((q as unknown as { items: unknown[] }).items.length).toBeLessThan(50_000);
  });
});
