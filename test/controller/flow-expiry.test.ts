/**
 * Time-bound flows leave the switch at their rule's end however long after the compile they are installed: the plan
 * holds the end as an instant and the controller sends the hard_timeout left at send time (an edge login, a switch
 * connecting later, a moved end), installs nothing whose end has passed, and compares expiry as absolute time on
 * read-back (no re-adds as time passes). Pure checks of controller/flow-expiry.ts and the reconciler's diff, then a
 * controller with a manual clock and in-memory switches that count each flow's age by the same clock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FlowStats } from '../../openflow/index.js';
import type { PlannedFlow } from '../../compiler/model.js';
import { Controller } from '../../controller/controller.js';
import { ManualClock } from '../../controller/scheduler.js';
import { diffFlows } from '../../controller/reconcile.js';
import { EARLY_TOLERANCE_MS, LATE_TOLERANCE_MS, assumedInstalled, expiryDiffers, leavesAt, onWire } from '../../controller/flow-expiry.js';
import { copyExample, waitFor } from '../helpers/tmp.js';
import { FakeSwitch } from './fake-switch.js';

const T = (s: string) => Date.parse(s);
const END = T('2026-12-25T12:00:00Z');
const flow = (expiresAt?: number): PlannedFlow => ({
  tableId: 2,
  priority: 100,
  cookie: 0x5ac1000000000001n,
  match: [{ field: 'metadata', value: 5n }],
  instructions: [{ type: 'goto_table', tableId: 3 }],
  origin: 'printers-db',
  ...(expiresAt !== undefined ? { expiresAt } : {}),
});
/** A flow as a switch reports it: added `ageMs` before the read, with the hard_timeout it was sent. */
const read = (f: PlannedFlow, hardTimeout: number, ageMs: number): FlowStats => ({
  ...f,
  hardTimeout,
  idleTimeout: 0,
  durationSec: Math.floor(ageMs / 1000),
  durationNsec: (ageMs % 1000) * 1e6,
  packetCount: 0n,
  byteCount: 0n,
  flags: {},
});

describe('time-bound flows on the wire and on read-back', () => {
  it('a flow is sent with the time left to its end at send time; not at all once the end has passed', () => {
    expect(onWire(flow(END), END - 3600_000)).toMatchObject({ hardTimeout: 3600 });
    expect(onWire(flow(END), END - 7200_000 - 1)).toMatchObject({ hardTimeout: 7201 }); // rounded up: never before the end
    expect(onWire(flow(END), END - 30 * 86400_000)).toMatchObject({ hardTimeout: 65535 });
    expect(onWire(flow(END), END)).toBeUndefined();
    expect(onWire(flow(), END)).toEqual(flow());
  });

  it('the switch drops a read flow at read time - its age + its hard_timeout', () => {
    expect(leavesAt(read(flow(END), 3600, 600_500), END - 3000_000)).toBe(END - 3000_000 - 600_500 + 3600_000);
    expect(leavesAt(read(flow(), 0, 5000), END)).toBeNull();
    expect(leavesAt(assumedInstalled(flow(END)), 0)).toBe(END);
    expect(leavesAt(assumedInstalled(flow()), 0)).toBeNull();
  });

  it('a flow leaving at its planned end is in sync whatever its age; later or earlier ends are sent again', () => {
    const now = END - 1800_000;
    // sent an hour before the end with 3600 s, read half an hour later: in sync
    expect(expiryDiffers(flow(END), read(flow(END), 3600, 1800_000), now)).toBe(false);
    // the same read with the hard_timeout counted from an older compile (two hours): it would outlive the grant
    expect(expiryDiffers(flow(END), read(flow(END), 7200, 1800_000), now)).toBe(true);
    expect(expiryDiffers(flow(END), read(flow(END), 3600, 1800_000 - LATE_TOLERANCE_MS + 1000), now)).toBe(false);
    // the end moved later (the switch would drop it early), beyond the tolerance for a slow read
    expect(expiryDiffers(flow(END + 3600_000), read(flow(END), 3600, 1800_000), now)).toBe(true);
    expect(expiryDiffers(flow(END + EARLY_TOLERANCE_MS / 2), read(flow(END), 3600, 1800_000), now)).toBe(false);
    // a timeout the plan does not want, or none where it wants one
    expect(expiryDiffers(flow(), read(flow(), 3600, 0), now)).toBe(true);
    expect(expiryDiffers(flow(END), read(flow(END), 0, 0), now)).toBe(true);
    expect(expiryDiffers(flow(), read(flow(), 0, 0), now)).toBe(false);
    // assumed flows (the plan last sent) are compared exactly
    expect(expiryDiffers(flow(END), assumedInstalled(flow(END)), now)).toBe(false);
    expect(expiryDiffers(flow(END + 1000), assumedInstalled(flow(END)), now)).toBe(true);
    expect(expiryDiffers(flow(END), assumedInstalled(flow()), now)).toBe(true);
  });

  it('a grant longer than 65,535 s stays capped until less than half of that is left on the switch', () => {
    const far = END + 30 * 86400_000;
    expect(expiryDiffers(flow(far), read(flow(far), 65535, 0), END)).toBe(false);
    expect(expiryDiffers(flow(far), read(flow(far), 65535, 30_000_000), END)).toBe(false);
    expect(expiryDiffers(flow(far), read(flow(far), 65535, 34_000_000), END)).toBe(true);
  });

  it('the diff leaves out flows whose end has passed, and removes them when the switch still holds them', () => {
    const f = flow(END);
    expect(diffFlows([f], [], END - 1).add).toEqual([f]);
    expect(diffFlows([f], [], END).add).toEqual([]);
    const d = diffFlows([f], [read(f, 60, 61_000)], END + 1000);
    expect([d.add.length, d.change.length, d.remove.length]).toEqual([0, 0, 1]);
    expect(diffFlows([f], [read(f, 3600, 0)], END - 3600_000)).toMatchObject({ add: [], change: [], unchanged: 1 });
  });
});

