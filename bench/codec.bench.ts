/** FlowMod encode and decode rates for a typical ACL flow mod, on one core. Target: ≥ 500,000/s each. */
import { decode, encode, encodeInto, flowMod, match, Writer } from '../openflow/index.js';

const fm = flowMod({
  xid: 7, cookie: 0x5ac1_0000_0000_0007n, tableId: 2, priority: 200,
  match: match({ field: 'metadata', value: 0x20001n, mask: 0xffffffffn }, { field: 'eth_type', value: 0x0800 }, { field: 'ip_proto', value: 6 }, { field: 'ipv4_dst', value: '10.0.2.10' }, { field: 'tcp_dst', value: 5432 }),
  instructions: [{ type: 'goto_table', tableId: 3 }],
});
const bytes = encode(fm);

function rate(name: string, n: number, fn: () => void): number {
  for (let i = 0; i < Math.min(n, 50_000); i++) fn(); // warm up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const r = n / s;
  console.log(`${name.padEnd(40)} ${Math.round(r).toLocaleString('en-US').padStart(12)} msgs/s  (${n.toLocaleString('en-US')} in ${s.toFixed(3)} s)`);
  return r;
}

const N = 1_000_000;
console.log(`typical ACL FLOW_MOD: ${bytes.length} bytes`);
const e1 = rate('encode (one Buffer per message)', N, () => { encode(fm); });
const w = new Writer(1 << 20);
const e2 = rate('encodeInto (batch buffer, socket-ready)', N, () => { if (w.pos > (1 << 20) - 256) w.pos = 0; encodeInto(w, fm); });
const d1 = rate('decode', N, () => { decode(bytes); });
console.log(`target ≥ 500,000/s: encode ${e1 >= 5e5 ? 'met' : 'NOT met'}, batch encode ${e2 >= 5e5 ? 'met' : 'NOT met'}, decode ${d1 >= 5e5 ? 'met' : 'NOT met'}`);
