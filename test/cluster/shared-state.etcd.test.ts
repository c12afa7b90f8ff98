/**
 * Login sessions and learned bindings are shared through etcd, so any node can take over a switch with the same
 * plan. Two cluster nodes in this process (no switches), a private etcd on 127.0.0.1:18955.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { join } from 'node:path';
import { describeWith } from '../helpers/needs.js';
import { haveEtcd, startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { copyExample, waitFor } from '../helpers/tmp.js';
import { startClusteredController, type ClusteredController } from '../../controller/cluster-setup.js';
import { planHash } from '../helpers/plan-hash.js';

describeWith({ etcd: haveEtcd() }, 'cluster shared state: sessions, bindings, class ids', () => {
  let etcd: EtcdServer;
  let a: ClusteredController;
  let b: ClusteredController;

  beforeAll(async () => {
    etcd = await startEtcd(18955);
    const dir = copyExample('campus');
    a = await startClusteredController(
      { policyPath: join(dir, 'policy.yaml'), listen: { host: '127.0.0.1', port: 0 } },
      { url: etcd.url },
      { name: 'sa' },
    );
    b = await startClusteredController(
      { policyPath: join(dir, 'policy.yaml'), listen: { host: '127.0.0.1', port: 0 } },
      { url: etcd.url },
      { name: 'sb' },
    );
  }, 60_000);
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await etcd?.stop();
  });

  it('both nodes compile the same plan from the same committed version', () => {
    expect(a.ctl.version).toBe(b.ctl.version);
    expect(planHash(b.ctl.compiled.plan)).toBe(planHash(a.ctl.compiled.plan));
  });

  it('a login on one node is a session on the other (same plan); its end ends it there too', async () => {
    const user = a.ctl.directory.users[0].id;
    const before = planHash(b.ctl.compiled.plan);
    const r = a.ctl.edge.sessions.add({ mac: '02:00:00:00:77:01', ip: '10.0.1.77', switch: 'edge1', port: 7, method: 'dot1x', user });
    expect(r.ok).toBe(true);
    const id = (r as { session: { id: string } }).session.id;
    await waitFor('session on b', () => b.ctl.edge.sessions.get(id), 5000, 20);
    expect(b.ctl.edge.sessions.get(id)!.user).toBe(user);
    await waitFor(
      'same plan on both',
      async () => {
        await a.ctl.edge.settled();
        await b.ctl.edge.settled();
        return planHash(a.ctl.compiled.plan) === planHash(b.ctl.compiled.plan);
      },
      5000,
      50,
    );
    expect(planHash(b.ctl.compiled.plan)).not.toBe(before);
    a.ctl.edge.sessions.remove(id, 'logoff', 'test');
    await waitFor('session gone on b', () => !b.ctl.edge.sessions.get(id), 5000, 20);
  });

  it('a session value that is not a valid session is ignored', async () => {
    await a.cluster.putSession('bogus1', { id: 'bogus1', mac: 'not-a-mac', switch: 'edge1', port: 1, method: 'dot1x', since: 'x' });
    await new Promise((r) => setTimeout(r, 300));
    expect(b.ctl.edge.sessions.get('bogus1')).toBeUndefined();
  });

  it('a binding learned on one node is adopted by the other', async () => {
    const mac = a.ctl.directory.users.flatMap((u) => u.devices)[0]?.mac ?? '02:00:00:00:01:01';
    await a.cluster.putBinding(mac, { mac, switch: 'edge2', port: 9, learned: true });
    await waitFor('binding on b', () => b.ctl.bindings.get(mac)?.port === 9, 5000, 20);
  });
});
