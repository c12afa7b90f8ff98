/**
 * REST routes and Prometheus metrics for traffic per rule, the deny log and "why am I blocked?".
 * Registered by api.ts with one line; auth hooks and the metrics registry come from there.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Controller } from './controller.js';
import { parseSince, type DenialKind } from './denials.js';
import { why } from '../compiler/why.js';
import { accessMatrix } from '../compiler/query.js';
import { withAddresses } from './api/query.js';
import {
  DenialsQuery,
  DenialsReply,
  PollReply,
  RuleTrafficParams,
  RuleTrafficReply,
  RulesTrafficReply,
  SinceQuery,
  TrafficMatrixReply,
  UnusedQuery,
  UnusedReply,
  UserTrafficParams,
  UserTrafficReply,
  WhyQuery,
  WhyReply,
} from './api/contract.js';
import { fail } from './api/reply.js';

export interface ObserveRoutesOptions {
  readonly ctl: Controller;
  readonly registry: Registry;
  readonly requireRead: (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
  readonly requireAdmin: (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
  readonly send: (reply: FastifyReply, v: unknown) => unknown;
}

export async function observeRoutes(app: FastifyInstance, o: ObserveRoutesOptions): Promise<void> {
  registerMetrics(o.ctl, o.registry);
  app.register(async (r) => {
    r.addHook('preHandler', o.requireRead);
    ruleRoutes(r, o);
    denialRoutes(r, o);
  });
  app.register(async (r) => {
    r.addHook('preHandler', o.requireAdmin);
    r.post('/stats/poll', { schema: { response: { 200: PollReply } } }, async (_req, reply) =>
      o.send(reply, await o.ctl.observe.traffic.poll()),
    );
  });
}

/** Prometheus metrics of traffic per rule/resource and of the deny log (registered once per registry). */
function registerMetrics(ctl: Controller, registry: Registry): void {
  const obs = ctl.observe;
  const registered = registry as Registry & { _observe?: boolean };
  if (registered._observe) return;
  registered._observe = true;
  // bounded cardinality: per rule and per resource (names from the policy), never per user
  const total = (name: string, help: string, label: 'rule' | 'resource', get: () => Iterable<[string, number]>) =>
    new Counter({
      name,
      help,
      labelNames: [label],
      registers: [registry],
      collect() {
        this.reset();
        for (const [k, v] of get()) this.inc({ [label]: k }, v);
      },
    });
  const names = () => new Set(ctl.compiled.input.policy.rules.map((r) => r.name).concat('default'));
  const resNames = () => new Set(ctl.compiled.input.policy.resources.map((r) => r.name));
  total('acl_rule_packets_total', 'Packets carried by the flows of a policy rule (forward direction), all switches', 'rule', () =>
    [...obs.traffic.rules].filter(([k]) => names().has(k)).map(([k, v]) => [k, v.packets]),
  );
  total('acl_rule_bytes_total', 'Bytes carried by the flows of a policy rule (forward direction), all switches', 'rule', () =>
    [...obs.traffic.rules].filter(([k]) => names().has(k)).map(([k, v]) => [k, v.bytes]),
  );
  total(
    'acl_resource_packets_total',
    'Packets to a resource allowed (or explicitly denied) by policy flows, all switches',
    'resource',
    () => [...obs.traffic.resources].filter(([k]) => resNames().has(k)).map(([k, v]) => [k, v.packets]),
  );
  total('acl_resource_bytes_total', 'Bytes to a resource allowed (or explicitly denied) by policy flows, all switches', 'resource', () =>
    [...obs.traffic.resources].filter(([k]) => resNames().has(k)).map(([k, v]) => [k, v.bytes]),
  );
  new Gauge({
    name: 'acl_rule_last_hit_timestamp_seconds',
    help: 'Unix time of the last packet a rule carried (absent: none seen)',
    labelNames: ['rule'],
    registers: [registry],
    collect() {
      this.reset();
      for (const n of names()) {
        const t = obs.traffic.lastHit(n);
        if (t !== undefined) this.set({ rule: n }, t / 1000);
      }
    },
  });
  new Counter({
    name: 'acl_deny_samples_total',
    help: 'Denied-packet samples received (after the per-switch meter)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(obs.denials.counters.samples);
    },
  });
  new Counter({
    name: 'acl_deny_samples_undecodable_total',
    help: 'Samples the strict decoder refused',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(obs.denials.counters.decodeErrors);
    },
  });
  new Gauge({
    name: 'acl_denial_entries',
    help: 'Aggregated deny-log entries held in memory',
    registers: [registry],
    collect() {
      this.set(obs.denials.size);
    },
  });
  new Gauge({
    name: 'acl_stats_poll_seconds',
    help: 'Duration of the last flow-statistics poll (all switches)',
    registers: [registry],
    collect() {
      this.set((obs.traffic.lastPoll?.ms ?? 0) / 1000);
    },
  });
}

