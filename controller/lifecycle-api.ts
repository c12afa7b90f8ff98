/**
 * Policy lifecycle routes (a fastify plugin under /api/v1): versions with their full text and plan hash, diff
 * between any two versions, rollback (same preview and approval rule as a change), pending changes for the
 * two-person rule, and lint of a policy text (for the console editor).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';
import type { Controller, ControllerEvent } from './controller.js';
import { Approvals, DEFAULT_APPROVAL_TTL_MS, type PendingChange } from './approvals.js';
import type { Compiled } from '../compiler/compile.js';
import { compile } from '../compiler/compile.js';
import type { FlowPlan } from '../compiler/model.js';
import { jsonReplacer } from '../compiler/format.js';
import { formatDiagnostic, loadPolicy } from '../loader/index.js';
import { diffAccess, diffPlans } from '../compiler/query.js';
import { lintInput } from '../compiler/lint.js';
import { LifecycleStore, lifecycleFileOf, readLifecycle } from './lifecycle-store.js';
import { Type } from '@sinclair/typebox';
import {
  ApplyReply,
  DiffQuery,
  DiffReply,
  ErrorReply,
  LintBody,
  LintInvalidReply,
  LintReply,
  OkReply,
  PendingCreatedReply,
  PendingParams,
  PendingReply,
  RollbackBody,
  VersionParams,
  VersionReply,
  VersionsReply,
} from './api/contract.js';
import { fail, send } from './api/reply.js';

export interface PolicyVersion {
  readonly version: number;
  readonly at: string;
  readonly by: string;
  readonly reason: string;
  readonly approvedBy?: string;
  readonly rollbackTo?: number;
  readonly summary?: string;
  readonly planHash: string;
  readonly text: string;
  readonly ids: Pick<Compiled, 'classIds' | 'dstClassIds'>;
}

/** SHA-256 of the plan as JSON (every switch, every flow, in order): equal hashes mean byte-identical plans. */
export function planHash(plan: FlowPlan): string {
  const h = createHash('sha256');
  for (const sw of plan.switches) {
    h.update(`${sw.name}|${sw.dpid.toString(16)}|${sw.kind}\n`);
    for (const f of sw.flows)
      h.update(
        JSON.stringify(
          { t: f.tableId, p: f.priority, c: f.cookie, m: f.match, i: f.instructions, o: f.origin, h: f.hardTimeout, d: f.idleTimeout },
          jsonReplacer,
        ) + '\n',
      );
  }
  return h.digest('hex');
}

const MAX_VERSIONS = 200;

/** Every applied version of this controller run, with its full text and class ids (for exact rollbacks). */
export class PolicyHistory {
  readonly versions = new Map<number, PolicyVersion>();
  /** Called after every recorded version (controller/lifecycle-store.ts persists the history). */
  onChange?: () => void;
  private readonly on = (e: ControllerEvent) => {
    if (e.type === 'policy-applied') this.record(e);
  };
  /**
   * `restored`: the versions a previous run saved. When the policy file still holds the newest of them, numbering
   * continues from it; when it was edited while the controller was down, the loaded text becomes the next version.
   */
  constructor(
    private readonly ctl: Controller,
    restored: readonly PolicyVersion[] = [],
  ) {
    for (const v of restored.slice(-MAX_VERSIONS)) this.versions.set(v.version, v);
    const last = restored.at(-1);
    if (last && !ctl.opts.cluster) {
      if (last.text === ctl.loaded.policyText) ctl.version = last.version;
      else {
        ctl.version = last.version + 1;
        this.record({ type: 'loaded', at: ctl.startedAt.toISOString(), version: ctl.version, by: 'startup', reason: 'load' });
      }
    } else this.record({ type: 'loaded', at: ctl.startedAt.toISOString(), version: ctl.version, by: 'startup', reason: 'load' });
    ctl.on('event', this.on);
  }
  stop(): void {
    this.ctl.off('event', this.on);
  }
  private record(e: ControllerEvent): void {
    const c = this.ctl.compiled;
    const v: PolicyVersion = {
      version: e.version as number,
      at: e.at,
      by: String(e.by ?? 'unknown'),
      reason: String(e.reason ?? 'apply'),
      ...(e.approvedBy ? { approvedBy: String(e.approvedBy) } : {}),
      ...(e.rollbackTo !== undefined ? { rollbackTo: e.rollbackTo as number } : {}),
      ...(e.summary ? { summary: String(e.summary) } : {}),
      planHash: planHash(c.plan),
      text: this.ctl.loaded.policyText,
      ids: { classIds: c.classIds, dstClassIds: c.dstClassIds },
    };
    this.versions.set(v.version, v);
    if (this.versions.size > MAX_VERSIONS) this.versions.delete(this.versions.keys().next().value!);
    this.onChange?.();
  }
}

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
  submit(text: string, by: string, reply: FastifyReply): Promise<boolean>;
}

/** A refused change: the apply result with its diagnostics, or an error (approvals: own change, stale, too many …). */
const ApplyOrError = Type.Union([ApplyReply, ErrorReply]);
const changeReplies = { 200: ApplyReply, 202: PendingCreatedReply, '4xx': ApplyOrError } as const;
const versionOut = ({ text: _t, ids: _i, ...v }: PolicyVersion) => v;