describe('a controller with a manual clock: flows installed after the compile', () => {
  const PORT = 26520;
  let ctl: Controller, clock: ManualClock, dir: string;
  const switches: FakeSwitch[] = [];
  const timed = (sw: FakeSwitch) => [...sw.flows.values()].filter((f) => f.hardTimeout > 0);
  const sent = (sw: FakeSwitch, from: number) => sw.applied.slice(from).filter((m) => m.hardTimeout > 0);
  const policy = (until: string) =>
    readFileSync(join(dir, 'policy.base'), 'utf8').replace(
      'default: deny',
      `  - { name: printers-db, from: { roles: [printers] }, to: payroll-db, until: ${until} }\ndefault: deny`,
    );
  async function connect(dpid: bigint, name: string): Promise<FakeSwitch> {
    const sw = new FakeSwitch({ dpid, now: () => clock.now() });
    switches.push(sw);
    await sw.connect(PORT);
    await waitFor(`${name} synced`, () => ctl.switchStatus().find((s) => s.name === name)?.lastResult);
    return sw;
  }
  let login = 0;
  const printer = async () => {
    const r = ctl.edge.sessions.add({
      mac: `02:00:00:00:0e:0${++login}`,
      switch: 'edge1',
      port: 10 + login,
      method: 'mab',
      deviceGroup: 'printers',
      ip: `10.0.1.${60 + login}`,
    });
    if (!r.ok) throw new Error(r.message);
    await ctl.edge.settled();
  };

  beforeAll(async () => {
    dir = copyExample('basic');
    const file = join(dir, 'policy.yaml');
    writeFileSync(join(dir, 'policy.base'), readFileSync(file, 'utf8'));
    writeFileSync(file, policy('2026-12-25T12:00:00Z'));
    const d = join(dir, 'directory.yaml');
    writeFileSync(d, `roles: [printers]\n${readFileSync(d, 'utf8')}`);
    clock = new ManualClock(T('2026-12-25T10:00:00Z')); // the plan is compiled at 10:00, two hours before the end
    ctl = new Controller({ policyPath: file, listen: { host: '127.0.0.1', port: PORT }, clock });
    await ctl.start();
  });
  afterAll(async () => {
    for (const sw of switches) sw.close();
    await ctl?.stop();
  });

  it('a printer logging in an hour after the compile gets the hour left, not two', async () => {
    const edge1 = await connect(1n, 'edge1');
    expect(timed(edge1)).toEqual([]); // nobody of the class yet
    clock.set(T('2026-12-25T11:00:00Z'));
    expect(ctl.compiled.input.at).toBe(T('2026-12-25T10:00:00Z')); // the plan has aged (no boundary in between)
    const n = edge1.applied.length;
    await printer();
    expect(sent(edge1, n).length).toBeGreaterThan(0);
    expect(sent(edge1, n).map((m) => m.hardTimeout)).toEqual(sent(edge1, n).map(() => 3600));
    expect(timed(edge1).every((f) => f.hardTimeout === 3600)).toBe(true);
  });

  it('a switch connecting half an hour later gets half an hour', async () => {
    clock.set(T('2026-12-25T11:30:00Z'));
    const hv1 = await connect(16n, 'hv1');
    expect(timed(hv1).length).toBeGreaterThan(0);
    expect(timed(hv1).every((f) => f.hardTimeout === 1800)).toBe(true);
  });

  it('read-backs as time passes send nothing: the switch reports each flow’s age', async () => {
    clock.set(T('2026-12-25T11:40:00Z'));
    const results = await ctl.syncAll();
    expect(results.length).toBe(2);
    expect(results.map((r) => r.added + r.changed + r.removed)).toEqual([0, 0]);
  });

  it('an end moved later or earlier is sent again with the time left to it', async () => {
    const [edge1, hv1] = switches;
    expect((await ctl.applyPolicy(policy('2026-12-25T13:00:00Z'), { by: 'test' })).ok).toBe(true);
    for (const sw of [edge1, hv1]) expect(new Set(timed(sw).map((f) => f.hardTimeout))).toEqual(new Set([80 * 60]));
    expect((await ctl.applyPolicy(policy('2026-12-25T11:50:00Z'), { by: 'test' })).ok).toBe(true);
    for (const sw of [edge1, hv1]) expect(new Set(timed(sw).map((f) => f.hardTimeout))).toEqual(new Set([10 * 60]));
    expect((await ctl.syncAll()).map((r) => r.added + r.changed + r.removed)).toEqual([0, 0]);
  });

  it('the switch drops them at the end by itself; past it, nothing timed is installed from the stale plan', async () => {
    const [edge1, hv1] = switches;
    ctl.scheduler!.stop(); // the boundary's recompile has not happened yet: the plan still holds the grant
    clock.set(T('2026-12-25T11:49:59Z'));
    expect(edge1.expire()).toBe(0);
    clock.set(T('2026-12-25T11:50:00Z'));
    const had = timed(edge1).length;
    expect(edge1.expire()).toBe(had);
    clock.set(T('2026-12-25T11:50:01Z'));
    expect(ctl.compiled.plan.switches.some((s) => s.flows.some((f) => f.expiresAt === T('2026-12-25T11:50:00Z')))).toBe(true);
    // hv1 still holds them (as a switch whose timer is late would): the read-back removes them, and adds nothing
    const hvTimed = timed(hv1).length;
    const results = await ctl.syncAll();
    expect(results.map((r) => r.added + r.changed)).toEqual([0, 0]);
    expect(results.map((r) => r.removed).sort()).toEqual([0, hvTimed].sort());
    expect(timed(hv1)).toEqual([]);
    // another printer logs in: its table-0 flows go out, no time-bound flow does
    const n = edge1.applied.length;
    await printer();
    expect(edge1.applied.length).toBeGreaterThan(n);
    expect(sent(edge1, n)).toEqual([]);
    // a switch that connects now gets none either
    const core = await connect(2n, 'core');
    expect(timed(core)).toEqual([]);
    expect(sent(hv1, 0).length).toBeGreaterThan(0);
  });
});

