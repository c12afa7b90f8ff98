/**
 * Policy history and two-person approval in a cluster: both live in etcd, so a change submitted on one node is
 * pending on every node, is approved on another node by another admin and applied exactly once; every version's
 * full text is readable on every node (history, diff, rollback) and survives the restart of any node; a pending
 * change expires by the controller clock (any node's). Three controllers in this process (no switches; each with
 * its own copy of the policy folder and its own API through app.inject), a private etcd on 127.0.0.1:26700.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { describeWith } from '../helpers/needs.js';
import { haveEtcd, startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { copyExample, waitFor } from '../helpers/tmp.js';
import { startClusteredController, type ClusteredController } from '../../controller/cluster-setup.js';
import { buildApp } from '../../controller/api.js';
import { ManualClock } from '../../controller/scheduler.js';
import { planHash } from '../../controller/lifecycle-api.js';

const ETCD_PORT = 26700;
const TOKENS = [
  { name: 'anna', token: 'anna-admin-token', role: 'admin' as const },
  { name: 'ben', token: 'ben-admin-token-2', role: 'admin' as const },
];
const ANNA = { authorization: 'Bearer anna-admin-token' };
const BEN = { authorization: 'Bearer ben-admin-token-2' };
const YAML = { 'content-type': 'text/yaml' };
const TTL_MS = 3600_000;

interface Node {
  name: string;
  c: ClusteredController;
  app: FastifyInstance;
  clock: ManualClock;
}

describeWith({ etcd: haveEtcd() }, 'cluster: policy history and pending approvals in etcd', () => {
  let etcd: EtcdServer;
  const nodes = new Map<string, Node>();
  let v1Text: string;
  const v2Text = () =>
    v1Text.replace('from: { organizations: [finance] }, to: payroll-db', 'from: { organizations: [corp] }, to: payroll-db');
  const v3Text = () => `${v1Text}\n# version three\n`;

  async function startNode(name: string): Promise<Node> {
    const dir = copyExample('basic');
    const clock = new ManualClock(Date.now());
    const c = await startClusteredController(
      { policyPath: join(dir, 'policy.yaml'), listen: { host: '127.0.0.1', port: 0 }, clock },
      { url: etcd.url },
      { name },
    );
    const app = await buildApp(c.ctl, { tokens: TOKENS, requireApproval: true, approvalTtlMs: TTL_MS });
    const n = { name, c, app, clock };
    nodes.set(name, n);
    return n;
  }
  async function stopNode(name: string): Promise<void> {
    const n = nodes.get(name);
    nodes.delete(name);
    await n?.app.close();
    await n?.c.stop();
  }
  const node = (name: string) => nodes.get(name)!;
  const get = async (name: string, url: string) => (await node(name).app.inject({ url: `/api/v1${url}`, headers: ANNA })).json();
  const post = (name: string, url: string, headers: Record<string, string>, payload?: string | object) =>
    node(name).app.inject({
      method: 'POST',
      url: `/api/v1${url}`,
      headers: typeof payload === 'string' ? { ...headers, ...YAML } : headers,
      payload,
    });
  const pendingIds = async (name: string) => ((await get(name, '/pending')).pending as Array<{ id: string }>).map((p) => p.id);
  const versionsOf = async (name: string) =>
    (await get(name, '/policy/versions')).versions as Array<{
      version: number;
      by: string;
      reason: string;
      approvedBy?: string;
      planHash: string;
    }>;

  beforeAll(async () => {
    etcd = await startEtcd(ETCD_PORT, 'acllife');
    v1Text = readFileSync(join(copyExample('basic'), 'policy.yaml'), 'utf8');
    await startNode('la');
    await startNode('lb');
    await startNode('lc');
  }, 60_000);
  afterAll(async () => {
    for (const name of [...nodes.keys()]) await stopNode(name);
    await etcd?.stop();
  });

  it('version 1 (the seed) is in every node’s history, with the plan hash of the node that applied it', async () => {
    for (const n of ['la', 'lb', 'lc']) {
      const v = await waitFor(`version 1 with a plan hash on ${n}`, async () =>
        (await versionsOf(n)).find((x) => x.version === 1 && x.planHash),
      );
      expect(v).toMatchObject({ version: 1, reason: 'load' });
      expect(v.planHash).toBe(planHash(node(n).c.ctl.compiled.plan));
    }
  });

  it('a change submitted on one node is pending on all; the submitter cannot approve it anywhere; another admin approves it on another node, once', async () => {
    const sub = await post('la', '/policy', ANNA, v2Text());
    expect(sub.statusCode).toBe(202);
    const id = sub.json().pending.id as string;
    for (const n of ['lb', 'lc']) await waitFor(`pending on ${n}`, async () => (await pendingIds(n)).includes(id), 5000, 50);
    expect((await get('lc', '/pending')).pending[0]).toMatchObject({ id, by: 'anna', baseVersion: 1 });

    const own = await post('lb', `/pending/${id}/approve`, ANNA);
    expect(own.statusCode).toBe(403);
    expect(own.json().code).toBe('own-change');

    const ok = await post('lb', `/pending/${id}/approve`, BEN);
    expect(ok.statusCode).toBe(200);
    expect(ok.json().version).toBe(2);
    for (const n of ['la', 'lb', 'lc']) {
      await waitFor(`version 2 on ${n}`, () => node(n).c.ctl.version === 2, 5000, 50);
      await waitFor(`pending gone on ${n}`, async () => (await pendingIds(n)).length === 0, 5000, 50);
      expect(node(n).c.ctl.loaded.policyText).toBe(v2Text());
    }
    // approving it again, on any node, finds nothing: it was applied once
    const again = await post('la', `/pending/${id}/approve`, BEN);
    expect(again.statusCode).toBe(404);
    expect(node('la').c.ctl.version).toBe(2);

    const v2 = await waitFor('version 2 in la’s history', async () => (await versionsOf('la')).find((v) => v.version === 2));
    expect(v2).toMatchObject({ by: 'anna', approvedBy: 'ben', reason: 'apply' });
    expect((await get('lc', '/policy/versions/2')).text).toBe(v2Text());
  });

  it('two admins approving the same change on two nodes at once: exactly one applies it', async () => {
    const sub = await post('lc', '/policy', BEN, v3Text());
    expect(sub.statusCode).toBe(202);
    const id = sub.json().pending.id as string;
    for (const n of ['la', 'lb']) await waitFor(`pending on ${n}`, async () => (await pendingIds(n)).includes(id), 5000, 50);
    const [x, y] = await Promise.all([post('la', `/pending/${id}/approve`, ANNA), post('lb', `/pending/${id}/approve`, ANNA)]);
    const codes = [x.statusCode, y.statusCode].sort();
    expect(codes[0]).toBe(200);
    expect([404, 409]).toContain(codes[1]);
    for (const n of ['la', 'lb', 'lc']) await waitFor(`version 3 on ${n}`, () => node(n).c.ctl.version === 3, 5000, 50);
    await new Promise((r) => setTimeout(r, 300));
    for (const n of ['la', 'lb', 'lc']) expect(node(n).c.ctl.version).toBe(3);
    expect((await versionsOf('la')).filter((v) => v.version === 4)).toEqual([]);
  });

  it('a rejection on one node removes the change everywhere', async () => {
    const sub = await post('la', '/policy', ANNA, v1Text);
    const id = sub.json().pending.id as string;
    await waitFor('pending on lc', async () => (await pendingIds('lc')).includes(id), 5000, 50);
    expect((await post('lc', `/pending/${id}/reject`, BEN)).statusCode).toBe(200);
    for (const n of ['la', 'lb']) await waitFor(`rejected on ${n}`, async () => !(await pendingIds(n)).includes(id), 5000, 50);
    expect((await post('la', `/pending/${id}/approve`, BEN)).statusCode).toBe(404);
  });

  it('history survives the restart of a node, and so does a pending change; diff between any two versions on any node', async () => {
    const sub = await post('lb', '/policy', BEN, v2Text());
    const id = sub.json().pending.id as string;
    await waitFor('pending on la', async () => (await pendingIds('la')).includes(id), 5000, 50);
    await stopNode('lb');
    await startNode('lb');
    const vs = await versionsOf('lb');
    expect(vs.map((v) => v.version)).toEqual([1, 2, 3]);
    expect((await get('lb', '/policy/versions/1')).text).toBe(v1Text);
    expect(await pendingIds('lb')).toEqual([id]);
    const diff = await get('lb', '/policy/diff?from=1&to=2');
    expect(diff.access).toContainEqual(expect.objectContaining({ subject: 'bob', resource: 'payroll-db', change: 'gain' }));
    // the pending change was based on version 3: still current, so approvable on the restarted node's peers
    const ok = await post('lc', `/pending/${id}/approve`, ANNA);
    expect(ok.statusCode).toBe(200);
    expect(ok.json().version).toBe(4);
  });

  it('a rollback on one node, approved on another, gives every node the plan of that version exactly', async () => {
    const v1Hash = (await versionsOf('lc')).find((v) => v.version === 1)!.planHash;
    const sub = await post('lc', '/policy/rollback', ANNA, { version: 1 });
    expect(sub.statusCode).toBe(202);
    const id = sub.json().pending.id as string;
    await waitFor('rollback pending on la', async () => (await pendingIds('la')).includes(id), 5000, 50);
    const ok = await post('la', `/pending/${id}/approve`, BEN);
    expect(ok.statusCode).toBe(200);
    expect(ok.json().planHash).toBe(v1Hash);
    for (const n of ['la', 'lb', 'lc']) {
      await waitFor(`version 5 on ${n}`, () => node(n).c.ctl.version === 5, 5000, 50);
      expect(planHash(node(n).c.ctl.compiled.plan)).toBe(v1Hash);
    }
    const v5 = await waitFor('version 5 on lb', async () => (await versionsOf('lb')).find((v) => v.version === 5));
    expect(v5).toMatchObject({ reason: 'rollback', by: 'anna', approvedBy: 'ben' });
  });

  it('a pending change expires by the controller clock of any node, and is gone on every node', async () => {
    const sub = await post('la', '/policy', ANNA, v3Text());
    const id = sub.json().pending.id as string;
    await waitFor('pending on lc', async () => (await pendingIds('lc')).includes(id), 5000, 50);
    node('lc').clock.advance(TTL_MS + 1000);
    for (const n of ['la', 'lb', 'lc']) await waitFor(`expired on ${n}`, async () => !(await pendingIds(n)).includes(id), 5000, 50);
    expect((await post('lb', `/pending/${id}/approve`, BEN)).statusCode).toBe(404);
    expect(node('la').c.ctl.version).toBe(5);
  });
});
