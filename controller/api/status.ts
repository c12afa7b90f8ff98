/** Status and switches: GET /status, /switches, /switches/:dpid/flows (desired vs installed), /cluster. Read scope. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Controller } from '../controller.js';
import { flowText } from '../../compiler/format.js';
import { diffFlows, readFlows } from '../reconcile.js';
import type { Auth } from './auth.js';
import {
  ClusterReply,
  FlowsParams,
  FlowsReply,
  StatusReply,
  SwitchesReply,
  type FlowsReply as Flows,
  type StatusReply as Status,
} from './contract.js';
import { fail, send } from './reply.js';

export interface StatusRoutesOptions {
  readonly ctl: Controller;
  readonly auth: Auth;
  readonly cluster?: () => unknown;
}

export const statusRoutes: FastifyPluginAsyncTypebox<StatusRoutesOptions> = async (r, { ctl, auth, cluster }) => {
  r.addHook('preHandler', auth.requireRead);
  r.get('/status', { schema: { response: { 200: StatusReply } } }, async (req, reply) => {
    const sw = ctl.switchStatus();
    const status: Status = {
      version: ctl.version,
      startedAt: ctl.startedAt.toISOString(),
      policy: ctl.loaded.paths.policy,
      canMutate: auth.who(req)?.role === 'admin',
      switches: {
        total: sw.length,
        connected: sw.filter((s) => s.connected).length,
        known: sw.filter((s) => s.known).length,
        inSync: sw.filter((s) => s.connected && s.flowsInstalled === s.flowsDesired && !s.errors.length).length,
      },
      directory: { ...ctl.directoryStatus, ...(ctl.directorySync ? ctl.directorySync.status() : {}) },
      lastChange: ctl.lastChange ?? null,
      alerts: ctl.alerts.slice(-50),
      stats: ctl.compiled.stats,
      packetIns: ctl.packetIns,
      learning: ctl.learningStatus(),
    };
    return send(reply, status);
  });
  r.get('/switches', { schema: { response: { 200: SwitchesReply } } }, async (_req, reply) => send(reply, ctl.switchStatus()));
  r.get('/switches/:dpid/flows', { schema: { params: FlowsParams, response: { 200: FlowsReply } } }, async (req, reply) => {
    const want = req.params.dpid.toLowerCase();
    const plan = ctl.compiled.plan.switches.find((s) => s.name === req.params.dpid || s.dpid === parseDpid(want));
    if (!plan) return fail(reply, 404, 'not-found', `no switch '${req.params.dpid}' in the topology`);
    const session = ctl.sessions.get(`0x${plan.dpid.toString(16).padStart(16, '0')}`);
    const raw = session && session.state === 'ready' ? await readFlows(session) : null;
    const d = raw ? diffFlows(plan.flows, raw) : null;
    const out: Flows = {
      switch: plan.name,
      dpid: '0x' + plan.dpid.toString(16),
      connected: !!session,
      desired: plan.flows.map((f) => ({ text: flowText(f), origin: f.origin })),
      installed: raw ? raw.map((f) => flowText({ ...f, origin: '' })) : null,
      diff: d
        ? {
            inSync: !d.add.length && !d.change.length && !d.remove.length,
            missing: d.add.map((f) => flowText(f)),
            differing: d.change.map((f) => flowText(f)),
            extra: d.remove.map((f) => flowText({ ...f, origin: '' })),
            unchanged: d.unchanged,
          }
        : null,
    };
    return send(reply, out);
  });
  r.get('/cluster', { schema: { response: { 200: ClusterReply } } }, async (_req, reply) =>
    cluster ? send(reply, cluster()) : fail(reply, 404, 'not-cluster', 'not running in cluster mode (--cluster)'),
  );
};

function parseDpid(s: string): bigint | undefined {
  try {
    return BigInt(s.startsWith('0x') ? s : /^\d+$/.test(s) ? s : '0x' + s.replace(/:/g, ''));
  } catch {
    return undefined;
  }
}
