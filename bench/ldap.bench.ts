/**
 * LDAP: full sync of 10,000 users in 300 groups from a private local slapd (target < 3 s), and the time from an
 * LDAP modify to the recompiled plan (target < one poll interval + 50 ms).
 */
import { Attribute, Change } from 'ldapts';
import { Slapd } from '../test/helpers/slapd.js';
import { DirectorySync, LdapDirectorySource, readLdapConfig } from '../compiler/ldap/index.js';
import { compile, recompile, parsePolicyText, type Compiled } from '../compiler/index.js';
import type { Topology } from '../compiler/model.js';

const BASE = 'dc=campus,dc=example';
const USERS = 10_000, GROUPS = 300, POLL_MS = 500;
const orgs = ['finance', 'sales', 'it', 'research', 'support', 'legal', 'hr', 'ops'];
let ldif = `dn: ${BASE}\nobjectClass: dcObject\nobjectClass: organization\no: bench\ndc: campus\n\ndn: ou=people,${BASE}\nobjectClass: organizationalUnit\nou: people\n\ndn: ou=groups,${BASE}\nobjectClass: organizationalUnit\nou: groups\n\n`;
for (const o of orgs) ldif += `dn: ou=${o},ou=people,${BASE}\nobjectClass: organizationalUnit\nou: ${o}\n\n`;
const dn = (i: number) => `uid=u${i},ou=${orgs[i % orgs.length]},ou=people,${BASE}`;
const hex = (n: number) => n.toString(16).padStart(2, '0');
for (let i = 0; i < USERS; i++) {
  ldif += `dn: ${dn(i)}\nobjectClass: inetOrgPerson\nobjectClass: ieee802Device\nobjectClass: ipHost\nuid: u${i}\ncn: User ${i}\nsn: ${i}\nmacAddress: 02:00:00:${hex((i >> 16) & 255)}:${hex((i >> 8) & 255)}:${hex(i & 255)}\nipHostNumber: 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}\n\n`;
}
for (let g = 0; g < GROUPS; g++) {
  ldif += `dn: cn=group${g},ou=groups,${BASE}\nobjectClass: groupOfNames\ncn: group${g}\n`;
  for (let i = g; i < USERS; i += GROUPS / 3) ldif += `member: ${dn(Math.floor(i))}\n`;
  ldif += '\n';
}
const t0 = performance.now();
const slapd = new Slapd({ ldif });
await slapd.start();
console.log(`slapd with ${USERS} users and ${GROUPS} groups loaded (slapadd) and started in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
try {
  process.env.ACL_BENCH_PW = slapd.rootPassword;
  const { config } = readLdapConfig({ url: slapd.url, baseDn: BASE, bindDn: slapd.rootDn, passwordEnv: 'ACL_BENCH_PW', pollInterval: `${POLL_MS}ms` }, () => undefined);
  const src = new LdapDirectorySource(config!, '.');
  const times: number[] = [];
  let dir = await src.load();
  for (let k = 0; k < 3; k++) { const t = performance.now(); dir = await src.load(); times.push(performance.now() - t); }
  console.log(`full sync: ${dir.users.length} users, ${new Set(dir.users.flatMap((u) => u.roles)).size} roles — median ${times.sort((a, b) => a - b)[1].toFixed(0)} ms (target < 3000 ms)`);

  const rules = Array.from({ length: 60 }, (_, i) => `  - { name: r${i}, from: { roles: [group${i * 5}] }, to: res${i % 20} }`).join('\n');
  const resources = Array.from({ length: 20 }, (_, i) => `  res${i}: { hosts: [172.16.0.${i + 1}], services: [tcp/443] }`).join('\n');
  const policy = parsePolicyText(`version: 1\ndirectory: d\ntopology: t\nresources:\n${resources}\nrules:\n${rules}\n`, 'bench.yaml');
  if (!policy.ok) throw new Error('policy');
  const topology: Topology = { switches: [{ name: 'e1', dpid: 1n, kind: 'edge' }], links: [], hosts: dir.users.slice(0, 2000).map((u, i) => ({ mac: u.devices[0].mac, switch: 'e1', port: i + 1 })), servers: [] };
  let compiled: Compiled = compile({ policy: policy.value, directory: dir, topology });
  const deltas: number[] = [];
  const recompileMs: number[] = [];
  let resolveChange: (() => void) | undefined;
  const sync = new DirectorySync(src, {
    intervalMs: POLL_MS,
    onSnapshot: (d) => { const t = performance.now(); compiled = recompile(compiled, { directory: d }); recompileMs.push(performance.now() - t); resolveChange?.(); },
  }, dir);
  sync.start();
  const client = await slapd.client();
  for (let k = 0; k < 5; k++) {
    await new Promise((r) => setTimeout(r, Math.random() * POLL_MS));
    const done = new Promise<void>((r) => { resolveChange = r; });
    const t = performance.now();
    await client.modify(`cn=group${k * 5},ou=groups,${BASE}`, new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [dn(USERS - 1 - k)] }) }));
    await done;
    deltas.push(performance.now() - t);
  }
  sync.stop();
  await client.unbind();
  const syncMs = sync.status().lastDurationMs ?? 0;
  deltas.sort((a, b) => a - b);
  console.log(`LDAP modify -> recompiled plan: median ${deltas[2].toFixed(0)} ms, worst ${deltas[4].toFixed(0)} ms with a ${POLL_MS} ms poll interval (target < ${POLL_MS + 50} ms; one sync takes ${syncMs.toFixed(0)} ms, recompile ${recompileMs.sort((a, b) => a - b)[2]?.toFixed(0)} ms)`);
} finally {
  await slapd.destroy();
}
