/**
 * Runs a controller + API in a child process for tests that kill and restart it:
 *   node --import tsx test/helpers/controller-child.ts POLICY OF_PORT API_PORT [AUDIT_MS]
 * Prints "READY <of-port> <api-port>" when listening.
 * Optional environment: ACL_STATE_FILE (state file), ACL_TOKENS (JSON list of named tokens), ACL_REQUIRE_APPROVAL=1.
 */
import { Controller } from '../../controller/controller.js';
import { buildApp } from '../../controller/api.js';

const [policy, ofPort, apiPort, auditMs] = process.argv.slice(2);
const ctl = new Controller({
  policyPath: policy,
  listen: { host: '127.0.0.1', port: Number(ofPort) },
  auditIntervalMs: Number(auditMs ?? 0),
  ...(process.env.ACL_STATE_FILE ? { stateFile: process.env.ACL_STATE_FILE } : {}),
  log: (l, m) => console.error(`[${l}] ${m}`),
});
const { port } = await ctl.start();
// ACL_ADMIN_TOKEN (optional): the admin token changes need
const app = await buildApp(ctl, {
  ...(process.env.ACL_ADMIN_TOKEN ? { adminToken: process.env.ACL_ADMIN_TOKEN } : {}),
  ...(process.env.ACL_TOKENS ? { tokens: JSON.parse(process.env.ACL_TOKENS) } : {}),
  ...(process.env.ACL_REQUIRE_APPROVAL === '1' ? { requireApproval: true } : {}),
});
await app.listen({ host: '127.0.0.1', port: Number(apiPort) });
const addr = app.server.address() as { port: number };
console.log(`READY ${port} ${addr.port}`);
process.on('SIGTERM', () => process.exit(0));
