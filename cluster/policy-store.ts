/**
 * The cluster's policy, its history and its pending approvals, in etcd (used by cluster/node.ts).
 *
 * Keys under the node's prefix:
 *   policy                 the committed policy {version, text, by, at, reason …}; changed only by compare-and-swap
 *   audit/<version>        one line per committed policy version
 *   versions/<version>     every committed version's full record (text, who, why, approver; plan hash and class ids
 *                          added once by the first node that applied it): `acl history`, `acl diff`, rollback on
 *                          any node, across restarts of any node. The newest MAX_VERSIONS are kept.
 *   pending/<id>           a change waiting for a second admin (two-person rule). Approving it deletes this key in
 *                          the same transaction that commits the policy, so it is applied exactly once, whichever
 *                          node (or two nodes at once) approves it; rejecting or expiring deletes it (one winner).
 *
 * Values are opaque JSON here: the controller validates what it reads back (controller/lifecycle-store.ts).
 */
import type { Etcd3, IOperation } from 'etcd3';

export interface PolicyRecord {
  readonly version: number;
  readonly text: string;
  readonly by: string;
  readonly at: string;
  /** Why this version exists ('load', 'apply', 'rollback'); absent in records written before it was kept. */
  readonly reason?: string;
  readonly approvedBy?: string;
  readonly rollbackTo?: number;
  /** Class ids every node compiles this version with (a rollback's: those of the version it returns to). */
  readonly ids?: unknown;
  /** A time boundary ('schedule'): the instant (ISO) every node compiles this version for. */
  readonly effectiveAt?: string;
}

export interface CommitOptions {
  readonly reason?: string;
  readonly approvedBy?: string;
  readonly rollbackTo?: number;
  readonly ids?: unknown;
  /** Consume this pending change in the same transaction (an approval): the commit fails if it is gone. */
  readonly pendingId?: string;
  /** A time boundary: the instant (epoch ms) the version is compiled for on every node. */
  readonly effectiveAt?: number;
}

export class ClusterConflictError extends Error {
  readonly code = 'conflict';
  constructor(readonly currentVersion: number) {
    super(`policy changed meanwhile (now version ${currentVersion}): reload and apply again`);
  }
}
export class ClusterUnavailableError extends Error {
  readonly code = 'cluster-unavailable';
}
/** The pending change an approval names was approved, rejected or expired meanwhile (possibly on another node). */
export class PendingGoneError extends Error {
  readonly code = 'pending-gone';
  constructor(id: string) {
    super(`no pending change '${id.slice(0, 40)}' (approved, rejected or expired already, maybe on another node)`);
  }
}

/** What the store needs of its node. */
export interface StoreHost {
  readonly etcd: Etcd3;
  readonly name: string;
  key(rest: string): string;
  /** Waits briefly for a late keepalive, then throws ClusterUnavailableError when the node may not change anything. */
  ensureHealthy(): Promise<void>;
  emit(event: string, ...args: unknown[]): boolean;
  log(level: 'info' | 'warn' | 'error', msg: string): void;
}

export const MAX_VERSIONS = 200;
const pad = (v: number) => String(v).padStart(10, '0');

export class ClusterPolicyStore {
  policy?: PolicyRecord;
  private policyRev = 0n;
  /** id → the pending change as stored (JSON value) and its mod revision. */
  readonly pending = new Map<string, unknown>();
  /** version → its full record as stored (JSON value). */
  readonly versions = new Map<number, unknown>();

  constructor(private readonly host: StoreHost) {}

  /** A watched or read key; true when it was one of ours. */
  apply(kind: string, a: string | undefined, op: 'put' | 'delete', value: string, rev: bigint): boolean {
    if (kind === 'policy' && a === undefined) {
      if (op === 'put') this.onPolicy(value, rev);
    } else if (kind === 'pending' && a) {
      if (op === 'put') {
        const v = parse(value);
        if (v === undefined) return true;
        this.pending.set(a, v);
        this.host.emit('pending', a, v);
      } else if (this.pending.delete(a)) this.host.emit('pending', a, undefined);
    } else if (kind === 'versions' && a && /^\d{1,10}$/.test(a)) {
      const n = Number(a);
      if (op === 'put') {
        const v = parse(value);
        if (v === undefined) return true;
        this.versions.set(n, v);
        this.host.emit('version', n, v);
      } else if (this.versions.delete(n)) this.host.emit('version', n, undefined);
    } else return false;
    return true;
  }

