import { loadPolicy, compile, formatOvsFlows } from './compiler/index.js';
const r = await loadPolicy('examples/basic/policy.yaml');
if (!r.ok) throw new Error('x');
const c = compile(r.value);
console.log(formatOvsFlows(c.plan.switches.find((s) => s.name === 'hv1')!));
