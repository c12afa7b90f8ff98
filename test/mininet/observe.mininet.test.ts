/**
 * Traffic per rule and the deny log on Mininet (root, Open vSwitch, Debian mininet): the basic example with real
 * hosts. Counters of the right rules grow within one poll; a denied connection is logged with the right user,
 * port, resource, service and rule; a port scan is one entry; a flood of denied packets is capped by the switch
 * meter while the API stays responsive.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { Controller } from '../../controller/controller.js';
import { buildApp } from '../../controller/api.js';
import { ensureOvs } from '../helpers/ovs.js';
import { freePort } from '../helpers/slapd.js';
import { copyExample, waitFor } from '../helpers/tmp.js';
import { MininetLab, haveMininet } from './harness.js';
import { describeWith } from '../helpers/needs.js';

const DENY_PPS = 50;
const ADMIN = 'ob-admin-token-0123456789';
/** Denied packets per second of the flood: 200 times the meter. (Unthrottled, the sender and the userspace
 * datapath alone saturate this 2-core machine; the test is about the controller, not the CPU.) */
const FLOOD_PPS = Number(process.env.ACL_FLOOD_PPS ?? 10_000);

const SCAN = `
import socket, sys
ip, lo, hi = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
socks = []
for p in range(lo, hi):
    s = socket.socket(); s.setblocking(False)
    try: s.connect((ip, p))
    except BlockingIOError: pass
    socks.append(s)
import time; time.sleep(1.5)
print(len(socks))
`;

const FLOOD = `
import socket, sys, time
ip, port, secs, pps = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
n = 0; t0 = time.time(); end = t0 + secs; b = b"x" * 64
while time.time() < end:
    for _ in range(100):
        s.sendto(b, (ip, port)); n += 1
    ahead = n / pps - (time.time() - t0)
    if ahead > 0: time.sleep(ahead)
print(n)
`;