  /** Forgets what a fresh read replaces (pending changes; versions are only ever added or pruned). */
  reset(): void {
    this.pending.clear();
  }

  private onPolicy(value: string, rev: bigint): void {
    try {
      const rec = JSON.parse(value) as PolicyRecord;
      if (rev > this.policyRev) this.policyRev = rev; // a late echo of an older put never moves it back
      if (!this.policy || rec.version > this.policy.version) {
        this.policy = rec;
        this.host.emit('policy', rec);
      }
    } catch (e) {
      this.host.log('error', `cluster: unreadable policy record: ${(e as Error).message}`);
    }
  }

  /**
   * Reads the version records page by page (they hold full policy texts: one read of all of them could pass the
   * gRPC message limit). `versions/` sorts after every other key of the prefix, so the first read stops before it.
   */
  async readVersions(): Promise<void> {
    const start = this.host.key('versions/');
    const end = this.host.key('versions0'); // '0' follows '/'
    let from = start;
    for (;;) {
      const res = await this.host.etcd.getAll().inRange({ start: from, end }).limit(16).exec();
      for (const kv of res.kvs) {
        const key = kv.key.toString();
        this.apply('versions', key.slice(start.length), 'put', kv.value.toString(), BigInt(kv.mod_revision));
      }
      if (!res.more || res.kvs.length === 0) return;
      from = res.kvs[res.kvs.length - 1].key.toString() + '\0';
    }
  }

  /** Commits a new policy version if nobody else committed since `expectedVersion` (and the pending change, if named, is still there). */
  async commit(text: string, expectedVersion: number, by: string, opts: CommitOptions = {}): Promise<PolicyRecord> {
    await this.host.ensureHealthy();
    const current = this.policy?.version ?? 0;
    if (current !== expectedVersion) throw new ClusterConflictError(current);
    if (opts.pendingId && !this.pending.has(opts.pendingId)) throw new PendingGoneError(opts.pendingId);
    const at = new Date().toISOString();
    const meta = {
      reason: opts.reason ?? 'apply',
      ...(opts.approvedBy ? { approvedBy: opts.approvedBy } : {}),
      ...(opts.rollbackTo !== undefined ? { rollbackTo: opts.rollbackTo } : {}),
      ...(opts.effectiveAt !== undefined ? { effectiveAt: new Date(opts.effectiveAt).toISOString() } : {}),
    };
    const rec: PolicyRecord = { version: expectedVersion + 1, text, by, at, ...meta, ...(opts.ids ? { ids: opts.ids } : {}) };
    const { etcd } = this.host;
    const key = this.host.key('policy');
    let cmp = this.policyRev === 0n ? etcd.if(key, 'Create', '==', 0) : etcd.if(key, 'Mod', '==', this.policyRev.toString());
    const pendingKey = opts.pendingId ? this.host.key(`pending/${opts.pendingId}`) : undefined;
    if (pendingKey) cmp = cmp.and(pendingKey, 'Version', '>', 0);
    const history = { version: rec.version, at, by, ...meta, text };
    const ops: IOperation[] = [
      etcd.put(key).value(JSON.stringify(rec)),
      etcd.put(this.host.key(`audit/${pad(rec.version)}`)).value(JSON.stringify({ version: rec.version, by, at, bytes: text.length })),
      etcd.put(this.host.key(`versions/${pad(rec.version)}`)).value(JSON.stringify(history)),
    ];
    if (rec.version > MAX_VERSIONS) ops.push(etcd.delete().key(this.host.key(`versions/${pad(rec.version - MAX_VERSIONS)}`)));
    if (pendingKey) ops.push(etcd.delete().key(pendingKey));
    let res;
    try {
      res = await cmp.then(...ops).commit();
    } catch (e) {
      throw new ClusterUnavailableError(`cannot commit to etcd: ${(e as Error).message}`);
    }
    if (res.succeeded) {
      // known here at once, before the watch echoes it: a second change from this node right after bases on it
      this.policyRev = BigInt(res.header.revision);
      if (!this.policy || rec.version > this.policy.version) this.policy = rec;
      if (!this.versions.has(rec.version)) {
        this.versions.set(rec.version, history);
        this.host.emit('version', rec.version, history);
      }
      if (opts.pendingId) this.pending.delete(opts.pendingId);
      return rec;
    }
    if (pendingKey) {
      const still = await etcd
        .get(pendingKey)
        .string()
        .catch(() => null);
      if (still === null) throw new PendingGoneError(opts.pendingId!);
    }
    const now = await etcd
      .get(key)
      .string()
      .catch(() => null);
    throw new ClusterConflictError(now ? (JSON.parse(now) as PolicyRecord).version : 0);
  }

