/**
 * Policy history and pending approvals of a cluster node, kept in etcd (cluster/policy-store.ts): what the
 * lifecycle routes (lifecycle-api.ts), the history (lifecycle-history.ts) and the approvals (approvals.ts) see of it.
 * A change submitted on one node is pending on every node, can be approved on any other (by another admin) and
 * is applied once; every version's text is readable on every node and survives the restart of any of them.
 */
import type { ClusterNode } from '../cluster/node.js';

export interface SharedLifecycle {
  /** Version records as stored (raw JSON: the reader checks them). */
  versions(): Iterable<unknown>;
  /** Pending changes as stored (raw JSON). */
  pending(): Iterable<unknown>;
  /** The cluster's newest committed version. */
  committedVersion(): number;
  /** Follows version records added (value) or pruned (undefined); returns the unsubscribe function. */
  onVersion(fn: (version: number, value: unknown) => void): () => void;
  onPending(fn: (id: string, value: unknown) => void): () => void;
  /** Stores a pending change; resolves once etcd has it (throws ClusterUnavailableError when it cannot). */
  putPending(id: string, value: unknown): Promise<void>;
  /** Deletes a pending change; true only for the one caller in the cluster that deleted it. */
  removePending(id: string): Promise<boolean>;
  /** Adds the plan hash and class ids of a version this node applied (the first node to do so wins). */
  completeVersion(version: number, extra: { planHash: string; ids: unknown; summary?: string }): Promise<void>;
}

export function sharedLifecycle(node: ClusterNode): SharedLifecycle {
  const on = <A extends unknown[]>(event: string, fn: (...a: A) => void) => {
    const h = (...a: unknown[]) => fn(...(a as A));
    node.on(event, h);
    return () => void node.off(event, h);
  };
  return {
    versions() {
      const list = [...node.store.versions.values()];
      // a cluster whose policy was committed before versions were kept in etcd: at least the running one
      const p = node.policy;
      if (p && !node.store.versions.has(p.version))
        list.push({ version: p.version, at: p.at, by: p.by, reason: p.reason ?? 'apply', text: p.text });
      return list;
    },
    pending: () => node.store.pending.values(),
    committedVersion: () => node.policy?.version ?? 0,
    onVersion: (fn) => on<[number, unknown]>('version', fn),
    onPending: (fn) => on<[string, unknown]>('pending', fn),
    putPending: (id, value) => node.store.putPending(id, value),
    removePending: (id) => node.store.removePending(id),
    completeVersion: (version, extra) => node.store.completeVersion(version, extra),
  };
}
