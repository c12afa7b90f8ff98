/**
 * Hostile or broken history and pending-approval records in etcd (another tool's bad write, a damaged key): a
 * cluster node lists none of them, never applies one, keeps serving its API, and what is valid stays usable.
 * Needs etcd (private, 127.0.0.1:26702).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import type { FastifyInstance } from 'fastify';
import { describeWith } from '../helpers/needs.js';
import { haveEtcd, startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { copyExample, waitFor } from '../helpers/tmp.js';
import { startClusteredController, type ClusteredController } from '../../controller/cluster-setup.js';
import { buildApp } from '../../controller/api.js';

const TOKENS = [
  { name: 'anna', token: 'anna-admin-token', role: 'admin' as const },
  { name: 'ben', token: 'ben-admin-token-2', role: 'admin' as const },
];
const BEN = { authorization: 'Bearer ben-admin-token-2' };

describeWith({ etcd: haveEtcd() }, 'cluster lifecycle records against hostile etcd state', () => {
  let etcd: EtcdServer;
  let node: ClusteredController;
  let app: FastifyInstance;
  let raw: Etcd3;

  beforeAll(async () => {
    etcd = await startEtcd(26702, 'aclhostile');
    node = await startClusteredController(
      { policyPath: join(copyExample('basic'), 'policy.yaml'), listen: { host: '127.0.0.1', port: 0 } },
      { url: etcd.url },
      { name: 'hl1' },
    );
    app = await buildApp(node.ctl, { tokens: TOKENS, requireApproval: true });
    raw = new Etcd3({ hosts: `http://127.0.0.1:${etcd.clientPort}` });
  }, 60_000);
  afterAll(async () => {
    raw?.close();
    await app?.close();
    await node?.stop();
    await etcd?.stop();
  });

  const get = async (url: string) => (await app.inject({ url: `/api/v1${url}`, headers: BEN })).json();

  it('malformed pending changes and versions are not listed, not approvable, and break nothing', async () => {
    const base = node.ctl.version;
    const v1 = await waitFor('version 1 with its plan hash', async () => {
      const vs = (await get('/policy/versions')).versions as Array<{ planHash: string }>;
      return vs.length === 1 && vs[0].planHash ? vs : undefined;
    });
    const pending = {
      id: 'evil1',
      kind: 'policy',
      by: 'anna',
      at: new Date().toISOString(),
      expiresAt: new Date(Date.now() + 3600_000).toISOString(),
      baseVersion: base,
      text: 'version: 1\n',
      textSha256: 'x',
      access: [],
      flows: [],
      summary: '',
      baseText: '',
      expires: Date.now() + 3600_000,
    };
    await raw.put('/sdn-acl/pending/junk').value('{not json');
    await raw.put('/sdn-acl/pending/arr').value('[1,2,3]');
    await raw.put('/sdn-acl/pending/evil1').value(JSON.stringify({ ...pending, kind: 'sudo' }));
    await raw.put('/sdn-acl/pending/evil2').value(JSON.stringify({ ...pending, id: 'evil2', ids: { classIds: 'x', dstClassIds: [] } }));
    await raw.put('/sdn-acl/pending/evil3').value(JSON.stringify({ ...pending, id: '../../x' }));
    await raw.put('/sdn-acl/versions/0000000099').value(JSON.stringify({ version: 'ninety-nine', text: 1 }));
    await raw.put('/sdn-acl/versions/zz').value(JSON.stringify({ version: 7, at: 'x', by: 'x', reason: 'apply', text: 'x' }));
    await raw.put('/sdn-acl/versions/0000000098').value('\u0000'.repeat(10_000));
    await new Promise((r) => setTimeout(r, 500));
    expect((await get('/pending')).pending).toEqual([]);
    expect((await get('/policy/versions')).versions).toEqual(v1);
    for (const id of ['junk', 'arr', 'evil1', 'evil2'])
      expect((await app.inject({ method: 'POST', url: `/api/v1/pending/${id}/approve`, headers: BEN })).statusCode).toBe(404);
    expect(node.ctl.version).toBe(base);
  });

  it('a well-formed pending change next to the junk is listed and can be approved', async () => {
    const sub = await app.inject({
      method: 'POST',
      url: '/api/v1/policy',
      headers: { authorization: 'Bearer anna-admin-token', 'content-type': 'text/yaml' },
      payload: `${node.ctl.loaded.policyText}\n# ok\n`,
    });
    expect(sub.statusCode).toBe(202);
    const id = sub.json().pending.id as string;
    expect(((await get('/pending')).pending as Array<{ id: string }>).map((p) => p.id)).toEqual([id]);
    const ok = await app.inject({ method: 'POST', url: `/api/v1/pending/${id}/approve`, headers: BEN });
    expect(ok.statusCode).toBe(200);
    await waitFor('pending gone', async () => (await get('/pending')).pending.length === 0, 5000, 50);
  });
});
