/**
 * One controller's membership in an sdn-acl cluster, on etcd.
 *
 * Keys under the prefix (default `/sdn-acl/`):
 *   nodes/<node>           this node is alive (attached to its lease)
 *   conn/<dpid>/<node>     this node has an OpenFlow session with that switch (attached to its lease)
 *   masters/<dpid>         the node mastering that switch (attached to the master's lease); the key's
 *                          mod_revision is the OpenFlow generation_id — etcd revisions only grow, so a newer
 *                          master always has a larger one and the switch refuses the older (OFPRRFC_STALE)
 *   policy, audit/, versions/, pending/   the policy, its history and pending approvals (cluster/policy-store.ts)
 *   bindings/<mac>         learned device bindings, shared so every node compiles the same plan
 *   sessions/<id>          login sessions at the edge (802.1X, MAB, web sign-in), shared likewise
 *   ids                    class ids, so a node taking over compiles byte-identical flows
 *
 * Mastership: among the live nodes connected to a switch, rendezvous hashing names the owner; the owner claims
 * `masters/<dpid>` in a transaction, a node that is no longer the owner gives it up (SLAVE first, then delete).
 * Fencing: a node writes only while its lease is certainly alive (a local deadline from the last keepalive sent,
 * on the monotonic clock); past it, or when etcd says the lease is lost, it stops writing at once, and rejoins
 * with a new lease when etcd answers again.
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Etcd3, Lease, Watcher } from 'etcd3';
import { ownerOf } from './assign.js';
import { ClusterPolicyStore, ClusterUnavailableError, type CommitOptions, type PolicyRecord } from './policy-store.js';

export { ClusterConflictError, ClusterUnavailableError, PendingGoneError, type CommitOptions, type PolicyRecord } from './policy-store.js';

export interface RoleChange {
  readonly dpid: string;
  readonly role: 'master' | 'slave';
  /** The claim's etcd revision (the OpenFlow generation_id); absent for a slave while nobody masters the switch. */
  readonly generationId?: bigint;
}

export interface ClusterNodeOptions {
  readonly node: string;
  readonly prefix?: string;
  /** Lease time-to-live in seconds (etcd's minimum is about 2). A dead node's switches move after about this long. */
  readonly ttlSeconds?: number;
  /** Monotonic milliseconds; injectable for tests. */
  readonly now?: () => number;
  readonly log?: (level: 'info' | 'warn' | 'error', msg: string) => void;
  /** Extra data published with this node (API URL …). */
  readonly info?: Record<string, unknown>;
}

interface Claim {
  readonly node: string;
  readonly rev: bigint;
}

export class ClusterNode extends EventEmitter {
  readonly name: string;
  private readonly prefix: string;
  private readonly ttl: number;
  private readonly now: () => number;
  private readonly log: NonNullable<ClusterNodeOptions['log']>;
  private lease?: Lease;
  private leaseId?: string;
  private deadline = 0;
  private watcher?: Watcher;
  private guard?: NodeJS.Timeout;
  private stopped = false;
  private joining?: Promise<void>;
  readonly nodes = new Map<string, Record<string, unknown>>();
  readonly conns = new Map<string, Set<string>>(); // dpid → nodes connected to it
  readonly masters = new Map<string, Claim>();
  private readonly connected = new Set<string>(); // dpids this node has a session with
  private readonly roles = new Map<string, string>(); // dpid → last emitted "role/gen"
  private evalChain: Promise<void> = Promise.resolve();
  /** The committed policy, its versions and pending approvals. */
  readonly store: ClusterPolicyStore;
  get policy(): PolicyRecord | undefined {
    return this.store.policy;
  }
  readonly bindings = new Map<string, unknown>();
  readonly sessions = new Map<string, unknown>();
  ids?: unknown;
  /** Not a member (never joined, or the lease is gone): no claims, no writes. */
  fenced = true;
  /** A member whose lease may have run out (no keepalive answer in time): no writes until etcd answers. */
  paused = false;
  lastError?: string;

