/**
 * The state file (learned bindings, class ids, edge state) has one ordered writer. Saves coalesce: while a write is
 * in flight, further requests only mark the state dirty, and the next write takes a fresh snapshot, so a later state
 * is never overwritten by an older one. Each write goes to one temp file, is fsynced, renamed over the file, and the
 * directory is fsynced: after a crash the file holds either the previous or the new complete state. Every state
 * carries a generation that only grows (also across restarts); `save()` resolves once a state at least as new as
 * the one at the call is durable ("acknowledged").
 */
import { open, readFile, rename } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import type { Binding } from '../compiler/model.js';

export class StateWriter {
  /** Generation of the newest state requested / made durable. */
  private requested = 0;
  private durable = 0;
  private running = false;
  private waiters: Array<{ gen: number; resolve: () => void }> = [];

  constructor(
    readonly file: string,
    private readonly snapshot: () => Record<string, unknown>,
    private readonly hooks: { onSaved?: (generation: number, state: Record<string, unknown>) => void; onError?: (e: Error) => void } = {},
    startGeneration = 0,
  ) {
    this.requested = this.durable = startGeneration;
  }

  get generation(): number {
    return this.durable;
  }

  save(): Promise<void> {
    const gen = ++this.requested;
    const p = new Promise<void>((resolve) => this.waiters.push({ gen, resolve }));
    if (!this.running) void this.loop();
    return p;
  }

  private async loop(): Promise<void> {
    this.running = true;
    try {
      while (this.durable < this.requested) {
        const gen = this.requested;
        try {
          const state = this.snapshot();
          await this.write(JSON.stringify({ generation: gen, ...state }, null, 2));
          this.durable = gen;
          this.hooks.onSaved?.(gen, state);
        } catch (e) {
          this.hooks.onError?.(e as Error);
          this.durable = gen; // the in-memory state stays authoritative; the next save tries again
        }
        const done = this.waiters.filter((w) => w.gen <= this.durable);
        this.waiters = this.waiters.filter((w) => w.gen > this.durable);
        for (const w of done) w.resolve();
      }
    } finally {
      this.running = false;
    }
  }

  private async write(text: string): Promise<void> {
    const tmp = join(dirname(this.file), `.${basename(this.file)}.tmp`);
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.file);
    const dir = await open(dirname(this.file), 'r');
    try {
      await dir.sync();
    } catch {
      /* some filesystems cannot fsync a directory */
    } finally {
      await dir.close();
    }
  }
}

/** What a state file written by StateWriter holds, as read back at start (fields checked, not trusted). */
export interface SavedState {
  readonly generation?: number;
  readonly bindings: readonly Binding[];
  readonly ids?: { classIds: Map<string, number>; dstClassIds: Map<string, number> };
  readonly edge?: unknown;
}

/**
 * Reads the state file at start: learned bindings (malformed ones skipped), the class ids of the last run and the
 * edge's sessions and leases. A missing file is a first start (undefined); a file that cannot be read or parsed is
 * ignored with a warning, as the in-memory state is authoritative from then on.
 */
export async function readSavedState(file: string, warn: (msg: string) => void): Promise<SavedState | undefined> {
  try {
    const st = JSON.parse(await readFile(file, 'utf8')) as {
      generation?: number;
      bindings?: Binding[];
      classIds?: Array<[string, number]>;
      dstClassIds?: Array<[string, number]>;
      edge?: unknown;
    };
    const bindings = (Array.isArray(st.bindings) ? st.bindings : []).filter(
      (b) => b && typeof b.mac === 'string' && typeof b.switch === 'string' && Number.isInteger(b.port),
    );
    return {
      generation: Number.isSafeInteger(st.generation) ? st.generation : undefined,
      bindings,
      ids:
        Array.isArray(st.classIds) && Array.isArray(st.dstClassIds)
          ? { classIds: new Map(st.classIds), dstClassIds: new Map(st.dstClassIds) }
          : undefined,
      edge: st.edge,
    };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') warn(`ignoring unreadable state file ${file}: ${(e as Error).message}`);
    return undefined;
  }
}
