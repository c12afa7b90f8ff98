/**
 * Keeps a directory snapshot in sync with a source: by changes the server pushes (a PushSource whose server
 * offers it), else by polling. Fail safe: errors keep the last good snapshot
 * (retried with backoff); a shrink beyond `maxShrink` (or an empty result after a non-empty one) is held until
 * `confirmShrink()`; never "everyone left" because of an error.
 */
import type { Directory, DirectorySource, Organization, User } from '../compiler/model.js';
import { diffDirectories, type DirectoryDiff } from '../compiler/directory-diff.js';

export interface SyncOptions {
  readonly intervalMs?: number;
  readonly maxShrink?: number;
  readonly maxBackoffMs?: number;
  readonly onSnapshot?: (dir: Directory, diff: DirectoryDiff) => void | Promise<void>;
  readonly onError?: (err: Error) => void;
  readonly onHeld?: (info: { before: number; after: number }) => void;
  /** Push mode started (mode 'push') or ended (mode 'poll', with the reason). */
  readonly onMode?: (mode: 'push' | 'poll', err?: Error) => void;
  /** First wait before trying push again after it failed (doubles up to maxPushRetryMs). Default 1 s. */
  readonly pushRetryMs?: number;
  readonly maxPushRetryMs?: number;
  /** Pushed changes are published after this quiet time (ms) … */
  readonly pushQuietMs?: number;
  /** … or at the latest this long after the first one. */
  readonly pushMaxHoldMs?: number;
  /** The clock and timers that space polls, backoff and push retries (real ones by default; tests pass a manual one). */
  readonly timers?: SyncTimers;
}

/** What DirectorySync reads time from and waits with. */
export interface SyncTimers {
  /** Milliseconds on a monotonic clock (durations and poll spacing, not the time of day). */
  now(): number;
  /** Calls `fn` once after `ms`; returns a function that cancels it. `unref`: the wait does not keep the process alive. */
  after(ms: number, fn: () => void, unref?: boolean): () => void;
}

/** Node's monotonic clock and timers. */
export const realTimers: SyncTimers = {
  now: () => performance.now(),
  after(ms, fn, unref) {
    const t = setTimeout(fn, ms);
    if (unref) t.unref();
    return () => clearTimeout(t);
  },
};

export interface SyncStatus {
  readonly source: string;
  readonly lastSuccessAt?: string;
  readonly lastAttemptAt?: string;
  readonly entries: number;
  readonly consecutiveErrors: number;
  readonly lastError?: string;
  readonly heldShrink?: { readonly before: number; readonly after: number; readonly since: string };
  readonly lastDurationMs?: number;
  /** 'push': the server pushes changes (RFC 4533), a complete re-read runs as a safety net; 'poll': polling. */
  readonly mode: 'push' | 'poll';
  /** Why push is not active (when it failed), if it is not. */
  readonly pushError?: string;
}

/**
 * A source that can deliver a poll in two stages (LdapDirectorySource): first a snapshot from the entries that
 * changed, published at once, then what only a slower check finds (deletions, the periodic full re-read).
 */
export interface StagedDirectorySource extends DirectorySource {
  loadChanges(): Promise<Directory>;
  /** Resolves with a new snapshot when the second stage changed anything, undefined otherwise. */
  loadRest(): Promise<Directory | undefined>;
}

export interface PushHandlers {
  /** Changes arrived (buffered in the source until `loadPushed()`). */
  onPending(): void;
  /** The session ended (connection lost, protocol error); not called after `close()`. */
  onEnd(err: Error): void;
}
export interface PushSession {
  close(): void;
}

/** A source whose server can push changes (LdapDirectorySource with RFC 4533 content synchronization). */
export interface PushSource extends StagedDirectorySource {
  /** Resolves undefined when this source does not push; rejects when it should but cannot (retried later). */
  openPush(h: PushHandlers): Promise<PushSession | undefined>;
  /** The snapshot with the buffered pushed changes taken in. */
  loadPushed(): Promise<Directory>;
  /** A complete re-read. */
  loadFull(): Promise<Directory>;
  /** How often a complete re-read runs as a safety net. */
  readonly fullReadIntervalMs: number;
}

const isPush = (s: DirectorySource): s is PushSource => typeof (s as Partial<PushSource>).openPush === 'function';

const isStaged = (s: DirectorySource): s is StagedDirectorySource =>
  typeof (s as Partial<StagedDirectorySource>).loadChanges === 'function' &&
  typeof (s as Partial<StagedDirectorySource>).loadRest === 'function';

export const sameUser = (a: User, b: User) =>
  a === b ||
  (a.id === b.id &&
    a.name === b.name &&
    a.organization === b.organization &&
    a.roles.length === b.roles.length &&
    a.roles.every((r, i) => r === b.roles[i]) &&
    a.devices.length === b.devices.length &&
    a.devices.every((d, i) => d.mac === b.devices[i].mac && d.ip === b.devices[i].ip));

const sameOrgs = (a: readonly Organization[], b: readonly Organization[]) =>
  a === b || (a.length === b.length && a.every((o, i) => o.name === b[i].name && o.parent === b[i].parent));

