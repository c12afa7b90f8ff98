/**
 * One cluster node in a child process, for tests that kill, freeze and restart nodes:
 *   node --import tsx test/helpers/cluster-child.ts POLICY OF_PORT API_PORT ETCD_URL NODE STATE_FILE
 * Prints "READY <of-port> <api-port>" when listening. Logs to stderr.
 */
import { buildApp } from '../../controller/api.js';
import { startClusteredController } from '../../controller/cluster-setup.js';

const [policy, ofPort, apiPort, etcdUrl, node, stateFile] = process.argv.slice(2);
const log = (l: string, m: string) => console.error(`[${node}] [${l}] ${m}`);
const c = await startClusteredController(
  {
    policyPath: policy,
    listen: { host: '127.0.0.1', port: Number(ofPort) },
    auditIntervalMs: 2000,
    stateFile,
    log,
    session: { handshakeTimeoutMs: 3000 },
  },
  { url: etcdUrl },
  { name: node },
);
const app = await buildApp(c.ctl, { adminToken: 'cluster-admin', cluster: () => c.driver.status() });
await app.listen({ host: '127.0.0.1', port: Number(apiPort) });
console.log(`READY ${c.port} ${(app.server.address() as { port: number }).port}`);
process.on('SIGTERM', () => {
  void c.stop().finally(() => process.exit(0));
});
