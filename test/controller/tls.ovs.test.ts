/**
 * Needs root, openssl and Open vSwitch. Mutual TLS between Open vSwitch (`ssl:` controller) and the controller:
 * certificates are generated here with openssl; the bridge ctl-tls gets its flows over TLS; a client without a
 * certificate signed by the CA is refused. Sets the OVS SSL config (`ovs-vsctl set-ssl`) and removes it afterwards.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { Controller } from '../../controller/controller.js';
import { createBridge, deleteBridge, ensureOvs, haveOvs, ofctl, vsctl } from '../helpers/ovs.js';
import { copyExample as copyExampleDir, waitFor } from '../helpers/tmp.js';
import { describeWith } from '../helpers/needs.js';

/** Private copies of examples, removed when the file's tests are done. */
const madeDirs: string[] = [];
const example = (name: string) => {
  const d = copyExampleDir(name);
  madeDirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of madeDirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const run = haveOvs() && process.getuid?.() === 0 && spawnSync('which', ['openssl']).status === 0;

function makeCerts(dir: string): void {
  const ossl = (...a: string[]) => execFileSync('openssl', a, { cwd: dir, stdio: 'pipe' });
  ossl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=acl-test-ca', '-keyout', 'ca.key', '-out', 'ca.pem');
  for (const who of ['controller', 'switch']) {
    ossl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=acl-test-${who}`, '-keyout', `${who}.key`, '-out', `${who}.csr`);
    ossl('x509', '-req', '-in', `${who}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-out', `${who}.pem`);
  }
}

describeWith({ 'Open vSwitch (root)': !!run }, 'TLS with mutual certificates on real Open vSwitch', () => {
  let dir: string;
  let ctl: Controller;
  let port: number;

  beforeAll(async () => {
    ensureOvs();
    dir = mkdtempSync(join(tmpdir(), 'acl-tls-'));
    makeCerts(dir);
    const pdir = example('basic');
    ctl = new Controller({
      policyPath: join(pdir, 'policy.yaml'),
      listen: { host: '127.0.0.1', port: 0 },
      tls: {
        key: readFileSync(join(dir, 'controller.key')),
        cert: readFileSync(join(dir, 'controller.pem')),
        ca: readFileSync(join(dir, 'ca.pem')),
        requestCert: true,
        rejectUnauthorized: true,
      },
    });
    ({ port } = await ctl.start());
    vsctl('set-ssl', join(dir, 'switch.key'), join(dir, 'switch.pem'), join(dir, 'ca.pem'));
    createBridge('ctl-tls', { controller: `ssl:127.0.0.1:${port}`, dpid: (16).toString(16).padStart(16, '0') });
  });

  afterAll(async () => {
    deleteBridge('ctl-tls');
    spawnSync('ovs-vsctl', ['--timeout=10', 'del-ssl']);
    await ctl?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the switch connects over TLS and gets exactly the plan', async () => {
    const want = ctl
      .planFor(16n)!
      .flows.map((f) => '0x' + f.cookie.toString(16))
      .sort();
    await waitFor(
      'flows over TLS',
      () => {
        const have = [...ofctl('dump-flows', 'ctl-tls').matchAll(/cookie=(0x5ac1[0-9a-f]+)/g)].map((m) => m[1]).sort();
        // the flows show in dump-flows before the barrier's reply reaches the controller: wait for its status too
        const st = ctl.switchStatus().find((s) => s.name === 'hv1');
        return JSON.stringify(have) === JSON.stringify(want) && st?.flowsInstalled === want.length;
      },
      20_000,
    );
    expect(ctl.switchStatus().find((s) => s.name === 'hv1')).toMatchObject({ connected: true, flowsInstalled: want.length });
  });

  it('a client without a certificate from the CA is refused', async () => {
    const outcome = await new Promise<string>((resolve) => {
      const s = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => s.write(Buffer.from('0400000800000001', 'hex')));
      s.on('data', () => resolve('answered'));
      s.on('error', (e) => resolve(`error: ${e.message}`));
      s.on('close', () => resolve('closed'));
      setTimeout(() => {
        s.destroy();
        resolve('timeout');
      }, 5000);
    });
    expect(outcome).not.toBe('answered');
    expect(outcome).not.toBe('timeout');
    expect(ctl.switchStatus().filter((s) => s.connected)).toHaveLength(1);
  });
});
