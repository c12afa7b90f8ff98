/**
 * Policy history, pending approvals and the version in monitor mode survive a restart: all are written, through the one ordered atomic writer
 * of controller/state-file.ts (temp file, fsync, rename, directory fsync), to `<state file>.lifecycle.json` beside
 * the controller's state file, after every change. On start the file is read back defensively: anything malformed
 * is dropped (a pending change from a damaged file is never applied without its full, checked content), expired
 * pending changes are dropped, sizes are capped. A pending change is still approved only while the running policy
 * is the text it was previewed against (approvals.ts checks that again), so a restored one can never apply stale.
 * In cluster mode both live in etcd instead (cluster/policy-store.ts, controller/lifecycle-cluster.ts); the same
 * readers check what comes back from there.
 */
import { readFileSync } from 'node:fs';
import type { Compiled } from '../compiler/compile.js';
import type { AccessChange } from '../compiler/query.js';
import type { ApplyResult } from './controller.js';
import { StateWriter } from './state-file.js';

type Ids = Pick<Compiled, 'classIds' | 'dstClassIds'>;

/** A change waiting for a second admin's approval (controller/approvals.ts). */
export interface PendingChange {
  readonly id: string;
  /** monitor: approving it puts the text in monitor mode (nothing enforced); see controller/monitor-version.ts. */
  readonly kind: 'policy' | 'rollback' | 'monitor';
  readonly by: string;
  readonly at: string;
  readonly expiresAt: string;
  /** The policy version and text the change was previewed against. */
  readonly baseVersion: number;
  readonly text: string;
  readonly textSha256: string;
  readonly rollbackTo?: number;
  readonly access: readonly AccessChange[];
  readonly flows: ApplyResult['flows'];
  readonly summary: string;
}

/** One applied policy version (controller/lifecycle-history.ts). */
export interface PolicyVersion {
  readonly version: number;
  readonly at: string;
  readonly by: string;
  readonly reason: string;
  readonly approvedBy?: string;
  readonly rollbackTo?: number;
  readonly summary?: string;
  /** Empty while no node has applied a version committed in a cluster yet. */
  readonly planHash: string;
  readonly text: string;
  /** The class ids the version was compiled with; absent for a cluster version no node has applied yet. */
  readonly ids?: Pick<Compiled, 'classIds' | 'dstClassIds'>;
}
export type StoredPending = PendingChange & { baseText: string; expires: number; ids?: Ids };

const MAX_TEXT = 8 * 1024 * 1024;
const MAX_ENTRIES = 300;
const MAX_IDS = 1 << 20;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown, max = 4096): v is string => typeof v === 'string' && v.length <= max;
const int = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

export function idsOut(ids: Ids | undefined) {
  return ids ? { classIds: [...ids.classIds], dstClassIds: [...ids.dstClassIds] } : undefined;
}
export function idsIn(v: unknown): Ids | undefined | false {
  if (v === undefined) return undefined;
  if (!isObj(v)) return false;
  const map = (x: unknown): Map<string, number> | undefined => {
    if (!Array.isArray(x) || x.length > MAX_IDS) return undefined;
    const m = new Map<string, number>();
    for (const e of x) {
      if (!Array.isArray(e) || e.length !== 2 || !str(e[0], 65536) || !int(e[1]) || e[1] > 0xffff) return undefined;
      m.set(e[0], e[1]);
    }
    return m;
  };
  const classIds = map(v.classIds),
    dstClassIds = map(v.dstClassIds);
  return classIds && dstClassIds ? { classIds, dstClassIds } : false;
}

/** A version record read back (state file, etcd); `needIds` false accepts one without class ids (cluster, not applied yet). */
export function versionIn(v: unknown, needIds = true): PolicyVersion | undefined {
  if (
    !isObj(v) ||
    !int(v.version) ||
    !str(v.at, 64) ||
    !str(v.by, 256) ||
    !str(v.reason, 64) ||
    !str(v.planHash, 64) ||
    !str(v.text, MAX_TEXT)
  )
    return undefined;
  if (v.approvedBy !== undefined && !str(v.approvedBy, 256)) return undefined;
  if (v.rollbackTo !== undefined && !int(v.rollbackTo)) return undefined;
  if (v.summary !== undefined && !str(v.summary, 65536)) return undefined;
  const ids = idsIn(v.ids);
  if (ids === false || (!ids && needIds)) return undefined;
  return {
    version: v.version,
    at: v.at,
    by: v.by,
    reason: v.reason,
    ...(v.approvedBy !== undefined ? { approvedBy: v.approvedBy } : {}),
    ...(v.rollbackTo !== undefined ? { rollbackTo: v.rollbackTo } : {}),
    ...(v.summary !== undefined ? { summary: v.summary } : {}),
    planHash: v.planHash,
    text: v.text,
    ...(ids ? { ids } : {}),
  };
}

