/**
 * Time windows on real packets (needs root, Open vSwitch, Debian mininet): one Mininet switch (ckws1) connects to
 * the controller running in this process with an injected clock (ManualClock: the test sets the time instead of
 * sleeping until 08:00). A rule with `when: hours 08:00-18:30` lets alice reach the database only inside the window;
 * a rule with `until:` lets bob reach the web server until noon. A real TCP connect fails before the window, succeeds
 * once the clock reaches its start (the scheduler's apply, no other trigger), and fails again after its end; bob's
 * grant ends at its `until:`. Everything is removed by the driver (net.stop()); the controller is stopped.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Controller } from '../../controller/controller.js';
import { ManualClock } from '../../controller/scheduler.js';
import { dumpFlows, ensureOvs } from '../helpers/ovs.js';
import { tempDir, waitFor } from '../helpers/tmp.js';
import { describeWith } from '../helpers/needs.js';
import { MininetLab, haveMininet } from './harness.js';

const SW = 'ckws1';
const DPID = 0x6c01n;
const OF_PORT = 26650;
const H = {
  alice: { name: 'cka', mac: '02:6c:00:00:00:01', ip: '10.108.0.1', port: 1 },
  bob: { name: 'ckb', mac: '02:6c:00:00:00:02', ip: '10.108.0.2', port: 2 },
  web: { name: 'ckw', mac: '02:6c:00:00:00:10', ip: '10.108.2.10', port: 3 },
  db: { name: 'ckd', mac: '02:6c:00:00:00:11', ip: '10.108.2.11', port: 4 },
} as const;

const POLICY = `version: 1
directory: d.yaml
topology: t.yaml
resources:
  web: { hosts: [web], services: [tcp/443] }
  db: { hosts: [db], services: [tcp/5432] }
rules:
  - name: alice-db-office-hours
    from: { users: [alice] }
    to: db
    when: { days: [sun, mon, tue, wed, thu, fri, sat], hours: "08:00-18:30", timezone: UTC }
  - { name: bob-web-until-noon, from: { users: [bob] }, to: web, until: "2026-12-25T12:00:00Z" }
default: deny
`;
const DIRECTORY = `users:
  - { id: alice, name: Alice, roles: [staff], devices: [{ mac: "${H.alice.mac}", ip: ${H.alice.ip} }] }
  - { id: bob, name: Bob, roles: [staff], devices: [{ mac: "${H.bob.mac}", ip: ${H.bob.ip} }] }
`;
const TOPOLOGY = `switches: [{ name: ${SW}, dpid: 0x6c01, profile: ovs }]
hosts:
  - { mac: "${H.alice.mac}", switch: ${SW}, port: ${H.alice.port} }
  - { mac: "${H.bob.mac}", switch: ${SW}, port: ${H.bob.port} }
servers:
  - { name: web, switch: ${SW}, port: ${H.web.port}, mac: "${H.web.mac}", ip: ${H.web.ip} }
  - { name: db, switch: ${SW}, port: ${H.db.port}, mac: "${H.db.mac}", ip: ${H.db.ip} }
`;

const at = (hhmm: string) => Date.parse(`2026-12-25T${hhmm}:00Z`);

describeWith({ 'Mininet (root)': haveMininet() }, 'time windows on Mininet: a grant opens and closes on real packets', () => {
  const lab = new MininetLab();
  const clock = new ManualClock(at('07:59'));
  let ctl: Controller;
  const probes = [
    { from: 'alice', to: H.db.ip, service: 'tcp/5432' },
    { from: 'bob', to: H.web.ip, service: 'tcp/443' },
  ];
  const reach = async () => {
    const got = await lab.probe(probes, 2);
    return { aliceDb: got[0], bobWeb: got[1] };
  };
  /**
   * Lets the scheduler fire at `t` (its next event) and waits until it has armed the one after and the switch is in
   * sync; a boundary that changes access is a new version recorded "by schedule" (a refresh changes no access).
   */
  const step = async (t: number, boundary: boolean) => {
    const version = ctl.version;
    clock.set(t);
    await waitFor('the scheduler fired', () => (ctl.scheduler?.next ?? Infinity) > t, 20_000);
    if (boundary) {
      await waitFor('the boundary applied', () => ctl.version > version, 20_000);
      expect(ctl.lastChange?.by).toBe('schedule');
    } else expect(ctl.version).toBe(version);
    await waitFor('the switch in sync', () => {
      const st = ctl.switchStatus().find((s) => s.name === SW);
      return st?.connected && st.flowsInstalled === st.flowsDesired;
    });
  };
  /**
   * Moves the clock to the boundary `t`, through the scheduler's own events before it (the hard_timeout refresh
   * every 6 hours), and waits until the boundary's apply is confirmed on the switch.
   */
  const moveTo = async (t: number) => {
    for (let n = 0; n < 10 && ctl.scheduler!.next! < t; n++) await step(ctl.scheduler!.next!, false);
    expect(ctl.scheduler?.next).toBe(t);
    await step(t, true);
    // the manual clock jumps hours at once while the switch counts real seconds: the first read-back re-sends the
    // time-bound flows the jump left with too long a hard_timeout (as after a controller clock step); then nothing
    await ctl.syncAll();
    expect((await ctl.syncAll()).map((r) => r.added + r.removed + r.changed)).toEqual([0]);
  };

  beforeAll(async () => {
    ensureOvs();
    const dir = tempDir('ckmn-');
    writeFileSync(join(dir, 'p.yaml'), POLICY);
    writeFileSync(join(dir, 'd.yaml'), DIRECTORY);
    writeFileSync(join(dir, 't.yaml'), TOPOLOGY);
    ctl = new Controller({ policyPath: join(dir, 'p.yaml'), listen: { host: '127.0.0.1', port: OF_PORT }, auditIntervalMs: 0, clock });
    await ctl.start();
    await lab.startOneSwitch({
      controllerPort: OF_PORT,
      switch: SW,
      dpid: DPID,
      hosts: H,
      users: ['alice', 'bob'],
      listen: { tcp: [443, 5432], udp: [] },
    });
    await waitFor('the switch synced by the controller', () => ctl.switchStatus().some((s) => s.connected && s.lastSync), 60_000);
  }, 180_000);
  afterAll(async () => {
    await lab.stop();
    await ctl?.stop();
  }, 60_000);

  it('07:59, before the window: alice cannot reach the database; bob reaches the web server (until noon)', async () => {
    expect(await reach()).toEqual({ aliceDb: false, bobWeb: true });
  }, 60_000);

  it('08:00, the window opens: the scheduler applies it and alice connects', async () => {
    await moveTo(at('08:00'));
    expect(await reach()).toEqual({ aliceDb: true, bobWeb: true });
    // time-bound flows end at their grant's end, sent as the time left: bob's to noon (4 h), alice's to 18:30 (10.5 h)
    const ends = new Set(ctl.planFor(DPID)!.flows.flatMap((f) => (f.expiresAt ? [f.expiresAt] : [])));
    expect([...ends].sort((a, b) => a - b)).toEqual([at('12:00'), at('18:30')]);
    const timeouts = new Set(
      dumpFlows(SW).flatMap(
        (l) =>
          l
            .match(/hard_timeout=(\d+)/)
            ?.slice(1)
            .map(Number) ?? [],
      ),
    );
    expect([...timeouts].sort((a, b) => a - b)).toEqual([4 * 3600, 10.5 * 3600]);
  }, 60_000);

  it("12:00, bob's until: passes: bob is cut, alice keeps the database", async () => {
    await moveTo(at('12:00'));
    expect(await reach()).toEqual({ aliceDb: true, bobWeb: false });
  }, 60_000);

  it('18:30, the window closes: alice is cut again', async () => {
    await moveTo(at('18:30'));
    expect(await reach()).toEqual({ aliceDb: false, bobWeb: false });
  }, 60_000);
});
