/**
 * The other side of the login storm (bench/login.bench.ts), in a worker thread of its own: the in-memory OpenFlow
 * switch of the tests (TCP, real codec) and the simulated EAP-MD5 supplicants behind its ports. In a network these
 * are other machines; here they get their own event loop, so the controller's latency is not the load generator's.
 * Messages: in {go} -> out {connected} once connected, {done, failed, flows} at the end.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { FakeSwitch } from '../test/controller/fake-switch.js';
import { Md5Supplicant } from '../test/helpers/supplicant.js';
import type { MessageOf } from '../openflow/index.js';
import { macOf } from './login-names.js';

const { port: ctlPort, n: N, ports: PORTS } = workerData as { port: number; n: number; ports: number };
const hex = (n: number) => n.toString(16).padStart(2, '0');

const sw = new FakeSwitch({ dpid: 1n });
await sw.connect(ctlPort);
(sw as unknown as { received: unknown[] }).received = {
  push() {
    return 0;
  },
} as unknown as unknown[]; // keep no history

const sups = new Map<string, { s: Md5Supplicant; port: number }>();
const inject = (inPort: number, data: Buffer) => sw.packetIn(inPort, data);
let done = 0,
  failed = 0;
const flowsOfDevices = () => [...sw.flows.values()].filter((f) => f.tableId === 0 && f.match.some((x) => x.field === 'eth_src')).length;
const finish = () => {
  parentPort!.postMessage({ done, failed, flows: flowsOfDevices() });
  sw.close();
};
sw.onPacketOut = (m: MessageOf<'packet_out'>) => {
  const out = m.actions.find((a) => a.type === 'output') as { port: number } | undefined;
  const sup = sups.get([...m.data.subarray(0, 6)].map(hex).join(':'));
  if (!sup || sup.port !== out?.port) return;
  const before = sup.s.result;
  const reply = sup.s.onFrame(m.data);
  if (reply) inject(sup.port, reply);
  if (!before && sup.s.result) {
    if (sup.s.result === 'success') done++;
    else failed++;
    if (done + failed === N) parentPort!.postMessage({ allDone: true });
  }
};
parentPort!.on('message', (msg: { go?: boolean; finish?: boolean }) => {
  if (msg.finish) return finish();
  if (!msg.go) return;
  void (async () => {
    // supplicants start over ~5 s (a building's morning), 1,000 per second
    for (let i = 0; i < N; i++) {
      const s = new Md5Supplicant(macOf(i), `u${i}`, `pw${i}`);
      const p = 1 + (i % PORTS);
      sups.set(s.mac, { s, port: p });
      inject(p, s.start());
      if (i % 100 === 99) await new Promise((r) => setTimeout(r, 100));
    }
  })();
});
parentPort!.postMessage({ connected: true });
