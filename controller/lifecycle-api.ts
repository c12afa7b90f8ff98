/**
 * Policy lifecycle routes (a fastify plugin under /api/v1): versions with their full text and plan hash, diff
 * between any two versions, rollback (same preview and approval rule as a change), pending changes for the
 * two-person rule, and lint of a policy text (for the console editor). History and pending changes persist in
 * `<state>.lifecycle.json` on a single controller (lifecycle-store.ts) and in etcd in a cluster (lifecycle-cluster.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Controller } from './controller.js';
import type { ControllerEvent } from './events.js';
import { Approvals, DEFAULT_APPROVAL_TTL_MS, type PendingChange } from './approvals.js';
import { compile } from '../compiler/compile.js';
import { formatDiagnostic, loadPolicy } from '../loader/index.js';
import { diffAccess, diffPlans } from '../compiler/query.js';
import { lintInput } from '../compiler/lint.js';
import { LifecycleStore, lifecycleFileOf, readLifecycle, type StoredMonitor } from './lifecycle-store.js';
import { PolicyHistory, planHash, type PolicyVersion } from './lifecycle-history.js';
import {
  ChangeReplies,
  DiffQuery,
  DiffReply,
  LintBody,
  LintInvalidReply,
  LintReply,
  OkReply,
  PendingParams,
  PendingReply,
  RollbackBody,
  VersionParams,
  VersionReply,
  VersionsReply,
} from './api/contract.js';
import { fail, send } from './api/reply.js';

export { PolicyHistory, planHash, type PolicyVersion } from './lifecycle-history.js';

export interface LifecycleDeps {
  readonly who: (req: FastifyRequest) => { name: string; role: 'admin' | 'read' } | undefined;
  readonly requireAdmin: (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
  readonly requireRead: (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
  readonly requireApproval?: boolean;
  readonly approvalTtlMs?: number;
}

export interface Lifecycle {
  readonly history: PolicyHistory;
  readonly approvals?: Approvals;
  /** The POST /policy hook: with the two-person rule, a change becomes pending instead of applied. */
  submit(text: string, by: string, reply: FastifyReply, kind?: 'policy' | 'monitor'): Promise<boolean>;
}

const versionOut = ({ text: _t, ids: _i, ...v }: PolicyVersion) => v;

const monitored = (ctl: Controller): StoredMonitor | undefined => {
  const m = ctl.monitorMode.current;
  return m && { text: m.text, by: m.by, ...(m.approvedBy ? { approvedBy: m.approvedBy } : {}), since: m.since, baseVersion: m.baseVersion };
};

/** History, approvals and where they persist: the state file's sibling (single controller) or etcd (cluster). */
function setupLifecycle(ctl: Controller, deps: LifecycleDeps) {
  const shared = ctl.opts.cluster?.lifecycle;
  // history and pending changes survive a restart (single controller with a state file; lifecycle-store.ts)
  const file = ctl.opts.cluster ? undefined : lifecycleFileOf(ctl.opts.stateFile);
  const restored = file ? readLifecycle(file, ctl.clock.now()) : undefined;
  if (restored?.error || restored?.dropped) ctl.event('lifecycle-restore', { file, error: restored.error, dropped: restored.dropped });
  const history = new PolicyHistory(ctl, restored?.versions, shared);
  const approvals = deps.requireApproval ? new Approvals(ctl, deps.approvalTtlMs ?? DEFAULT_APPROVAL_TTL_MS, shared) : undefined;
  if (approvals && restored) approvals.restore(restored.pending);
  const store = file
    ? new LifecycleStore(
        file,
        () => ({ versions: history.versions.values(), pending: approvals?.stored() ?? [], monitor: monitored(ctl) }),
        (e) => ctl.event('lifecycle-save-error', { file, error: e.message }),
      )
    : undefined;
  let unwatch = () => {};
  if (store) {
    history.onChange = () => void store.save();
    if (approvals) approvals.onChange = () => void store.save();
    const onMonitor = (e: ControllerEvent) => {
      if (e.type === 'policy-monitor-started' || e.type === 'policy-monitor-stopped') void store.save();
    };
    ctl.on('event', onMonitor);
    unwatch = () => void ctl.off('event', onMonitor);
    // the version that was in monitor mode before the restart is monitored again (if the policy is still its base)
    if (restored?.monitor && !ctl.monitorMode.current) void ctl.monitorMode.restore(restored.monitor).then(() => store.save());
    else void store.save();
  }
  return { history, approvals, store, unwatch };
}

