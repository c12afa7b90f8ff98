/** DirectorySync with fake sources: fixed-rate polling, two-stage publication, closing the source on stop. */
import { describe, expect, it } from 'vitest';
import { DirectorySync } from '../../directory/ldap.js';
import type { Directory, User } from '../../compiler/model.js';

const user = (id: string, roles: string[] = []): User => ({ id, name: id, roles, devices: [] });
const dir = (...users: User[]): Directory => ({ organizations: [], users, source: 'fake' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('DirectorySync', () => {
  it('polls at a fixed rate: the next poll starts one interval after the previous one started, never two at once', async () => {
    const starts: number[] = [];
    let active = 0,
      maxActive = 0,
      closed = 0;
    const src = {
      kind: 'ldap' as const,
      description: 'fake',
      async load() {
        starts.push(performance.now());
        active++;
        maxActive = Math.max(maxActive, active);
        await sleep(150);
        active--;
        return dir(user('a'));
      },
      async close() {
        closed++;
      },
    };
    const sync = new DirectorySync(src, { intervalMs: 250 });
    sync.start();
    while (starts.length < 4) await sleep(20);
    sync.stop();
    await sleep(200);
    const gaps = starts.slice(1).map((t, i) => t - starts[i]);
    // scheduled after the previous poll finished, the gaps would be 250 + 150 = 400 ms
    for (const g of gaps) expect(g).toBeLessThan(330);
    expect(maxActive).toBe(1);
    expect(closed).toBe(1); // stop() closed the source once the running poll was over
  });

  it('a poll longer than the interval is followed at once by the next, not overlapped', async () => {
    const starts: number[] = [];
    let active = 0,
      maxActive = 0;
    const src = {
      kind: 'ldap' as const,
      description: 'fake',
      async load() {
        starts.push(performance.now());
        active++;
        maxActive = Math.max(maxActive, active);
        await sleep(200);
        active--;
        return dir(user('a'));
      },
    };
    const sync = new DirectorySync(src, { intervalMs: 100 });
    sync.start();
    while (starts.length < 3) await sleep(20);
    sync.stop();
    expect(maxActive).toBe(1);
    for (const g of starts.slice(1).map((t, i) => t - starts[i])) {
      expect(g).toBeGreaterThanOrEqual(195);
      expect(g).toBeLessThan(280);
    }
  });

  it('publishes the first stage at once; a failing second stage is an error that keeps the published snapshot', async () => {
    const published: string[][] = [];
    const errors: string[] = [];
    let restFails = false;
    const src = {
      kind: 'ldap' as const,
      description: 'fake',
      async load(): Promise<Directory> {
        throw new Error('not used');
      },
      async loadChanges() {
        return dir(user('a', ['x']), user('b'), user('c'), user('d'), user('e'));
      },
      async loadRest() {
        if (restFails) throw new Error('names-only search failed');
        return dir(user('a', ['x']), user('b'), user('c'), user('d'));
      },
    };
    const sync = new DirectorySync(
      src,
      {
        onSnapshot: (d) => {
          published.push(d.users.map((u) => u.id));
        },
        onError: (e) => errors.push(e.message),
      },
      dir(user('a'), user('b'), user('c'), user('d'), user('e')),
    );
    expect(await sync.syncOnce()).toBe(true);
    expect(published).toEqual([
      ['a', 'b', 'c', 'd', 'e'],
      ['a', 'b', 'c', 'd'],
    ]);
    restFails = true;
    src.loadChanges = async () => dir(user('a', ['y']), user('b'), user('c'), user('d'));
    expect(await sync.syncOnce()).toBe(false);
    expect(errors).toEqual(['names-only search failed']);
    expect(sync.snapshot!.users[0].roles).toEqual(['y']);
    expect(sync.status().consecutiveErrors).toBe(1);
  });

  it('a shrink found by the second stage is held until confirmed', async () => {
    const src = {
      kind: 'ldap' as const,
      description: 'fake',
      async load(): Promise<Directory> {
        throw new Error('not used');
      },
      loadChanges: async () => dir(user('a'), user('b'), user('c')),
      loadRest: async (): Promise<Directory | undefined> => dir(user('a')),
    };
    const sync = new DirectorySync(src, { maxShrink: 0.2 }, dir(user('a'), user('b'), user('c')));
    expect(await sync.syncOnce()).toBe(false);
    expect(sync.snapshot!.users).toHaveLength(3);
    expect(sync.status().heldShrink).toMatchObject({ before: 3, after: 1 });
    src.loadChanges = async () => dir(user('a'));
    src.loadRest = async () => undefined;
    expect(await sync.confirmShrink()).toBe(true);
    expect(sync.snapshot!.users).toHaveLength(1);
  });
});
