/**
 * The controller's side of directory sync: an LDAP directory is polled (directory/ldap.ts); each accepted snapshot
 * is compiled in, fail-closed (a snapshot that does not compile leaves the last good plan), and a held shrink is let
 * through only when an admin confirms it, recorded as theirs.
 */
import type { Binding, Directory } from '../compiler/model.js';
import { recompile, CompileError, type Compiled } from '../compiler/compile.js';
import type { AccessChange } from '../compiler/query.js';
import { diffAccess } from '../compiler/query.js';
import { DirectorySync, LdapDirectorySource } from '../directory/ldap.js';
import type { LoadedPolicy } from '../loader/index.js';
import type { ControllerLog, DirectoryStatus, EventSink } from './controller-types.js';
import type { EdgeHook } from './edge-hook.js';

/** What the directory link needs from the controller (controller.ts implements it). */
export interface ControllerForDirectory extends EventSink {
  readonly loaded: LoadedPolicy;
  compiled: Compiled;
  directory: Directory;
  directoryStatus: DirectoryStatus;
  readonly directorySync?: DirectorySync;
  readonly bindings: ReadonlyMap<string, Binding>;
  readonly edge: Pick<EdgeHook, 'input' | 'directoryChanged'>;
  readonly log: ControllerLog;
  saveState(): Promise<void>;
  syncAll(): Promise<unknown>;
}

export class DirectoryLink {
  /** Who confirmed a held directory shrink: the snapshot it lets through is audited as theirs. */
  private shrinkConfirmedBy?: string;

  constructor(private readonly ctl: ControllerForDirectory) {}

  /** LDAP directories are polled; a change recompiles and re-syncs only what changed. Errors keep the last snapshot. */
  start(): DirectorySync | undefined {
    const ctl = this.ctl;
    const src = ctl.loaded.directorySource;
    if (!(src instanceof LdapDirectorySource)) return undefined;
    const sync = new DirectorySync(
      src,
      {
        intervalMs: src.config.pollIntervalMs,
        maxShrink: src.config.maxShrink,
        onSnapshot: async (dir, diff) => {
          ctl.log('info', `directory changed: +${diff.usersAdded.length} -${diff.usersRemoved.length} ~${diff.usersChanged.length} users`);
          await this.set(dir, 'directory sync');
        },
        onError: (e) => {
          ctl.directoryStatus = { ...ctl.directoryStatus, lastError: e.message };
          ctl.log('warn', `directory sync failed (keeping the last good snapshot): ${e.message}`);
          ctl.event('directory-failed', { error: e.message });
        },
        onHeld: (info) => {
          ctl.directoryStatus = { ...ctl.directoryStatus, heldShrink: info };
          ctl.log(
            'warn',
            `directory shrank from ${info.before} to ${info.after} users: held until confirmed (POST /api/v1/directory/confirm-shrink)`,
          );
          ctl.event('directory-shrink-held', info);
        },
      },
      ctl.loaded.directory,
    );
    sync.start();
    return sync;
  }

  /** Replaces the directory snapshot (from a directory sync) and recompiles. */
  async set(directory: Directory, reason = 'directory changed'): Promise<AccessChange[]> {
    const ctl = this.ctl;
    let next: Compiled;
    try {
      next = recompile(ctl.compiled, ctl.edge.input(directory, [...ctl.bindings.values()]));
    } catch (e) {
      if (!(e instanceof CompileError)) throw e;
      // fail closed: the switches keep the last good plan; the next snapshot is compiled in full again
      ctl.directoryStatus = { ...ctl.directoryStatus, lastError: `directory not applied: ${e.message}` };
      ctl.log('error', `directory change not applied, keeping the last good plan: ${e.message}`);
      ctl.event('directory-rejected', { reason, error: e.message });
      return [];
    }
    const access = diffAccess(ctl.compiled, next);
    ctl.compiled = next;
    ctl.directory = directory;
    ctl.edge.directoryChanged(directory);
    ctl.directoryStatus = {
      ...ctl.directoryStatus,
      lastSuccessAt: new Date().toISOString(),
      entries: directory.users.length,
      lastError: undefined,
    };
    ctl.event('directory-synced', {
      reason,
      users: directory.users.length,
      access,
      ...(this.shrinkConfirmedBy ? { by: this.shrinkConfirmedBy } : {}),
    });
    void ctl.saveState();
    await ctl.syncAll();
    return access;
  }

  /** Accepts a held directory shrink on behalf of `by` (the audit log records them, not the directory sync). */
  async confirmShrink(by: string): Promise<boolean> {
    if (!this.ctl.directorySync) return false;
    this.shrinkConfirmedBy = by;
    try {
      return await this.ctl.directorySync.confirmShrink();
    } finally {
      this.shrinkConfirmedBy = undefined;
    }
  }
}
