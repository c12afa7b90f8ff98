/**
 * REST routes and metrics for the edge: GET /api/v1/sessions, DELETE /api/v1/sessions/:id (admin),
 * DELETE /api/v1/sessions/holds/:mac (admin: release a MAC held after a two-ports conflict),
 * acl_sessions{method}, acl_auth_total{result}, Access-Accept → flows installed latency. The audit log records
 * every login, logoff, reject and admin disconnect (the `audited` flags in controller/events.ts).
 */
import { compareText } from '../compiler/order.js';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Controller, ControllerEvent } from './controller.js';
import { registerVoucherRoutes } from './voucher-api.js';
import { HoldParams, HoldReleasedReply, SessionEndedReply, SessionParams, SessionsReply, type MacHold } from './api/contract.js';
import { fail } from './api/reply.js';

/** MACs held after a conflict (two ports at once), by the 802.1X authenticator and by DHCP snooping, merged. */
export function macHolds(ctl: Controller): MacHold[] {
  const m = new Map<string, MacHold>();
  const add = (mac: string, until: number, source: 'dot1x' | 'dhcp') => {
    const h = m.get(mac);
    if (!h) m.set(mac, { mac, until: new Date(until).toISOString(), source: [source] });
    else {
      h.source.push(source);
      if (Date.parse(h.until) < until) h.until = new Date(until).toISOString();
    }
  };
  for (const h of ctl.edge.auth.sightings.heldList()) add(h.mac, h.until, 'dot1x');
  for (const h of ctl.firstContact.snooper.holds()) add(h.mac, h.until, 'dhcp');
  return [...m.values()].sort((a, b) => compareText(a.mac, b.mac));
}

/** Sessions with their IPv6 addresses: those the directory lists for the MAC, then those learned for it on the session's port. */
function withIpv6(ctl: Controller): Array<ReturnType<Controller['edge']['view']>[number] & { ipv6?: string[] }> {
  const listed = new Map<string, readonly string[]>();
  for (const u of ctl.compiled.input.directory.users) for (const d of u.devices) if (d.ipv6?.length) listed.set(d.mac, d.ipv6);
  return ctl.edge.view().map((s) => {
    const learned = ctl.firstContact.ipv6.leases
      .byMac(s.mac)
      .filter((l) => l.switch === s.switch && l.port === s.port)
      .map((l) => l.ip);
    const all = [...new Set([...(listed.get(s.mac) ?? []), ...learned])];
    return all.length ? { ...s, ipv6: all } : s;
  });
}

/** Read routes (inside the API's read scope). */
export function registerSessionReads(r: FastifyInstance, ctl: Controller, send: (reply: FastifyReply, v: unknown) => unknown): void {
  r.get('/sessions', { schema: { response: { 200: SessionsReply } } }, async (_req, reply) => {
    const { acceptToFlowsMs: _latencies, ...stats } = ctl.edge.auth.stats; // the latency list is the metrics' to give
    return send(reply, {
      sessions: withIpv6(ctl),
      conversations: ctl.edge.auth.conversations(),
      radius: ctl.edge.radius()?.status() ?? [],
      stats,
      holds: macHolds(ctl),
    });
  });
}

/** Admin routes (inside the API's admin scope): ending a session. */
export function registerSessionWrites(
  r: FastifyInstance,
  ctl: Controller,
  send: (reply: FastifyReply, v: unknown) => unknown,
  who: (req: import('fastify').FastifyRequest) => { name: string } | undefined,
): void {
  r.delete<{ Params: { id: string } }>(
    '/sessions/:id',
    { schema: { params: SessionParams, response: { 200: SessionEndedReply } } },
    async (req, reply) => {
      const s = ctl.edge.sessions.get(req.params.id);
      if (!s) return fail(reply, 404, 'not-found', `no session '${req.params.id}'`);
      const by = who(req)?.name ?? 'unknown';
      ctl.edge.sessions.remove(s.id, 'admin', by);
      await ctl.edge.settled();
      send(reply, { ended: s, by });
    },
  );
  // an admin resolved a conflict (the cloned device is gone, the cable fixed): the MAC may log in again
  r.delete<{ Params: { mac: string } }>(
    '/sessions/holds/:mac',
    { schema: { params: HoldParams, response: { 200: HoldReleasedReply } } },
    async (req, reply) => {
      const mac = req.params.mac.toLowerCase().replace(/-/g, ':');
      const held = macHolds(ctl).find((h) => h.mac === mac);
      if (!held) return fail(reply, 404, 'not-found', `${mac} is not held`);
      ctl.edge.auth.sightings.release(mac);
      ctl.firstContact.snooper.release(mac);
      const by = who(req)?.name ?? 'unknown';
      ctl.event('mac-hold-released', { mac, by, source: held.source, until: held.until });
      send(reply, { released: held, by });
    },
  );
  registerVoucherRoutes(r, ctl, send, who);
}

export function registerEdgeMetrics(registry: Registry, ctl: Controller): void {
  new Gauge({
    name: 'acl_sessions',
    help: 'Live edge sessions (802.1X, MAB, web, admin) by method',
    labelNames: ['method'],
    registers: [registry],
    collect() {
      const n: Record<string, number> = { dot1x: 0, mab: 0, web: 0, admin: 0 };
      for (const s of ctl.edge.sessions.list()) n[s.method] = (n[s.method] ?? 0) + 1;
      for (const [m, v] of Object.entries(n)) this.set({ method: m }, v);
    },
  });
  const auth = new Counter({
    name: 'acl_auth_total',
    help: 'Authentication results at the edge',
    labelNames: ['result', 'method'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'acl_auth_accept_to_flows_seconds',
    help: "Access-Accept to the session's flows confirmed on the switches",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2],
    registers: [registry],
  });
  new Counter({
    name: 'acl_eapol_dropped_total',
    help: 'EAPOL frames dropped (malformed, rate-limited)',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      const st = ctl.edge.auth.stats;
      this.reset();
      this.inc({ reason: 'malformed' }, st.malformed);
      this.inc({ reason: 'rate-limited' }, st.rateLimited);
    },
  });
  let seen = ctl.edge.auth.stats.acceptToFlowsMs.length;
  const on = (e: ControllerEvent) => {
    if (e.type === 'auth-accept') auth.inc({ result: 'accept', method: String(e.method) });
    else if (e.type === 'auth-reject') auth.inc({ result: 'reject', method: String(e.method) });
    else if (e.type === 'radius-unreachable') auth.inc({ result: 'timeout', method: 'dot1x' });
    const l = ctl.edge.auth.stats.acceptToFlowsMs;
    if (l.length < seen) seen = 0;
    for (; seen < l.length; seen++) latency.observe(l[seen] / 1000);
  };
  ctl.on('event', on);
}
