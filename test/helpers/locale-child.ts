/** Compiles a policy whose names sort differently in different locales and prints everything order-dependent. */
import { createHash } from 'node:crypto';
import { compile, diffAccess, formatOvsFlows, parsePolicyText, type Directory, type Topology } from '../../compiler/index.js';

const names = ['i', 'I', 'ı', 'İ', 'ä', 'alpha', 'Zeta', 'z', 'a-b', 'ab'];
const mac = (i: number) => `02:00:00:00:00:${(i + 1).toString(16).padStart(2, '0')}`;
const users = names.map((n, i) => ({ id: n, name: n, roles: [i % 2 ? 'odd' : 'even'], devices: [{ mac: mac(i), ip: `10.0.0.${i + 1}` }] }));
const text = `version: 1\ndirectory: d\ntopology: t\nresources:\n  svc: { hosts: [192.168.1.10], services: [tcp/443] }\n  web: { hosts: [192.168.1.20], services: [tcp/80] }\nrules:\n  - { name: "r-ä", from: { roles: [odd] }, to: svc }\n  - { name: "r-z", from: { roles: [even] }, to: web }\n`;
const policy = parsePolicyText(text, 'locale.yaml');
if (!policy.ok) throw new Error(JSON.stringify(policy.diagnostics));
const switches = names.map((n, i) => ({ name: `sw-${n}`, dpid: BigInt(i + 1), kind: 'edge' as const }));
const topology: Topology = {
  switches,
  links: [],
  hosts: users.map((u, i) => ({ mac: u.devices[0].mac, switch: `sw-${names[i]}`, port: 1 })),
  servers: [],
};
const directory: Directory = { organizations: [], users, source: 'locale' };
const c = compile({ policy: policy.value, directory, topology });
const flipped: Directory = { ...directory, users: users.map((u) => ({ ...u, roles: u.roles[0] === 'odd' ? ['even'] : ['odd'] })) };
const c2 = compile({ policy: policy.value, directory: flipped, topology }, { previous: c });
console.log(
  JSON.stringify({
    locale: new Intl.Collator().resolvedOptions().locale,
    switches: c.plan.switches.map((s) => s.name),
    subjects: c.subjects.map((s) => `${s.id}:${s.classId}`),
    diff: diffAccess(c, c2).map((a) => `${a.subject}/${a.resource}/${a.change}`),
    plan: createHash('sha256')
      .update(c.plan.switches.map((s) => formatOvsFlows(s)).join(''))
      .digest('hex'),
  }),
);