  constructor(
    readonly etcd: Etcd3,
    opts: ClusterNodeOptions,
  ) {
    super();
    this.setMaxListeners(100);
    this.name = opts.node;
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(this.name))
      throw new Error(`node name '${this.name}' must be letters, digits, . _ - (at most 63)`);
    this.prefix = opts.prefix ?? '/sdn-acl/';
    this.ttl = Math.max(2, Math.round(opts.ttlSeconds ?? 2));
    this.now = opts.now ?? (() => performance.now());
    this.log = opts.log ?? (() => undefined);
    this.info = opts.info ?? {};
    this.store = new ClusterPolicyStore({
      etcd: this.etcd,
      name: this.name,
      key: (rest) => this.k(rest),
      ensureHealthy: () => this.ensureHealthy(),
      emit: (event, ...args) => this.emit(event, ...args),
      log: (level, msg) => this.log(level, msg),
    });
  }
  private readonly info: Record<string, unknown>;

  private k(rest: string): string {
    return this.prefix + rest;
  }

  /**
   * Reads the shared state (policy, class ids, bindings) without joining: a node loads and compiles with it
   * before it takes a lease, so that the heavy first compile cannot starve its keepalives.
   */
  async prefetch(): Promise<void> {
    const res = await this.readState();
    for (const kv of res.kvs) this.apply('put', kv.key.toString(), kv.value.toString(), BigInt(kv.mod_revision));
    await this.store.readVersions();
  }

  /** Every key of the prefix but the version records (read page by page: cluster/policy-store.ts). */
  private readState() {
    return this.etcd
      .getAll()
      .inRange({ start: this.prefix, end: this.k('versions/') })
      .exec();
  }

  /** Joins the cluster (lease, node key, initial read, watch). Resolves once this node may act. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.join();
    this.guard = setInterval(() => this.checkDeadline(), 100);
    this.guard.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.guard) clearInterval(this.guard);
    this.fence('stopping');
    await this.watcher?.cancel().catch(() => undefined);
    // Revoking the lease deletes our node, connection and master keys at once: the others take over right away.
    await this.lease?.revoke().catch(() => undefined);
    this.etcd.close();
  }

  /** True only while this node holds the switch's claim and its lease is certainly alive. */
  mayWrite(dpid: string): boolean {
    return !this.fenced && !this.paused && this.now() < this.deadline && this.masters.get(dpid)?.node === this.name;
  }

  /** Whether changes can be committed now (etcd reachable and this node joined). */
  get healthy(): boolean {
    return !this.fenced && !this.paused && this.now() < this.deadline;
  }

  liveNodes(): string[] {
    return [...this.nodes.keys()].sort();
  }

  masterOf(dpid: string): { node: string; generationId: bigint } | undefined {
    const c = this.masters.get(dpid);
    return c ? { node: c.node, generationId: c.rev } : undefined;
  }

  // ---------- switches ----------

  async switchConnected(dpid: string): Promise<void> {
    this.connected.add(dpid);
    if (this.leaseId && !this.fenced) {
      try {
        await this.etcd
          .put(this.k(`conn/${dpid}/${this.name}`))
          .value('1')
          .lease(this.leaseId)
          .exec();
      } catch (e) {
        this.noteError(e);
      }
    }
    this.evaluate(dpid);
  }

  async switchDisconnected(dpid: string): Promise<void> {
    this.connected.delete(dpid);
    this.roles.delete(dpid);
    try {
      await this.etcd
        .delete()
        .key(this.k(`conn/${dpid}/${this.name}`))
        .exec();
    } catch (e) {
      this.noteError(e);
    }
    // A master that lost its session gives the switch up so that a connected node can take it.
    const c = this.masters.get(dpid);
    if (c?.node === this.name) await this.release(dpid, c);
    this.evaluate(dpid);
  }

  // ---------- policy (compare-and-swap) ----------

  /** Commits a new policy version if nobody else committed since `expectedVersion` (cluster/policy-store.ts). */
  commitPolicy(text: string, expectedVersion: number, by: string, opts?: CommitOptions): Promise<PolicyRecord> {
    return this.store.commit(text, expectedVersion, by, opts);
  }

  /** Seeds the cluster's policy with this node's file when the cluster has none yet (first node ever). */
  seedPolicy(text: string, by: string): Promise<PolicyRecord> {
    return this.store.seed(text, by, (c, ms) => this.waitFor(c, ms));
  }

  /** Throws ClusterUnavailableError unless changes can be committed (a merely late keepalive is waited for, briefly). */
  async ensureHealthy(): Promise<void> {
    if (!this.healthy) await this.waitFor(() => this.healthy, this.ttl * 1000);
    if (!this.healthy)
      throw new ClusterUnavailableError(
        `cluster unavailable (${this.lastError ?? 'etcd not reachable'}): changes are refused until etcd answers; switches keep enforcing the current policy`,
      );
  }

  // ---------- shared bindings and class ids ----------

  async putBinding(mac: string, binding: unknown): Promise<void> {
    if (!this.healthy) return;
    try {
      await this.etcd
        .put(this.k(`bindings/${mac}`))
        .value(JSON.stringify(binding))
        .exec();
    } catch (e) {
      this.noteError(e);
    }
  }

  async putSession(id: string, session: unknown | undefined): Promise<void> {
    if (!this.healthy || !/^[A-Za-z0-9_.:-]{1,64}$/.test(id)) return;
    const key = this.k(`sessions/${id}`);
    try {
      if (session === undefined) {
        this.sessions.delete(id);
        await this.etcd.delete().key(key).exec();
      } else {
        this.sessions.set(id, session);
        await this.etcd.put(key).value(JSON.stringify(session)).exec();
      }
    } catch (e) {
      this.noteError(e);
    }
  }

  async putIds(ids: unknown): Promise<void> {
    if (!this.healthy) return;
    const s = JSON.stringify(ids);
    if (s === JSON.stringify(this.ids)) return;
    try {
      await this.etcd.put(this.k('ids')).value(s).exec();
    } catch (e) {
      this.noteError(e);
    }
  }

  // ---------- internals ----------

  private async join(): Promise<void> {
    if (this.joining) return this.joining;
    this.joining = (async () => {
      const lease = this.etcd.lease(this.ttl, { autoKeepAlive: true });
      let fired = this.now();
      lease.on('keepaliveFired', () => {
        fired = this.now();
      });
      lease.on('keepaliveSucceeded', () => {
        if (this.lease !== lease) return;
        this.deadline = fired + this.ttl * 1000 - 250;
        if (this.paused && !this.fenced && this.now() < this.deadline) {
          this.paused = false;
          this.lastError = undefined;
          this.log('info', `cluster: ${this.name} writes again (lease ${this.leaseId} still alive)`);
          this.emit('resumed');
        }
      });
      lease.on('lost', (err) => {
        if (this.lease === lease) this.onLost(`lease lost: ${err.message}`);
      });
      const t0 = this.now();
      this.leaseId = await lease.grant();
      this.lease = lease;
      this.deadline = t0 + this.ttl * 1000 - 250;
      await this.etcd
        .put(this.k(`nodes/${this.name}`))
        .value(JSON.stringify({ ...this.info, since: new Date().toISOString() }))
        .lease(this.leaseId)
        .exec();
      const ds = [...this.connected];
      for (let i = 0; i < ds.length; i += 64)
        await Promise.all(
          ds.slice(i, i + 64).map((d) =>
            this.etcd
              .put(this.k(`conn/${d}/${this.name}`))
              .value('1')
              .lease(this.leaseId!)
              .exec(),
          ),
        );
      await this.readAll();
      this.fenced = false;
      this.paused = false;
      this.lastError = undefined;
      this.log('info', `cluster: node ${this.name} joined (lease ${this.leaseId}, ttl ${this.ttl} s, ${this.nodes.size} live nodes)`);
      this.emit('joined');
      this.evaluate();
    })();
    try {
      await this.joining;
    } finally {
      this.joining = undefined;
    }
  }

  private async readAll(): Promise<void> {
    const res = await this.readState();
    this.store.reset();
    this.nodes.clear();
    this.conns.clear();
    this.masters.clear();
    this.bindings.clear();
    this.sessions.clear();
    for (const kv of res.kvs) this.apply('put', kv.key.toString(), kv.value.toString(), BigInt(kv.mod_revision));
    await this.store.readVersions();
    const rev = BigInt(res.header.revision);
    await this.watcher?.cancel().catch(() => undefined);
    const w = await this.etcd
      .watch()
      .prefix(this.prefix)
      .startRevision((rev + 1n).toString())
      .create();
    this.watcher = w;
    w.on('put', (kv) => this.evaluateFor(this.apply('put', kv.key.toString(), kv.value.toString(), BigInt(kv.mod_revision))));
    w.on('delete', (kv) => this.evaluateFor(this.apply('delete', kv.key.toString(), '', BigInt(kv.mod_revision))));
    w.on('disconnected', (e) => this.noteError(e));
  }

  /** What a watched change affects: every switch (membership), one switch, or none. */
  private evaluateFor(affected: 'all' | string | undefined): void {
    if (affected === 'all') this.evaluate();
    else if (affected !== undefined) this.evaluate(affected);
  }

  private apply(op: 'put' | 'delete', key: string, value: string, rev: bigint): 'all' | string | undefined {
    if (!key.startsWith(this.prefix)) return undefined;
    const [kind, a, b] = key.slice(this.prefix.length).split('/');
    if (kind === 'nodes' && a) {
      if (op === 'put') {
        try {
          this.nodes.set(a, JSON.parse(value) as Record<string, unknown>);
        } catch {
          this.nodes.set(a, {});
        }
      } else this.nodes.delete(a);
      return 'all';
    } else if (kind === 'conn' && a && b) {
      const set = this.conns.get(a) ?? new Set<string>();
      if (op === 'put') set.add(b);
      else set.delete(b);
      if (set.size) this.conns.set(a, set);
      else this.conns.delete(a);
      return a;
    } else if (kind === 'masters' && a) {
      if (op === 'put') this.masters.set(a, { node: value, rev });
      else this.masters.delete(a);
      return a;
    } else if (this.store.apply(kind, a, op, value, rev)) {
      return undefined;
    } else if (kind === 'bindings' && a) {
      if (op === 'put') {
        try {
          const v = JSON.parse(value) as unknown;
          this.bindings.set(a, v);
          this.emit('binding', a, v);
        } catch {
          /* ignore */
        }
      } else {
        this.bindings.delete(a);
        this.emit('binding', a, undefined);
      }
    } else if (kind === 'sessions' && a) {
      if (op === 'put') {
        try {
          const v = JSON.parse(value) as unknown;
          this.sessions.set(a, v);
          this.emit('session', a, v);
        } catch {
          /* ignore */
        }
      } else {
        this.sessions.delete(a);
        this.emit('session', a, undefined);
      }
    } else if (kind === 'ids' && a === undefined && op === 'put') {
      try {
        this.ids = JSON.parse(value) as unknown;
      } catch {
        /* ignore */
      }
    }
    return undefined;
  }

  /** Switches whose mastership must be looked at again ('all' after a membership change). */
  private dirty: Set<string> | 'all' = 'all';

  /** Marks switches to look at; with no argument, all of them (nodes came or went, this node rejoined). */
  private evaluate(dpid?: string): void {
    if (dpid === undefined) this.dirty = 'all';
    else if (this.dirty !== 'all') this.dirty.add(dpid);
    // One run queued behind the one in flight takes everything marked meanwhile: a burst of connections (a
    // thousand switches at start-up) costs a few rounds of parallel claims, not one etcd round trip per switch.
    if (this.evalQueued) return;
    this.evalQueued = true;
    this.evalChain = this.evalChain
      .then(() => {
        this.evalQueued = false;
        return this.evaluateNow();
      })
      .catch((e) => this.noteError(e));
  }
  private evalQueued = false;

  /** Decides, for each marked switch this node is connected to, whether to claim, keep, give up or follow. */
  private async evaluateNow(): Promise<void> {
    if (this.fenced || this.stopped) return;
    const todo = this.dirty === 'all' ? [...this.connected] : [...this.dirty].filter((d) => this.connected.has(d));
    this.dirty = new Set();
    todo.sort();
    // claims and releases are independent transactions: a bounded number in flight at once
    for (let i = 0; i < todo.length; i += 64) {
      await Promise.all(
        todo.slice(i, i + 64).map((dpid) =>
          this.decide(dpid).catch((e) => {
            // one switch's failed claim (etcd busy) is looked at again shortly; the others go on
            this.noteError(e);
            setTimeout(() => {
              if (!this.stopped) this.evaluate(dpid);
            }, 500).unref();
          }),
        ),
      );
    }
  }

  private async decide(dpid: string): Promise<void> {
    const eligible = [...(this.conns.get(dpid) ?? [])].filter((n) => this.nodes.has(n));
    const owner = ownerOf(dpid, eligible);
    const cur = this.masters.get(dpid);
    if (owner === this.name) {
      if (!cur || !this.nodes.has(cur.node)) await this.claim(dpid, cur);
    } else if (cur?.node === this.name) {
      // Rebalanced away (a node came back): give it up; the owner claims it next.
      await this.release(dpid, cur);
    }
    const now = this.masters.get(dpid);
    this.setRole(dpid, now?.node === this.name ? 'master' : 'slave', now?.rev);
  }

  private async claim(dpid: string, cur: Claim | undefined): Promise<void> {
    if (!this.leaseId) return;
    const key = this.k(`masters/${dpid}`);
    const cmp = cur ? this.etcd.if(key, 'Mod', '==', cur.rev.toString()) : this.etcd.if(key, 'Create', '==', 0);
    const res = await cmp.then(this.etcd.put(key).value(this.name).lease(this.leaseId)).commit();
    if (res.succeeded) {
      const rev = BigInt(res.header.revision);
      this.masters.set(dpid, { node: this.name, rev });
      this.log('info', `cluster: ${this.name} masters ${dpid} (generation ${rev})`);
    }
  }

  private async release(dpid: string, cur: Claim): Promise<void> {
    this.setRole(dpid, 'slave', cur.rev);
    const key = this.k(`masters/${dpid}`);
    try {
      await this.etcd.if(key, 'Mod', '==', cur.rev.toString()).then(this.etcd.delete().key(key)).commit();
      if (this.masters.get(dpid)?.rev === cur.rev) this.masters.delete(dpid);
      this.log('info', `cluster: ${this.name} gave up ${dpid}`);
    } catch (e) {
      this.noteError(e);
    }
  }

  private setRole(dpid: string, role: 'master' | 'slave', gen: bigint | undefined): void {
    const key = `${role}/${gen ?? ''}`;
    if (this.roles.get(dpid) === key) return;
    this.roles.set(dpid, key);
    const change: RoleChange = { dpid, role, generationId: gen };
    this.emit('role', change);
  }

  /**
   * Past the local deadline this node stops writing at once (paused) but keeps its lease: when etcd answers the
   * next keepalive the lease was alive all along, nobody took over, and writing resumes. Only a lease etcd says
   * is gone (or no answer for two lease times) makes the node give up its claims and join again.
   */
  private checkDeadline(): void {
    if (this.fenced || this.stopped) return;
    const late = this.now() - this.deadline;
    if (late >= 0 && !this.paused) {
      this.paused = true;
      this.lastError = 'no keepalive answer from etcd within the lease time';
      this.log('warn', `cluster: ${this.name} stops writing to switches until etcd answers (${this.lastError})`);
      this.emit('paused', this.lastError);
    }
    if (late >= this.ttl * 1000) this.onLost('etcd unreachable for longer than the lease time');
  }

  private fence(reason: string): void {
    if (this.fenced) return;
    this.fenced = true;
    this.lastError = reason;
    this.log('warn', `cluster: ${this.name} stops writing to switches (${reason})`);
    // Locally every switch is a slave now; the switch itself demotes us when the new master asserts its role.
    for (const dpid of this.connected) {
      this.roles.delete(dpid);
      this.emit('role', { dpid, role: 'slave' } satisfies RoleChange);
    }
    this.emit('fenced', reason);
  }

  private onLost(reason: string): void {
    if (this.stopped) return;
    this.fence(reason);
    const old = this.lease;
    this.lease = undefined;
    this.leaseId = undefined;
    void old?.revoke().catch(() => undefined);
    void this.rejoin();
  }

  private async rejoin(): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        await this.join();
        return;
      } catch (e) {
        this.noteError(e);
        await new Promise((r) => setTimeout(r, Math.min(2000, 200 * 2 ** attempt)).unref?.());
      }
    }
  }

  private noteError(e: unknown): void {
    const msg = (e as Error)?.message ?? String(e);
    if (this.lastError !== msg) this.log('warn', `cluster: ${msg}`);
    this.lastError = msg;
  }

  private async waitFor(cond: () => boolean, ms: number): Promise<void> {
    const end = this.now() + ms;
    while (!cond() && this.now() < end) await new Promise((r) => setTimeout(r, 20));
  }
}
