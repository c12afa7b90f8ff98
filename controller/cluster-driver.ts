/**
 * Runs a Controller as one node of an etcd cluster: tells the cluster which switches this node is connected to,
 * turns mastership decisions into OpenFlow ROLE_REQUESTs (MASTER / SLAVE with the etcd generation id), lets the
 * controller write to a switch only while it masters it, routes policy changes through etcd's compare-and-swap,
 * and shares learned bindings and class ids so a node taking over compiles the same flows (no churn).
 */
import type { ApplyOptions, ApplyResult, Controller, ControllerEvent } from './controller.js';
import { planHash } from './lifecycle-history.js';
import { idsIn, idsOut } from './lifecycle-store.js';
import type { MessageOf } from '../openflow/index.js';
import { OFPET, OFPRRFC_STALE } from '../openflow/index.js';
import type { SwitchSession } from './session.js';
import { timeChange, type TimeChange } from './scheduler.js';
import type { Compiled } from '../compiler/compile.js';
import { ownerOf } from '../cluster/assign.js';
import { OfpRequestError } from './session.js';
import type { Binding } from '../compiler/model.js';
import { checkSession, type LiveSession, type SessionChange } from '../edge/sessions.js';
import {
  ClusterConflictError,
  ClusterUnavailableError,
  PendingGoneError,
  type ClusterNode,
  type PolicyRecord,
  type RoleChange,
} from '../cluster/node.js';

export interface ClusterStatus {
  readonly node: string;
  readonly healthy: boolean;
  readonly lastError?: string;
  readonly nodes: ReadonlyArray<{ name: string; [k: string]: unknown }>;
  readonly switches: ReadonlyArray<{ dpid: string; master?: string; generationId?: string; localRole?: string }>;
  readonly policyVersion?: number;
  /** The node that commits time boundaries (schedule versions) through etcd. */
  readonly scheduleLeader?: string;
  /** ROLE_REQUESTs sent by this node, and how many the switches refused as stale. */
  readonly roleRequests: number;
  readonly staleRefusals: number;
}