export function registerLifecycle(app: FastifyInstance, ctl: Controller, deps: LifecycleDeps): Lifecycle {
  // history and pending changes survive a restart (single controller with a state file; lifecycle-store.ts)
  const file = ctl.opts.cluster ? undefined : lifecycleFileOf(ctl.opts.stateFile);
  const restored = file ? readLifecycle(file, ctl.clock.now()) : undefined;
  if (restored?.error || restored?.dropped) ctl.event('lifecycle-restore', { file, error: restored.error, dropped: restored.dropped });
  const history = new PolicyHistory(ctl, restored?.versions);
  const approvals = deps.requireApproval ? new Approvals(ctl, deps.approvalTtlMs ?? DEFAULT_APPROVAL_TTL_MS) : undefined;
  if (approvals && restored) approvals.restore(restored.pending);
  const store = file
    ? new LifecycleStore(
        file,
        () => ({ versions: history.versions.values(), pending: approvals?.stored() ?? [] }),
        (e) => ctl.event('lifecycle-save-error', { file, error: e.message }),
      )
    : undefined;
  if (store) {
    history.onChange = () => void store.save();
    if (approvals) approvals.onChange = () => void store.save();
    void store.save();
  }
  app.addHook('onClose', async () => {
    history.stop();
    approvals?.stop();
    await store?.save();
  });
  const pendingReply = async (reply: FastifyReply, r: Awaited<ReturnType<Approvals['submit']>>) => {
    await store?.save(); // a pending change is durable before it is acknowledged
    if (r.ok)
      return send(reply.code(202), { ok: true, pending: r.pending, message: `pending approval by another admin (id ${r.pending.id})` });
    if (r.error) return fail(reply, r.error.status, r.error.code, r.error.message);
    return send(reply.code(422), { ...r.result, errors: r.result!.diagnostics.map(formatDiagnostic) });
  };
  const version = (v: number) => history.versions.get(v);

  app.register(
    async (r) => {
      r.get('/policy/versions', { preHandler: deps.requireRead, schema: { response: { 200: VersionsReply } } }, async (_req, reply) =>
        send(reply, { current: ctl.version, requireApproval: !!approvals, versions: [...history.versions.values()].map(versionOut) }),
      );
      r.get<{ Params: { v: number } }>(
        '/policy/versions/:v',
        { preHandler: deps.requireRead, schema: { params: VersionParams, response: { 200: VersionReply } } },
        async (req, reply) => {
          const v = version(req.params.v);
          if (!v) return fail(reply, 404, 'not-found', `no version ${req.params.v} in this controller's history`);
          send(reply, { ...versionOut(v), text: v.text });
        },
      );
      r.get<{ Querystring: { from: number; to: number } }>(
        '/policy/diff',
        {
          preHandler: deps.requireRead,
          schema: { querystring: DiffQuery, response: { 200: DiffReply } },
        },
        async (req, reply) => {
          const a = version(req.query.from),
            b = version(req.query.to);
          if (!a || !b)
            return fail(reply, 404, 'not-found', `no version ${!a ? req.query.from : req.query.to} in this controller's history`);
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
      r.get('/pending', { preHandler: deps.requireRead, schema: { response: { 200: PendingReply } } }, async (_req, reply) =>
        send(reply, { requireApproval: !!approvals, pending: approvals?.list() ?? [] }),
      );
      r.post<{ Body: { text: string } }>(
        '/policy/lint',
        {
          preHandler: deps.requireRead,
          schema: { body: LintBody, response: { 200: LintReply, 422: LintInvalidReply } },
        },
        async (req, reply) => {
          const l = await loadPolicy(ctl.opts.policyPath, {
            policyText: req.body.text,
            directory: ctl.compiled.input.directory,
            bindings: ctl.compiled.input.bindings,
          });
          if (!l.ok) return send(reply.code(422), { ok: false, diagnostics: l.diagnostics, errors: l.diagnostics.map(formatDiagnostic) });
          const report = lintInput(l.value);
          send(reply, { ok: true, ...report });
        },
      );

      r.post<{ Body: { version: number; dryRun?: boolean } }>(
        '/policy/rollback',
        {
          preHandler: deps.requireAdmin,
          schema: { body: RollbackBody, response: changeReplies },
        },
        async (req, reply) => {
          const v = version(req.body.version);
          if (!v) return fail(reply, 404, 'not-found', `no version ${req.body.version} in this controller's history`);
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
          if (!res.ok) return send(reply.code(422), { ...res, errors: res.diagnostics.map(formatDiagnostic) });
          send(reply, { ...res, rollbackTo: v.version, planHash: planHash(ctl.compiled.plan) });
        },
      );
      r.post<{ Params: { id: string } }>(
        '/pending/:id/approve',
        { preHandler: deps.requireAdmin, schema: { params: PendingParams, response: changeReplies } },
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
          if (!approvals.reject(req.params.id, deps.who(req)?.name ?? 'unknown'))
            return fail(reply, 404, 'not-found', 'no such pending change');
          await store?.save();
          send(reply, { ok: true });
        },
      );
    },
    { prefix: '/api/v1' },
  );

  return {
    history,
    approvals,
    async submit(text, by, reply) {
      if (!approvals) return false;
      await pendingReply(reply, await approvals.submit(text, by));
      return true;
    },
  };
}

export type { PendingChange };
