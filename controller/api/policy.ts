/**
 * The running policy: GET /policy, /policy/history (audit log), POST /policy (dry run, apply, ?baseVersion), POST /sync.
 * Versions, diff, rollback and approvals are in ../lifecycle-api.ts.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import type { Histogram } from 'prom-client';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Controller } from '../controller.js';
import type { Compiled } from '../../compiler/compile.js';
import { formatDiagnostic } from '../../loader/index.js';
import type { Lifecycle } from '../lifecycle-api.js';
import { seenImpact } from '../impact.js';
import type { Auth } from './auth.js';
import {
  ApplyBody,
  ApplyQuery,
  ChangeReplies,
  HistoryReply,
  PolicyReply,
  ReconcileResult,
  type AuditEntry,
  type PolicyReply as Policy,
  type UnreadableEntry,
} from './contract.js';
import { AUDITED_EVENTS } from '../events.js';
import { fail, send } from './reply.js';
import { Type } from '@sinclair/typebox';

export interface PolicyRoutesOptions {
  readonly ctl: Controller;
  readonly auth: Auth;
  readonly auditLog?: string;
  readonly lifecycle: Lifecycle;
  readonly applyLatency: Histogram;
}

const AUDITED: ReadonlySet<string> = new Set(AUDITED_EVENTS);

/**
 * One line of the audit log as GET /policy/history lists it: an entry whose envelope is this version's (an audited
 * event's type, `at` and `by`; the payload is the event's, written by audit.ts), else the line as unreadable.
 */
function auditEntry(line: string): AuditEntry | UnreadableEntry {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    v = undefined;
  }
  return isAuditEntry(v) ? v : { corrupt: line.slice(0, 100) };
}

function isAuditEntry(v: unknown): v is AuditEntry {
  if (v === null || typeof v !== 'object') return false;
  const e: { type?: unknown; at?: unknown; by?: unknown; text?: unknown } = v;
  return (
    typeof e.type === 'string' &&
    AUDITED.has(e.type) &&
    typeof e.at === 'string' &&
    typeof e.by === 'string' &&
    (e.text === undefined || typeof e.text === 'string')
  );
}

export const policyRoutes: FastifyPluginAsyncTypebox<PolicyRoutesOptions> = async (r, { ctl, auth, auditLog, lifecycle, applyLatency }) => {
  const read = { preHandler: auth.requireRead };
  const admin = { preHandler: auth.requireAdmin };
  r.get('/policy', { ...read, schema: { response: { 200: PolicyReply } } }, async (_req, reply) => {
    const p: Policy = {
      version: ctl.version,
      path: ctl.loaded.paths.policy,
      text: ctl.loaded.policyText,
      lastChange: ctl.lastChange ?? null,
    };
    return send(reply, p);
  });
  r.get('/policy/history', { ...read, schema: { response: { 200: HistoryReply } } }, async (_req, reply) => {
    if (!auditLog || !existsSync(auditLog)) return send(reply, []);
    const lines = (await readFile(auditLog, 'utf8')).split('\n').filter(Boolean);
    return send(reply, lines.slice(-200).map(auditEntry));
  });
  r.post(
    '/policy',
    {
      ...admin,
      schema: {
        querystring: ApplyQuery,
        body: ApplyBody,
        response: ChangeReplies,
      },
    },
    async (req, reply) => {
      const text = typeof req.body === 'string' ? req.body : req.body.text;
      if (!text.trim()) return fail(reply, 400, 'bad-request', 'send the policy YAML as the body (text/yaml) or as {"text": "..."}');
      await applyText({ ctl, lifecycle, applyLatency }, text, auth.who(req)?.name ?? 'unknown', req.query, reply);
      return reply;
    },
  );
  r.post('/sync', { ...admin, schema: { response: { 200: Type.Array(ReconcileResult) } } }, async (_req, reply) =>
    send(reply, await ctl.syncAll()),
  );
};

/**
 * POST /policy's work, also used by POST /policy/monitor/promote: with the two-person rule the change becomes
 * pending; otherwise it is applied (or dry-run, with its impact on traffic seen recently).
 */
export async function applyText(
  { ctl, lifecycle, applyLatency }: Pick<PolicyRoutesOptions, 'ctl' | 'lifecycle' | 'applyLatency'>,
  text: string,
  by: string,
  query: { dryRun?: boolean; baseVersion?: number },
  reply: FastifyReply,
): Promise<void> {
  const dryRun = query.dryRun === true;
  if (!dryRun && (await lifecycle.submit(text, by, reply))) return; // two-person rule: pending
  const t0 = performance.now();
  let after: Compiled | undefined;
  const res = await ctl.applyPolicy(text, { dryRun, by, baseVersion: query.baseVersion, onCompiled: (n) => (after = n) });
  if (!res.ok) {
    // a concurrent change won (cluster compare-and-swap), or etcd is unreachable: not a policy error
    const status = res.diagnostics.some((d) => d.code === 'conflict')
      ? 409
      : res.diagnostics.some((d) => d.code === 'cluster-unavailable')
        ? 503
        : 422;
    send(reply.code(status), { ...res, errors: res.diagnostics.map(formatDiagnostic) });
    return;
  }
  if (!dryRun) applyLatency.observe((performance.now() - t0) / 1000);
  // a dry run also lists the connections seen recently that the change would cut or open (controller/impact.ts)
  send(reply, dryRun ? { ...res, seen: seenImpact(ctl.compiled, ctl.observe, res.access, Date.now(), { after }) } : res);
}
