/**
 * REST API (fastify): builds the app from one plugin per resource (controller/api/*.ts) whose request and reply
 * schemas come from controller/api/contract.ts. Bearer-token auth (controller/api/auth.ts) for reads and changes.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { installRequestGuards } from './security.js';
import type { Controller } from './controller.js';
import { QueryError } from '../compiler/query.js';
import { registerWebConsole } from './web.js';
import { registerSessionReads, registerSessionWrites } from './edge-api.js';
import { registerLeaseReads } from './first-contact-api.js';
import { registerLifecycle } from './lifecycle-api.js';
import { observeRoutes } from './observe-api.js';
import { makeAuth, type ApiToken } from './api/auth.js';
import { registerAuditLog } from './api/audit.js';
import { HealthReply, ReadyReply } from './api/contract.js';
import { directoryRoutes } from './api/directory.js';
import { eventRoutes, trackStreams } from './api/events-route.js';
import { registerMetrics } from './api/metrics.js';
import { policyRoutes } from './api/policy.js';
import { monitorRoutes } from './api/monitor.js';
import { queryRoutes } from './api/query.js';
import { defaultErrorCode, fail, installReplyHooks, send } from './api/reply.js';
import { statusRoutes } from './api/status.js';

export type { ApiToken };

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
  /** Check every reply against its schema (a mismatch is a 500); on in tests (ACL_CHECK_REPLIES=1). */
  readonly checkReplies?: boolean;
}

/**
 * A token file: one bare token (named after its role), or lines `NAME TOKEN [admin|read]`; `#` starts a comment.
 * Throws with file:line for a malformed line.
 */
export function parseTokenFile(text: string, defaultRole: 'admin' | 'read' = 'admin', file = 'token file'): ApiToken[] {
  const lines = text
    .split(/\r?\n/)
    .map((l, i) => ({ l: l.replace(/#.*/, '').trim(), n: i + 1 }))
    .filter((x) => x.l);
  if (lines.length === 1 && !/\s/.test(lines[0].l)) return [{ name: defaultRole, token: lines[0].l, role: defaultRole }];
  return lines.map(({ l, n }) => {
    const [name, token, role = defaultRole, ...rest] = l.split(/\s+/);
    if (!token || rest.length || (role !== 'admin' && role !== 'read'))
      throw new Error(`${file}:${n}:1: expected 'NAME TOKEN [admin|read]'`);
    if (token.length < 8) throw new Error(`${file}:${n}:1: token for '${name}' is shorter than 8 characters`);
    return { name, token, role };
  });
}

export async function buildApp(ctl: Controller, opts: ApiOptions = {}): Promise<FastifyInstance> {
  const base = { logger: opts.logger ?? false, bodyLimit: 4 * 1024 * 1024 };
  const app = (opts.https
    ? Fastify({ ...base, https: { key: opts.https.key, cert: opts.https.cert } })
    : Fastify(base)) as unknown as FastifyInstance;
  // YAML bodies only under YAML types: text/plain (a "simple" type any web page may POST cross-site) is refused (415)
  app.addContentTypeParser(['text/yaml', 'application/yaml', 'application/x-yaml'], { parseAs: 'string' }, (_req, body, done) =>
    done(null, body),
  );
  installRequestGuards(app, { names: opts.hosts });
  installReplyHooks(app, opts.checkReplies ?? process.env.ACL_CHECK_REPLIES === '1');
  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown }, _req, reply) => {
    if (reply.sent) return;
    if (err instanceof QueryError || err.validation) return fail(reply, 400, 'bad-request', err.message);
    const status = err.statusCode && err.statusCode < 500 ? err.statusCode : 500;
    return fail(reply, status, defaultErrorCode(status), err.message);
  });
  app.setNotFoundHandler((req, reply) => fail(reply, 404, 'not-found', `no route ${req.method} ${req.url.split('?')[0].slice(0, 200)}`));

  const tokens: ApiToken[] = [...(opts.tokens ?? [])];
  if (opts.adminToken) tokens.push({ name: 'admin', token: opts.adminToken, role: 'admin' });
  if (opts.readToken) tokens.push({ name: 'read', token: opts.readToken, role: 'read' });
  const auth = makeAuth(tokens);
  registerAuditLog(app, ctl, opts.auditLog);
  const streams = trackStreams(app);
  const { registry, applyLatency } = registerMetrics(app, ctl);

  app.get('/healthz', { schema: { response: { 200: HealthReply } } }, async () => ({ ok: true as const }));
  app.get('/readyz', { schema: { response: { 200: ReadyReply, 503: ReadyReply } } }, async (_req, reply) => {
    const ready = !!ctl.compiled;
    return reply.code(ready ? 200 : 503).send({ ready, version: ctl.version });
  });

  const v1 = { prefix: '/api/v1', ctl, auth };
  const lifecycle = registerLifecycle(app, ctl, { ...auth, requireApproval: opts.requireApproval, approvalTtlMs: opts.approvalTtlMs });
  app.register(statusRoutes, { ...v1, cluster: opts.cluster });
  app.register(policyRoutes, { ...v1, auditLog: opts.auditLog, lifecycle, applyLatency });
  app.register(monitorRoutes, { ...v1, lifecycle, applyLatency });
  app.register(queryRoutes, v1);
  app.register(directoryRoutes, v1);
  app.register(eventRoutes, { ...v1, streams });
  app.register(
    async (r) => {
      r.addHook('preHandler', auth.requireRead);
      registerSessionReads(r, ctl, send);
      registerLeaseReads(r, ctl, send);
    },
    { prefix: '/api/v1' },
  );
  app.register(
    async (r) => {
      r.addHook('preHandler', auth.requireAdmin);
      registerSessionWrites(r, ctl, send, auth.who);
    },
    { prefix: '/api/v1' },
  );
  app.register(observeRoutes, { prefix: '/api/v1', ctl, registry, requireRead: auth.requireRead, requireAdmin: auth.requireAdmin, send }); // traffic per rule, deny log, why
  registerWebConsole(app);
  return app;
}