describe('a grant longer than 65,535 s: sent capped, re-armed by the 6-hourly wake-up once it runs low', () => {
  const PORT = 26521;
  let ctl: Controller, clock: ManualClock, sw: FakeSwitch;
  beforeAll(async () => {
    const dir = copyExample('basic');
    const file = join(dir, 'policy.yaml');
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace(
        'default: deny',
        '  - { name: bob-db, from: { users: [bob] }, to: payroll-db, until: 2027-01-31T00:00:00Z }\ndefault: deny',
      ),
    );
    clock = new ManualClock(T('2026-12-25T10:00:00Z'));
    ctl = new Controller({ policyPath: file, listen: { host: '127.0.0.1', port: PORT }, clock }); // no periodic read-back
    await ctl.start();
    sw = new FakeSwitch({ dpid: 1n, now: () => clock.now() });
    await sw.connect(PORT);
    await waitFor('edge1 synced', () => ctl.switchStatus().find((s) => s.name === 'edge1')?.lastResult);
  });
  afterAll(async () => {
    sw?.close();
    await ctl?.stop();
  });

  it('6 h later 43,935 s are left on the switch: nothing sent; 12 h later 22,335 s: sent again with 65,535 s', async () => {
    const timedSent = (from: number) => sw.applied.slice(from).filter((m) => m.hardTimeout > 0);
    expect(timedSent(0).length).toBeGreaterThan(0);
    expect(timedSent(0).every((m) => m.hardTimeout === 65535)).toBe(true);
    const n = sw.applied.length;
    const reads = () => sw.received.filter((m) => m.type === 'multipart_request').length;
    const r0 = reads();
    clock.set(T('2026-12-25T16:00:00Z'));
    await waitFor('the refresh read the switch back', () => reads() > r0 && ctl.scheduler?.next === T('2026-12-25T22:00:00Z'));
    expect(timedSent(n)).toEqual([]);
    clock.set(T('2026-12-25T22:00:00Z'));
    await waitFor('re-armed', () => timedSent(n).length > 0 && ctl.scheduler?.next === T('2026-12-26T04:00:00Z'));
    expect(timedSent(n).every((m) => m.hardTimeout === 65535)).toBe(true);
    expect(timedSent(n).length).toBe(timedSent(0).length - timedSent(n).length);
  });
});
