/**
 * Reconciliation and switch sessions against an in-memory OpenFlow switch (no OVS needed): exact plan on connect,
 * zero flow mods when in sync, repair, foreign flows left alone, bundle vs ordered fallback, errors tied to flow mods,
 * unknown switches held, and misbehaving peers dropped without stalling others.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createConnection } from 'node:net';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Controller, type ControllerEvent } from '../../controller/controller.js';
import { diffFlows, flowKey } from '../../controller/reconcile.js';
import { entryKey, packetInMessage } from './fake-switch.js';
import { encode, encodeMany } from '../../openflow/index.js';
import type { PlannedFlow } from '../../compiler/model.js';
import { copyExample as copyExampleDir, waitFor } from '../helpers/tmp.js';
import { FakeSwitch } from './fake-switch.js';

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

const ours = (sw: FakeSwitch) => [...sw.flows.values()].filter((f) => f.cookie >> 48n === 0x5ac1n);
const keysOf = (fs: ReadonlyArray<{ tableId: number; priority: number; match: PlannedFlow['match'] }>) => fs.map(entryKey).sort();

describe('diffFlows', () => {
  const f = (o: Partial<PlannedFlow>): PlannedFlow => ({
    tableId: 0,
    priority: 10,
    cookie: 0x5ac1000000000001n,
    match: [],
    instructions: [],
    origin: 't',
    ...o,
  });
  it('matches flows regardless of match field order and full-mask spelling; compares actions and cookie', () => {
    const want = [
      f({
        match: [
          { field: 'eth_type', value: 0x800 },
          { field: 'ipv4_src', value: '10.0.0.1' },
        ],
        instructions: [{ type: 'goto_table', tableId: 1 }],
      }),
      f({ priority: 20, instructions: [] }),
      f({ priority: 30, instructions: [{ type: 'goto_table', tableId: 2 }] }),
    ];
    const have = [
      {
        ...want[0],
        match: [
          { field: 'ipv4_src' as const, value: '10.0.0.1', mask: '255.255.255.255' },
          { field: 'eth_type' as const, value: 0x800 },
        ],
      },
      { ...want[1], cookie: 0x5ac1000000000099n }, // same flow, other cookie → re-added
      f({ priority: 40 }), // not wanted
    ];
    const d = diffFlows(want, have);
    expect(d.unchanged).toBe(1);
    expect(d.change.map((x) => x.priority)).toEqual([20]);
    expect(d.add.map((x) => x.priority)).toEqual([30]);
    expect(d.remove.map((x) => x.priority)).toEqual([40]);
  });

  it('a full mask spelled by the switch is no mask, for every kind of field (ports, MACs, metadata); a partial one is not', () => {
    const want = [
      f({
        priority: 50,
        match: [
          { field: 'eth_type', value: 0x800 },
          { field: 'ip_proto', value: 6 },
          { field: 'tcp_dst', value: 443 },
        ],
      }),
      f({ priority: 51, match: [{ field: 'eth_src', value: '02:00:00:00:00:0a' }] }),
      f({ priority: 52, match: [{ field: 'metadata', value: 5n }] }),
      f({
        priority: 53,
        match: [
          { field: 'eth_type', value: 0x800 },
          { field: 'ip_proto', value: 6 },
          { field: 'tcp_dst', value: 1024, mask: 0xfc00 },
        ],
      }),
    ];
    const have = [
      {
        ...want[0],
        match: [
          { field: 'tcp_dst' as const, value: 443, mask: 0xffff },
          { field: 'ip_proto' as const, value: 6 },
          { field: 'eth_type' as const, value: 0x800 },
        ],
      },
      { ...want[1], match: [{ field: 'eth_src' as const, value: '02:00:00:00:00:0A', mask: 'ff:ff:ff:ff:ff:ff' }] },
      { ...want[2], match: [{ field: 'metadata' as const, value: 5n, mask: 0xffffffffffffffffn }] },
      {
        ...want[3],
        match: [
          { field: 'eth_type' as const, value: 0x800 },
          { field: 'ip_proto' as const, value: 6 },
          { field: 'tcp_dst' as const, value: 1024, mask: 0xff00 },
        ],
      },
    ];
    const d = diffFlows(want, have);
    expect(d.unchanged).toBe(3);
    expect(d.add.map((x) => x.priority)).toEqual([53]);
    expect(d.remove.map((x) => x.priority)).toEqual([53]);
    // the in-memory switch's own key agrees (it is written independently)
    for (let i = 0; i < 3; i++) expect(entryKey(have[i])).toBe(entryKey(want[i]));
    expect(entryKey(have[3])).not.toBe(entryKey(want[3]));
    expect(flowKey(have[0])).toBe(flowKey(want[0]));
  });
});

describe('controller sessions against an in-memory switch', () => {
  let dir: string;
  let ctl: Controller;
  let port: number;
  const switches: FakeSwitch[] = [];
  const events: ControllerEvent[] = [];
  const start = async (opts: Partial<ConstructorParameters<typeof Controller>[0]> = {}) => {
    ctl = new Controller({
      policyPath: join(dir, 'policy.yaml'),
      listen: { host: '127.0.0.1', port: 0 },
      session: { handshakeTimeoutMs: 500, echoIntervalMs: 200, deadAfterMs: 600 },
      ...opts,
    });
    ctl.on('event', (e: ControllerEvent) => events.push(e));
    ({ port } = await ctl.start());
  };
  const sw = async (dpid: number, o: Partial<ConstructorParameters<typeof FakeSwitch>[0]> = {}) => {
    const s = new FakeSwitch({ dpid: BigInt(dpid), ...o });
    switches.push(s);
    await s.connect(port);
    return s;
  };
  const planOf = (dpid: number) => ctl.compiled.plan.switches.find((p) => p.dpid === BigInt(dpid))!;
  const synced = (dpid: number) =>
    waitFor(
      `switch ${dpid} synced`,
      () => events.filter((e) => e.type === 'switch-synced' && e.dpid === `0x${dpid.toString(16).padStart(16, '0')}`).length,
    );

  beforeEach(() => {
    dir = example('basic');
    events.length = 0;
  });
  afterEach(async () => {
    for (const s of switches.splice(0)) s.close();
    await ctl?.stop();
  });

  it('installs exactly the plan in one atomic bundle, then sends nothing when already in sync', async () => {
    await start();
    const s = await sw(1);
    await synced(1);
    expect(keysOf(ours(s))).toEqual(keysOf(planOf(1).flows));
    expect(s.received.some((m) => m.type === 'bundle_control' && m.ctrlType === 'commit_request')).toBe(true);
    expect(s.received.some((m) => m.type === 'meter_mod' && m.meterId === 1)).toBe(true);
    const st = ctl.switchStatus().find((x) => x.name === 'edge1')!;
    expect(st).toMatchObject({
      connected: true,
      known: true,
      flowsDesired: planOf(1).flows.length,
      flowsInstalled: planOf(1).flows.length,
    });
    expect(st.lastResult?.atomic).toBe(true);
    const before = s.applied.length;
    const r = await ctl.sync('0x0000000000000001');
    expect(r).toMatchObject({ added: 0, removed: 0, changed: 0, unchanged: planOf(1).flows.length });
    expect(s.applied.length).toBe(before);
  });

  it('periodic read-backs are quiet when nothing changed, and repair (with an event) when something did', async () => {
    await start({ auditIntervalMs: 100 });
    const s = await sw(1);
    await synced(1);
    const reads = () => s.received.filter((m) => m.type === 'multipart_request' && m.body.kind === 'flow').length;
    const r0 = reads();
    await waitFor('a few audits', () => reads() >= r0 + 3);
    expect(events.filter((e) => e.type === 'switch-synced')).toHaveLength(1);
    s.flows.delete(entryKey(ours(s)[0]));
    await waitFor('repaired by the audit', () => events.filter((e) => e.type === 'switch-synced').length === 2);
    expect(events.filter((e) => e.type === 'switch-synced')[1]).toMatchObject({ added: 1, removed: 0 });
    expect(keysOf(ours(s))).toEqual(keysOf(planOf(1).flows));
  });

  it('repairs a deleted flow and a stray flow in our cookie space; leaves foreign flows alone', async () => {
    await start();
    const s = await sw(1);
    await synced(1);
    const victim = ours(s)[5];
    s.flows.delete(entryKey(victim));
    s.addForeign({ tableId: 0, priority: 7, cookie: 0x1234n, match: [], instructions: [] });
    s.addForeign({ tableId: 1, priority: 7, cookie: 0x5ac1000000ffffffn, match: [], instructions: [] });
    const r = await ctl.sync('0x0000000000000001');
    expect(r).toMatchObject({ added: 1, removed: 1, changed: 0 });
    expect(keysOf(ours(s))).toEqual(keysOf(planOf(1).flows));
    expect([...s.flows.values()].some((f) => f.cookie === 0x1234n)).toBe(true);
  });

  it('on a switch marked exclusive, flows that are not ours are removed too', async () => {
    await start({ exclusiveSwitches: ['edge1'] });
    const s = new FakeSwitch({ dpid: 1n });
    s.addForeign({ tableId: 0, priority: 7, cookie: 0x1234n, match: [], instructions: [] });
    switches.push(s);
    await s.connect(port);
    await synced(1);
    expect([...s.flows.values()].some((f) => f.cookie === 0x1234n)).toBe(false);
    expect(keysOf([...s.flows.values()])).toEqual(keysOf(planOf(1).flows));
  });

  it('without bundles, orders a policy change so nothing is loosened before it is tightened', async () => {
    await start({ useBundles: true });
    const s = await sw(16, { noBundles: true });
    await synced(16);
    expect(keysOf(ours(s))).toEqual(keysOf(planOf(16).flows));
    expect(ctl.switchStatus().find((x) => x.name === 'hv1')!.lastResult?.atomic).toBe(false);
    s.applied.length = 0;
    const ctlPermits = new Set(
      ours(s)
        .filter((f) => f.instructions.length)
        .map(entryKey),
    );
    const text = readFileSync(join(dir, 'policy.yaml'), 'utf8').replace(/ {2}- \{ name: staff-intranet.*\n/, '');
    const res = await ctl.applyPolicy(text, { by: 'test' });
    expect(res.ok).toBe(true);
    expect(keysOf(ours(s))).toEqual(keysOf(planOf(16).flows));
    // steps: drops added → permits deleted → permits added → drops deleted
    const step = (m: (typeof s.applied)[number]) =>
      m.command === 'add' ? (m.instructions.length ? 3 : 1) : ctlPermits.has(entryKey(m)) ? 2 : 4;
    const steps = s.applied.map(step);
    expect(steps.length).toBeGreaterThan(0);
    expect(steps).toContain(2);
    expect([...steps].sort((a, b) => a - b)).toEqual(steps);
  });

  it('ties a switch error to the flow mod that caused it', async () => {
    await start({ useBundles: false });
    const s = await sw(2, {
      refuse: (fm) => fm.command === 'add' && fm.priority === planOf(2).flows[0].priority && fm.tableId === planOf(2).flows[0].tableId,
    });
    await synced(2);
    const st = ctl.switchStatus().find((x) => x.name === 'core')!;
    const f0 = planOf(2).flows[0];
    expect(st.errors.join('\n')).toContain(
      `OFPET_FLOW_MOD_FAILED/OFPFMFC_EPERM for add table=${f0.tableId} priority=${f0.priority} cookie=0x${f0.cookie.toString(16)} (${f0.origin})`,
    );
    expect(st.errors.join('\n')).toMatch(/flows missing/);
    void s;
  });

  it('a bundle the switch refuses to commit applies nothing and is reported', async () => {
    await start();
    const s = await sw(2, { refuse: (fm) => fm.priority === planOf(2).flows[0].priority });
    await synced(2);
    expect(ours(s)).toHaveLength(0);
    expect(
      ctl
        .switchStatus()
        .find((x) => x.name === 'core')!
        .errors.join('\n'),
    ).toMatch(/bundle failed, nothing applied/);
  });

  it('holds an unknown switch fail-closed: nothing of ours stays installed, foreign flows untouched, reported', async () => {
    await start();
    const s = new FakeSwitch({ dpid: 0xeen });
    s.addForeign({ tableId: 0, priority: 7, cookie: 0x1234n, match: [], instructions: [] });
    s.addForeign({ tableId: 0, priority: 9, cookie: 0x5ac1000000000042n, match: [], instructions: [{ type: 'goto_table', tableId: 1 }] }); // stale permit of ours
    switches.push(s);
    await s.connect(port);
    await waitFor('unknown switch', () => events.find((e) => e.type === 'unknown-switch'));
    await synced(0xee);
    expect(
      s.received.filter(
        (m) =>
          (m.type === 'flow_mod' && m.command === 'add') ||
          (m.type === 'bundle_add' && m.message.type === 'flow_mod' && m.message.command === 'add'),
      ),
    ).toHaveLength(0);
    expect([...s.flows.values()].map((f) => f.cookie)).toEqual([0x1234n]);
    expect(ctl.switchStatus().find((x) => !x.known)).toMatchObject({ dpid: '0x00000000000000ee', connected: true });
  });

  it('drops garbage, lying lengths, half-open and silent peers; a packet-in flood is bounded; other switches keep working', async () => {
    await start();
    const good = await sw(1);
    await synced(1);
    const closed = (bytes: Buffer | undefined) =>
      new Promise<number>((resolve) => {
        const t0 = Date.now();
        const c = createConnection(port, '127.0.0.1', () => {
          if (bytes) c.write(bytes);
        });
        c.on('data', () => undefined);
        c.on('close', () => resolve(Date.now() - t0));
        c.on('error', () => undefined);
        setTimeout(() => {
          c.destroy();
          resolve(-1);
        }, 4000);
      });
    const hello = encode({ type: 'hello', xid: 1, versions: [4] });
    const lying = Buffer.from(hello);
    lying.writeUInt16BE(4, 2); // length shorter than a header
    const results = await Promise.all([
      closed(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')),
      closed(lying),
      closed(Buffer.concat([hello, Buffer.from('04ff0010000000020000000000000000', 'hex')])), // unknown type is skipped, then no handshake
      closed(undefined), // half-open: connects, says nothing
    ]);
    for (const ms of results) expect(ms).toBeGreaterThanOrEqual(0);
    // a switch that stops answering echoes is dropped as dead
    const silent = await sw(2, { silent: true });
    await synced(2);
    expect(silent.closed).toBe(false);
    await waitFor(
      'dead peer dropped',
      () => events.find((e) => e.type === 'switch-down' && e.dpid === '0x0000000000000002' && /dead peer/.test(String(e.reason))),
      4000,
    );
    // packet-in flood from one switch: batches of 2,000, the next sent as soon as the controller has read all but two
    // of those sent (so the flood goes at the controller's own pace), until the good switch's sync is done; 250
    // batches (500,000 packet-ins) at most
    const flooder = await sw(16);
    await synced(16);
    const sess = ctl.sessions.get('0x0000000000000010')!;
    const pkt = Buffer.alloc(60);
    pkt.write('ffffffffffff02000000ffff0806', 'hex');
    const batch = encodeMany(Array.from({ length: 2000 }, (_, i) => packetInMessage(7, pkt, i, 0)));
    const MAX_BATCHES = 250;
    let sent = 0;
    let syncDone = false;
    const flooding = (async () => {
      while (!syncDone && sent < MAX_BATCHES && !flooder.closed) {
        if (sess.packetIns < (sent - 2) * 2000) await new Promise((r) => setImmediate(r));
        else {
          flooder.raw(batch);
          sent++;
        }
      }
    })();
    await waitFor('flood arriving', () => sess.packetIns > 0);
    // meanwhile the good switch is reconciled: its sync completes while the flood is still going (the flooder has not
    // run out of batches), not only once it stops. Both advance by turns of the same event loop (about 20,000 packet-ins
    // are read per turn, a sync takes a few), so this does not depend on the CPU's speed or load
    const r = await ctl.sync('0x0000000000000001');
    syncDone = true;
    const sentAtSync = sent;
    await flooding;
    expect(r?.errors).toEqual([]);
    expect(sentAtSync).toBeLessThan(MAX_BATCHES);
    await waitFor('flood received', () => sess.packetIns >= sent * 2000);
    expect(sess.packetInsDropped).toBeGreaterThan(0);
    expect(ctl.sessions.has('0x0000000000000001')).toBe(true);
    expect(good.closed).toBe(false);
  });

  it('learns a directory device seen on an edge port and recompiles; a known device on the wrong port stays denied', async () => {
    const d =
      readFileSync(join(dir, 'directory.yaml'), 'utf8') +
      '  - { id: dave, name: Dave Diaz, organization: finance, roles: [employee], devices: [{ mac: "02:00:00:00:01:04", ip: 10.0.1.4 }] }\n';
    writeFileSync(join(dir, 'directory.yaml'), d);
    await start({ stateFile: join(dir, 'state.json') });
    const s = await sw(1);
    await synced(1);
    const n0 = planOf(1).flows.length;
    const frame = (mac: string, ip: string) => {
      const b = Buffer.alloc(42);
      b.write('ffffffffffff', 0, 'hex');
      b.write(mac.replace(/:/g, ''), 6, 'hex');
      b.writeUInt16BE(0x0806, 12);
      b.write('0001080006040001', 14, 'hex');
      b.write(mac.replace(/:/g, ''), 22, 'hex');
      ip.split('.').forEach((o, i) => b.writeUInt8(Number(o), 28 + i));
      return b;
    };
    s.send({
      type: 'packet_in',
      xid: 0,
      bufferId: 0xffffffff,
      totalLen: 42,
      reason: 0,
      tableId: 0,
      cookie: 0n,
      match: [{ field: 'in_port', value: 5 }],
      data: frame('02:00:00:00:01:04', '10.0.1.4'),
    });
    await waitFor('binding learned', () => events.find((e) => e.type === 'binding-learned' && e.mac === '02:00:00:00:01:04'));
    await waitFor(
      'edge1 re-synced with dave',
      () => planOf(1).flows.length > n0 && keysOf(ours(s)).join() === keysOf(planOf(1).flows).join(),
    );
    expect(JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')).bindings).toEqual([
      expect.objectContaining({ mac: '02:00:00:00:01:04', switch: 'edge1', port: 5 }),
    ]);
    // alice's laptop is statically bound to edge1:1; seen on port 6 it is reported and nothing changes
    const flows = keysOf(planOf(1).flows).join();
    s.send({
      type: 'packet_in',
      xid: 0,
      bufferId: 0xffffffff,
      totalLen: 42,
      reason: 0,
      tableId: 0,
      cookie: 0n,
      match: [{ field: 'in_port', value: 6 }],
      data: frame('02:00:00:00:01:01', '10.0.1.1'),
    });
    await waitFor('wrong port reported', () => events.find((e) => e.type === 'device-wrong-port' && e.mac === '02:00:00:00:01:01'));
    expect(keysOf(planOf(1).flows).join()).toBe(flows);
    expect(ctl.alerts.some((a) => a.type === 'device-wrong-port')).toBe(true);
  });

  it("answers the switch's echo requests and tracks port status", async () => {
    await start();
    const s = await sw(1);
    await synced(1);
    s.send({ type: 'echo_request', xid: 4242, data: Buffer.from('ping') });
    await waitFor('echo reply', () => s.received.find((m) => m.type === 'echo_reply' && m.xid === 4242));
    const sess = ctl.sessions.get('0x0000000000000001')!;
    expect(sess.ports.size).toBe(3);
    const desc = {
      portNo: 9,
      hwAddr: '02:00:00:00:00:09',
      name: 'p9',
      config: 0,
      state: 0,
      curr: 0,
      advertised: 0,
      supported: 0,
      peer: 0,
      currSpeed: 0,
      maxSpeed: 0,
    };
    s.send({ type: 'port_status', xid: 0, reason: 'add', desc });
    await waitFor('port added', () => sess.ports.has(9));
    s.send({ type: 'port_status', xid: 0, reason: 'delete', desc });
    await waitFor('port deleted', () => !sess.ports.has(9));
    expect(events.filter((e) => e.type === 'port-status').map((e) => e.reason)).toEqual(['add', 'delete']);
  });

  it('a directory change recompiles and re-syncs: a removed user loses access and their flows go', async () => {
    await start();
    const s = await sw(1);
    await synced(1);
    const before = keysOf(ours(s));
    const dirNow = ctl.compiled.input.directory;
    const access = await ctl.setDirectory({ ...dirNow, users: dirNow.users.filter((u) => u.id !== 'alice') }, 'test');
    expect(access.length).toBeGreaterThan(0);
    expect(access.every((a) => a.subject === 'alice' && a.change === 'lose')).toBe(true);
    expect(keysOf(ours(s))).toEqual(keysOf(planOf(1).flows));
    expect(keysOf(ours(s))).not.toEqual(before);
    expect(events.find((e) => e.type === 'directory-synced')).toMatchObject({ reason: 'test', users: 2 });
  });

  it('a hello from a newer switch without a version bitmap negotiates OpenFlow 1.3', async () => {
    await start();
    const c = createConnection(port, '127.0.0.1', () => c.write(Buffer.from('0500000800000001', 'hex'))); // OF1.4 header, no bitmap
    let got = Buffer.alloc(0);
    c.on('data', (d) => {
      got = Buffer.concat([got, d]);
    });
    const types = () => {
      const t: number[] = [];
      for (let o = 0; o + 8 <= got.length; o += got.readUInt16BE(o + 2)) {
        t.push(got[o + 1]);
        if (got.readUInt16BE(o + 2) < 8) break;
      }
      return t;
    };
    await waitFor('features request', () => types().includes(5) /* OFPT_FEATURES_REQUEST */);
    expect(types()[0]).toBe(0); // our hello first
    c.destroy();
  });

  it('a switch offering only OpenFlow 1.0 gets a clear error', async () => {
    await start();
    const got = await new Promise<string>((resolve) => {
      const c = createConnection(port, '127.0.0.1', () => c.write(Buffer.from('0100000800000001', 'hex')));
      let b = Buffer.alloc(0);
      c.on('data', (d) => {
        b = Buffer.concat([b, d]);
      });
      c.on('close', () => resolve(b.toString('latin1')));
    });
    expect(got).toContain('OpenFlow 1.3 required');
  });
});
