/**
 * A policy version in monitor mode (controller/monitor-version.ts): GET /policy/monitor (status and what it would
 * have cut), POST /policy/monitor (enter it: admin, and with --require-approval a pending change like an apply),
 * DELETE /policy/monitor (leave it), POST /policy/monitor/promote (apply its text: the same path as POST /policy).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Controller } from '../controller.js';
import { formatDiagnostic } from '../../loader/index.js';
import { parseSince, type Denial } from '../denials.js';
import type { MonitoredVersion as Monitored } from '../monitor-version.js';
import type { Auth } from './auth.js';
import { applyText, type PolicyRoutesOptions } from './policy.js';
import {
  ApplyBody,
  ChangeReplies,
  ErrorReply,
  MonitorQuery,
  MonitorReply,
  MonitorStartedReply,
  MonitorStoppedReply,
  type MonitorReply as Status,
  type WouldCut,
} from './contract.js';
import { fail, send } from './reply.js';

export interface MonitorRoutesOptions extends Pick<PolicyRoutesOptions, 'lifecycle' | 'applyLatency'> {
  readonly ctl: Controller;
  readonly auth: Auth;
}

const DEFAULT_SINCE = '6h';

/** The wire form of the monitored version (its text is GET /policy's business once promoted). */
const shown = ({ text: _t, ...m }: Monitored) => ({ ...m, access: [...m.access] });

/** Would-deny entries of the monitored version, one line per (user, destination, rule). */
export function wouldCut(entries: readonly Denial[], name: string): WouldCut[] {
  const out = new Map<string, WouldCut>();
  for (const d of entries) {
    if (d.kind !== 'would-deny' || d.monitor !== name) continue;
    const k = `${d.user ?? d.mac}|${d.dst ?? ''}|${d.rule}`;
    const w = out.get(k);
    if (!w) {
      out.set(k, {
        user: d.user ?? null,
        resources: [...d.resources],
        dst: d.dst ?? null,
        services: [...d.services],
        rule: d.rule,
        count: d.count,
        lastSeen: d.lastSeen,
      });
      continue;
    }
    w.count += d.count;
    for (const s of d.services) if (!w.services.includes(s)) w.services.push(s);
    if (d.lastSeen > w.lastSeen) w.lastSeen = d.lastSeen;
  }
  return [...out.values()].sort((a, b) => b.count - a.count);
}

export const monitorRoutes: FastifyPluginAsyncTypebox<MonitorRoutesOptions> = async (r, { ctl, auth, lifecycle, applyLatency }) => {
  r.get(
    '/policy/monitor',
    { preHandler: auth.requireRead, schema: { querystring: MonitorQuery, response: { 200: MonitorReply, 400: ErrorReply } } },
    async (req, reply) => {
      const since = parseSince(req.query.since ?? DEFAULT_SINCE);
      if (typeof since === 'object') return fail(reply, 400, 'bad-request', since.error);
      const m = ctl.monitorMode.current;
      const entries = m ? ctl.observe.denials.query({ kind: 'would-deny', since, limit: 10_000 }) : [];
      const body: Status = {
        active: !!m,
        monitor: m ? shown(m) : null,
        since: new Date(since ?? 0).toISOString(),
        wouldCut: m ? wouldCut(entries, m.name) : [],
        monitoredRules: ctl.compiled.input.policy.rules.filter((x) => x.mode === 'monitor').map((x) => x.name),
      };
      return send(reply, body);
    },
  );
  r.post(
    '/policy/monitor',
    {
      preHandler: auth.requireAdmin,
      schema: { body: ApplyBody, response: { ...ChangeReplies, 200: MonitorStartedReply } },
    },
    async (req, reply) => {
      const text = typeof req.body === 'string' ? req.body : req.body.text;
      if (!text.trim()) return fail(reply, 400, 'bad-request', 'send the policy YAML as the body (text/yaml) or as {"text": "..."}');
      const by = auth.who(req)?.name ?? 'unknown';
      // the same two-person rule as an apply: entering monitor mode is a change a second admin approves
      if (await lifecycle.submit(text, by, reply, 'monitor')) return reply;
      const r = await ctl.monitorMode.start(text, by);
      if (!r.ok) {
        const status = r.result.diagnostics.some((d) => d.code === 'conflict') ? 409 : 422;
        return send(reply.code(status), { ...r.result, errors: r.result.diagnostics.map(formatDiagnostic) });
      }
      const warnings = r.result.diagnostics.map(formatDiagnostic);
      return send(reply, { ok: true as const, monitor: shown(r.monitor), errors: [], warnings });
    },
  );
  r.delete('/policy/monitor', { preHandler: auth.requireAdmin, schema: { response: { 200: MonitorStoppedReply } } }, async (req, reply) => {
    const stopped = await ctl.monitorMode.stop(auth.who(req)?.name ?? 'unknown');
    return send(reply, { ok: true as const, stopped: stopped?.name ?? null });
  });
  r.post(
    '/policy/monitor/promote',
    {
      preHandler: auth.requireAdmin,
      schema: { response: ChangeReplies },
    },
    async (req, reply) => {
      const m = ctl.monitorMode.current;
      if (!m) return fail(reply, 404, 'not-found', 'no policy version is in monitor mode');
      await applyText({ ctl, lifecycle, applyLatency }, m.text, auth.who(req)?.name ?? 'unknown', { baseVersion: m.baseVersion }, reply);
      return reply;
    },
  );
};
