/**
 * The edge hook: sessions in the controller's table become flows on the switch (through applyEdge + recompile +
 * reconcile), leave with the session, survive a restart through the state file, and end when their user leaves
 * the directory. In-memory switch (no OVS).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Controller } from '../../controller/controller.js';
import { copyExample, tempDir, waitFor } from '../helpers/tmp.js';
import { FakeSwitch } from './fake-switch.js';

const MAC = '02:00:00:00:0e:01';
const hasClassify = (sw: FakeSwitch, mac: string, port: number) =>
  [...sw.flows.values()].some(
    (f) =>
      f.tableId === 0 &&
      f.match.some((m) => m.field === 'eth_src' && m.value === mac) &&
      f.match.some((m) => m.field === 'in_port' && m.value === port),
  );

describe('edge hook', () => {
  const stops: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const s of stops.splice(0).reverse()) await s();
  });

  async function start(dir: string, stateFile?: string) {
    const ctl = new Controller({ policyPath: join(dir, 'policy.yaml'), listen: { host: '127.0.0.1', port: 0 }, stateFile });
    const { port } = await ctl.start();
    const sw = new FakeSwitch({ dpid: 1n });
    await sw.connect(port);
    stops.push(
      () => sw.close(),
      () => ctl.stop(),
    );
    await waitFor('edge1 synced', () => ctl.switchStatus().find((s) => s.name === 'edge1')?.lastResult);
    return { ctl, sw };
  }

  it('a session admits its MAC on its port (flows confirmed when settled), and its end removes them', async () => {
    const { ctl, sw } = await start(copyExample('basic'));
    const events: string[] = [];
    ctl.on('event', (e) => {
      if (String(e.type).startsWith('session-')) events.push(e.type);
    });
    expect(hasClassify(sw, MAC, 5)).toBe(false);
    const r = ctl.edge.sessions.add({ mac: MAC, switch: 'edge1', port: 5, method: 'dot1x', user: 'bob', ip: '10.0.1.50' });
    if (!r.ok) throw new Error(r.message);
    await ctl.edge.settled();
    expect(hasClassify(sw, MAC, 5)).toBe(true);
    expect(ctl.compiled.subjectById.get('bob')!.endpoints.some((e) => e.mac === MAC && e.port === 5)).toBe(true);
    ctl.edge.sessions.remove(r.session.id, 'logoff');
    await ctl.edge.settled();
    expect(hasClassify(sw, MAC, 5)).toBe(false);
    expect(events).toEqual(['session-started', 'session-ended']);
  });

  it('many sessions arriving together are compiled once per batch', async () => {
    const { ctl, sw } = await start(copyExample('basic'));
    const runs0 = ctl.edge.runs;
    for (let i = 0; i < 50; i++)
      ctl.edge.sessions.add({
        mac: `02:00:00:00:0f:${i.toString(16).padStart(2, '0')}`,
        switch: 'edge1',
        port: 10 + i,
        method: 'dot1x',
        user: 'bob',
        ip: `10.0.3.${i + 1}`,
      });
    await ctl.edge.settled();
    expect(ctl.edge.runs - runs0).toBeLessThanOrEqual(2);
    for (let i = 0; i < 50; i++) expect(hasClassify(sw, `02:00:00:00:0f:${i.toString(16).padStart(2, '0')}`, 10 + i)).toBe(true);
  });

  it('sessions survive a restart through the state file: the new controller installs the same flows without a login', async () => {
    const dir = copyExample('basic');
    const state = join(tempDir('acl-edge-state-'), 'state.json');
    {
      const { ctl } = await start(dir, state);
      ctl.edge.sessions.add({ mac: MAC, switch: 'edge1', port: 5, method: 'dot1x', user: 'bob', ip: '10.0.1.50' });
      await ctl.edge.settled();
      await ctl.saveState();
      for (const s of stops.splice(0).reverse()) await s();
    }
    const { ctl, sw } = await start(dir, state);
    expect(ctl.edge.sessions.byMac(MAC)?.user).toBe('bob');
    expect(hasClassify(sw, MAC, 5)).toBe(true);
  });

  it('a user leaving the directory ends their sessions and their flows', async () => {
    const { ctl, sw } = await start(copyExample('basic'));
    ctl.edge.sessions.add({ mac: MAC, switch: 'edge1', port: 5, method: 'dot1x', user: 'bob', ip: '10.0.1.50' });
    await ctl.edge.settled();
    const ended: unknown[] = [];
    ctl.on('event', (e) => {
      if (e.type === 'session-ended') ended.push(e.reason);
    });
    await ctl.setDirectory({ ...ctl.directory, users: ctl.directory.users.filter((u) => u.id !== 'bob') });
    await ctl.edge.settled();
    expect(hasClassify(sw, MAC, 5)).toBe(false);
    expect(ctl.edge.sessions.size).toBe(0);
    expect(ended).toEqual(['user-removed']);
  });
});
