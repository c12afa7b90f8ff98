/**
 * Keeps a directory snapshot in sync with a source by polling. Fail safe: errors keep the last good snapshot
 * (retried with backoff); a shrink beyond `maxShrink` (or an empty result after a non-empty one) is held until
 * `confirmShrink()`; never "everyone left" because of an error.
 */
import type { Directory, DirectorySource, Organization, User } from '../model.js';
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

/**
 * A source that can deliver a poll in two stages (LdapDirectorySource): first a snapshot from the entries that
 * changed, published at once, then what only a slower check finds (deletions, the periodic full re-read).
 */
export interface StagedDirectorySource extends DirectorySource {
  loadChanges(): Promise<Directory>;
  /** Resolves with a new snapshot when the second stage changed anything, undefined otherwise. */
  loadRest(): Promise<Directory | undefined>;
}

const isStaged = (s: DirectorySource): s is StagedDirectorySource => typeof (s as Partial<StagedDirectorySource>).loadChanges === 'function' && typeof (s as Partial<StagedDirectorySource>).loadRest === 'function';

export const sameUser = (a: User, b: User) => a === b || (a.id === b.id && a.name === b.name && a.organization === b.organization && a.roles.length === b.roles.length && a.roles.every((r, i) => r === b.roles[i])
  && a.devices.length === b.devices.length && a.devices.every((d, i) => d.mac === b.devices[i].mac && d.ip === b.devices[i].ip));

const sameOrgs = (a: readonly Organization[], b: readonly Organization[]) => a === b || (a.length === b.length && a.every((o, i) => o.name === b[i].name && o.parent === b[i].parent));

/** Reuses the previous snapshot's objects for users that did not change, so consumers can compare by identity. */
function keepUnchanged(before: Directory | undefined, next: Directory): Directory {
  if (!before || before === next) return next;
  if (before.users.length === next.users.length) {
    // Fast path: the same users in the same order (what LdapDirectorySource returns); compare only where objects differ.
    let users: User[] | undefined = [];
    for (let i = 0; i < next.users.length; i++) {
      const o = before.users[i], u = next.users[i];
      if (o.id !== u.id) { users = undefined; break; }
      users.push(o === u || sameUser(o, u) ? o : u);
    }
    if (users) return { ...next, users, organizations: sameOrgs(before.organizations, next.organizations) ? before.organizations : next.organizations };
  }
  const old = new Map(before.users.map((u) => [u.id, u]));
  const users = next.users.map((u) => { const o = old.get(u.id); return o && sameUser(o, u) ? o : u; });
  return { ...next, users, organizations: sameOrgs(before.organizations, next.organizations) ? before.organizations : next.organizations };
}

export class DirectorySync {
  snapshot: Directory | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = true;
  private st: { -readonly [K in keyof SyncStatus]: SyncStatus[K] };
  private confirmNext = false;
  private closeWhenIdle = false;
  private held: Directory | undefined;
  readonly intervalMs: number;

  constructor(readonly source: DirectorySource, private readonly opts: SyncOptions = {}, initial?: Directory) {
    this.snapshot = initial;
    this.intervalMs = opts.intervalMs ?? 5000;
    this.st = { source: source.description, entries: initial?.users.length ?? 0, consecutiveErrors: 0, lastSuccessAt: initial ? new Date().toISOString() : undefined };
  }

  status(): SyncStatus { return { ...this.st }; }

  /**
   * Runs one sync now. Resolves true when every snapshot it produced was accepted (changed or not); false on an
   * error or a held shrink. With a staged source the changed entries are published before the deletion check.
   */
  async syncOnce(): Promise<boolean> {
    if (this.running) return false;
    this.running = true;
    const t0 = performance.now();
    this.st.lastAttemptAt = new Date().toISOString();
    try {
      const src = this.source;
      let ok: boolean;
      if (isStaged(src)) {
        ok = await this.accept(await src.loadChanges());
        const rest = await src.loadRest();
        if (rest) ok = (await this.accept(rest)) && ok;
      } else ok = await this.accept(await src.load());
      this.st.lastDurationMs = performance.now() - t0;
      this.confirmNext = false;
      return ok;
    } catch (e) {
      this.st.consecutiveErrors++;
      this.st.lastError = (e as Error).message;
      this.opts.onError?.(e as Error);
      return false;
    } finally {
      this.running = false;
      if (this.closeWhenIdle) { this.closeWhenIdle = false; await this.source.close?.(); }
    }
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

  get heldSnapshot(): Directory | undefined { return this.held; }

  /**
   * Polls at a fixed rate: each poll starts `intervalMs` after the previous one started (at once if that one
   * took longer; never two at a time), so a change waits at most one interval plus one poll. After an error the
   * next attempt waits with exponential backoff instead.
   */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.closeWhenIdle = false;
    const loop = async () => {
      if (this.stopped) return;
      const started = performance.now();
      await this.syncOnce();
      if (this.stopped) return;
      const delay = this.st.consecutiveErrors
        ? Math.min(this.intervalMs * 2 ** Math.min(this.st.consecutiveErrors, 6), this.opts.maxBackoffMs ?? 60_000)
        : Math.max(0, this.intervalMs - (performance.now() - started));
      this.timer = setTimeout(() => void loop(), delay);
      this.timer.unref?.();
    };
    this.timer = setTimeout(() => void loop(), this.intervalMs);
    this.timer.unref?.();
  }

  /** Stops polling and closes the source's kept connection (after a running poll finishes). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.running) this.closeWhenIdle = true;
    else void this.source.close?.();
  }
}
