/**
 * Hostile or broken shared state in etcd (a bad write by another tool, a node with a different directory file):
 * a cluster node never crashes, never applies what does not compile, never writes a plan older than the
 * cluster's newest version, and an admin can still replace the bad version. Needs etcd (private, port 18950).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { Etcd3 } from 'etcd3';
import { describeWith } from '../helpers/needs.js';
import { haveEtcd, startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { copyExample, waitFor } from '../helpers/tmp.js';
import { startClusteredController, type ClusteredController } from '../../controller/cluster-setup.js';
import { planHash } from '../helpers/plan-hash.js';

describeWith({ etcd: haveEtcd() }, 'cluster node against hostile etcd state', () => {
  let etcd: EtcdServer;
  let node: ClusteredController;
  let raw: Etcd3;
  let dir: string;
  const events: Array<{ type: string }> = [];

  beforeAll(async () => {
    etcd = await startEtcd(18950);
    dir = copyExample('campus');
    node = await startClusteredController(
      { policyPath: join(dir, 'policy.yaml'), listen: { host: '127.0.0.1', port: 0 } },
      { url: etcd.url },
      { name: 'h1' },
    );
    node.ctl.on('event', (e: { type: string }) => events.push(e));
    raw = new Etcd3({ hosts: `http://127.0.0.1:${etcd.clientPort}` });
  }, 60_000);
  afterAll(async () => {
    raw?.close();
    await node?.stop();
    await etcd?.stop();
  });

  it('garbage in every key: the node keeps running on its last good plan', async () => {
    const before = planHash(node.ctl.compiled.plan);
    const v = node.ctl.version;
    await raw.put('/sdn-acl/policy').value('{not json');
    await raw.put('/sdn-acl/bindings/02:00:00:00:00:01').value('[1,2,3]');
    await raw.put('/sdn-acl/bindings/zz').value(JSON.stringify({ mac: 'zz', switch: 7, port: 'x' }));
    await raw.put('/sdn-acl/ids').value('"x"');
    await raw.put('/sdn-acl/nodes/evil').value('\u0000'.repeat(1000));
    await raw.put('/sdn-acl/masters/0x0000000000000001').value('x'.repeat(100_000));
    await raw.put('/sdn-acl/conn/0x0000000000000001/evil/extra').value('1');
    await new Promise((r) => setTimeout(r, 500));
    expect(node.ctl.version).toBe(v);
    expect(planHash(node.ctl.compiled.plan)).toBe(before);
    expect(node.driver.status().node).toBe('h1');
  });

  it('a committed version that does not compile here is not applied, and stops writes (fail closed) until replaced', async () => {
    const before = planHash(node.ctl.compiled.plan);
    const v = node.ctl.version;
    await raw
      .put('/sdn-acl/policy')
      .value(JSON.stringify({ version: v + 5, text: 'version: 1\nrules: [ {', by: 'mallory', at: new Date().toISOString() }));
    await waitFor('apply failure reported', () => events.some((e) => e.type === 'cluster-apply-failed'), 5000);
    expect(node.ctl.version).toBe(v);
    expect(planHash(node.ctl.compiled.plan)).toBe(before);
    // the node does not write its older plan as if it were current: even holding a switch's claim it may not write
    const dpid = '0x00000000000000aa';
    node.cluster.masters.set(dpid, { node: 'h1', rev: 1n });
    node.driver.confirmed.set(dpid, { role: 'master' });
    expect(node.driver.mayWrite(dpid)).toBe(false);
    // an admin replaces the bad version with a good one: accepted (based on the newest record) and applied
    const text = readFileSync(join(dir, 'policy.yaml'), 'utf8').replace(/ {2}- \{ name: platform-build.*\n/, '');
    const r = await node.ctl.applyPolicy(text, { by: 'admin' });
    expect(r.ok, JSON.stringify(r.diagnostics)).toBe(true);
    expect(r.version).toBe(v + 6);
    expect(node.ctl.version).toBe(v + 6);
    expect(planHash(node.ctl.compiled.plan)).not.toBe(before);
    expect(node.driver.mayWrite(dpid)).toBe(true);
    node.cluster.masters.delete(dpid);
    node.driver.confirmed.delete(dpid);
  });

  it('a policy submitted through a node is refused as a whole when it does not compile (nothing committed)', async () => {
    const v = node.ctl.version;
    const r = await node.ctl.applyPolicy('version: 1\nrules: [ {', { by: 'admin' });
    expect(r.ok).toBe(false);
    const rec = JSON.parse((await raw.get('/sdn-acl/policy').string())!) as { version: number };
    expect(rec.version).toBe(v);
  });
});
