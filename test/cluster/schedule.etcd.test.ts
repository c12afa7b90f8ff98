/**
 * Time boundaries in a cluster go through etcd like any other apply: one node (the schedule leader) commits the
 * boundary as a new version (reason 'schedule', the boundary instant); every node, the leader too, applies that
 * version from etcd. So after a boundary all nodes run the same version and the same plan, and the cluster's history
 * and audit keys hold one entry for it, not one per node. A node whose clock reaches the boundary first waits for the
 * leader; when the leader is gone, the next leader commits. Three controllers in this process, each with its own
 * ManualClock and copy of the policy folder, on a private etcd (127.0.0.1:26610, peer 26611).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { describeWith } from '../helpers/needs.js';
import { haveEtcd, startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { copyExample, waitFor } from '../helpers/tmp.js';
import { startClusteredController, type ClusteredController } from '../../controller/cluster-setup.js';
import { buildApp } from '../../controller/api.js';
import { ManualClock } from '../../controller/scheduler.js';
import { planHash } from '../../controller/lifecycle-history.js';
import type { ControllerEvent } from '../../controller/controller.js';

const ETCD_PORT = 26610;
const ADMIN = { authorization: 'Bearer ck-admin-token' };
const START = Date.parse('2026-12-25T06:59:00Z'); // a Friday, 07:59 in Berlin
const OPEN = Date.parse('2026-12-25T07:00:00Z'); // 08:00 Berlin
const CLOSE = Date.parse('2026-12-25T17:30:00Z'); // 18:30 Berlin
const NAMES = ['cka', 'ckb', 'ckc'];

interface Node {
  name: string;
  c: ClusteredController;
  app: FastifyInstance;
  clock: ManualClock;
  events: ControllerEvent[];
}

describeWith({ etcd: haveEtcd() }, 'cluster: time boundaries are committed once through etcd and followed by every node', () => {
  let etcd: EtcdServer;
  const nodes = new Map<string, Node>();
  let text: string;

  async function startNode(name: string): Promise<Node> {
    const dir = copyExample('basic');
    writeFileSync(join(dir, 'policy.yaml'), text);
    const clock = new ManualClock(START);
    const c = await startClusteredController(
      { policyPath: join(dir, 'policy.yaml'), listen: { host: '127.0.0.1', port: 0 }, clock },
      { url: etcd.url },
      { name },
    );
    const app = await buildApp(c.ctl, { adminToken: 'ck-admin-token', cluster: () => c.driver.status() });
    const events: ControllerEvent[] = [];
    c.ctl.on('event', (e: ControllerEvent) => events.push(e));
    const n = { name, c, app, clock, events };
    nodes.set(name, n);
    return n;
  }
  async function stopNode(name: string): Promise<void> {
    const n = nodes.get(name);
    nodes.delete(name);
    await n?.app.close();
    await n?.c.stop();
  }
  const live = () => [...nodes.values()];
  const leaderName = () => {
    const seen = new Set(live().map((n) => n.c.driver.scheduleLeader()));
    expect(seen.size).toBe(1);
    return [...seen][0]!;
  };
  const versionsOf = async (n: Node) =>
    (await n.app.inject({ url: '/api/v1/policy/versions', headers: ADMIN })).json().versions as Array<{
      version: number;
      by: string;
      reason: string;
    }>;
  /** The cluster's audit and history keys in etcd, as stored. */
  const etcdRecords = async (kind: 'audit' | 'versions') =>
    Object.values(await live()[0].c.cluster.etcd.getAll().prefix(`/sdn-acl/${kind}/`).strings()).map(
      (v) => JSON.parse(v) as { version: number; reason?: string; effectiveAt?: string; by: string },
    );
  const bobGrant = (n: Node) => n.c.ctl.compiled.plan.switches.some((s) => s.flows.some((f) => f.expiresAt !== undefined));
  const allAt = async (version: number) => {
    for (const n of live()) await waitFor(`version ${version} on ${n.name}`, () => n.c.ctl.version === version, 10_000, 50);
    const hashes = new Set(live().map((n) => planHash(n.c.ctl.compiled.plan)));
    expect(hashes.size).toBe(1);
    for (const n of live()) expect((await n.app.inject({ url: '/api/v1/cluster', headers: ADMIN })).json().policyVersion).toBe(version);
  };

  beforeAll(async () => {
    etcd = await startEtcd(ETCD_PORT, 'ckschedule');
    const base = readFileSync(join(copyExample('basic'), 'policy.yaml'), 'utf8');
    text = base.replace(
      'default: deny',
      `  - name: bob-payroll\n    from: { users: [bob] }\n    to: payroll-db\n    when: { days: [mon-fri], hours: "08:00-18:30", timezone: Europe/Berlin }\ndefault: deny`,
    );
    for (const name of NAMES) await startNode(name);
    for (const n of live()) await waitFor(`${n.name} sees 3 nodes`, () => n.c.cluster.liveNodes().length === 3, 10_000, 50);
    await allAt(1);
  }, 60_000);
  afterAll(async () => {
    for (const name of [...nodes.keys()]) await stopNode(name);
    await etcd?.stop();
  });

  it('followers reaching the window start wait for the leader; the leader commits it once; all nodes get the same version and plan', async () => {
    const leader = leaderName();
    const others = live().filter((n) => n.name !== leader);
    const before = planHash(live()[0].c.ctl.compiled.plan);
    expect(live().some(bobGrant)).toBe(false);

    for (const n of others) n.clock.set(OPEN);
    await new Promise((r) => setTimeout(r, 1500));
    // nothing committed, nothing applied on their own: the followers wait for the leader's commit
    for (const n of live()) expect(n.c.ctl.version).toBe(1);
    expect((await etcdRecords('versions')).map((v) => v.version)).toEqual([1]);
    expect(others.every((n) => !bobGrant(n))).toBe(true);

    nodes.get(leader)!.clock.set(OPEN);
    await allAt(2);
    expect(planHash(live()[0].c.ctl.compiled.plan)).not.toBe(before);
    expect(live().every(bobGrant)).toBe(true);

    const versions = await etcdRecords('versions');
    expect(versions.map((v) => v.version)).toEqual([1, 2]);
    expect(versions[1]).toMatchObject({ reason: 'schedule', by: 'schedule', effectiveAt: new Date(OPEN).toISOString() });
    expect((await etcdRecords('audit')).map((a) => a.version)).toEqual([1, 2]);
    // one commit, by the leader; every node applied it as version 2 "by schedule"
    const commits = live().flatMap((n) => n.events.filter((e) => e.type === 'schedule-committed').map(() => n.name));
    expect(commits).toEqual([leader]);
    for (const n of live()) {
      const applied = n.events.filter((e) => e.type === 'policy-applied');
      expect(applied).toEqual([expect.objectContaining({ version: 2, reason: 'schedule', by: 'schedule' })]);
      const hist = await waitFor(`version 2 in ${n.name}'s history`, async () => (await versionsOf(n)).find((v) => v.version === 2));
      expect(hist).toMatchObject({ reason: 'schedule', by: 'schedule' });
    }
  }, 60_000);

  it('the leader gone: the next leader commits the window end, once; the remaining nodes agree on version and plan', async () => {
    const old = leaderName();
    await stopNode(old); // revokes its lease: the others see it leave at once
    for (const n of live()) await waitFor(`${n.name} sees 2 nodes`, () => n.c.cluster.liveNodes().length === 2, 10_000, 50);
    const next = leaderName();
    expect(next).not.toBe(old);
    for (const n of live()) n.events.length = 0;

    // the 6-hourly refresh of the hard_timeouts comes first (local, no version), then the window end, on both at once
    for (const n of live()) n.clock.set(CLOSE - 4.5 * 3600_000);
    for (const n of live()) await waitFor(`${n.name} waits for the end`, () => n.c.ctl.scheduler?.next === CLOSE, 10_000, 50);
    expect(live().map((n) => n.c.ctl.version)).toEqual([2, 2]);
    for (const n of live()) n.clock.set(CLOSE);
    await allAt(3);
    expect(live().some(bobGrant)).toBe(false);
    const versions = await etcdRecords('versions');
    expect(versions.filter((v) => v.reason === 'schedule').map((v) => [v.version, v.effectiveAt])).toEqual([
      [2, new Date(OPEN).toISOString()],
      [3, new Date(CLOSE).toISOString()],
    ]);
    const commits = live().flatMap((n) => n.events.filter((e) => e.type === 'schedule-committed').map(() => n.name));
    expect(commits).toEqual([next]);
    await new Promise((r) => setTimeout(r, 500));
    for (const n of live()) expect(n.c.ctl.version).toBe(3); // no second commit of the same boundary
  }, 60_000);
});
