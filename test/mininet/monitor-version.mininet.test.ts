/**
 * A whole policy version in monitor mode on real packets (Mininet, root, Open vSwitch, the real controller and its
 * API): the basic example runs; a candidate that narrows the intranet to managers is put in monitor mode
 * (POST /api/v1/policy/monitor). bob's real connection to web1 still passes and is logged as "would deny" naming the
 * candidate, with user, switch:port, resource and service; alice's (the candidate keeps it) is not logged; promoting
 * the candidate (one apply) denies bob's connection. Switch names carry this test's prefix (m4*), OpenFlow and API
 * ports come from its range (26400-26499).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Controller } from '../../controller/controller.js';
import type { Denial } from '../../controller/api/contract.js';
import { startObservingController } from '../helpers/observing-controller.js';
import { TABLE } from '../../compiler/pipeline.js';
import { ensureOvs } from '../helpers/ovs.js';
import { waitFor } from '../helpers/tmp.js';
import { haveMininet, type MininetLab } from './harness.js';
import { basicWithSwitches, startLab } from './basic-lab.js';
import { describeWith } from '../helpers/needs.js';

const OF_PORT = 26400;
const API_PORT = 26401;
const ADMIN = 'm4-admin-token-0123456789abcdef';
const WEB1 = '10.0.2.2';

describeWith({ 'Mininet (root)': haveMininet() }, 'a policy version in monitor mode on real packets (Mininet)', () => {
  let ctl: Controller;
  let app: FastifyInstance;
  let lab: MininetLab;
  let dir: string;
  let v1: string;
  const api = `http://127.0.0.1:${API_PORT}`;
  const auth = { authorization: `Bearer ${ADMIN}` };
  const get = async (path: string) => {
    const r = await fetch(api + path, { headers: auth });
    expect(r.status, path).toBe(200);
    return r.json();
  };
  const wouldDeny = async () => (await get('/api/v1/denials?kind=would-deny')).denials as Denial[];

  beforeAll(async () => {
    ensureOvs();
    dir = basicWithSwitches('m4', [1041, 1042, 1043]);
    v1 = readFileSync(join(dir, 'policy.yaml'), 'utf8');
    ({ ctl, app } = await startObservingController(
      dir,
      { of: OF_PORT, api: API_PORT },
      { adminToken: ADMIN, auditLog: join(dir, 'audit.jsonl') },
    ));
    lab = await startLab(ctl, OF_PORT);
  }, 240_000);

  afterAll(async () => {
    await lab?.stop();
    await app?.close();
    await ctl?.stop();
  }, 60_000);

  let name = '';
  it('in monitor mode the candidate lets real traffic through and logs what it would deny, naming itself', async () => {
    // before: bob and alice both reach web1 on tcp/80 (v1: every employee reaches the intranet)
    expect(await lab.probe([{ from: 'bob', to: 'web1', service: 'tcp/80' }])).toEqual([true]);
    const candidate = v1.replace('from: { roles: [employee] }, to: intranet', 'from: { roles: [manager] }, to: intranet');
    expect(candidate).not.toBe(v1);
    const r = await fetch(api + '/api/v1/policy/monitor', {
      method: 'POST',
      headers: { ...auth, 'content-type': 'text/yaml' },
      body: candidate,
    });
    const body = (await r.json()) as { monitor: { name: string } };
    expect(r.status, JSON.stringify(body)).toBe(200);
    name = body.monitor.name;
    expect(ctl.version).toBe(1);
    // the sampling path is on the real switch: new connections are copied to table 4, table 4 goes to the controller
    await waitFor('monitor flows on m4edge', () =>
      /CONTROLLER/.test(
        execFileSync('ovs-ofctl', ['-O', 'OpenFlow13', 'dump-flows', 'm4edge', `table=${TABLE.monitor}`], { encoding: 'utf8' }),
      ),
    );
    expect(await wouldDeny()).toEqual([]);
    // bob would lose the intranet: his real connection still passes, and is logged as would-deny
    expect(await lab.probe([{ from: 'bob', to: 'web1', service: 'tcp/80' }])).toEqual([true]);
    const entry = await waitFor('would-deny entry for bob', async () =>
      (await wouldDeny()).find((d) => d.user === 'bob' && d.service === 'tcp/80'),
    );
    expect(entry).toMatchObject({
      kind: 'would-deny',
      user: 'bob',
      switch: 'm4edge',
      port: 2,
      dst: WEB1,
      service: 'tcp/80',
      rule: 'default',
      monitor: name,
    });
    expect(entry.resources).toContain('intranet');
    expect(entry.reason).toContain(name);
    // alice (a manager) keeps it under the candidate: her connection passes and is not logged
    expect(await lab.probe([{ from: 'alice', to: 'web1', service: 'tcp/80' }])).toEqual([true]);
    await new Promise((res) => setTimeout(res, 1500));
    expect((await wouldDeny()).filter((d) => d.user !== 'bob')).toEqual([]);
    // and nothing of bob's was really denied
    expect(
      ((await get(`/api/v1/denials?kind=deny&user=bob&dst=${WEB1}`)).denials as Denial[]).filter((d) => d.service === 'tcp/80'),
    ).toEqual([]);
    const status = await get('/api/v1/policy/monitor');
    expect(status).toMatchObject({ active: true, monitor: { name } });
    expect(status.wouldCut).toContainEqual(expect.objectContaining({ user: 'bob', dst: WEB1 }));
  });

  it('promoting it (one apply) denies the connection for real; alice still passes; the audit log has both ends', async () => {
    const r = await fetch(api + '/api/v1/policy/monitor/promote', { method: 'POST', headers: auth });
    const body = (await r.json()) as { version: number; results: Array<{ errors: string[] }> };
    expect(r.status, JSON.stringify(body)).toBe(200);
    expect(body.version).toBe(2);
    expect(body.results.flatMap((x) => x.errors)).toEqual([]);
    expect(await lab.probe([{ from: 'bob', to: 'web1', service: 'tcp/80' }], 1)).toEqual([false]);
    expect(await lab.probe([{ from: 'alice', to: 'web1', service: 'tcp/80' }])).toEqual([true]);
    const denied = await waitFor('deny entry for bob', async () =>
      ((await get(`/api/v1/denials?kind=deny&user=bob&dst=${WEB1}`)).denials as Denial[]).find((d) => d.service === 'tcp/80'),
    );
    expect(denied).toMatchObject({ switch: 'm4edge', port: 2, rule: 'default' });
    const audit = readFileSync(join(dir, 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; name?: string; reason?: string });
    expect(audit.filter((e) => e.type.startsWith('policy-monitor')).map((e) => [e.type, e.name, e.reason])).toEqual([
      ['policy-monitor-started', name, undefined],
      ['policy-monitor-stopped', name, 'promoted'],
    ]);
  });
});