  /** Seeds the cluster's policy with this node's file when the cluster has none yet (first node ever). */
  async seed(text: string, by: string, waitFor: (cond: () => boolean, ms: number) => Promise<void>): Promise<PolicyRecord> {
    if (this.policy) return this.policy;
    try {
      return await this.commit(text, 0, by, { reason: 'load' });
    } catch (e) {
      if (e instanceof ClusterConflictError) {
        await waitFor(() => this.policy !== undefined, 2000);
        return this.policy!;
      }
      throw e;
    }
  }

  /**
   * Adds what only a node that applied a version knows (its plan hash, the class ids it compiled with, a summary)
   * to the version's record: the first node to do so wins, the others' writes are no-ops.
   */
  async completeVersion(version: number, extra: { planHash: string; ids: unknown; summary?: string }): Promise<void> {
    const key = this.host.key(`versions/${pad(version)}`);
    const known = this.versions.get(version) as Record<string, unknown> | undefined;
    if (known && typeof known.planHash === 'string') return;
    const { etcd } = this.host;
    try {
      // read from etcd, not the watched copy: the commit's own watch event may not have arrived yet
      const kv = (await etcd.get(key).exec()).kvs[0];
      if (!kv || kv.version !== '1') return; // gone (pruned) or annotated already
      const next = { ...(JSON.parse(kv.value.toString()) as Record<string, unknown>), ...extra };
      await etcd
        .if(key, 'Version', '==', 1)
        .then(etcd.put(key).value(JSON.stringify(next)))
        .commit();
    } catch (e) {
      this.host.log('warn', `cluster: version ${version} not annotated: ${(e as Error).message}`);
    }
  }

  /** Holds a pending change in etcd; resolves once it is stored (durable before it is acknowledged). */
  async putPending(id: string, value: unknown): Promise<void> {
    await this.host.ensureHealthy();
    const key = this.host.key(`pending/${id}`);
    let res;
    try {
      res = await this.host.etcd
        .if(key, 'Create', '==', 0)
        .then(this.host.etcd.put(key).value(JSON.stringify(value)))
        .commit();
    } catch (e) {
      throw new ClusterUnavailableError(`cannot store the pending change in etcd: ${(e as Error).message}`);
    }
    if (!res.succeeded) throw new Error(`pending change id ${id} exists already`);
    this.pending.set(id, value);
  }

  /** Removes a pending change (rejected or expired); true only for the one caller, on any node, that removed it. */
  async removePending(id: string): Promise<boolean> {
    const key = this.host.key(`pending/${id}`);
    const res = await this.host.etcd.if(key, 'Version', '>', 0).then(this.host.etcd.delete().key(key)).commit();
    if (res.succeeded) this.pending.delete(id);
    return res.succeeded;
  }
}

function parse(value: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return undefined;
  }
}