/** How long a node waits for the leader's commit of a time boundary before it looks again at who leads. */
const SCHEDULE_WAIT_MS = 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class ClusterDriver {
  /** dpid → the role the switch confirmed for our connection. */
  readonly confirmed = new Map<string, { role: string; generationId?: bigint }>();
  private readonly applied = new Map<number, Promise<ApplyResult>>();
  private policyChain: Promise<unknown> = Promise.resolve();
  roleRequests = 0;
  staleRefusals = 0;
  /** The newest time boundary the cluster committed (epoch ms; 0 for none seen). */
  private scheduledThrough = 0;
  private stopped = false;

  constructor(
    readonly ctl: Controller,
    readonly cluster: ClusterNode,
  ) {}

  /**
   * Adopts the cluster's policy (or seeds it with ours) and starts following it. Order: `cluster.start()`
   * (joins; reads shared class ids), then `ctl.load()`, then this, then `ctl.start()`.
   */
  async start(): Promise<void> {
    this.cluster.on('role', (c: RoleChange) => void this.onRole(c));
    this.cluster.on('policy', (rec: PolicyRecord) => {
      void this.follow(rec);
    });
    this.cluster.on('binding', (mac: string, b: unknown) => this.onBinding(mac, b));
    this.cluster.on('fenced', (reason: string) => this.ctl.event('cluster-fenced', { node: this.cluster.name, reason }));
    this.cluster.on('joined', () => this.ctl.event('cluster-joined', { node: this.cluster.name }));
    this.cluster.on('paused', (reason: string) => this.ctl.event('cluster-paused', { node: this.cluster.name, reason }));
    this.cluster.on('resumed', () => this.ctl.event('cluster-resumed', { node: this.cluster.name }));
    this.ctl.on('event', (e: ControllerEvent) => this.onControllerEvent(e));
    this.cluster.on('session', (id: string, v: unknown) => this.onRemoteSession(id, v));
    this.ctl.edge.sessions.on('change', (c: SessionChange) => this.onLocalSession(c));
    const rec = this.cluster.policy ?? (await this.cluster.seedPolicy(this.ctl.loaded.policyText, `node ${this.cluster.name}`));
    await this.follow(rec);
    for (const [mac, b] of this.cluster.bindings) this.onBinding(mac, b);
    for (const [id, v] of this.cluster.sessions) this.onRemoteSession(id, v);
    // sessions this node restored from its state file that the cluster does not know yet
    for (const s of this.ctl.edge.sessions.list()) if (!this.cluster.sessions.has(s.id)) void this.cluster.putSession(s.id, s);
  }

  /** Writes need: the etcd claim, a live lease, the switch's confirmation, and the cluster's newest policy applied here. */
  mayWrite(dpid: string): boolean {
    return (
      this.cluster.mayWrite(dpid) && this.confirmed.get(dpid)?.role === 'master' && this.ctl.version >= (this.cluster.policy?.version ?? 0)
    );
  }

  /**
   * A policy change from the API or CLI on this node (an approval or a rollback too): validated here, committed
   * through etcd with who and why (and the class ids a rollback returns to), applied by all.
   */
  async submit(text: string, opts: ApplyOptions): Promise<ApplyResult> {
    const preview = await this.ctl.applyPolicy(text, { dryRun: true, by: opts.by, committed: true, ids: opts.ids });
    if (!preview.ok || opts.dryRun) return preview;
    let rec: PolicyRecord;
    try {
      // optimistic concurrency on the cluster's newest record: of two changes based on it, exactly one commits
      rec = await this.cluster.commitPolicy(text, opts.baseVersion ?? this.cluster.policy?.version ?? 0, opts.by ?? 'unknown', {
        reason: opts.meta?.reason,
        approvedBy: opts.meta?.approvedBy,
        rollbackTo: opts.meta?.rollbackTo,
        ids: idsOut(opts.ids),
        pendingId: opts.pendingId,
      });
    } catch (e) {
      if (e instanceof ClusterConflictError || e instanceof ClusterUnavailableError || e instanceof PendingGoneError) {
        return { ...preview, ok: false, dryRun: false, diagnostics: [{ severity: 'error', code: e.code, message: e.message }] };
      }
      throw e;
    }
    return this.follow(rec);
  }

  /** The node that commits time boundaries: one of the live nodes, the same on every node that sees the same members. */
  scheduleLeader(): string | undefined {
    return ownerOf('time-boundaries', this.cluster.liveNodes());
  }

  /**
   * A time boundary reached on this node's clock (the scheduler). When it changes the plan, the leader commits it
   * through etcd (compare-and-swap on the cluster's version, reason 'schedule', the boundary instant) and every node,
   * the leader too, applies it from there: one version, one history entry, the same plan on all nodes. The others
   * wait for it; when the leader is gone (its lease expired) the next leader commits it. A boundary that changes
   * nothing is compiled locally, as on a single controller.
   */
  async scheduleAt(at: number): Promise<void> {
    let base: Compiled | undefined, r: TimeChange | undefined;
    while (!this.stopped) {
      await this.policyChain; // what this node has seen of the cluster is applied here
      if (this.scheduledThrough >= at) return;
      if (!r || base !== this.ctl.compiled) r = timeChange((base = this.ctl.compiled), at);
      if ('error' in r || !r.changed) return this.ctl.applyAt(at, 'schedule-local');
      if (this.scheduleLeader() === this.cluster.name) {
        const cur = this.cluster.policy;
        try {
          const rec = await this.cluster.commitPolicy(cur?.text ?? this.ctl.loaded.policyText, cur?.version ?? 0, 'schedule', {
            reason: 'schedule',
            effectiveAt: at,
          });
          this.ctl.event('schedule-committed', { node: this.cluster.name, version: rec.version, effectiveAt: new Date(at).toISOString() });
          await this.follow(rec);
          return;
        } catch (e) {
          if (!(e instanceof ClusterConflictError || e instanceof ClusterUnavailableError)) throw e;
          // another change won the race (its version is followed, then this boundary is looked at again), or etcd is away
          if (e instanceof ClusterUnavailableError) await sleep(500);
          continue;
        }
      }
      const end = Date.now() + SCHEDULE_WAIT_MS;
      while (!this.stopped && Date.now() < end && this.scheduledThrough < at && this.scheduleLeader() !== this.cluster.name)
        await sleep(50);
    }
  }

  stop(): void {
    this.stopped = true;
  }

  /** Applies a committed version locally (once, in order). */
  private follow(rec: PolicyRecord): Promise<ApplyResult> {
    const have = this.applied.get(rec.version);
    if (have) return have;
    const effective = rec.reason === 'schedule' && rec.effectiveAt ? Date.parse(rec.effectiveAt) : NaN;
    if (Number.isFinite(effective)) this.scheduledThrough = Math.max(this.scheduledThrough, effective);
    const run = this.policyChain.then(async () => {
      if (Number.isFinite(effective) && rec.version > this.ctl.version && rec.text === this.ctl.loaded.policyText) {
        // a time boundary: the same text compiled for the committed instant, so every node has the same plan
        await this.ctl.applyAt(effective, rec.by, rec.version); // re-syncs the switches this node masters
        this.completeVersion(rec.version);
        return { ok: true, diagnostics: [], dryRun: false, access: [], flows: [], version: rec.version } satisfies ApplyResult;
      }
      if (rec.version <= this.ctl.version && rec.text === this.ctl.loaded.policyText) {
        this.ctl.version = rec.version;
        this.completeVersion(rec.version);
        return { ok: true, diagnostics: [], dryRun: false, access: [], flows: [], version: rec.version } satisfies ApplyResult;
      }
      const ids = idsIn(rec.ids);
      const r = await this.ctl.applyPolicy(rec.text, {
        by: rec.by,
        committed: true,
        version: rec.version,
        ...(ids ? { ids } : {}),
        meta: {
          ...(rec.reason === 'apply' || rec.reason === 'rollback' ? { reason: rec.reason } : {}),
          ...(rec.approvedBy ? { approvedBy: rec.approvedBy } : {}),
          ...(rec.rollbackTo !== undefined ? { rollbackTo: rec.rollbackTo } : {}),
        },
      });
      if (!r.ok) {
        // Another node committed it, so it compiled there; here it does not (e.g. a different local directory
        // file). Keep enforcing the last good plan, and never write it as if it were the cluster's version.
        this.ctl.event('cluster-apply-failed', { version: rec.version, diagnostics: r.diagnostics });
      } else {
        void this.cluster.putIds(this.ctl.classIdState());
        this.completeVersion(rec.version);
      }
      // Switches this node masters are reconciled now that it runs the cluster's newest version.
      void this.ctl.syncAll();
      return r;
    });
    this.applied.set(rec.version, run);
    this.policyChain = run.catch(() => undefined);
    return run;
  }

  /** The history record gets the plan hash and class ids (for exact rollbacks) from the first node that applied it. */
  private completeVersion(version: number): void {
    void this.cluster.store.completeVersion(version, {
      planHash: planHash(this.ctl.compiled.plan),
      ids: this.ctl.classIdState(),
      ...(this.ctl.lastChange?.version === version ? { summary: this.ctl.lastChange.summary } : {}),
    });
  }

  private onControllerEvent(e: ControllerEvent): void {
    if ((e.type === 'switch-up' || e.type === 'unknown-switch') && e.dpid) void this.cluster.switchConnected(e.dpid);
    else if (e.type === 'switch-down' && e.dpid) {
      this.confirmed.delete(e.dpid);
      void this.cluster.switchDisconnected(e.dpid);
    } else if (e.type === 'binding-learned' && e.mac) {
      const { mac, ip, switch: sw, port } = e;
      void this.cluster.putBinding(mac, { mac, ip, switch: sw, port, learned: true });
    } else if (e.type === 'directory-synced') void this.cluster.putIds(this.ctl.classIdState());
  }

  /** True while a change from etcd is applied to the local table (not published back). */
  private remote = false;

  private onLocalSession(c: SessionChange): void {
    if (this.remote) return;
    if (c.kind === 'removed') void this.cluster.putSession(c.session.id, undefined);
    else {
      if (c.previous && c.previous.id !== c.session.id) void this.cluster.putSession(c.previous.id, undefined);
      void this.cluster.putSession(c.session.id, c.session);
    }
  }

  /** A session another node admitted or ended: the same in the local table (validated like the state file). */
  private onRemoteSession(id: string, v: unknown): void {
    const table = this.ctl.edge.sessions;
    this.remote = true;
    try {
      if (v === undefined) {
        table.remove(id, 'cluster', 'cluster');
        return;
      }
      if (checkSession(v) !== undefined || (v as LiveSession).id !== id) return;
      const cur = table.get(id);
      if (cur && JSON.stringify(cur) === JSON.stringify(v)) return;
      table.add(v as LiveSession, 'cluster');
    } finally {
      this.remote = false;
    }
  }

  private onBinding(mac: string, b: unknown): void {
    const v = b as Partial<Binding> | undefined;
    if (v && (typeof v.switch !== 'string' || !Number.isInteger(v.port) || v.mac !== mac)) return;
    this.ctl.adoptBinding(mac, v as Binding | undefined);
  }

  private async onRole(c: RoleChange): Promise<void> {
    const s = this.ctl.sessions.get(c.dpid);
    if (!s || s.state !== 'ready') return;
    if (c.role === 'slave') {
      this.confirmed.set(c.dpid, { role: 'slave', generationId: c.generationId });
      if (c.generationId === undefined) return;
    }
    await this.request(s, c);
  }

  private async request(s: SwitchSession, c: RoleChange): Promise<void> {
    this.roleRequests++;
    try {
      const r = await s.request<MessageOf<'role_reply'>>(
        { type: 'role_request', xid: s.xid(), role: c.role, generationId: c.generationId ?? 0n },
        5000,
      );
      // Only the newest decision counts: a slower reply for an older decision must not make us master. (A pause
      // of the lease is no reason to drop the reply: mayWrite() checks the lease again before every write.)
      if (c.role === 'master' && !this.current(c)) return;
      this.confirmed.set(c.dpid, { role: r.role, generationId: r.generationId });
      this.ctl.event('role-changed', { dpid: c.dpid, node: this.cluster.name, role: r.role, generationId: String(r.generationId) });
      if (r.role === 'master') void this.ctl.sync(c.dpid);
    } catch (e) {
      // OFPET_ROLE_REQUEST_FAILED (11) / OFPRRFC_STALE (0): the switch has seen a newer generation id.
      const stale = e instanceof OfpRequestError && e.reply.errType === OFPET.ROLE_REQUEST_FAILED && e.reply.code === OFPRRFC_STALE;
      if (stale) this.staleRefusals++;
      this.confirmed.set(c.dpid, { role: 'slave' });
      this.ctl.event('role-refused', {
        dpid: c.dpid,
        node: this.cluster.name,
        role: c.role,
        generationId: String(c.generationId ?? ''),
        error: (e as Error).message,
        stale,
      });
      // A lost or late answer (not a refusal) is asked again while the decision still stands and the session lives.
      if (!stale && c.role === 'master') {
        setTimeout(() => {
          if (this.current(c) && this.ctl.sessions.get(c.dpid) === s && s.state === 'ready') void this.request(s, c);
        }, 1000).unref();
      }
    }
  }

  /** The cluster still gives this switch to this node under the same generation. */
  private current(c: RoleChange): boolean {
    const claim = this.cluster.masterOf(c.dpid);
    return claim?.node === this.cluster.name && claim.generationId === c.generationId;
  }

  status(): ClusterStatus {
    const dpids = new Set<string>([...this.ctl.sessions.keys(), ...this.cluster.masters.keys()]);
    return {
      node: this.cluster.name,
      healthy: this.cluster.healthy,
      lastError: this.cluster.lastError,
      nodes: this.cluster.liveNodes().map((n) => ({ name: n, ...this.cluster.nodes.get(n) })),
      switches: [...dpids].sort().map((dpid) => {
        const m = this.cluster.masterOf(dpid);
        const c = this.confirmed.get(dpid);
        return { dpid, master: m?.node, generationId: m?.generationId.toString(), localRole: c?.role };
      }),
      policyVersion: this.cluster.policy?.version,
      scheduleLeader: this.scheduleLeader(),
      roleRequests: this.roleRequests,
      staleRefusals: this.staleRefusals,
    };
  }
}
