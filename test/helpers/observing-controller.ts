/**
 * A controller for a lab whose tests watch what the policy does to real traffic (monitor mode, would-deny, rule
 * counters): the policy in `dir`, switches on `ofPort`, no periodic audit, traffic counters read only when a test
 * asks (POST /stats/poll), denials sampled at 200 a second and flushed every 200 ms; and its API on `apiPort`.
 */
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Controller } from '../../controller/controller.js';
import { buildApp, type ApiOptions } from '../../controller/api.js';

export async function startObservingController(
  dir: string,
  ports: { readonly of: number; readonly api: number },
  api: ApiOptions,
): Promise<{ ctl: Controller; app: FastifyInstance }> {
  const ctl = new Controller({
    policyPath: join(dir, 'policy.yaml'),
    listen: { host: '127.0.0.1', port: ports.of },
    auditIntervalMs: 0,
    denySamplePps: 200,
    observe: { traffic: { intervalMs: 0 }, denials: { flushMs: 200 } },
  });
  await ctl.start();
  const app = await buildApp(ctl, api);
  await app.listen({ host: '127.0.0.1', port: ports.api });
  return { ctl, app };
}