/** A pending change read back (state file, etcd); one expired by `now` is dropped. */
export function pendingIn(v: unknown, now: number): StoredPending | undefined {
  if (
    !isObj(v) ||
    !str(v.id, 64) ||
    !/^[A-Za-z0-9_-]+$/.test(v.id) ||
    (v.kind !== 'policy' && v.kind !== 'rollback' && v.kind !== 'monitor') ||
    !str(v.by, 256) ||
    !str(v.at, 64) ||
    !str(v.expiresAt, 64)
  )
    return undefined;
  if (
    !int(v.baseVersion) ||
    !str(v.text, MAX_TEXT) ||
    !str(v.baseText, MAX_TEXT) ||
    !str(v.textSha256, 64) ||
    !int(v.expires) ||
    v.expires <= now
  )
    return undefined;
  if (v.rollbackTo !== undefined && !int(v.rollbackTo)) return undefined;
  if (!Array.isArray(v.access) || !Array.isArray(v.flows) || !str(v.summary, 65536)) return undefined;
  const ids = idsIn(v.ids);
  if (ids === false) return undefined;
  return {
    id: v.id,
    kind: v.kind,
    by: v.by,
    at: v.at,
    expiresAt: v.expiresAt,
    baseVersion: v.baseVersion,
    text: v.text,
    textSha256: v.textSha256,
    ...(v.rollbackTo !== undefined ? { rollbackTo: v.rollbackTo } : {}),
    access: v.access as AccessChange[],
    flows: v.flows as PendingChange['flows'],
    summary: v.summary,
    baseText: v.baseText,
    expires: v.expires,
    ...(ids ? { ids } : {}),
  };
}

/** The policy version in monitor mode (controller/monitor-version.ts), as kept across a restart. */
export interface StoredMonitor {
  readonly text: string;
  readonly by: string;
  readonly approvedBy?: string;
  readonly since: string;
  /** The enforced version it was monitored against: restored only while that is still the running version. */
  readonly baseVersion: number;
}

export function monitorIn(v: unknown): StoredMonitor | undefined {
  if (!isObj(v) || !str(v.text, MAX_TEXT) || !str(v.by, 200) || !str(v.since, 64) || !Number.isSafeInteger(v.baseVersion)) return undefined;
  if (v.approvedBy !== undefined && !str(v.approvedBy, 200)) return undefined;
  if (Number.isNaN(Date.parse(v.since))) return undefined;
  return {
    text: v.text,
    by: v.by,
    ...(v.approvedBy !== undefined ? { approvedBy: v.approvedBy } : {}),
    since: v.since,
    baseVersion: v.baseVersion as number,
  };
}

export interface LifecycleState {
  readonly versions: PolicyVersion[];
  readonly pending: StoredPending[];
  readonly monitor?: StoredMonitor;
  readonly dropped: number;
}

/** Reads the lifecycle file; a missing file is an empty state, a malformed one (or entry) is dropped and counted. */
export function readLifecycle(file: string, now: number): LifecycleState & { error?: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    return {
      versions: [],
      pending: [],
      dropped: 0,
      ...((e as NodeJS.ErrnoException).code === 'ENOENT' ? {} : { error: (e as Error).message.slice(0, 200) }),
    };
  }
  if (!isObj(raw)) return { versions: [], pending: [], dropped: 0, error: 'not a JSON object' };
  let dropped = 0;
  const list = (x: unknown) => (Array.isArray(x) ? x.slice(-MAX_ENTRIES) : []);
  const versions: PolicyVersion[] = [],
    pending: StoredPending[] = [];
  for (const v of list(raw.versions)) {
    const x = versionIn(v);
    if (x) versions.push(x);
    else dropped++;
  }
  for (const p of list(raw.pending)) {
    const x = pendingIn(p, now);
    if (x) pending.push(x);
    else dropped++;
  }
  versions.sort((a, b) => a.version - b.version);
  const monitor = raw.monitor === undefined ? undefined : monitorIn(raw.monitor);
  if (raw.monitor !== undefined && !monitor) dropped++;
  return { versions, pending, ...(monitor ? { monitor } : {}), dropped };
}

/** Writes the lifecycle state after each change (coalesced, atomic, durable when `save()` resolves). */
export class LifecycleStore {
  private readonly writer: StateWriter;
  constructor(
    readonly file: string,
    snapshot: () => { versions: Iterable<PolicyVersion>; pending: Iterable<StoredPending>; monitor?: StoredMonitor },
    onError?: (e: Error) => void,
  ) {
    this.writer = new StateWriter(
      file,
      () => {
        const s = snapshot();
        return {
          versions: [...s.versions].map((v) => ({ ...v, ids: idsOut(v.ids) })),
          pending: [...s.pending].map((p) => ({ ...p, ids: idsOut(p.ids) })),
          ...(s.monitor ? { monitor: s.monitor } : {}),
        };
      },
      { onError },
    );
  }
  save(): Promise<void> {
    return this.writer.save();
  }
}

/** `<state file>.lifecycle.json`, or undefined when the controller keeps no state file. */
export function lifecycleFileOf(stateFile: string | undefined): string | undefined {
  return stateFile ? `${stateFile.replace(/\.json$/, '')}.lifecycle.json` : undefined;
}