interface Ctx {
  readonly ctl: Controller;
  readonly deps: LifecycleDeps;
  readonly history: PolicyHistory;
  readonly approvals?: Approvals;
  readonly store?: LifecycleStore;
  readonly version: (v: number) => PolicyVersion | undefined;
  readonly pendingReply: (reply: FastifyReply, r: Awaited<ReturnType<Approvals['submit']>>) => Promise<unknown>;
}

const notInHistory = (reply: FastifyReply, v: number) => fail(reply, 404, 'not-found', `no version ${v} in the policy history`);

function versionRoutes(r: FastifyInstance, { ctl, deps, history, approvals, version }: Ctx): void {
  r.get('/policy/versions', { preHandler: deps.requireRead, schema: { response: { 200: VersionsReply } } }, async (_req, reply) =>
    send(reply, {
      current: ctl.version,
      requireApproval: !!approvals,
      versions: [...history.versions.values()].sort((a, b) => a.version - b.version).map(versionOut),
    }),
  );
  r.get<{ Params: { v: number } }>(
    '/policy/versions/:v',
    { preHandler: deps.requireRead, schema: { params: VersionParams, response: { 200: VersionReply } } },
    async (req, reply) => {
      const v = version(req.params.v);
      if (!v) return notInHistory(reply, req.params.v);
      send(reply, { ...versionOut(v), text: v.text });
    },
  );
}

function diffRoute(r: FastifyInstance, { ctl, deps, version }: Ctx): void {
  r.get<{ Querystring: { from: number; to: number } }>(
    '/policy/diff',
    { preHandler: deps.requireRead, schema: { querystring: DiffQuery, response: { 200: DiffReply } } },
    async (req, reply) => {
      const a = version(req.query.from),
        b = version(req.query.to);
      if (!a || !b) return notInHistory(reply, !a ? req.query.from : req.query.to);
      // both texts against today's directory and topology, at the current instant
      const load = (text: string) =>
        loadPolicy(ctl.opts.policyPath, {
          policyText: text,
          directory: ctl.compiled.input.directory,
          bindings: ctl.compiled.input.bindings,
        });
      const [la, lb] = await Promise.all([load(a.text), load(b.text)]);
      if (!la.ok || !lb.ok)
        return fail(reply, 422, 'invalid-policy', 'a version no longer validates against the current directory and topology', {
          errors: (!la.ok ? la.diagnostics : !lb.ok ? lb.diagnostics : []).map(formatDiagnostic),
        });
      const at = ctl.clock.now();
      const ca = compile({ ...la.value, at }, { previous: a.ids });
      const cb = compile({ ...lb.value, at }, { previous: ca });
      send(reply, {
        from: a.version,
        to: b.version,
        access: diffAccess(ca, cb),
        flows: diffPlans(ca.plan, cb.plan).map((d) => ({
          switch: d.switch,
          added: d.added.length,
          removed: d.removed.length,
          unchanged: d.unchanged,
        })),
        textChanged: a.text !== b.text,
      });
    },
  );
}

function lintRoute(r: FastifyInstance, { ctl, deps }: Ctx): void {
  r.post<{ Body: { text: string } }>(
    '/policy/lint',
    { preHandler: deps.requireRead, schema: { body: LintBody, response: { 200: LintReply, 422: LintInvalidReply } } },
    async (req, reply) => {
      const l = await loadPolicy(ctl.opts.policyPath, {
        policyText: req.body.text,
        directory: ctl.compiled.input.directory,
        bindings: ctl.compiled.input.bindings,
      });
      if (!l.ok) return send(reply.code(422), { ok: false, diagnostics: l.diagnostics, errors: l.diagnostics.map(formatDiagnostic) });
      send(reply, { ok: true, ...lintInput(l.value) });
    },
  );
}

