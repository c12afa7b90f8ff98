/**
 * LDAP: full sync of 10,000 users in 300 groups from a private local slapd (target < 3 s), and the time from an
 * LDAP modify to the recompiled plan (target < one poll interval + 50 ms), with the server pushing the change
 * (RFC 4533, the default when the server offers it) and, for comparison, with polling.
 */
import { Attribute, Change } from 'ldapts';
import { Slapd } from '../test/helpers/slapd.js';
import { DirectorySync, LdapDirectorySource, readLdapConfig } from '../directory/ldap.js';
import { compile, recompile, parsePolicyText, type Compiled } from '../compiler/index.js';
import type { Topology } from '../compiler/model.js';

const BASE = 'dc=campus,dc=example';
const USERS = 10_000,
  GROUPS = 300,
  POLL_MS = 500;
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
// As recommended for polling (docs/ldap.md): an index on modifyTimestamp. ACL_BENCH_NO_INDEX=1 measures without it.
const index = !process.env.ACL_BENCH_NO_INDEX;
const slapd = new Slapd({ ldif, indexes: index ? ['modifyTimestamp'] : [], syncprov: true });
await slapd.start();
console.log(
  `slapd with ${USERS} users and ${GROUPS} groups (${index ? 'modifyTimestamp indexed' : 'no index on modifyTimestamp'}; syncprov overlay) loaded (slapadd) and started in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
);
try {
  process.env.ACL_BENCH_PW = slapd.rootPassword;
  const { config } = readLdapConfig(
    { url: slapd.url, baseDn: BASE, bindDn: slapd.rootDn, passwordEnv: 'ACL_BENCH_PW', pollInterval: `${POLL_MS}ms` },
    () => undefined,
  );
  const times: number[] = [];
  let dir = await new LdapDirectorySource(config!, '.').load();
  for (let k = 0; k < 3; k++) {
    const t = performance.now();
    dir = await new LdapDirectorySource(config!, '.').load();
    times.push(performance.now() - t);
  }
  console.log(
    `full sync: ${dir.users.length} users, ${new Set(dir.users.flatMap((u) => u.roles)).size} roles — median ${times.sort((a, b) => a - b)[1].toFixed(0)} ms (target < 3000 ms)`,
  );

  const rules = Array.from({ length: 60 }, (_, i) => `  - { name: r${i}, from: { roles: [group${i * 5}] }, to: res${i % 20} }`).join('\n');
  const resources = Array.from({ length: 20 }, (_, i) => `  res${i}: { hosts: [172.16.0.${i + 1}], services: [tcp/443] }`).join('\n');
  const policy = parsePolicyText(`version: 1\ndirectory: d\ntopology: t\nresources:\n${resources}\nrules:\n${rules}\n`, 'bench.yaml');
  if (!policy.ok) throw new Error('policy');
  const topology: Topology = {
    switches: [{ name: 'e1', dpid: 1n, kind: 'edge' }],
    links: [],
    hosts: dir.users.slice(0, 2000).map((u, i) => ({ mac: u.devices[0].mac, switch: 'e1', port: i + 1 })),
    servers: [],
  };
  const base = compile({ policy: policy.value, directory: dir, topology });
  const med = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1];
  const max = (v: number[]) => Math.max(...v);
  const client = await slapd.client();
  let change = 0;

  /** Modify -> recompiled plan through the controller's DirectorySync, with the directory pushing or polled. */
  async function measure(sync: 'poll' | 'auto'): Promise<void> {
    let compiled: Compiled = base;
    const deltas: number[] = [],
      byRole: number[] = [],
      byDevice: number[] = [];
    const phases: Record<string, number[]> = {};
    const note = (k: string, v: number) => (phases[k] ??= []).push(v);
    let resolveChange: (() => void) | undefined;
    // The controller's sync: one source whose connection stays open between polls (and, pushing, one more for the pushes).
    const src = new LdapDirectorySource({ ...config!, sync }, '.');
    const stage1 = src.loadChanges.bind(src);
    const stage2 = src.loadRest.bind(src);
    const pushed = src.loadPushed.bind(src);
    let tLoaded = 0;
    src.loadChanges = async () => {
      const t = performance.now();
      const d = await stage1();
      tLoaded = performance.now();
      note('stage 1 (changed entries)', tLoaded - t);
      const l = src.lastTimings;
      if (!l.full) {
        note('  connect+bind', l.connectMs);
        note('  searches', l.searchMs);
        note('  build', l.buildMs);
      }
      return d;
    };
    src.loadRest = async () => {
      const d = await stage2();
      if (src.lastTimings.restMs !== undefined) note('stage 2 (deletion check)', src.lastTimings.restMs);
      return d;
    };
    src.loadPushed = async () => {
      const t = performance.now();
      const d = await pushed();
      tLoaded = performance.now();
      note('take in pushed entries', tLoaded - t);
      return d;
    };
    const ds = new DirectorySync(
      src,
      {
        intervalMs: POLL_MS,
        onSnapshot: (d, diff) => {
          const t = performance.now();
          note('keepUnchanged+diff', t - tLoaded);
          compiled = recompile(compiled, { directory: d });
          note(`recompile (${diff.usersChanged.flatMap((c) => c.fields).join('+') || 'other'})`, performance.now() - t);
          resolveChange?.();
        },
      },
      dir,
    );
    await ds.syncOnce(); // the controller's first poll reads everything
    ds.start();
    if (sync === 'poll') {
      // slapadd stamped all 10,000 entries with one second: until that second has settled (src.settleMs after it),
      // each poll fetches them again. Measure the steady state after that.
      await new Promise((r) => setTimeout(r, src.settleMs + 1500));
    } else {
      const t = performance.now();
      while (ds.status().mode !== 'push') {
        if (performance.now() - t > 30_000) throw new Error(`push did not start: ${ds.status().pushError ?? 'no syncrepl?'}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      await new Promise((r) => setTimeout(r, 500)); // the refresh content taken in and published (nothing changed)
      console.log(
        `push session (3 persistent searches, refresh phase of every entry) ready ${(performance.now() - t).toFixed(0)} ms after start`,
      );
    }
    for (const k of Object.keys(phases)) delete phases[k];
    const N = 12;
    for (let k = 0; k < N; k++) {
      await new Promise((r) => setTimeout(r, Math.random() * POLL_MS));
      const done = new Promise<void>((r) => {
        resolveChange = r;
      });
      const t = performance.now();
      const j = change++;
      // alternately a group membership (a role) and a user's own entry (a device)
      if (k % 2 === 0)
        await client.modify(
          `cn=group${(j * 5) % GROUPS},ou=groups,${BASE}`,
          new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [dn(USERS - 1 - j)] }) }),
        );
      else
        await client.modify(
          dn(j),
          new Change({
            operation: 'replace',
            modification: new Attribute({ type: 'ipHostNumber', values: [`10.99.${j >> 8}.${j & 255}`] }),
          }),
        );
      await done;
      deltas.push(performance.now() - t);
      (k % 2 === 0 ? byRole : byDevice).push(performance.now() - t);
    }
    const mode = ds.status().mode;
    ds.stop();
    const how =
      sync === 'poll'
        ? `fixed-rate polling every ${POLL_MS} ms on a kept connection`
        : `pushed by the server (RFC 4533 syncrepl; status mode: ${mode})`;
    const target = POLL_MS + 50;
    console.log(
      `LDAP modify -> recompiled plan, ${how}: median ${med(deltas).toFixed(0)} ms, worst ${max(deltas).toFixed(0)} ms over ${N} modifies — target < ${target} ms ${max(deltas) < target ? 'met' : 'NOT met'} (worst case)`,
    );
    console.log(
      `  group membership (roles)    median ${med(byRole).toFixed(0)} ms, worst ${max(byRole).toFixed(0)} ms; user entry (devices): median ${med(byDevice).toFixed(0)} ms, worst ${max(byDevice).toFixed(0)} ms`,
    );
    for (const [k, v] of Object.entries(phases))
      console.log(`  ${k.padEnd(28)} median ${med(v).toFixed(1).padStart(6)} ms, worst ${max(v).toFixed(1).padStart(6)} ms (${v.length}×)`);
  }
  await measure('auto');
  await measure('poll');
  await client.unbind();
} finally {
  await slapd.destroy();
}
