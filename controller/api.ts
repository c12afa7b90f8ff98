/**
 * REST API (fastify): status, switches, flows (desired vs installed), policy (GET, POST with dryRun), explain,
 * access matrix, directory, server-sent events, Prometheus metrics, health. Bearer-token auth for mutations.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { appendFile, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { bearerToken, installRequestGuards, tokenEquals } from './security.js';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Controller, ControllerEvent } from './controller.js';
import { accessMatrix, explain, QueryError } from '../compiler/query.js';
import { flowText, jsonReplacer } from '../compiler/format.js';
import { diffFlows, readFlows } from './reconcile.js';
import { formatDiagnostic } from '../loader/index.js';
import { registerWebConsole } from './web.js';
import { AUDITED_EDGE_EVENTS, registerEdgeMetrics, registerSessionReads, registerSessionWrites } from './edge-api.js';
import { registerLeaseReads } from './first-contact-api.js';
import { registerLifecycle } from './lifecycle-api.js';
import { seenImpact } from './impact.js';
import { observeRoutes } from './observe-api.js';

export interface ApiToken { readonly name: string; readonly token: string; readonly role: 'admin' | 'read' }

export interface ApiOptions {
  /** Token for mutations (and reads). Without any admin token, no change is accepted (there is no tokenless admin). */
  readonly adminToken?: string;
  /** Optional read-only token; when any read token is set, reads need a token. */
  readonly readToken?: string;
  /** Named tokens (the name is what the audit log records as "by"). */
  readonly tokens?: readonly ApiToken[];
  /** HTTPS for the API (PEM key and certificate). */
  readonly https?: { readonly key: string | Buffer; readonly cert: string | Buffer };
  /** Append-only JSON-lines audit log of applied changes. */
  readonly auditLog?: string;
  readonly logger?: boolean | object;
  /** Cluster mode: the nodes, who masters which switch, etcd health (GET /api/v1/cluster). */
  readonly cluster?: () => unknown;
  /** DNS names this API is reached by, besides localhost and IP literals (Host and Origin checks; --api-host). */
  readonly hosts?: readonly string[];
  /** Two-person rule: a policy change or rollback waits until a different named admin approves it. */
  readonly requireApproval?: boolean;
  /** How long a pending change waits for approval (default 24 h). */
  readonly approvalTtlMs?: number;
}

/**
 * A token file: one bare token (named after its role), or lines `NAME TOKEN [admin|read]`; `#` starts a comment.
 * Throws with file:line for a malformed line.
 */
