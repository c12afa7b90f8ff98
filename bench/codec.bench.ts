/** FlowMod encode and decode rates for a typical ACL flow mod, on one core. Target: ≥ 500,000/s each. */
import { readFileSync } from 'node:fs';
import { decode, encode, encodeInto, encodeMany, flowMod, Framer, match, MultipartAssembler, Writer, type OfpMessage } from '../openflow/index.js';

const fm = flowMod({
  xid: 7, cookie: 0x5ac1_0000_0000_0007n, tableId: 2, priority: 200,
  match: match({ field: 'metadata', value: 0x20001n, mask: 0xffffffffn }, { field: 'eth_type', value: 0x0800 }, { field: 'ip_proto', value: 6 }, { field: 'ipv4_dst', value: '10.0.2.10' }, { field: 'tcp_dst', value: 5432 }),
  instructions: [{ type: 'goto_table', tableId: 3 }],
});
const bytes = encode(fm);

function rate(name: string, n: number, fn: () => void, perCall = 1, unit = 'msgs'): number {
  for (let i = 0; i < Math.min(n, 50_000); i++) fn(); // warm up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const r = (n * perCall) / s;
  console.log(`${name.padEnd(46)} ${Math.round(r).toLocaleString('en-US').padStart(12)} ${unit}/s  (${(n * perCall).toLocaleString('en-US')} in ${s.toFixed(3)} s)`);
  return r;
}

const N = 1_000_000;
console.log(`typical ACL FLOW_MOD: ${bytes.length} bytes (metadata/mask, eth_type, ip_proto, ipv4_dst, tcp_dst; goto_table)`);
const e1 = rate('encode (one Buffer per message)', N, () => { encode(fm); });
const w = new Writer(1 << 20);
const e2 = rate('encodeInto (batch buffer, socket-ready)', N, () => { if (w.pos > (1 << 20) - 256) w.pos = 0; encodeInto(w, fm); });
// 1,000 distinct flow mods (different cookies, destinations, ports) in one buffer, as a reconcile push does.
const batch: OfpMessage[] = Array.from({ length: 1000 }, (_, i) => flowMod({
  ...fm, xid: i, cookie: 0x5ac1_0000_0000_0000n + BigInt(i), priority: 100 + (i % 50),
  match: match({ field: 'metadata', value: BigInt(i % 64) << 16n, mask: 0xffff0000n }, { field: 'eth_type', value: 0x0800 }, { field: 'ip_proto', value: 6 }, { field: 'ipv4_dst', value: `10.${(i >> 8) & 255}.${i & 255}.10` }, { field: 'tcp_dst', value: 1024 + i }),
}));
const e3 = rate('encodeMany (1,000 distinct flow mods a call)', N / 1000, () => { encodeMany(batch); }, 1000);
const d1 = rate('decode', N, () => { decode(bytes); });
const stream = encodeMany(batch);
const d2 = rate('Framer.push + decode (64 KiB reads)', N / 1000, () => {
  const f = new Framer();
  for (let i = 0; i < stream.length; i += 65536) for (const fr of f.push(stream.subarray(i, i + 65536))) decode(fr);
}, 1000);
// Reading flows back: the 800-flow stats reply OVS 3.1 sent in REPLY_MORE parts (test/fixtures/openflow/ovs-multipart.json).
const parts = (JSON.parse(readFileSync(new URL('../test/fixtures/openflow/ovs-multipart.json', import.meta.url), 'utf8')) as { messages: Array<{ hex: string }> })
  .messages.map((m) => Buffer.from(m.hex, 'hex'));
const nFlows = 800;
rate('flow stats read-back (decode + reassemble)', 2000, () => {
  const a = new MultipartAssembler();
  for (const p of parts) { const r = decode(p); if (r.ok && r.message.type === 'multipart_reply') a.add(r.message); }
}, nFlows, 'flows');
const ok = (r: number) => (r >= 5e5 ? 'met' : 'NOT met');
console.log(`target ≥ 500,000/s: encode ${ok(e1)}, batch encode ${ok(e2)}, encodeMany ${ok(e3)}, decode ${ok(d1)}, framed decode ${ok(d2)}`);
