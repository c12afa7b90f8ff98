/**
 * Keeps a directory snapshot in sync with a source by polling. Fail safe: errors keep the last good snapshot
 * (retried with backoff); a shrink beyond `maxShrink` (or an empty result after a non-empty one) is held until
 * `confirmShrink()`; never "everyone left" because of an error.
 */
import type { Directory, DirectorySource, User } from '../model.js';
import { diffDirectories, type DirectoryDiff } from '../directory-diff.js';

export interface SyncOptions {
  readonly intervalMs?: number;
  readonly maxShrink?: number;
  readonly maxBackoffMs?: number;
  readonly onSnapshot?: (dir: Directory, diff: DirectoryDiff) => void | Promise<void>;
  readonly onError?: (err: Error) => void;
  readonly onHeld?: (info: { before: number; after: number }) => void;
}

export interface SyncStatus {
  readonly source: string;
  readonly lastSuccessAt?: string;
  readonly lastAttemptAt?: string;
  readonly entries: number;
  readonly consecutiveErrors: number;
  readonly lastError?: string;
  readonly heldShrink?: { readonly before: number; readonly after: number; readonly since: string };
  readonly lastDurationMs?: number;
}

/** Reuses the previous snapshot's objects for users that did not change, so consumers can compare by identity. */
function keepUnchanged(before: Directory | undefined, next: Directory): Directory {
  if (!before) return next;
  const old = new Map(before.users.map((u) => [u.id, u]));
  const same = (a: User, b: User) => a.name === b.name && a.organization === b.organization && a.roles.length === b.roles.length && a.roles.every((r, i) => r === b.roles[i])
    && a.devices.length === b.devices.length && a.devices.every((d, i) => d.mac === b.devices[i].mac && d.ip === b.devices[i].ip);
  const users = next.users.map((u) => { const o = old.get(u.id); return o && same(o, u) ? o : u; });
  const orgsSame = before.organizations.length === next.organizations.length && before.organizations.every((o, i) => o.name === next.organizations[i].name && o.parent === next.organizations[i].parent);
  return { ...next, users, organizations: orgsSame ? before.organizations : next.organizations };
}

export class DirectorySync {
  snapshot: Directory | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = true;
  private st: { -readonly [K in keyof SyncStatus]: SyncStatus[K] };
  private confirmNext = false;
  private held: Directory | undefined;
  readonly intervalMs: number;

  constructor(readonly source: DirectorySource, private readonly opts: SyncOptions = {}, initial?: Directory) {
    this.snapshot = initial;
    this.intervalMs = opts.intervalMs ?? 5000;
    this.st = { source: source.description, entries: initial?.users.length ?? 0, consecutiveErrors: 0, lastSuccessAt: initial ? new Date().toISOString() : undefined };
  }

  status(): SyncStatus { return { ...this.st }; }

  /** Runs one sync now. Resolves true when a new snapshot was accepted (changed or not). */
  async syncOnce(): Promise<boolean> {
    if (this.running) return false;
    this.running = true;
    const t0 = performance.now();
    this.st.lastAttemptAt = new Date().toISOString();
    try {
      const next = keepUnchanged(this.snapshot, await this.source.load());
      this.st.lastDurationMs = performance.now() - t0;
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
      this.confirmNext = false;
      this.held = undefined;
      this.st.heldShrink = undefined;
      const diff = this.snapshot ? diffDirectories(this.snapshot, next) : diffDirectories({ organizations: [], users: [], source: '' }, next);
      this.snapshot = next;
      this.st.entries = after;
      this.st.lastSuccessAt = new Date().toISOString();
      this.st.consecutiveErrors = 0;
      this.st.lastError = undefined;
      if (!diff.empty) await this.opts.onSnapshot?.(next, diff);
      return true;
    } catch (e) {
      this.st.consecutiveErrors++;
      this.st.lastError = (e as Error).message;
      this.opts.onError?.(e as Error);
      return false;
    } finally {
      this.running = false;
    }
  }

  /** Accepts a held shrink (the admin confirms people really left). */
  async confirmShrink(): Promise<boolean> {
    this.confirmNext = true;
    return this.syncOnce();
  }

  get heldSnapshot(): Directory | undefined { return this.held; }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const loop = async () => {
      if (this.stopped) return;
      await this.syncOnce();
      if (this.stopped) return;
      const backoff = this.st.consecutiveErrors ? Math.min(this.intervalMs * 2 ** Math.min(this.st.consecutiveErrors, 6), this.opts.maxBackoffMs ?? 60_000) : this.intervalMs;
      this.timer = setTimeout(() => void loop(), backoff);
      this.timer.unref?.();
    };
    this.timer = setTimeout(() => void loop(), this.intervalMs);
    this.timer.unref?.();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
