/**
 * Issue #11 item 6 (displacement): a plain-TCP peer claiming the dpid of a connected Open vSwitch bridge does not
 * take over its session (the live switch answers the controller's echo, so the newcomer is refused and alerted);
 * a session that no longer answers is replaced; with TLS switch binding, a certificate naming another switch is
 * refused. Bridges are named with the prefix `so`.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Controller, type ControllerEvent } from '../../controller/controller.js';
import { createBridge, deleteBridge, ensureOvs, haveOvs, ofctl, vsctl } from '../helpers/ovs.js';
import { haveCommand, describeWith } from '../helpers/needs.js';
import { copyExample, tempDir, waitFor } from '../helpers/tmp.js';
import { RawPeer } from './raw-peer.js';

const OF = 18220;
const BR = 'so-imp';
const run = haveOvs() && process.getuid?.() === 0;

describeWith({ 'Open vSwitch (root)': run }, 'a second connection claiming a connected dpid (real OVS)', () => {
  let ctl: Controller;
  const events: ControllerEvent[] = [];
  beforeAll(async () => {
    ensureOvs();
    const dir = copyExample('basic');
    ctl = new Controller({ policyPath: join(dir, 'policy.yaml'), listen: { host: '127.0.0.1', port: OF }, contestTimeoutMs: 1000 });
    ctl.on('event', (e: ControllerEvent) => events.push(e));
    await ctl.start();
    createBridge(BR, { controller: `tcp:127.0.0.1:${OF}`, dpid: (16).toString(16).padStart(16, '0') });
    await waitFor(
      'hv1 synced',
      () => ctl.switchStatus().find((s) => s.name === 'hv1' && s.connected && s.flowsInstalled === s.flowsDesired),
      20_000,
    );
  }, 40_000);
  afterAll(async () => {
    deleteBridge(BR);
    await ctl?.stop();
  });

  const connected = () =>
    /is_connected\s*:\s*true/.test(vsctl('list', 'controller', vsctl('get', 'bridge', BR, 'controller').trim().replace(/[[\]]/g, '')));

  it("20 impostors with the bridge's dpid are refused; the bridge keeps its one session, no flapping, flows intact", async () => {
    const live = ctl.sessions.get('0x0000000000000010')!;
    const flowsBefore = ofctl('dump-flows', BR)
      .split('\n')
      .filter((l) => l.includes('cookie=0x5ac1')).length;
    expect(live.remote).toMatch(/^127\.0\.0\.1:/);
    // ovs-vswitchd writes is_connected to its database a few seconds after the fact
    await waitFor('OVS reports the controller connected', () => connected(), 15_000);
    for (let i = 0; i < 20; i++) {
      const imp = new RawPeer(16n);
      await imp.connect(OF);
      await imp.ready;
      await imp.gone; // the controller hangs up on it once the live switch answered
      expect(ctl.sessions.get('0x0000000000000010')).toBe(live);
    }
    expect(live.state).toBe('ready');
    await new Promise((r) => setTimeout(r, 3000)); // long enough for OVS to have noticed a flap
    expect(connected()).toBe(true);
    expect(events.filter((e) => e.type === 'switch-down' && e.dpid === '0x0000000000000010')).toHaveLength(0);
    expect(events.filter((e) => e.type === 'switch-impostor' && e.dpid === '0x0000000000000010')).toHaveLength(20);
    expect(ctl.alerts.some((a) => a.type === 'switch-impostor')).toBe(true);
    const r = await ctl.sync('0x0000000000000010');
    expect(r).toMatchObject({ added: 0, removed: 0, changed: 0, errors: [] });
    expect(
      ofctl('dump-flows', BR)
        .split('\n')
        .filter((l) => l.includes('cookie=0x5ac1')).length,
    ).toBe(flowsBefore);
  }, 120_000);

  it('an impostor cannot inject PACKET_INs while it is being checked', async () => {
    const imp = new RawPeer(16n);
    await imp.connect(OF);
    await imp.ready;
    const before = ctl.packetIns;
    const frame = Buffer.alloc(60);
    frame.write('ffffffffffff0200000001010806', 'hex');
    for (let i = 0; i < 50; i++)
      imp.send({
        type: 'packet_in',
        xid: i,
        bufferId: 0xffffffff,
        totalLen: 60,
        reason: 0,
        tableId: 0,
        cookie: 0n,
        match: [{ field: 'in_port', value: 3 }],
        data: frame,
      });
    await imp.gone;
    expect(ctl.packetIns).toBe(before);
  }, 30_000);

  it('a session that no longer answers is replaced by the newcomer', async () => {
    const dead = new RawPeer(0x77n, { silent: true });
    await dead.connect(OF);
    await dead.ready;
    await waitFor('dead peer registered', () => ctl.sessions.get('0x0000000000000077'));
    const fresh = new RawPeer(0x77n);
    await fresh.connect(OF);
    await fresh.ready;
    await waitFor('replaced', () => dead.closed && ctl.sessions.get('0x0000000000000077')?.state === 'ready' && !fresh.closed, 10_000);
    expect(events.some((e) => e.type === 'switch-impostor' && e.dpid === '0x0000000000000077')).toBe(false);
    fresh.close();
  }, 30_000);
});

describeWith({ openssl: haveCommand('openssl') }, 'TLS certificate bound to the switch (tlsBindSwitch)', () => {
  let ctl: Controller;
  let dir: string;
  beforeAll(async () => {
    dir = tempDir('acl-so-tls-');
    const ossl = (...a: string[]) => execFileSync('openssl', a, { cwd: dir, stdio: 'pipe' });
    ossl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=acl-test-ca', '-keyout', 'ca.key', '-out', 'ca.pem');
    for (const who of ['controller', 'hv1', 'edge1']) {
      ossl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${who}`, '-keyout', `${who}.key`, '-out', `${who}.csr`);
      ossl('x509', '-req', '-in', `${who}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-out', `${who}.pem`);
    }
    const pdir = copyExample('basic');
    ctl = new Controller({
      policyPath: join(pdir, 'policy.yaml'),
      listen: { host: '127.0.0.1', port: OF + 1 },
      tlsBindSwitch: true,
      tls: {
        key: readFileSync(join(dir, 'controller.key')),
        cert: readFileSync(join(dir, 'controller.pem')),
        ca: readFileSync(join(dir, 'ca.pem')),
        requestCert: true,
        rejectUnauthorized: true,
      },
    });
    await ctl.start();
  }, 60_000);
  afterAll(async () => {
    await ctl?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const tls = (who: string) => ({
    key: readFileSync(join(dir, `${who}.key`)),
    cert: readFileSync(join(dir, `${who}.pem`)),
    ca: readFileSync(join(dir, 'ca.pem')),
    rejectUnauthorized: false,
  });

  it("edge1's certificate cannot claim hv1's dpid; hv1's can", async () => {
    const wrong = new RawPeer(16n);
    await wrong.connect(OF + 1, '127.0.0.1', tls('edge1'));
    await wrong.ready;
    await wrong.gone;
    expect(ctl.sessions.has('0x0000000000000010')).toBe(false);
    expect(ctl.alerts.find((a) => a.type === 'switch-impostor')).toMatchObject({
      dpid: '0x0000000000000010',
      reason: expect.stringContaining('edge1'),
    });
    const right = new RawPeer(16n);
    await right.connect(OF + 1, '127.0.0.1', tls('hv1'));
    await right.ready;
    await waitFor('hv1 adopted', () => ctl.sessions.get('0x0000000000000010')?.state === 'ready');
    expect(right.closed).toBe(false);
    right.close();
  }, 30_000);
});
