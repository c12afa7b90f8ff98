/**
 * Two-person rule for policy changes (`--require-approval`): a change (or rollback) submitted with one named admin
 * token waits, with its preview (who gains, who loses, flow changes per switch), until a different named admin
 * approves it. The submitter cannot approve their own change; pending changes expire; a change whose base policy
 * moved meanwhile must be submitted again (its preview would be stale). Everything is an event (audit log, console).
 * In a cluster the pending changes live in etcd (`shared`): submitted on one node, listed and approvable on every
 * node; the approval's commit deletes the pending key in the same transaction, so it is applied exactly once.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Compiled } from '../compiler/compile.js';
import type { ApplyResult, Controller } from './controller.js';
import { idsIn, idsOut, pendingIn, type PendingChange, type StoredPending } from './lifecycle-store.js';
import type { SharedLifecycle } from './lifecycle-cluster.js';

export type ApprovalError = {
  code: 'not-found' | 'own-change' | 'expired' | 'stale' | 'invalid' | 'too-many' | 'cluster-unavailable';
  status: number;
  message: string;
};

export type { PendingChange };

export const DEFAULT_APPROVAL_TTL_MS = 24 * 3600_000;

const gone = (id: string): ApprovalError => ({
  code: 'not-found',
  status: 404,
  message: `no pending change '${id.slice(0, 40)}' (approved, rejected or expired already?)`,
});
const stale = (base: number, now: number): ApprovalError => ({
  code: 'stale',
  status: 409,
  message: `the policy changed since this change was submitted (version ${base}, now ${now}); submit it again for a fresh preview`,
});
const MAX_PENDING = 100;

export class Approvals {
  private readonly pending = new Map<string, StoredPending>();
  private cancelTimer?: () => void;
  /** Called after every change of the pending set (controller/lifecycle-store.ts persists it). */
  onChange?: () => void;

  private unwatch?: () => void;

  constructor(
    private readonly ctl: Controller,
    readonly ttlMs = DEFAULT_APPROVAL_TTL_MS,
    private readonly shared?: SharedLifecycle,
  ) {
    if (!shared) return;
    for (const v of shared.pending()) this.adopt(v);
    this.unwatch = shared.onPending((id, v) => {
      if (v === undefined) this.pending.delete(id);
      else this.adopt(v);
      this.armExpiry();
    });
    this.armExpiry();
  }

  /** A pending change from etcd, checked like the state file's (expiry is left to expire(), which records it). */
  private adopt(raw: unknown): void {
    const r = raw as Record<string, unknown> | null;
    const ids = idsIn(r?.ids);
    const p = pendingIn({ ...r, ids: undefined }, -1);
    if (p && ids !== false) this.pending.set(p.id, { ...p, ...(ids ? { ids } : {}) });
  }

  /** Pending changes as stored (with the base text and class ids a restart needs). */
  stored(): Iterable<StoredPending> {
    return this.pending.values();
  }

  /** Pending changes read back after a restart (already checked by lifecycle-store.ts); expired ones go at once. */
  restore(list: readonly StoredPending[]): void {
    for (const p of list) if (this.pending.size < MAX_PENDING) this.pending.set(p.id, p);
    this.expire();
    this.armExpiry();
  }

  /** Pending changes, oldest first (expired ones are dropped, with an event, first). */
  list(): PendingChange[] {
    this.expire();
    return [...this.pending.values()].map(({ baseText: _b, expires: _e, ids: _i, ...p }) => p);
  }

  /** Previews a change (a dry run against the current policy) and holds it; an invalid policy is not held. */
  async submit(
    text: string,
    by: string,
    opts: { kind?: 'policy' | 'rollback' | 'monitor'; rollbackTo?: number; ids?: Pick<Compiled, 'classIds' | 'dstClassIds'> } = {},
  ): Promise<{ ok: true; pending: PendingChange } | { ok: false; result?: ApplyResult; error?: ApprovalError }> {
    this.expire();
    if (this.pending.size >= MAX_PENDING)
      return {
        ok: false,
        error: { code: 'too-many', status: 429, message: `${MAX_PENDING} changes are already pending; approve or reject some first` },
      };
    const baseText = this.ctl.loaded.policyText;
    const baseVersion = this.ctl.version;
    const preview = await this.ctl.applyPolicy(text, { dryRun: true, by, ids: opts.ids });
    if (!preview.ok) return { ok: false, result: preview };
    const now = this.ctl.clock.now();
    const gains = preview.access.filter((a) => a.change === 'gain').length,
      losses = preview.access.length - gains;
    const p = {
      id: randomBytes(9).toString('base64url'),
      kind: opts.kind ?? 'policy',
      by,
      at: new Date(now).toISOString(),
      expiresAt: new Date(now + this.ttlMs).toISOString(),
      baseVersion,
      text,
      textSha256: createHash('sha256').update(text).digest('hex'),
      ...(opts.rollbackTo !== undefined ? { rollbackTo: opts.rollbackTo } : {}),
      access: preview.access,
      flows: preview.flows,
      summary: `${gains} gain, ${losses} lose; flows ${preview.flows.map((f) => `${f.switch} +${f.added}/-${f.removed}`).join(' ')}`,
      baseText,
      expires: now + this.ttlMs,
      ...(opts.ids ? { ids: opts.ids } : {}),
    } as const;
    if (this.shared) {
      try {
        await this.shared.putPending(p.id, { ...p, ids: idsOut(p.ids) });
      } catch (e) {
        return { ok: false, error: { code: 'cluster-unavailable', status: 503, message: (e as Error).message } };
      }
    }
    this.pending.set(p.id, p);
    this.onChange?.();
    this.ctl.event('policy-pending', {
      id: p.id,
      kind: p.kind,
      by,
      baseVersion,
      rollbackTo: opts.rollbackTo,
      textSha256: p.textSha256,
      expiresAt: p.expiresAt,
      summary: p.summary,
      access: p.access,
      flows: p.flows,
    });
    this.armExpiry();
    const { baseText: _b, expires: _e, ids: _i, ...shown } = p;
    return { ok: true, pending: shown };
  }

  /** Applies a pending change for a second admin. */
  async approve(
    id: string,
    approver: string,
  ): Promise<{ ok: true; result: ApplyResult } | { ok: false; error: ApprovalError; result?: ApplyResult }> {
    this.expire();
    const p = this.pending.get(id);
    if (!p) return { ok: false, error: gone(id) };
    if (p.by === approver) {
      this.ctl.event('approval-refused', { id, by: approver, reason: 'own change' });
      return {
        ok: false,
        error: {
          code: 'own-change',
          status: 403,
          message: `'${approver}' submitted this change and cannot approve it: a different admin must`,
        },
      };
    }
    // in a cluster the version numbers are the cluster's: the policy moved when the committed version did
    const moved = this.shared ? this.shared.committedVersion() !== p.baseVersion : this.ctl.loaded.policyText !== p.baseText;
    if (moved) {
      await this.drop(id, p);
      return { ok: false, error: stale(p.baseVersion, this.shared?.committedVersion() ?? this.ctl.version) };
    }
    // single controller: taken off the list first (one approval at a time); cluster: the commit's transaction takes it
    if (!this.shared) {
      this.pending.delete(id);
      this.onChange?.();
    }
    // a monitor change is approved like an apply, and enters monitor mode instead (nothing enforced)
    const result =
      p.kind === 'monitor' ? (await this.ctl.monitorMode.start(p.text, p.by, approver)).result : await this.applyPending(p, id, approver);
    return this.approved(id, p, approver, result);
  }

  private applyPending(p: StoredPending, id: string, approver: string): Promise<ApplyResult> {
    return this.ctl.applyPolicy(p.text, {
      by: p.by,
      ids: p.ids,
      meta: {
        reason: p.kind === 'rollback' ? 'rollback' : 'apply',
        approvedBy: approver,
        ...(p.rollbackTo !== undefined ? { rollbackTo: p.rollbackTo } : {}),
      },
      ...(this.shared ? { pendingId: id, baseVersion: p.baseVersion } : {}),
    });
  }

  private async approved(
    id: string,
    p: StoredPending,
    approver: string,
    result: ApplyResult,
  ): Promise<{ ok: true; result: ApplyResult } | { ok: false; error: ApprovalError; result?: ApplyResult }> {
    const code = result.diagnostics.find(
      (d) => d.code === 'pending-gone' || d.code === 'conflict' || d.code === 'cluster-unavailable',
    )?.code;
    if (!result.ok && code === 'pending-gone') {
      if (this.pending.delete(id)) this.onChange?.();
      return { ok: false, error: gone(id) };
    }
    if (!result.ok && code === 'cluster-unavailable')
      return { ok: false, error: { code: 'cluster-unavailable', status: 503, message: result.diagnostics[0].message } };
    if (!result.ok && code === 'conflict') {
      await this.drop(id, p);
      return { ok: false, error: stale(p.baseVersion, this.shared?.committedVersion() ?? this.ctl.version) };
    }
    if (this.shared && this.pending.delete(id)) this.onChange?.();
    this.ctl.event('policy-approved', { id, by: approver, submittedBy: p.by, ok: result.ok, version: result.version });
    if (!result.ok)
      return {
        ok: false,
        error: {
          code: 'invalid',
          status: 422,
          message: 'the change no longer validates against the current directory and topology; nothing applied',
        },
        result,
      };
    return { ok: true, result };
  }

  /** Drops a change whose base moved (its preview is stale). */
  private async drop(id: string, p: StoredPending): Promise<void> {
    if (!(await this.take(id))) return;
    this.ctl.event('policy-rejected', { id, by: 'controller', reason: 'the policy changed since it was submitted', submittedBy: p.by });
  }

  /** Takes a pending change off the list; in a cluster, true only on the one node whose delete won. */
  private async take(id: string): Promise<boolean> {
    const had = this.pending.delete(id);
    if (had) this.onChange?.();
    if (!this.shared) return had;
    try {
      return await this.shared.removePending(id);
    } catch {
      return false; // etcd unreachable: the next expiry pass on any node removes it
    }
  }

  async reject(id: string, by: string): Promise<boolean> {
    this.expire();
    const p = this.pending.get(id);
    if (!p || !(await this.take(id))) return false;
    this.ctl.event('policy-rejected', { id, by, submittedBy: p.by });
    return true;
  }

  stop(): void {
    this.cancelTimer?.();
    this.unwatch?.();
  }

  private expire(): void {
    const now = this.ctl.clock.now();
    for (const [id, p] of this.pending)
      if (p.expires <= now)
        void this.take(id).then((won) => {
          if (won) this.ctl.event('policy-expired', { id, submittedBy: p.by, expiresAt: p.expiresAt });
        });
  }

  private armExpiry(): void {
    this.cancelTimer?.();
    let first = Infinity;
    for (const p of this.pending.values()) first = Math.min(first, p.expires);
    if (first === Infinity) return;
    this.cancelTimer = this.ctl.clock.at(first, () => {
      this.expire();
      this.armExpiry();
    });
  }
}
