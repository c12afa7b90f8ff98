/**
 * Two-person rule for policy changes (`--require-approval`): a change (or rollback) submitted with one named admin
 * token waits, with its preview (who gains, who loses, flow changes per switch), until a different named admin
 * approves it. The submitter cannot approve their own change; pending changes expire; a change whose base policy
 * moved meanwhile must be submitted again (its preview would be stale). Everything is an event (audit log, console).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { AccessChange } from '../compiler/query.js';
import type { Compiled } from '../compiler/compile.js';
import type { ApplyResult, Controller } from './controller.js';
import type { StoredPending } from './lifecycle-store.js';

export interface PendingChange {
  readonly id: string;
  readonly kind: 'policy' | 'rollback';
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

export type ApprovalError = {
  code: 'not-found' | 'own-change' | 'expired' | 'stale' | 'invalid' | 'too-many';
  status: number;
  message: string;
};

export const DEFAULT_APPROVAL_TTL_MS = 24 * 3600_000;
const MAX_PENDING = 100;

export class Approvals {
  private readonly pending = new Map<string, StoredPending>();
  private cancelTimer?: () => void;
  /** Called after every change of the pending set (controller/lifecycle-store.ts persists it). */
  onChange?: () => void;

  constructor(
    private readonly ctl: Controller,
    readonly ttlMs = DEFAULT_APPROVAL_TTL_MS,
  ) {}

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
    opts: { kind?: 'policy' | 'rollback'; rollbackTo?: number; ids?: Pick<Compiled, 'classIds' | 'dstClassIds'> } = {},
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
    if (!p)
      return {
        ok: false,
        error: {
          code: 'not-found',
          status: 404,
          message: `no pending change '${id.slice(0, 40)}' (approved, rejected or expired already?)`,
        },
      };
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
    if (this.ctl.loaded.policyText !== p.baseText) {
      this.pending.delete(id);
      this.onChange?.();
      this.ctl.event('policy-rejected', { id, by: 'controller', reason: 'the policy changed since it was submitted', submittedBy: p.by });
      return {
        ok: false,
        error: {
          code: 'stale',
          status: 409,
          message: `the policy changed since this change was submitted (version ${p.baseVersion}, now ${this.ctl.version}); submit it again for a fresh preview`,
        },
      };
    }
    this.pending.delete(id);
    this.onChange?.();
    const result = await this.ctl.applyPolicy(p.text, {
      by: p.by,
      ids: p.ids,
      meta: {
        reason: p.kind === 'rollback' ? 'rollback' : 'apply',
        approvedBy: approver,
        ...(p.rollbackTo !== undefined ? { rollbackTo: p.rollbackTo } : {}),
      },
    });
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

  reject(id: string, by: string): boolean {
    this.expire();
    const p = this.pending.get(id);
    if (!p) return false;
    this.pending.delete(id);
    this.onChange?.();
    this.ctl.event('policy-rejected', { id, by, submittedBy: p.by });
    return true;
  }

  stop(): void {
    this.cancelTimer?.();
  }

  private expire(): void {
    const now = this.ctl.clock.now();
    for (const [id, p] of this.pending)
      if (p.expires <= now) {
        this.pending.delete(id);
        this.onChange?.();
        this.ctl.event('policy-expired', { id, submittedBy: p.by, expiresAt: p.expiresAt });
      }
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
