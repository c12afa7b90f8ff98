/**
 * Cluster mode against an etcd with authentication on (private etcd on 127.0.0.1:18970; users and a role limited to
 * the /sdn-acl/ prefix made here with etcdctl): a node with the right user and password file joins and commits; a
 * wrong password, no credentials, or a user without rights on the prefix cannot start, and no error message carries
 * the password.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeWith, haveCommand } from '../helpers/needs.js';
import { haveEtcd, startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { copyExample, tempDir } from '../helpers/tmp.js';
import { startClusteredController, type ClusteredController } from '../../controller/cluster-setup.js';

const PORT = 18970;
const PASSWORD = 'acl-node-pw-7f3e91';

describeWith({ etcd: haveEtcd(), etcdctl: haveCommand('etcdctl') }, 'cluster on an etcd with user/password authentication', () => {
  let etcd: EtcdServer;
  let dir: string;
  let node: ClusteredController | undefined;
  const f = (n: string) => join(dir, n);
  const ctl = (...a: string[]) =>
    execFileSync('etcdctl', [`--endpoints=http://127.0.0.1:${PORT}`, ...a], {
      stdio: 'pipe',
      env: { ...process.env, ETCDCTL_API: '3' },
    }).toString();

  beforeAll(async () => {
    dir = tempDir('acl-etcd-auth-');
    etcd = await startEtcd(PORT, 'aclauth');
    ctl('user', 'add', 'root:root-pw-1', '--interactive=false');
    ctl('role', 'add', 'root');
    ctl('user', 'grant-role', 'root', 'root');
    ctl('role', 'add', 'sdn-acl');
    ctl('role', 'grant-permission', 'sdn-acl', '--prefix=true', 'readwrite', '/sdn-acl/');
    ctl('user', 'add', `acl:${PASSWORD}`, '--interactive=false');
    ctl('user', 'grant-role', 'acl', 'sdn-acl');
    ctl('user', 'add', 'nobody:nobody-pw-1', '--interactive=false');
    ctl('auth', 'enable');
    writeFileSync(f('acl.pw'), `${PASSWORD}\n`, { mode: 0o600 });
    writeFileSync(f('wrong.pw'), 'not-the-password\n', { mode: 0o600 });
    writeFileSync(f('nobody.pw'), 'nobody-pw-1\n', { mode: 0o600 });
  }, 60_000);
  afterAll(async () => {
    await node?.stop();
    await etcd?.stop();
  });

  const policy = () => join(copyExample('campus'), 'policy.yaml');
  const refused = async (creds: Record<string, string>, name: string): Promise<string> => {
    const start = startClusteredController(
      { policyPath: policy(), listen: { host: '127.0.0.1', port: 0 } },
      { url: etcd.url, ...creds },
      { name },
    );
    const r = await Promise.race([
      start.then(
        async (n) => {
          await n.stop();
          return 'joined';
        },
        (e: Error) => e.message,
      ),
      new Promise<string>((res) => setTimeout(() => res('no answer within 10 s'), 10_000)),
    ]);
    expect(r).not.toBe('joined');
    expect(r).not.toContain(PASSWORD);
    return r;
  };

  it('a node with the user and its password file joins and commits a change', async () => {
    node = await startClusteredController(
      { policyPath: policy(), listen: { host: '127.0.0.1', port: 0 } },
      { url: etcd.url, user: 'acl', passwordFile: f('acl.pw') },
      { name: 'auth1' },
    );
    expect(node.cluster.healthy).toBe(true);
    const r = await node.ctl.applyPolicy(node.ctl.loaded.policyText.replace(/  - \{ name: platform-build.*\n/, ''), { by: 'admin' });
    expect(r.ok, JSON.stringify(r.diagnostics)).toBe(true);
    expect(node.cluster.policy?.version).toBe(2);
    // what it wrote is under its prefix, readable with the same rights
    expect(ctl('--user', `acl:${PASSWORD}`, 'get', '/sdn-acl/policy', '--print-value-only')).toMatch(/"version":2/);
  }, 30_000);

  it('a wrong password, no credentials, or a user without rights on the prefix: the node does not start', async () => {
    expect(await refused({ user: 'acl', passwordFile: f('wrong.pw') }, 'auth-wrong')).toMatch(/auth|password|permission|denied|invalid/i);
    expect(await refused({}, 'auth-none')).toMatch(/user name is empty|auth/i);
    expect(await refused({ user: 'nobody', passwordFile: f('nobody.pw') }, 'auth-nobody')).toMatch(/permission denied/i);
  }, 60_000);

  it('a user without a password source is refused before connecting', async () => {
    await expect(
      startClusteredController(
        { policyPath: policy(), listen: { host: '127.0.0.1', port: 0 } },
        { url: etcd.url, user: 'acl' },
        { name: 'auth-nopw' },
      ),
    ).rejects.toThrow(/password-file|password-env/);
  });
});