/** Reuses the previous snapshot's objects for users that did not change, so consumers can compare by identity. */
function keepUnchanged(before: Directory | undefined, next: Directory): Directory {
  if (!before || before === next) return next;
  if (before.users.length === next.users.length) {
    // Fast path: the same users in the same order (what LdapDirectorySource returns); compare only where objects differ.
    let users: User[] | undefined = [];
    for (let i = 0; i < next.users.length; i++) {
      const o = before.users[i],
        u = next.users[i];
      if (o.id !== u.id) {
        users = undefined;
        break;
      }
      users.push(o === u || sameUser(o, u) ? o : u);
    }
    if (users)
      return {
        ...next,
        users,
        organizations: sameOrgs(before.organizations, next.organizations) ? before.organizations : next.organizations,
      };
  }
  const old = new Map(before.users.map((u) => [u.id, u]));
  const users = next.users.map((u) => {
    const o = old.get(u.id);
    return o && sameUser(o, u) ? o : u;
  });
  return { ...next, users, organizations: sameOrgs(before.organizations, next.organizations) ? before.organizations : next.organizations };
}

export class DirectorySync {
  snapshot: Directory | undefined;
  private timer: (() => void) | undefined;
  private running = false;
  private stopped = true;
  private st: { -readonly [K in keyof SyncStatus]: SyncStatus[K] };
  private confirmNext = false;
  private closeWhenIdle = false;
  private held: Directory | undefined;
  readonly intervalMs: number;
  private readonly timers: SyncTimers;

  constructor(
    readonly source: DirectorySource,
    private readonly opts: SyncOptions = {},
    initial?: Directory,
  ) {
    this.snapshot = initial;
    this.intervalMs = opts.intervalMs ?? 5000;
    this.timers = opts.timers ?? realTimers;
    this.st = {
      source: source.description,
      mode: 'poll',
      entries: initial?.users.length ?? 0,
      consecutiveErrors: 0,
      lastSuccessAt: initial ? new Date().toISOString() : undefined,
    };
  }

  status(): SyncStatus {
    return { ...this.st };
  }

  /**
   * Runs one sync now. Resolves true when every snapshot it produced was accepted (changed or not); false on an
   * error or a held shrink. With a staged source the changed entries are published before the deletion check.
   */
  async syncOnce(): Promise<boolean> {
    return this.run(async () => {
      const src = this.source;
      let ok: boolean;
      if (isStaged(src)) {
        ok = await this.accept(await src.loadChanges());
        const rest = await src.loadRest();
        if (rest) ok = (await this.accept(rest)) && ok;
      } else ok = await this.accept(await src.load());
      return ok;
    });
  }

  /** Runs one load-and-accept (never two at a time); errors keep the last snapshot. */
  private async run(fn: () => Promise<boolean>, quiet = false): Promise<boolean> {
    if (this.running) return false;
    this.running = true;
    const t0 = this.timers.now();
    if (!quiet) this.st.lastAttemptAt = new Date().toISOString();
    try {
      const ok = await fn();
      if (!quiet) this.st.lastDurationMs = this.timers.now() - t0;
      this.confirmNext = false;
      return ok;
    } catch (e) {
      this.st.consecutiveErrors++;
      this.st.lastError = (e as Error).message;
      this.opts.onError?.(e as Error);
      return false;
    } finally {
      this.running = false;
      if (this.closeWhenIdle) {
        this.closeWhenIdle = false;
        await this.source.close?.();
      }
      if (this.flushAfterRun) {
        this.flushAfterRun = false;
        this.schedulePushFlush(true);
      }
    }
  }

  // ---- push ----
  private push?: PushSession;
  private pushOpening = false;
  private pushTimer: (() => void) | undefined;
  private pushDelay = 0;
  private flushTimer: (() => void) | undefined;
  private pendingSince: number | undefined;
  private flushAfterRun = false;

  /** Changes were pushed: publish after a quiet moment (`pushQuietMs`), at the latest `pushMaxHoldMs` after the first. */
  private schedulePushFlush(now = false): void {
    if (this.stopped && !now) return;
    const t = this.timers.now();
    this.pendingSince ??= t;
    this.flushTimer?.();
    const wait = now ? 0 : Math.max(0, Math.min(this.opts.pushQuietMs ?? 5, this.pendingSince + (this.opts.pushMaxHoldMs ?? 20) - t));
    this.flushTimer = this.timers.after(wait, () => {
      this.flushTimer = undefined;
      void this.flushPush();
    });
  }

  /** Publishes the buffered pushed changes (through the same checks as a poll). */
  async flushPush(): Promise<boolean> {
    const src = this.source;
    if (!isPush(src)) return false;
    if (this.running) {
      this.flushAfterRun = true;
      return false;
    }
    this.pendingSince = undefined;
    return this.run(async () => this.accept(await src.loadPushed()), true);
  }

