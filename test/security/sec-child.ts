/**
 * A controller + API in a child process, for security tests that measure its memory (/proc/PID/status) or kill it:
 *   node --import tsx test/security/sec-child.ts POLICY OF_PORT API_PORT
 * Controller options as JSON in $ACL_CHILD_OPTS (merged over the defaults). Prints "READY <of-port> <api-port>",
 * then "EVENT <json>" for each controller event whose type is listed in $ACL_CHILD_EVENTS (comma-separated).
 */
import { Controller, type ControllerOptions } from '../../controller/controller.js';
import { buildApp } from '../../controller/api.js';

const [policy, ofPort, apiPort] = process.argv.slice(2);
const extra = JSON.parse(process.env.ACL_CHILD_OPTS ?? '{}') as Partial<ControllerOptions>;
const ctl = new Controller({
  policyPath: policy,
  listen: { host: '127.0.0.1', port: Number(ofPort) },
  log: (l, m) => console.error(`[${l}] ${m}`),
  ...extra,
});
const show = new Set((process.env.ACL_CHILD_EVENTS ?? '').split(',').filter(Boolean));
ctl.on('event', (e: { type: string }) => {
  if (show.has(e.type)) console.log(`EVENT ${JSON.stringify(e)}`);
});
const { port } = await ctl.start();
const app = await buildApp(ctl, {});
await app.listen({ host: '127.0.0.1', port: Number(apiPort) });
const addr = app.server.address() as { port: number };
console.log(`READY ${port} ${addr.port}`);
process.on('SIGTERM', () => process.exit(0));
