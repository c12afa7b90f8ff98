/**
 * REST route for first contact: GET /api/v1/leases — the DHCP and learned IPv6 leases the controller holds, the snoopers' counters
 * (drops by reason, messages by type) and the sign-in page's counters and latency. Read scope; no secrets in it.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Controller } from './controller.js';
import { LeasesReply } from './api/contract.js';

const pct = (l: readonly number[], q: number) => {
  if (!l.length) return undefined;
  const s = [...l].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor(q * s.length))] * 10) / 10;
};

export function registerLeaseReads(r: FastifyInstance, ctl: Controller, send: (reply: FastifyReply, v: unknown) => unknown): void {
  r.get('/leases', { schema: { response: { 200: LeasesReply } } }, async (_req, reply) => {
    const fc = ctl.firstContact;
    return send(reply, {
      leases: fc.view(),
      dhcp: {
        counters: { ...fc.snooper.counters },
        ackToFlowsMs: { p50: pct(fc.bindLatencies, 0.5), p99: pct(fc.bindLatencies, 0.99), n: fc.bindLatencies.length },
        ipv6Counters: { ...fc.ipv6.snooper.counters },
      },
      signin: fc.signin
        ? {
            counters: { ...fc.signin.counters },
            signinToFlowsMs: { p50: pct(fc.signin.latencies, 0.5), p99: pct(fc.signin.latencies, 0.99), n: fc.signin.latencies.length },
          }
        : undefined,
    });
  });
}