function rollbackRoute(r: FastifyInstance, { ctl, deps, approvals, version, pendingReply }: Ctx): void {
  r.post<{ Body: { version: number; dryRun?: boolean } }>(
    '/policy/rollback',
    { preHandler: deps.requireAdmin, schema: { body: RollbackBody, response: ChangeReplies } },
    async (req, reply) => {
      const v = version(req.body.version);
      if (!v) return notInHistory(reply, req.body.version);
      const by = deps.who(req)?.name ?? 'unknown';
      if (req.body.dryRun) {
        const res = await ctl.applyPolicy(v.text, { dryRun: true, by, ids: v.ids });
        return send(reply.code(res.ok ? 200 : 422), {
          ...res,
          rollbackTo: v.version,
          ...(res.ok ? {} : { errors: res.diagnostics.map(formatDiagnostic) }),
        });
      }
      if (approvals)
        return pendingReply(reply, await approvals.submit(v.text, by, { kind: 'rollback', rollbackTo: v.version, ids: v.ids }));
      const res = await ctl.applyPolicy(v.text, { by, ids: v.ids, meta: { reason: 'rollback', rollbackTo: v.version } });
      if (!res.ok) return send(reply.code(refusedStatus(res.diagnostics)), { ...res, errors: res.diagnostics.map(formatDiagnostic) });
      send(reply, { ...res, rollbackTo: v.version, planHash: planHash(ctl.compiled.plan) });
    },
  );
}

/** 409 when a concurrent change won (cluster compare-and-swap), 503 when etcd is unreachable, else 422. */
function refusedStatus(diagnostics: ReadonlyArray<{ code?: string }>): number {
  return diagnostics.some((d) => d.code === 'conflict') ? 409 : diagnostics.some((d) => d.code === 'cluster-unavailable') ? 503 : 422;
}

function pendingRoutes(r: FastifyInstance, { ctl, deps, approvals, store }: Ctx): void {
  r.get('/pending', { preHandler: deps.requireRead, schema: { response: { 200: PendingReply } } }, async (_req, reply) =>
    send(reply, { requireApproval: !!approvals, pending: approvals?.list() ?? [] }),
  );
  r.post<{ Params: { id: string } }>(
    '/pending/:id/approve',
    { preHandler: deps.requireAdmin, schema: { params: PendingParams, response: ChangeReplies } },
    async (req, reply) => {
      if (!approvals)
        return fail(reply, 409, 'no-approval', 'this controller does not require approval (start it with --require-approval)');
      const res = await approvals.approve(req.params.id, deps.who(req)?.name ?? 'unknown');
      await store?.save();
      if (!res.ok)
        return fail(
          reply,
          res.error.status,
          res.error.code,
          res.error.message,
          res.result ? { errors: res.result.diagnostics.map(formatDiagnostic) } : {},
        );
      send(reply, { ...res.result, planHash: planHash(ctl.compiled.plan) });
    },
  );
  r.post<{ Params: { id: string } }>(
    '/pending/:id/reject',
    { preHandler: deps.requireAdmin, schema: { params: PendingParams, response: { 200: OkReply } } },
    async (req, reply) => {
      if (!approvals) return fail(reply, 409, 'no-approval', 'this controller does not require approval');
      if (!(await approvals.reject(req.params.id, deps.who(req)?.name ?? 'unknown')))
        return fail(reply, 404, 'not-found', 'no such pending change');
      await store?.save();
      send(reply, { ok: true });
    },
  );
}

export function registerLifecycle(app: FastifyInstance, ctl: Controller, deps: LifecycleDeps): Lifecycle {
  const { history, approvals, store, unwatch } = setupLifecycle(ctl, deps);
  app.addHook('onClose', async () => {
    unwatch();
    history.stop();
    approvals?.stop();
    await store?.save();
  });
  const pendingReply: Ctx['pendingReply'] = async (reply, r) => {
    await store?.save(); // a pending change is durable before it is acknowledged (in etcd: submit awaited the put)
    if (r.ok)
      return send(reply.code(202), { ok: true, pending: r.pending, message: `pending approval by another admin (id ${r.pending.id})` });
    if (r.error) return fail(reply, r.error.status, r.error.code, r.error.message);
    return send(reply.code(422), { ...r.result, errors: r.result!.diagnostics.map(formatDiagnostic) });
  };
  const ctx: Ctx = { ctl, deps, history, approvals, store, version: (v) => history.versions.get(v), pendingReply };
  app.register(
    async (r) => {
      versionRoutes(r, ctx);
      diffRoute(r, ctx);
      lintRoute(r, ctx);
      rollbackRoute(r, ctx);
      pendingRoutes(r, ctx);
    },
    { prefix: '/api/v1' },
  );
  return {
    history,
    approvals,
    async submit(text, by, reply, kind) {
      if (!approvals) return false;
      await pendingReply(reply, await approvals.submit(text, by, { kind }));
      return true;
    },
  };
}

export type { PendingChange };
