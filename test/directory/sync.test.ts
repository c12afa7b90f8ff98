/**
 * DirectorySync with fake sources and manual timers (test/helpers/manual-timers.ts): fixed-rate polling, backoff
 * after errors, push retries and the push publication hold, two-stage publication, closing the source on stop. Time
 * is the manual clock's, so every instant is asserted exactly, however loaded the machine is.
 */
import { describe, expect, it } from 'vitest';
import { DirectorySync } from '../../directory/ldap.js';
import type { PushHandlers, PushSession } from '../../directory/ldap.js';
import type { Directory, User } from '../../compiler/model.js';
import { ManualTimers } from '../helpers/manual-timers.js';

const user = (id: string, roles: string[] = []): User => ({ id, name: id, roles, devices: [] });
const dir = (...users: User[]): Directory => ({ organizations: [], users, source: 'fake' });

/** Starts of polls by a source that takes `loadMs` (on the manual clock) and fails its first `failures` loads. */
function timedSource(t: ManualTimers, loadMs: number, failures = 0) {
  const s = { starts: [] as number[], active: 0, maxActive: 0, closed: 0, failures };
  return Object.assign(s, {
    kind: 'ldap' as const,
    description: 'fake',
    async load() {
      s.starts.push(t.now());
      s.active++;
      s.maxActive = Math.max(s.maxActive, s.active);
      await t.sleep(loadMs);
      s.active--;
      if (s.failures > 0) {
        s.failures--;
        throw new Error('server down');
      }
      return dir(user('a'));
    },
    async close() {
      s.closed++;
    },
  });
}

