/**
 * FlowMod encode and decode rates for a typical ACL flow mod, on one core; targets: encode ≥ 1,000,000/s,
 * decode ≥ 1,500,000/s. The machine is often shared, so each rate is given per CPU second of this process (what the
 * code costs) and per wall second (what it got). Peer: os-ken (python3-os-ken) encoding and decoding the same bytes.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  decode,
  encode,
  encodeInto,
  encodeMany,
  flowMod,
  Framer,
  match,
  MultipartAssembler,
  Writer,
  type OfpMessage,
} from '../openflow/index.js';

const fm = flowMod({
  xid: 7,
  cookie: 0x5ac1_0000_0000_0007n,
  tableId: 2,
  priority: 200,
  match: match(
    { field: 'metadata', value: 0x20001n, mask: 0xffffffffn },
    { field: 'eth_type', value: 0x0800 },
    { field: 'ip_proto', value: 6 },
    { field: 'ipv4_dst', value: '10.0.2.10' },
    { field: 'tcp_dst', value: 5432 },
  ),
  instructions: [{ type: 'goto_table', tableId: 3 }],
});
const bytes = encode(fm);

const cpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const fmt = (r: number): string => Math.round(r).toLocaleString('en-US').padStart(11);

/** Rate per CPU second (returned) and per wall second. */
function rate(name: string, n: number, fn: () => void, perCall = 1, unit = 'msgs'): number {
  for (let i = 0; i < Math.min(n, 50_000); i++) fn(); // warm up
  const c0 = cpuSeconds();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = cpuSeconds() - c0;
  const count = n * perCall;
  console.log(
    `${name.padEnd(46)} ${fmt(count / cpu)} ${unit}/CPU-s ${fmt(count / wall)} ${unit}/wall-s  (${count.toLocaleString('en-US')} in ${cpu.toFixed(3)} CPU-s, ${wall.toFixed(3)} s)`,
  );
  return count / cpu;
}

const N = 1_000_000;
console.log(`typical ACL FLOW_MOD: ${bytes.length} bytes (metadata/mask, eth_type, ip_proto, ipv4_dst, tcp_dst; goto_table)`);
const e1 = rate('encode (one Buffer per message)', N, () => {
  encode(fm);
});
const w = new Writer(1 << 20);
rate('encodeInto (batch buffer, socket-ready)', N, () => {
  if (w.pos > (1 << 20) - 256) w.pos = 0;
  encodeInto(w, fm);
});
// 1,000 distinct flow mods (different cookies, destinations, ports) in one buffer, as a reconcile push does.
const batch: OfpMessage[] = Array.from({ length: 1000 }, (_, i) =>
  flowMod({
    ...fm,
    xid: i,
    cookie: 0x5ac1_0000_0000_0000n + BigInt(i),
    priority: 100 + (i % 50),
    match: match(
      { field: 'metadata', value: BigInt(i % 64) << 16n, mask: 0xffff0000n },
      { field: 'eth_type', value: 0x0800 },
      { field: 'ip_proto', value: 6 },
      { field: 'ipv4_dst', value: `10.${(i >> 8) & 255}.${i & 255}.10` },
      { field: 'tcp_dst', value: 1024 + i },
    ),
  }),
);
rate(
  'encodeMany (1,000 distinct flow mods a call)',
  N / 1000,
  () => {
    encodeMany(batch);
  },
  1000,
);
const d1 = rate('decode', N, () => {
  decode(bytes);
});
const stream = encodeMany(batch);
rate(
  'Framer.push + decode (64 KiB reads)',
  N / 1000,
  () => {
    const f = new Framer();
    for (let i = 0; i < stream.length; i += 65536) for (const fr of f.push(stream.subarray(i, i + 65536))) decode(fr);
  },
  1000,
);
// Reading flows back: the 800-flow stats reply OVS 3.1 sent in REPLY_MORE parts (test/fixtures/openflow/ovs-multipart.json).
const parts = (
  JSON.parse(readFileSync(new URL('../test/fixtures/openflow/ovs-multipart.json', import.meta.url), 'utf8')) as {
    messages: Array<{ hex: string }>;
  }
).messages.map((m) => Buffer.from(m.hex, 'hex'));
rate(
  'flow stats read-back (decode + reassemble)',
  2000,
  () => {
    const a = new MultipartAssembler();
    for (const p of parts) {
      const r = decode(p);
      if (r.ok && r.message.type === 'multipart_reply') a.add(r.message);
    }
  },
  800,
  'flows',
);
const ok = (r: number, target: number) => `${r >= target ? 'met' : 'NOT met'} (${fmt(r).trim()}/CPU-s)`;
console.log(
  `targets: encode ≥ 1,000,000/s ${ok(e1, 1e6)}; decode ≥ 1,500,000/s ${ok(d1, 1.5e6)}; load average ${(await import('node:os'))
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);

// Peer: os-ken (Debian python3-os-ken), the same flow mod; its bytes must equal ours.
const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const peer = spawnSync(python, [fileURLToPath(new URL('./codec-os-ken.py', import.meta.url)), '20000'], { encoding: 'utf8' });
if (peer.status !== 0) {
  console.log(`os-ken peer: not run (${(peer.stderr || peer.error?.message || '').trim().split('\n').pop()}; install python3-os-ken)`);
} else {
  const r = JSON.parse(peer.stdout) as { hex: string; encode: { cpu: number; wall: number }; decode: { cpu: number; wall: number } };
  console.log(
    `os-ken 2.5 encode (OFPFlowMod.serialize)         ${fmt(r.encode.cpu)} msgs/CPU-s ${fmt(r.encode.wall)} msgs/wall-s  -> ours ${(e1 / r.encode.cpu).toFixed(0)}x`,
  );
  console.log(
    `os-ken 2.5 decode (ofproto_parser.msg)           ${fmt(r.decode.cpu)} msgs/CPU-s ${fmt(r.decode.wall)} msgs/wall-s  -> ours ${(d1 / r.decode.cpu).toFixed(0)}x`,
  );
  console.log(`os-ken bytes ${r.hex === bytes.toString('hex') ? 'identical to ours' : `DIFFER: ${r.hex} vs ${bytes.toString('hex')}`}`);
}