/** Traffic per rule (all, unused, one) and per user. */
function ruleRoutes(r: FastifyInstance, { ctl, send }: ObserveRoutesOptions): void {
  const obs = ctl.observe;
  r.get('/rules/traffic', { schema: { response: { 200: RulesTrafficReply } } }, async (_req, reply) => {
    send(
      reply,
      ctl.compiled.input.policy.rules.map((x) => {
        const t = obs.traffic.ruleTraffic(x.name);
        return { rule: x.name, action: x.action, packets: t.packets, bytes: t.bytes, replyPackets: t.replyPackets, lastHit: t.lastHit };
      }),
    );
  });
  r.get<{ Querystring: { days?: number } }>(
    '/rules/unused',
    { schema: { querystring: UnusedQuery, response: { 200: UnusedReply } } },
    async (req, reply) => {
      const days = req.query.days ?? 30;
      send(reply, {
        days,
        trackedSince: new Date(obs.traffic.trackedSince).toISOString(),
        rules: obs.traffic.unused(
          ctl.compiled.input.policy.rules.map((x) => x.name),
          days,
        ),
      });
    },
  );
  r.get<{ Params: { name: string }; Querystring: { since?: string } }>(
    '/rules/:name/traffic',
    { schema: { params: RuleTrafficParams, querystring: SinceQuery, response: { 200: RuleTrafficReply } } },
    async (req, reply) => {
      if (req.params.name !== 'default' && !ctl.compiled.input.policy.rules.some((x) => x.name === req.params.name))
        return fail(reply, 404, 'not-found', `no rule '${req.params.name}' in the policy`);
      const since = parseSince(req.query.since);
      if (typeof since === 'object') return reply.code(400).send(since);
      send(reply, obs.traffic.ruleTraffic(req.params.name, since ?? 0));
    },
  );
  r.get<{ Params: { id: string } }>(
    '/users/:id/traffic',
    { schema: { params: UserTrafficParams, response: { 200: UserTrafficReply } } },
    async (req, reply) => {
      const s = ctl.compiled.subjectById.get(req.params.id);
      if (!s) return fail(reply, 404, 'not-found', `no user or server '${req.params.id}'`);
      const sent = obs.traffic.subjects.get(s.id);
      const cls = obs.traffic.classes.get(s.classId);
      send(reply, {
        subject: s.id,
        kind: s.kind,
        classId: s.classId,
        sent: {
          packets: sent?.packets ?? 0,
          bytes: sent?.bytes ?? 0,
          lastHit: sent?.lastHit ? new Date(sent.lastHit).toISOString() : null,
        },
        classTraffic: {
          packets: cls?.packets ?? 0,
          bytes: cls?.bytes ?? 0,
          lastHit: cls?.lastHit ? new Date(cls.lastHit).toISOString() : null,
          sharedWith: ctl.compiled.subjects.filter((x) => x.classId === s.classId).length - 1,
        },
        rules: s.rules
          .map((i) => ctl.compiled.input.policy.rules[i].name)
          .map((n) => {
            const t = obs.traffic.ruleTraffic(n);
            return { rule: n, packets: t.packets, bytes: t.bytes, lastHit: t.lastHit };
          }),
        denials: obs.denials.query({ user: s.id, limit: 50 }),
      });
    },
  );
}

/** The matrix with "in use", the deny log and "why am I blocked?". */
function denialRoutes(r: FastifyInstance, { ctl, send }: ObserveRoutesOptions): void {
  const obs = ctl.observe;
  r.get('/traffic/matrix', { schema: { response: { 200: TrafficMatrixReply } } }, async (_req, reply) => {
    const m = withAddresses(ctl.compiled, accessMatrix(ctl.compiled));
    const cls = new Map(ctl.compiled.subjects.map((s) => [s.id, s.classId]));
    send(reply, {
      ...m,
      cells: m.cells.map((c) => {
        const t = c.decision === 'allow' ? obs.traffic.cells.get(`${cls.get(c.subject)}|${c.resource}`) : undefined;
        return { ...c, inUse: t !== undefined, lastHit: t ? new Date(t).toISOString() : null };
      }),
    });
  });
  r.get<{
    Querystring: {
      user?: string;
      resource?: string;
      since?: string;
      switch?: string;
      rule?: string;
      kind?: DenialKind;
      dst?: string;
      limit?: number;
    };
  }>(
    '/denials',
    {
      schema: { querystring: DenialsQuery, response: { 200: DenialsReply } },
    },
    async (req, reply) => {
      const since = parseSince(req.query.since);
      if (typeof since === 'object') return reply.code(400).send(since);
      return send(reply, { total: obs.denials.size, counters: obs.denials.counters, denials: obs.denials.query({ ...req.query, since }) });
    },
  );
  r.get<{ Querystring: { user: string; resource: string; service: string } }>(
    '/why',
    {
      schema: { querystring: WhyQuery, response: { 200: WhyReply } },
    },
    async (req, reply) => {
      const w = why(ctl.compiled, req.query.user, req.query.resource, req.query.service);
      const denials = obs.denials
        .query({ user: w.from, limit: 200 })
        .filter((d) => d.dst === w.ip || d.resources.includes(req.query.resource))
        .slice(0, 20);
      send(reply, { ...w, denials });
    },
  );
}