  private async openPush(): Promise<void> {
    const src = this.source;
    if (!isPush(src) || this.stopped || this.push || this.pushOpening) return;
    this.pushOpening = true;
    let session: PushSession | undefined;
    try {
      session = await src.openPush({
        onPending: () => this.schedulePushFlush(),
        onEnd: (e) => this.pushEnded(session!, e),
      });
    } catch (e) {
      this.pushOpening = false;
      this.st.pushError = (e as Error).message;
      this.retryPush();
      return;
    }
    this.pushOpening = false;
    if (!session) return; // this source does not push: polling only
    if (this.stopped) {
      session.close();
      return;
    }
    this.push = session;
    this.pushDelay = 0;
    this.st.mode = 'push';
    this.st.pushError = undefined;
    this.opts.onMode?.('push');
    // polls give way to the safety net: a complete re-read every fullReadIntervalMs
    this.schedule(src.fullReadIntervalMs);
  }

  private pushEnded(session: PushSession, e: Error): void {
    if (this.push !== session) return;
    this.push = undefined;
    this.st.mode = 'poll';
    this.st.pushError = e.message;
    this.opts.onMode?.('poll', e);
    if (this.stopped) return;
    this.schedule(0); // one poll right away (it takes in what was pushed before, then reads what changed since)
    this.retryPush();
  }

  private retryPush(): void {
    if (this.stopped) return;
    this.pushDelay = this.pushDelay ? Math.min(this.pushDelay * 2, this.opts.maxPushRetryMs ?? 60_000) : (this.opts.pushRetryMs ?? 1000);
    this.pushTimer?.();
    this.pushTimer = this.timers.after(
      this.pushDelay,
      () => {
        this.pushTimer = undefined;
        void this.openPush();
      },
      true,
    );
  }

  /** Takes a loaded snapshot: held if it shrinks too much (unless confirmed), else published when it differs. */
  private async accept(loaded: Directory): Promise<boolean> {
    const next = keepUnchanged(this.snapshot, loaded);
    const before = this.snapshot?.users.length ?? 0;
    const after = next.users.length;
    const shrinking = before > 0 && (after === 0 || (before - after) / before > (this.opts.maxShrink ?? 0.2));
    if (shrinking && !this.confirmNext) {
      this.held = next;
      this.st.heldShrink = { before, after, since: this.st.heldShrink?.since ?? new Date().toISOString() };
      this.opts.onHeld?.({ before, after });
      this.st.consecutiveErrors = 0;
      return false;
    }
    this.held = undefined;
    this.st.heldShrink = undefined;
    const diff = next === this.snapshot ? undefined : diffDirectories(this.snapshot ?? { organizations: [], users: [], source: '' }, next);
    this.snapshot = next;
    this.st.entries = after;
    this.st.lastSuccessAt = new Date().toISOString();
    this.st.consecutiveErrors = 0;
    this.st.lastError = undefined;
    if (diff && !diff.empty) await this.opts.onSnapshot?.(next, diff);
    return true;
  }

  /** Accepts a held shrink (the admin confirms people really left). */
  async confirmShrink(): Promise<boolean> {
    this.confirmNext = true;
    return this.syncOnce();
  }

  get heldSnapshot(): Directory | undefined {
    return this.held;
  }

  /**
   * Polls at a fixed rate: each poll starts `intervalMs` after the previous one started (at once if that one
   * took longer; never two at a time), so a change waits at most one interval plus one poll. After an error the
   * next attempt waits with exponential backoff instead. A source whose server pushes changes switches to push
   * (then only a complete re-read runs, every `fullReadIntervalMs`), and back to polling when push fails.
   */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.closeWhenIdle = false;
    this.schedule(this.intervalMs);
    void this.openPush();
  }

  private looping = false;
  private loopAgain = false;

  /** (Re)schedules the next poll (or, in push mode, safety-net re-read) `delay` ms from now. */
  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer?.();
    this.timer = undefined;
    if (this.looping) {
      if (delay === 0) this.loopAgain = true;
      return;
    } // the running tick schedules the next
    this.timer = this.timers.after(delay, () => void this.tick(), true);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    if (this.running) {
      this.schedule(10);
      return;
    } // a pushed change is being published: poll right after it
    this.looping = true;
    this.loopAgain = false;
    const started = this.timers.now();
    const src = this.source;
    try {
      if (this.push && isPush(src)) await this.run(async () => this.accept(await src.loadFull()));
      else await this.syncOnce();
    } finally {
      this.looping = false;
    }
    if (this.stopped) return;
    const delay = this.loopAgain
      ? 0
      : this.st.consecutiveErrors
        ? Math.min(this.intervalMs * 2 ** Math.min(this.st.consecutiveErrors, 6), this.opts.maxBackoffMs ?? 60_000)
        : this.push && isPush(src)
          ? src.fullReadIntervalMs
          : Math.max(0, this.intervalMs - (this.timers.now() - started));
    this.schedule(delay);
  }

  /** Stops polling and closes the source's kept connection (after a running poll finishes). */
  stop(): void {
    this.stopped = true;
    this.timer?.();
    this.pushTimer?.();
    this.flushTimer?.();
    this.push?.close();
    this.push = undefined;
    this.st.mode = 'poll';
    if (this.running) this.closeWhenIdle = true;
    else void this.source.close?.();
  }
}
