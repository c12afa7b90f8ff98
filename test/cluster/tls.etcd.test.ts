/**
 * Cluster mode against an etcd that requires TLS and client certificates (certificates made here with openssl;
 * private etcd on 127.0.0.1:18966): a node with the CA and a client certificate joins and commits; one without
 * a client certificate, or with a certificate from another CA, does not start.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeWith, haveCommand } from '../helpers/needs.js';
import { haveEtcd, startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { copyExample, tempDir } from '../helpers/tmp.js';
import { startClusteredController, type ClusteredController } from '../../controller/cluster-setup.js';

describeWith({ etcd: haveEtcd(), openssl: haveCommand('openssl') }, 'cluster on an etcd with mutual TLS', () => {
  let etcd: EtcdServer;
  let dir: string;
  let node: ClusteredController | undefined;
  const f = (n: string) => join(dir, n);

  beforeAll(async () => {
    dir = tempDir('acl-etcd-tls-');
    const ossl = (...a: string[]) => execFileSync('openssl', a, { cwd: dir, stdio: 'pipe' });
    const ca = (name: string) =>
      ossl(
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.crt`,
        '-days',
        '2',
        '-subj',
        `/CN=${name}`,
      );
    const leaf = (name: string, signer: string, ext: string) => {
      writeFileSync(f(`${name}.ext`), ext);
      ossl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
      ossl(
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        `${signer}.crt`,
        '-CAkey',
        `${signer}.key`,
        '-CAcreateserial',
        '-out',
        `${name}.crt`,
        '-days',
        '2',
        '-extfile',
        `${name}.ext`,
      );
    };
    ca('ca');
    ca('otherca');
    leaf('server', 'ca', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n');
    leaf('client', 'ca', 'extendedKeyUsage=clientAuth\n');
    leaf('rogue', 'otherca', 'extendedKeyUsage=clientAuth\n');
    etcd = await startEtcd(18966, 'acltls', { cert: f('server.crt'), key: f('server.key'), ca: f('ca.crt') });
  }, 60_000);
  afterAll(async () => {
    await node?.stop();
    await etcd?.stop();
  });

  const policy = () => join(copyExample('campus'), 'policy.yaml');

  it('a node with the CA and a client certificate joins and commits a change', async () => {
    expect(etcd.url).toBe('etcds://127.0.0.1:18966');
    node = await startClusteredController(
      { policyPath: policy(), listen: { host: '127.0.0.1', port: 0 } },
      { url: etcd.url, caFile: f('ca.crt'), certFile: f('client.crt'), keyFile: f('client.key') },
      { name: 'tls1' },
    );
    expect(node.cluster.healthy).toBe(true);
    const r = await node.ctl.applyPolicy(node.ctl.loaded.policyText.replace(/ {2}- \{ name: platform-build.*\n/, ''), { by: 'admin' });
    expect(r.ok, JSON.stringify(r.diagnostics)).toBe(true);
    expect(node.cluster.policy?.version).toBe(2);
  }, 30_000);

  it('without a client certificate, or with one from another CA, the node does not start', async () => {
    for (const creds of [{}, { certFile: f('rogue.crt'), keyFile: f('rogue.key') }]) {
      const start = startClusteredController(
        { policyPath: policy(), listen: { host: '127.0.0.1', port: 0 } },
        { url: etcd.url, caFile: f('ca.crt'), ...creds },
        { name: 'tls-bad' },
      );
      await expect(
        Promise.race([
          start.then(async (n) => {
            await n.stop();
            return 'joined';
          }),
          new Promise((_r, rej) => setTimeout(() => rej(new Error('no answer')), 8000)),
        ]),
      ).rejects.toThrow();
    }
  }, 40_000);

  it('etcds:// without a CA is refused with a clear message', async () => {
    await expect(
      startClusteredController({ policyPath: policy(), listen: { host: '127.0.0.1', port: 0 } }, { url: etcd.url }, { name: 'tls-noca' }),
    ).rejects.toThrow(/--etcd-ca/);
  });
});
