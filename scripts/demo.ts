/**
 * `sudo npm run demo`: builds the campus network in Mininet against a running controller (`npm start`) and
 * prints the live access matrix (users × servers/services, measured with real packets) until Ctrl-C.
 *   options: --controller-port 6653  --policy examples/campus/policy.yaml  --interval 5
 */
import { formatDiagnostic } from '../compiler/index.js';
import { loadPolicy } from '../loader/index.js';
import { MininetLab, haveMininet } from '../test/mininet/harness.js';
import { ensureOvs } from '../test/helpers/ovs.js';

const arg = (name: string, d: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : d;
};
const port = Number(arg('controller-port', '6653'));
const policyPath = arg('policy', 'examples/campus/policy.yaml');
const interval = Number(arg('interval', '5')) * 1000;
const SERVICES = ['tcp/22', 'tcp/80', 'tcp/443', 'tcp/5432', 'tcp/8080', 'icmp'];

if (!haveMininet()) {
  console.error('demo: needs root and Debian mininet (apt-get install mininet openvswitch-switch)');
  process.exit(2);
}
const r = await loadPolicy(policyPath);
if (!r.ok) {
  console.error(r.diagnostics.map(formatDiagnostic).join('\n'));
  process.exit(1);
}
ensureOvs();
const lab = new MininetLab();
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  console.log('\nstopping the network…');
  await lab.stop();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
console.log(`building the campus network against the controller at 127.0.0.1:${port} …`);
await lab.start(r.value, port);
await lab.call({ op: 'warmup' });
const users = lab.hosts.filter((h) => h.kind === 'user');
const servers = lab.hosts.filter((h) => h.kind === 'server');
const cols = servers.flatMap((s) => SERVICES.map((svc) => ({ s, svc })));
for (;;) {
  const probes = users.flatMap((u) => cols.map((c) => ({ from: u.id, to: c.s.id, service: c.svc })));
  const res = await lab.probe(probes, 1);
  const lines: string[] = [];
  lines.push(`live access matrix (${new Date().toLocaleTimeString()}), measured with real packets — ✓ reached, · blocked`);
  lines.push(''.padEnd(8) + servers.map((s) => s.id.padEnd(SERVICES.length * 2 + 2)).join(''));
  lines.push(
    ''.padEnd(8) +
      servers
        .map(() =>
          SERVICES.map((x) => (x === 'icmp' ? 'i' : x.split('/')[1][0]))
            .join(' ')
            .padEnd(SERVICES.length * 2 + 2),
        )
        .join(''),
  );
  users.forEach((u, i) => {
    const row = cols.map((_, j) => (res[i * cols.length + j] ? '✓' : '·'));
    let line = u.id.padEnd(8);
    for (let k = 0; k < servers.length; k++)
      line += row
        .slice(k * SERVICES.length, (k + 1) * SERVICES.length)
        .join(' ')
        .padEnd(SERVICES.length * 2 + 2);
    lines.push(line);
  });
  lines.push(`columns per server: ${SERVICES.join(' ')}; Ctrl-C stops the network (the controller keeps running)`);
  console.clear();
  console.log(lines.join('\n'));
  await new Promise((res2) => setTimeout(res2, interval));
}