describeWith({ 'Mininet (root)': haveMininet() }, 'traffic per rule and the deny log on Mininet', () => {
  let ctl: Controller;
  let app: FastifyInstance;
  let lab: MininetLab;
  let dir: string;
  let api: string;

  beforeAll(async () => {
    ensureOvs();
    dir = copyExample('basic');
    const ofPort = await freePort();
    ctl = new Controller({
      policyPath: join(dir, 'policy.yaml'),
      listen: { host: '127.0.0.1', port: ofPort },
      auditIntervalMs: 0,
      denySamplePps: DENY_PPS,
      observe: {
        traffic: { intervalMs: 0, stateFile: join(dir, 'traffic.json') },
        denials: { file: join(dir, 'denials.jsonl'), flushMs: 200 },
      },
    });
    await ctl.start();
    app = await buildApp(ctl, { adminToken: ADMIN });
    await app.listen({ host: '127.0.0.1', port: 0 });
    api = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    lab = new MininetLab();
    await lab.start(ctl.loaded, ofPort);
    await waitFor(
      'all switches synced',
      () => ctl.switchStatus().filter((s) => s.connected && s.lastSync && !s.errors.length).length === 3,
      30_000,
    );
    await lab.call({ op: 'warmup' });
  }, 180_000);

  afterAll(async () => {
    await lab?.stop();
    await app?.close();
    await ctl?.stop();
  }, 60_000);

  const get = async (path: string) => (await fetch(api + path)).json();

  it('traffic shows on the rules that carry it within one poll', async () => {
    await ctl.observe.traffic.poll(); // baseline
    const before = (r: string) => ctl.observe.traffic.ruleTraffic(r).packets;
    const fp = before('finance-payroll'),
      si = before('staff-intranet'),
      nc = before('no-contractors');
    expect(
      await lab.probe([
        { from: 'alice', to: 'payroll-db', service: 'tcp/5432' },
        { from: 'bob', to: 'web1', service: 'tcp/80' },
        { from: 'alice', to: 'web1', service: 'tcp/80' },
      ]),
    ).toEqual([true, true, true]);
    await new Promise((res) => setTimeout(res, 1200)); // OVS folds datapath counters into its flows about every 500 ms
    const poll = (await (
      await fetch(api + '/api/v1/stats/poll', { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` } })
    ).json()) as { flows: number; switches: number };
    expect(poll.switches).toBe(3);
    const fin = await get('/api/v1/rules/finance-payroll/traffic');
    expect(fin.packets - fp).toBeGreaterThanOrEqual(3); // SYN, ACK, data at least (on edge1 and on hv1)
    expect(fin.lastHit).not.toBeNull();
    expect(fin.series.length).toBeGreaterThan(0);
    expect(ctl.observe.traffic.ruleTraffic('staff-intranet').packets - si).toBeGreaterThanOrEqual(6);
    expect(ctl.observe.traffic.ruleTraffic('no-contractors').packets).toBe(nc);
    const unused = await get('/api/v1/rules/unused?days=1');
    expect(unused.rules.map((x: { rule: string }) => x.rule)).not.toContain('finance-payroll');
    expect(unused.rules.map((x: { rule: string }) => x.rule)).toContain('no-contractors');
    const metrics = await (await fetch(api + '/metrics')).text();
    expect(metrics).toMatch(/acl_rule_packets_total\{rule="finance-payroll"\} [1-9]/);
    expect(metrics).not.toMatch(/acl_rule_packets_total\{[^}]*user=/);
    const alice = await get('/api/v1/users/alice/traffic');
    expect(alice.sent.packets).toBeGreaterThan(0);
    const cells = (await get('/api/v1/traffic/matrix')).cells as Array<{ subject: string; resource: string; inUse: boolean }>;
    expect(cells.find((c) => c.subject === 'alice' && c.resource === 'payroll-db')?.inUse).toBe(true);
  }, 60_000);

  it('a denied connection is logged with user, port, resource, service and the deciding rule', async () => {
    expect(
      await lab.probe(
        [
          { from: 'bob', to: 'payroll-db', service: 'tcp/5432' },
          { from: 'carol', to: 'payroll-db', service: 'tcp/5432' },
        ],
        1,
      ),
    ).toEqual([false, false]);
    const bob = await waitFor('bob denied', async () =>
      (await get('/api/v1/denials?user=bob&resource=payroll-db')).denials.find((d: any) => d.service === 'tcp/5432'),
    );
    expect(bob).toMatchObject({
      kind: 'deny',
      user: 'bob',
      name: 'Bob Berg',
      organization: 'platform',
      roles: ['employee'],
      switch: 'edge1',
      port: 2,
      dst: '10.0.2.10',
      service: 'tcp/5432',
      rule: 'default',
    });
    expect(bob.resources).toContain('payroll-db'); // and intranet: 10.0.2.10 lies in 10.0.2.0/28 too
    expect(bob.count).toBeGreaterThanOrEqual(1);
    const carol = await waitFor('carol denied', async () =>
      (await get('/api/v1/denials?user=carol&dst=10.0.2.10')).denials.find((d: any) => d.service === 'tcp/5432'),
    );
    if (carol.rule !== 'no-contractors') console.log(JSON.stringify((await get('/api/v1/denials?user=carol')).denials));
    expect(carol).toMatchObject({ user: 'carol', switch: 'edge1', port: 4, service: 'tcp/5432', rule: 'no-contractors' });
    expect(carol.resources).toContain('payroll-db');
    // the file has it too
    await waitFor('written', () => readFileSync(join(dir, 'denials.jsonl'), 'utf8').includes('"user":"carol"'));
    // why: the decision, the denials seen and the smallest change
    const w = await get('/api/v1/why?user=bob&resource=payroll-db&service=tcp/5432');
    expect(w.decision).toBe('deny');
    expect(w.denials.length).toBeGreaterThan(0);
    expect(w.suggestions[0]).toMatchObject({ kind: 'set-organization', organization: 'finance' }); // finance-payroll would then apply
  }, 60_000);

  it('a port scan from one host is one aggregated entry', async () => {
    const out = await lab.call({ op: 'run', host: 'bob', script: SCAN, args: ['10.0.2.2', 2000, 2100] });
    expect(Number(String(out.output).trim())).toBe(100);
    const scan = await waitFor(
      'scan entry',
      async () => (await get('/api/v1/denials?user=bob&dst=10.0.2.2')).denials.filter((d: any) => d.proto === 'tcp'),
      5000,
    );
    expect(scan.length).toBe(1);
    expect(scan[0].distinctServices).toBeGreaterThanOrEqual(10);
    expect(scan[0].rule).toBe('default');
  }, 60_000);

  it('a flood of denied packets is capped by the meter; the API stays responsive (p99 < 100 ms); allowed traffic still flows', async () => {
    const samples0 = ctl.observe.denials.counters.samples;
    const secs = 4;
    const flood = lab.call({ op: 'run', host: 'carol', script: FLOOD, args: ['10.0.2.2', 9999, secs, FLOOD_PPS] }, 60_000);
    const lat: number[] = [];
    const t0 = Date.now();
    while (Date.now() - t0 < (secs - 0.5) * 1000) {
      const s = performance.now();
      const r = await fetch(api + '/api/v1/denials?limit=20');
      await r.json();
      lat.push(performance.now() - s);
      await new Promise((res) => setTimeout(res, 20));
    }
    const during = await lab.probe([{ from: 'alice', to: 'web1', service: 'tcp/80' }]);
    const sent = Number(String((await flood).output).trim());
    await new Promise((res) => setTimeout(res, 500));
    const samples = ctl.observe.denials.counters.samples - samples0;
    lat.sort((a, b) => a - b);
    const p99 = lat[Math.min(lat.length - 1, Math.floor(lat.length * 0.99))];
    console.log(
      `flood: ${sent} packets sent in ${secs} s (target ${FLOOD_PPS}/s), ${samples} samples reached the controller (meter ${DENY_PPS}/s); API p50 ${lat[lat.length >> 1].toFixed(1)} ms, p99 ${p99.toFixed(1)} ms over ${lat.length} requests`,
    );
    expect(sent).toBeGreaterThan(20 * samples);
    expect(samples).toBeLessThanOrEqual(DENY_PPS * (secs + 2) + 200);
    expect(samples).toBeGreaterThan(0);
    expect(p99).toBeLessThan(100);
    expect(during).toEqual([true]);
    const entry = (await get('/api/v1/denials?user=carol&dst=10.0.2.2')).denials.filter((d: any) => d.proto === 'udp');
    expect(entry.length).toBe(1);
    expect(entry[0].service).toBe('udp/9999');
  }, 90_000);
});