describe('DirectorySync', () => {
  it('polls at a fixed rate: the next poll starts one interval after the previous one started, never two at once', async () => {
    const t = new ManualTimers();
    const src = timedSource(t, 150);
    const sync = new DirectorySync(src, { intervalMs: 250, timers: t });
    sync.start();
    await t.advance(1000);
    // scheduled after the previous poll finished, they would start at 250, 650, 1050
    expect(src.starts).toEqual([250, 500, 750, 1000]);
    expect(src.maxActive).toBe(1);
    expect(sync.status().lastDurationMs).toBe(150);
    sync.stop(); // during the poll that started at 1000
    expect(src.closed).toBe(0); // not under the running poll's feet
    await t.advance(150);
    expect(src.closed).toBe(1); // stop() closed the source once the running poll was over
    await t.advance(10_000);
    expect(src.starts).toHaveLength(4);
    expect(t.pending).toBe(0);
  });

  it('a poll longer than the interval is followed at once by the next, not overlapped', async () => {
    const t = new ManualTimers();
    const src = timedSource(t, 200);
    const sync = new DirectorySync(src, { intervalMs: 100, timers: t });
    sync.start();
    await t.advance(500);
    sync.stop();
    expect(src.starts).toEqual([100, 300, 500]);
    expect(src.maxActive).toBe(1);
  });

  it('after errors the next poll waits with exponential backoff (factor capped at 2^6, then at maxBackoffMs), keeping the last snapshot', async () => {
    const t = new ManualTimers();
    const src = timedSource(t, 0, 8);
    const errors: string[] = [];
    let published = 0;
    const initial = dir(user('a', ['old-role']));
    const sync = new DirectorySync(
      src,
      { intervalMs: 10, timers: t, onError: (e) => errors.push(e.message), onSnapshot: () => void published++ },
      initial,
    );
    sync.start();
    await t.advance(3000);
    sync.stop();
    const gaps = src.starts.slice(1).map((x, i) => x - src.starts[i]);
    // 8 failures: 10·2^1 … 10·2^6, then 2^6 again; the 9th poll succeeds and the interval is back to 10 ms
    expect(gaps.slice(0, 10)).toEqual([20, 40, 80, 160, 320, 640, 640, 640, 10, 10]);
    expect(errors).toHaveLength(8);
    expect(published).toBe(1); // only the successful poll (a loses 'old-role') published anything

    const t2 = new ManualTimers();
    const src2 = timedSource(t2, 0, 5);
    const held = new DirectorySync(src2, { intervalMs: 10, maxBackoffMs: 100, timers: t2 }, initial);
    held.start();
    await t2.advance(200); // polls at 10, 30, 70 and 150 failed
    expect(held.snapshot).toBe(initial); // errors never replace the last good snapshot
    expect(held.status().consecutiveErrors).toBe(4);
    await t2.advance(1000);
    held.stop();
    const gaps2 = src2.starts.slice(1).map((x, i) => x - src2.starts[i]);
    expect(gaps2.slice(0, 6)).toEqual([20, 40, 80, 100, 100, 10]);
    expect(held.status().consecutiveErrors).toBe(0);
  });

  it('push: a failing openPush is retried with doubling delays up to maxPushRetryMs; once open, only safety-net re-reads run', async () => {
    const t = new ManualTimers();
    const opens: number[] = [];
    const fulls: number[] = [];
    const polls: number[] = [];
    const modes: string[] = [];
    let pushWorks = false;
    let handlers: PushHandlers | undefined;
    const src = {
      kind: 'ldap' as const,
      description: 'fake push',
      fullReadIntervalMs: 1000,
      async load() {
        polls.push(t.now());
        return dir(user('a'));
      },
      async loadChanges() {
        polls.push(t.now());
        return dir(user('a'));
      },
      async loadRest(): Promise<Directory | undefined> {
        return undefined;
      },
      async loadPushed() {
        return dir(user('a'));
      },
      async loadFull() {
        fulls.push(t.now());
        return dir(user('a'));
      },
      async openPush(h: PushHandlers): Promise<PushSession | undefined> {
        opens.push(t.now());
        if (!pushWorks) throw new Error('syncrepl refused');
        handlers = h;
        return { close() {} };
      },
    };
    const sync = new DirectorySync(src, {
      intervalMs: 400,
      pushRetryMs: 100,
      maxPushRetryMs: 500,
      timers: t,
      onMode: (m) => modes.push(m),
    });
    sync.start();
    await t.advance(1700);
    expect(opens).toEqual([0, 100, 300, 700, 1200, 1700]);
    expect(sync.status()).toMatchObject({ mode: 'poll', pushError: 'syncrepl refused' });
    expect(polls).toEqual([400, 800, 1200, 1600]); // polling goes on meanwhile
    pushWorks = true;
    await t.advance(500);
    expect(opens.at(-1)).toBe(2200);
    expect(modes).toEqual(['push']);
    expect(sync.status().mode).toBe('push');
    await t.advance(2000);
    expect(polls).toEqual([400, 800, 1200, 1600, 2000]); // no more polls in push mode …
    expect(fulls).toEqual([3200, 4200]); // … a complete re-read every fullReadIntervalMs instead
    handlers!.onEnd(new Error('connection reset'));
    await t.advance(0);
    expect(modes).toEqual(['push', 'poll']);
    expect(polls.at(-1)).toBe(4200); // one poll at once
    await t.advance(100);
    expect(opens.at(-1)).toBe(4300); // and push tried again after the first retry delay
    expect(sync.status().mode).toBe('push');
    sync.stop();
  });

  it('pushed changes are published after a quiet moment, at the latest pushMaxHoldMs after the first', async () => {
    const t = new ManualTimers();
    const flushes: number[] = [];
    let handlers: PushHandlers | undefined;
    let n = 0;
    const src = {
      kind: 'ldap' as const,
      description: 'fake push',
      fullReadIntervalMs: 100_000,
      load: async () => dir(user('a')),
      loadChanges: async () => dir(user('a')),
      loadRest: async (): Promise<Directory | undefined> => undefined,
      loadFull: async () => dir(user('a')),
      async loadPushed() {
        flushes.push(t.now());
        return dir(user('a'), user(`p${++n}`));
      },
      async openPush(h: PushHandlers): Promise<PushSession | undefined> {
        handlers = h;
        return { close() {} };
      },
    };
    const published: number[] = [];
    const sync = new DirectorySync(src, {
      intervalMs: 100_000,
      pushQuietMs: 5,
      pushMaxHoldMs: 20,
      timers: t,
      onSnapshot: () => void published.push(t.now()),
    });
    sync.start();
    await t.advance(0);
    // a change every 4 ms (at 0, 4 … 16) never leaves 5 ms of quiet: published 20 ms after the first
    for (let i = 0; i < 5; i++) {
      handlers!.onPending();
      await t.advance(4);
    }
    await t.advance(10);
    expect(flushes).toEqual([20]);
    handlers!.onPending(); // a lone change: published after 5 quiet ms
    await t.advance(30);
    expect(flushes).toEqual([20, 35]);
    expect(published).toEqual([20, 35]);
    sync.stop();
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
