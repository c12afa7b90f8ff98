/**
 * Policy history: every version with its full text, who and why, the SHA-256 of its plan and the class ids it was
 * compiled with (for exact rollbacks). A single controller records what it applies (and lifecycle-store.ts keeps it
 * across restarts); a cluster node mirrors the versions kept in etcd (cluster/policy-store.ts), so every node shows
 * the same history, whoever applied what, and a restart of any node loses nothing.
 */
import { createHash } from 'node:crypto';
import type { FlowPlan } from '../compiler/model.js';
import { jsonReplacer } from '../compiler/format.js';
import type { Controller, ControllerEvent } from './controller.js';
import type { EventOf } from './events.js';
import type { SharedLifecycle } from './lifecycle-cluster.js';
import { versionIn, type PolicyVersion } from './lifecycle-store.js';

export type { PolicyVersion };

/** SHA-256 of the plan as JSON (every switch, every flow, in order): equal hashes mean byte-identical plans. */
export function planHash(plan: FlowPlan): string {
  const h = createHash('sha256');
  for (const sw of plan.switches) {
    h.update(`${sw.name}|${sw.dpid.toString(16)}|${sw.kind}\n`);
    for (const f of sw.flows)
      h.update(
        JSON.stringify(
          { t: f.tableId, p: f.priority, c: f.cookie, m: f.match, i: f.instructions, o: f.origin, x: f.expiresAt, d: f.idleTimeout },
          jsonReplacer,
        ) + '\n',
      );
  }
  return h.digest('hex');
}

export const MAX_VERSIONS = 200;

/** What a history entry is made of: an applied policy's event, or the policy loaded at start-up. */
type RecordedChange = Pick<EventOf<'policy-applied'>, 'at' | 'version' | 'by' | 'reason' | 'approvedBy' | 'rollbackTo'> & {
  readonly summary?: string;
};

/** Every version: this run's, those a previous run saved, or (cluster) those in etcd. */
export class PolicyHistory {
  readonly versions = new Map<number, PolicyVersion>();
  /** Called after every recorded version (controller/lifecycle-store.ts persists the history). */
  onChange?: () => void;
  private readonly on = (e: ControllerEvent) => {
    if (e.type === 'policy-applied') this.record(e);
  };
  private unwatch?: () => void;
  /**
   * `restored`: the versions a previous run saved. When the policy file still holds the newest of them, numbering
   * continues from it; when it was edited while the controller was down, the loaded text becomes the next version.
   * `shared` (cluster): the versions come from etcd, not from this node's own applies.
   */
  constructor(
    private readonly ctl: Controller,
    restored: readonly PolicyVersion[] = [],
    shared?: SharedLifecycle,
  ) {
    if (shared) {
      for (const v of shared.versions()) this.adopt(v);
      this.unwatch = shared.onVersion((n, v) => (v === undefined ? this.versions.delete(n) : this.adopt(v)));
      return;
    }
    for (const v of restored.slice(-MAX_VERSIONS)) this.versions.set(v.version, v);
    const last = restored.at(-1);
    if (last && !ctl.opts.cluster) {
      if (last.text === ctl.loaded.policyText) ctl.version = last.version;
      else {
        ctl.version = last.version + 1;
        this.record({ at: ctl.startedAt.toISOString(), version: ctl.version, by: 'startup', reason: 'load' });
      }
    } else this.record({ at: ctl.startedAt.toISOString(), version: ctl.version, by: 'startup', reason: 'load' });
    ctl.on('event', this.on);
  }
  stop(): void {
    this.ctl.off('event', this.on);
    this.unwatch?.();
  }
  /** A version record from etcd, checked like the state file's (a malformed one is left out). */
  private adopt(raw: unknown): void {
    const r = raw as Record<string, unknown>;
    const v = versionIn({ ...r, planHash: r?.planHash ?? '' }, false);
    if (!v) return;
    this.versions.set(v.version, v);
    if (this.versions.size > MAX_VERSIONS) this.versions.delete(Math.min(...this.versions.keys()));
  }
  private record(e: RecordedChange): void {
    const c = this.ctl.compiled;
    const v: PolicyVersion = {
      version: e.version,
      at: e.at,
      by: e.by ?? 'unknown',
      reason: e.reason || 'apply',
      ...(e.approvedBy ? { approvedBy: e.approvedBy } : {}),
      ...(e.rollbackTo !== undefined ? { rollbackTo: e.rollbackTo } : {}),
      ...(e.summary ? { summary: e.summary } : {}),
      planHash: planHash(c.plan),
      text: this.ctl.loaded.policyText,
      ids: { classIds: c.classIds, dstClassIds: c.dstClassIds },
    };
    this.versions.set(v.version, v);
    if (this.versions.size > MAX_VERSIONS) this.versions.delete(this.versions.keys().next().value!);
    this.onChange?.();
  }
}
