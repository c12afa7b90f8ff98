import { describe, expect, it, vi } from 'vitest';
import { createServer, connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { WriteBatch } from '../../controller/write-batch.js';

/** From this helper's port range (26300-26399); the tests of this file run one after another. */
const PORT = 26301;
const turn = () => new Promise((r) => setImmediate(r));

/** A client socket whose writes are counted, connected to a server that collects what it receives. */
async function pair(): Promise<{ sock: Socket; calls: Buffer[]; received: () => Buffer; close: () => void }> {
  const got: Buffer[] = [];
  const server = createServer((s) => s.on('data', (d) => got.push(d)));
  server.listen(PORT, '127.0.0.1');
  await once(server, 'listening');
  const sock = connect(PORT, '127.0.0.1');
  await once(sock, 'connect');
  const spy = vi.spyOn(sock, 'write'); // counts the writes, still writes
  return {
    sock,
    get calls() {
      return spy.mock.calls.map((c) => c[0] as Buffer);
    },
    received: () => Buffer.concat(got),
    close: () => (sock.destroy(), server.close()),
  };
}

describe('WriteBatch (one write per loop turn to a switch)', () => {
  it('gathers the writes of one turn into one socket write, in order', async () => {
    const p = await pair();
    const b = new WriteBatch(p.sock);
    for (let i = 0; i < 50; i++) b.write(Buffer.from([i]));
    expect(p.calls).toHaveLength(0); // nothing left yet: the turn is not over
    await turn();
    expect(p.calls).toHaveLength(1);
    expect([...p.calls[0]]).toEqual(Array.from({ length: 50 }, (_, i) => i));
    b.write(Buffer.from([99]));
    await turn();
    expect(p.calls).toHaveLength(2);
    for (let i = 0; i < 100 && p.received().length < 51; i++) await new Promise((r) => setTimeout(r, 10));
    expect(p.received()).toEqual(Buffer.from([...Array.from({ length: 50 }, (_, i) => i), 99]));
    p.close();
  });

  it('flush() writes at once; a full batch leaves without waiting for the turn', async () => {
    const p = await pair();
    const b = new WriteBatch(p.sock);
    b.write(Buffer.from('a'));
    b.write(Buffer.from('b'));
    b.flush();
    expect(p.calls.map(String)).toEqual(['ab']);
    b.flush(); // nothing queued: no empty write
    expect(p.calls).toHaveLength(1);
    b.write(Buffer.alloc(70 * 1024, 1));
    expect(p.calls).toHaveLength(2);
    expect(b.queued).toBe(0);
    await turn();
    expect(p.calls).toHaveLength(2);
    p.close();
  });

  it('writes nothing to a destroyed socket, and clear() forgets what is queued', async () => {
    const p = await pair();
    const b = new WriteBatch(p.sock);
    b.write(Buffer.from('x'));
    b.clear();
    await turn();
    expect(p.calls).toHaveLength(0);
    b.write(Buffer.from('y'));
    p.sock.destroy();
    await turn();
    expect(p.calls).toHaveLength(0);
    p.close();
  });
});