export function parseTokenFile(text: string, defaultRole: 'admin' | 'read' = 'admin', file = 'token file'): ApiToken[] {
  const lines = text.split(/\r?\n/).map((l, i) => ({ l: l.replace(/#.*/, '').trim(), n: i + 1 })).filter((x) => x.l);
  if (lines.length === 1 && !/\s/.test(lines[0].l)) return [{ name: defaultRole, token: lines[0].l, role: defaultRole }];
  return lines.map(({ l, n }) => {
    const [name, token, role = defaultRole, ...rest] = l.split(/\s+/);
    if (!token || rest.length || (role !== 'admin' && role !== 'read')) throw new Error(`${file}:${n}:1: expected 'NAME TOKEN [admin|read]'`);
    if (token.length < 8) throw new Error(`${file}:${n}:1: token for '${name}' is shorter than 8 characters`);
    return { name, token, role };
  });
}

function bearer(req: FastifyRequest): string | undefined {
  const t = bearerToken(req.headers.authorization);
  if (t) return t;
  // EventSource cannot send headers: the event stream (read-only) also accepts ?token=
  const q = (req.query as { token?: unknown } | undefined)?.token;
  if (req.method === 'GET' && req.url.startsWith('/api/v1/events') && typeof q === 'string') return q;
  return undefined;
}

export async function buildApp(ctl: Controller, opts: ApiOptions = {}): Promise<FastifyInstance> {
  const app = (opts.https
    ? Fastify({ logger: opts.logger ?? false, bodyLimit: 4 * 1024 * 1024, https: { key: opts.https.key, cert: opts.https.cert } })
    : Fastify({ logger: opts.logger ?? false, bodyLimit: 4 * 1024 * 1024 })) as unknown as FastifyInstance;
  // YAML bodies only under YAML types: text/plain (a "simple" type any web page may POST cross-site) is refused (415)
  app.addContentTypeParser(['text/yaml', 'application/yaml', 'application/x-yaml'], { parseAs: 'string' }, (_req, body, done) => done(null, body));
  installRequestGuards(app, { names: opts.hosts });

  // ---- auth ----
  const tokens: ApiToken[] = [...(opts.tokens ?? [])];
  if (opts.adminToken) tokens.push({ name: 'admin', token: opts.adminToken, role: 'admin' });
  if (opts.readToken) tokens.push({ name: 'read', token: opts.readToken, role: 'read' });
  const hasAdmin = tokens.some((t) => t.role === 'admin');
  const hasRead = tokens.some((t) => t.role === 'read');
  /** Who is asking: a named token (there is no tokenless admin, not even on loopback). */
  const who = (req: FastifyRequest): { name: string; role: 'admin' | 'read' } | undefined => {
    const t = bearer(req);
    if (t) for (const k of tokens) if (tokenEquals(t, k.token)) return { name: k.name, role: k.role };
    return undefined;
  };
  const requireAdmin = async (req: FastifyRequest, reply: FastifyReply) => {
    const w = who(req);
    if (w?.role !== 'admin') {
      return reply.code(w ? 403 : 401).send({ error: w ? `token '${w.name}' is read-only; this change needs an admin token` : hasAdmin ? 'this change needs the admin token (Authorization: Bearer …)' : 'no admin token is configured: this controller accepts no changes' });
    }
  };
  const requireRead = async (req: FastifyRequest, reply: FastifyReply) => {
    if (hasRead && !who(req)) return reply.code(401).send({ error: 'this API needs a token (Authorization: Bearer …)' });
  };

  // ---- audit log: every applied change (policy, directory, learned binding), one JSON line each ----
  let auditChain: Promise<void> = Promise.resolve();
  const audit = (e: ControllerEvent) => {
    if (!opts.auditLog || !(/^(policy-applied|policy-(pending|approved|rejected|expired)|approval-refused|directory-synced|binding-learned)$/.test(e.type) || AUDITED_EDGE_EVENTS.includes(e.type))) return;
    const extra = e.type === 'policy-applied' ? { text: ctl.loaded.policyText } : {};
    const line = JSON.stringify({ ...e, ...extra, by: e.by ?? (e.type === 'binding-learned' ? 'discovery' : e.type === 'directory-synced' ? 'directory-sync' : 'unknown') }, jsonReplacer) + '\n';
    const file = opts.auditLog;
    auditChain = auditChain.then(() => appendFile(file, line)).catch((err) => { app.log.error({ err }, 'cannot write the audit log'); });
  };
  ctl.on('event', audit);
  const streams = new Set<import('node:http').ServerResponse>();
  app.addHook('preClose', async () => { for (const res of streams) res.end(); });
  app.addHook('onClose', async () => { ctl.off('event', audit); await auditChain; });

  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown }, _req, reply) => {
    if (reply.sent) return;
    if (err instanceof QueryError) return reply.code(400).send({ error: err.message });
    if (err.validation) return reply.code(400).send({ error: err.message });
    reply.code(err.statusCode && err.statusCode < 500 ? err.statusCode : 500).send({ error: err.message });
  });
  const send = (reply: FastifyReply, v: unknown) => reply.type('application/json').send(JSON.stringify(v, jsonReplacer));

  // ---- metrics ----
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'acl_' });
  new Gauge({ name: 'acl_switches_connected', help: 'Switches connected and known', registers: [registry], collect() { this.set(ctl.switchStatus().filter((s) => s.connected && s.known).length); } });
  new Gauge({ name: 'acl_switches_unknown', help: 'Connected switches not in the topology (held)', registers: [registry], collect() { this.set(ctl.switchStatus().filter((s) => !s.known).length); } });
  new Gauge({ name: 'acl_flows_desired', help: 'Flows in the plan per switch', labelNames: ['switch'], registers: [registry], collect() { for (const s of ctl.switchStatus()) if (s.name) this.set({ switch: s.name }, s.flowsDesired); } });
  new Gauge({ name: 'acl_flows_installed', help: 'Flows read back from the switch at the last sync', labelNames: ['switch'], registers: [registry], collect() { for (const s of ctl.switchStatus()) if (s.name && s.flowsInstalled !== undefined) this.set({ switch: s.name }, s.flowsInstalled); } });
  new Gauge({ name: 'acl_directory_sync_age_seconds', help: 'Seconds since the last successful directory read (changed or not)', registers: [registry], collect() { const t = ctl.directorySync?.status().lastSuccessAt ?? ctl.directoryStatus.lastSuccessAt; this.set(t ? (Date.now() - Date.parse(t)) / 1000 : -1); } });
  registerEdgeMetrics(registry, ctl);
  new Gauge({ name: 'acl_policy_version', help: 'Applied policy version (increments on each apply)', registers: [registry], collect() { this.set(ctl.version); } });
  new Gauge({ name: 'acl_packet_ins_dropped', help: 'Packet-ins dropped by the per-switch queue bound (switches connected now and before)', registers: [registry], collect() { this.set(ctl.packetInsDropped()); } });
  new Gauge({ name: 'acl_foreign_override_flows', help: 'Foreign flows that can override the policy (priority above ours, forwarding) per switch', labelNames: ['switch'], registers: [registry], collect() { this.reset(); for (const s of ctl.switchStatus()) if (s.name && s.connected) this.set({ switch: s.name }, s.foreignOverrides?.length ?? 0); } });
  const packetIns = new Counter({ name: 'acl_packet_ins_total', help: 'Packet-ins received', registers: [registry] });
  const applyLatency = new Histogram({ name: 'acl_apply_seconds', help: 'Time from policy POST to all switches confirmed', buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10], registers: [registry] });
  let lastPacketIns = 0;
  app.get('/metrics', async (_req, reply) => {
    packetIns.inc(ctl.packetIns - lastPacketIns);
    lastPacketIns = ctl.packetIns;
    reply.type(registry.contentType).send(await registry.metrics());
  });

  // ---- health ----
  app.get('/healthz', async () => ({ ok: true }));
  app.get('/readyz', async (_req, reply) => {
    const ready = !!ctl.compiled;
    reply.code(ready ? 200 : 503).send({ ready, version: ctl.version });
  });

  // ---- read API ----
  app.register(async (r) => {
    r.addHook('preHandler', requireRead);
    r.get('/status', async (req, reply) => {
      const sw = ctl.switchStatus();
      send(reply, {
        version: ctl.version, startedAt: ctl.startedAt.toISOString(), policy: ctl.loaded.paths.policy, canMutate: who(req)?.role === 'admin',
        switches: { total: sw.length, connected: sw.filter((s) => s.connected).length, known: sw.filter((s) => s.known).length, inSync: sw.filter((s) => s.connected && s.flowsInstalled === s.flowsDesired && !s.errors.length).length },
        directory: { ...ctl.directoryStatus, ...(ctl.directorySync ? ctl.directorySync.status() : {}) }, lastChange: ctl.lastChange ?? null, alerts: ctl.alerts.slice(-50), stats: ctl.compiled.stats, packetIns: ctl.packetIns, learning: ctl.learningStatus(),
      });
    });
    r.get('/switches', async (_req, reply) => send(reply, ctl.switchStatus()));
    r.get<{ Params: { dpid: string } }>('/switches/:dpid/flows', { schema: { params: { type: 'object', required: ['dpid'], properties: { dpid: { type: 'string', minLength: 1, maxLength: 64 } } } } }, async (req, reply) => {
      const want = req.params.dpid.toLowerCase();
      const plan = ctl.compiled.plan.switches.find((s) => s.name === req.params.dpid || s.dpid === parseDpid(want));
      if (!plan) return reply.code(404).send({ error: `no switch '${req.params.dpid}' in the topology` });
      const session = ctl.sessions.get(`0x${plan.dpid.toString(16).padStart(16, '0')}`);
      const raw = session && session.state === 'ready' ? await readFlows(session) : null;
      const installed = raw ? raw.map((f) => flowText({ ...f, origin: '' })) : null;
      const d = raw ? diffFlows(plan.flows, raw) : null;
      send(reply, {
        switch: plan.name, dpid: plan.dpid, connected: !!session, desired: plan.flows.map((f) => ({ text: flowText(f), origin: f.origin })), installed,
        diff: d ? { inSync: !d.add.length && !d.change.length && !d.remove.length, missing: d.add.map((f) => flowText(f)), differing: d.change.map((f) => flowText(f)), extra: d.remove.map((f) => flowText({ ...f, origin: '' })), unchanged: d.unchanged } : null,
      });
    });
    r.get('/policy', async (_req, reply) => send(reply, { version: ctl.version, path: ctl.loaded.paths.policy, text: ctl.loaded.policyText, lastChange: ctl.lastChange ?? null }));
    r.get('/policy/history', async (_req, reply) => {
      if (!opts.auditLog || !existsSync(opts.auditLog)) return send(reply, []);
      const lines = (await readFile(opts.auditLog, 'utf8')).split('\n').filter(Boolean);
      send(reply, lines.slice(-200).map((l) => { try { return JSON.parse(l); } catch { return { corrupt: l.slice(0, 100) }; } }));
    });
    r.get<{ Querystring: { from: string; to: string; service: string } }>('/explain', {
      schema: { querystring: { type: 'object', required: ['from', 'to', 'service'], properties: { from: { type: 'string', minLength: 1 }, to: { type: 'string', minLength: 1 }, service: { type: 'string', minLength: 1 } } } },
    }, async (req, reply) => send(reply, explain(ctl.compiled, req.query.from, req.query.to, req.query.service)));
    r.get('/matrix', async (_req, reply) => send(reply, accessMatrix(ctl.compiled)));
    registerSessionReads(r, ctl, send);
    registerLeaseReads(r, ctl, send);
    r.get('/directory', async (_req, reply) => {
      const d = ctl.compiled.input.directory;
      const where = new Map(ctl.compiled.subjects.flatMap((s) => s.endpoints.map((e) => [e.mac, e])));
      send(reply, {
        source: d.source, status: ctl.directoryStatus,
        organizations: d.organizations.map((o) => ({ name: o.name, parent: o.parent ?? null })),
        roles: [...new Set([...d.users.flatMap((u) => u.roles), ...(d.roles ?? [])])].sort(),
        users: d.users.map((u) => ({ id: u.id, name: u.name, organization: u.organization ?? null, roles: u.roles, devices: u.devices.map((dv) => ({ ...dv, switch: where.get(dv.mac)?.switch ?? null, port: where.get(dv.mac)?.port ?? null, learned: ctl.bindings.has(dv.mac) })) })),
        servers: ctl.compiled.input.topology.servers.map((s) => ({ name: s.name, mac: s.mac, ip: s.ip, switch: s.switch, port: s.port })),
      });
    });
    r.get('/events', (_req, reply) => {
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      res.write(`event: hello\ndata: ${JSON.stringify({ version: ctl.version })}\n\n`);
      // A slow reader is not allowed to pile up memory: beyond 1 MB unsent, its stream is closed (it reconnects).
      const on = (e: ControllerEvent) => {
        if (res.writableLength > 1 << 20) { res.destroy(); return; }
        res.write(`event: ${e.type}\ndata: ${JSON.stringify(e, jsonReplacer)}\n\n`);
      };
      ctl.on('event', on);
      const ping = setInterval(() => res.write(': ping\n\n'), 15000);
      ping.unref();
      streams.add(res);
      res.on('close', () => { ctl.off('event', on); clearInterval(ping); streams.delete(res); });
    });
    r.get('/cluster', async (_req, reply) => (opts.cluster ? send(reply, opts.cluster()) : reply.code(404).send({ error: 'not running in cluster mode (--cluster)' })));
  }, { prefix: '/api/v1' });

  const lifecycle = registerLifecycle(app, ctl, { who, requireAdmin, requireRead, requireApproval: opts.requireApproval, approvalTtlMs: opts.approvalTtlMs });

  // ---- mutations ----
  app.register(async (r) => {
    r.addHook('preHandler', requireAdmin);
    r.post<{ Querystring: { dryRun?: boolean; baseVersion?: number }; Body: string | { text?: string } }>('/policy', {
      schema: {
        querystring: { type: 'object', additionalProperties: false, properties: { dryRun: { type: 'boolean' }, baseVersion: { type: 'integer', minimum: 0 } } },
        body: { anyOf: [{ type: 'string', minLength: 1 }, { type: 'object', required: ['text'], additionalProperties: false, properties: { text: { type: 'string', minLength: 1 } } }] },
      },
    }, async (req, reply) => {
      const text = typeof req.body === 'string' ? req.body : req.body?.text;
      if (typeof text !== 'string' || !text.trim()) return reply.code(400).send({ error: 'send the policy YAML as the body (text/yaml) or as {"text": "..."}' });
      const dryRun = req.query.dryRun === true;
      if (!dryRun && await lifecycle.submit(text, who(req)?.name ?? 'unknown', reply)) return; // two-person rule: pending
      const t0 = performance.now();
      const res = await ctl.applyPolicy(text, { dryRun, by: who(req)?.name ?? 'unknown', baseVersion: req.query.baseVersion });
      if (!res.ok) {
        // a concurrent change won (cluster compare-and-swap), or etcd is unreachable: not a policy error
        const code = res.diagnostics.some((d) => d.code === 'conflict') ? 409 : res.diagnostics.some((d) => d.code === 'cluster-unavailable') ? 503 : 422;
        return send(reply.code(code), { ...res, errors: res.diagnostics.map(formatDiagnostic) });
      }
      if (!dryRun) applyLatency.observe((performance.now() - t0) / 1000);
      // a dry run also lists the connections seen recently that the change would cut or open (controller/impact.ts)
      send(reply, dryRun ? { ...res, seen: seenImpact(ctl.compiled, ctl.observe, res.access, Date.now()) } : res);
    });
    r.post('/sync', async (_req, reply) => send(reply, await ctl.syncAll()));
    registerSessionWrites(r, ctl, send, who);
    r.post('/directory/confirm-shrink', async (req, reply) => {
      if (!ctl.directorySync) return reply.code(409).send({ error: 'the directory is a file, not synced from LDAP' });
      const accepted = await ctl.confirmShrink(who(req)?.name ?? 'unknown');
      send(reply, { accepted, status: ctl.directorySync.status() });
    });
  }, { prefix: '/api/v1' });

  app.register(observeRoutes, { prefix: '/api/v1', ctl, registry, requireRead, requireAdmin, send }); // traffic per rule, deny log, why
  registerWebConsole(app);
  return app;
}

function parseDpid(s: string): bigint | undefined {
  try { return BigInt(s.startsWith('0x') ? s : /^\d+$/.test(s) ? s : '0x' + s.replace(/:/g, '')); } catch { return undefined; }
}
