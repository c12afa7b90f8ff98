/**
 * ONF bundles (EXT-230 for OpenFlow 1.3) against a real Open vSwitch. Needs root and OVS (userspace datapath).
 * Creates bridge ofc-bndl and a private directory with a unix socket; deletes both afterwards.
 *
 *  - our codec opens, fills and commits bundles on the bridge's management socket: the flows appear only at commit,
 *    all of them; a bundle with one refused flow mod changes nothing and the errors decode to their names;
 *  - `ovs-ofctl --bundle add-flows` (the reference peer) talks to the bridge through a recording proxy: every message
 *    both sides send decodes, and re-encodes to the same bytes.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createConnection, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Framer, OFPP, decode, encode, flowMod, formatError, match, type MessageOf, type OfpMessage } from '../../openflow/index.js';
import { createBridge, deleteBridge, dumpFlows, ensureOvs, haveOvs } from '../helpers/ovs.js';
import { RecordingProxy } from './ovs-proxy.js';
import { describeWith } from '../helpers/needs.js';

const BR = 'ofc-bndl';
const MGMT = `/var/run/openvswitch/${BR}.mgmt`;
const canRun = haveOvs() && process.getuid?.() === 0;

/** A minimal OpenFlow client on a stream socket, built on the codec only. */
class Client {
  private framer = new Framer();
  private inbox: OfpMessage[] = [];
  private waiters: Array<() => void> = [];
  constructor(readonly sock: Socket) {
    sock.on('data', (d) => {
      for (const f of this.framer.push(d)) {
        const r = decode(f);
        if (!r.ok) throw new Error(`switch sent undecodable bytes ${f.toString('hex')}: ${r.error.message}`);
        if (r.message.type === 'echo_request') {
          this.send({ type: 'echo_reply', xid: r.message.xid, data: r.message.data });
          continue;
        }
        this.inbox.push(r.message);
      }
      for (const w of this.waiters.splice(0)) w();
    });
  }
  send(...msgs: OfpMessage[]): void {
    for (const m of msgs) this.sock.write(encode(m));
  }
  /** Waits (bounded) for the first message satisfying `pred`, removing it from the inbox. */
  async next<T extends OfpMessage>(pred: (m: OfpMessage) => m is T, ms = 5000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const i = this.inbox.findIndex(pred);
      if (i >= 0) return this.inbox.splice(i, 1)[0] as T;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; inbox: ${this.inbox.map((m) => m.type).join(', ')}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
  /** All messages received so far with the given xid (e.g. errors), removing them. */
  take(xid: number): OfpMessage[] {
    const out = this.inbox.filter((m) => m.xid === xid);
    this.inbox = this.inbox.filter((m) => m.xid !== xid);
    return out;
  }
}

const isType =
  <T extends OfpMessage['type']>(t: T, xid?: number) =>
  (m: OfpMessage): m is MessageOf<T> =>
    m.type === t && (xid === undefined || m.xid === xid);

async function connect(path: string): Promise<Client> {
  const sock = await new Promise<Socket>((resolve, reject) => {
    const s = createConnection(path, () => resolve(s));
    s.once('error', reject);
  });
  const c = new Client(sock);
  c.send({ type: 'hello', xid: 1, versions: [4] });
  const hello = await c.next(isType('hello'));
  expect(hello.versions).toContain(4);
  return c;
}

const aclFlow = (cookie: bigint, port: number) =>
  flowMod({
    cookie,
    tableId: 2,
    priority: 200,
    match: match(
      { field: 'metadata', value: 0x20001n, mask: 0xffffffffn },
      { field: 'eth_type', value: 0x0800 },
      { field: 'ip_proto', value: 6 },
      { field: 'ipv4_dst', value: '10.0.2.10' },
      { field: 'tcp_dst', value: port },
    ),
    instructions: [{ type: 'goto_table', tableId: 3 }],
  });
const ours = () => dumpFlows(BR).filter((l) => l.includes('cookie=0x5ac1'));

describeWith({ 'Open vSwitch (root)': !!canRun }, 'ONF bundles on a real Open vSwitch', () => {
  let client: Client;
  let dir = '';
  let proxy: RecordingProxy | undefined;

  beforeAll(async () => {
    ensureOvs();
    createBridge(BR);
    for (let i = 0; i < 50 && !(await import('node:fs')).existsSync(MGMT); i++) await new Promise((r) => setTimeout(r, 100));
    dir = mkdtempSync(join(tmpdir(), 'ofc-bndl-'));
    client = await connect(MGMT);
  });

  afterAll(async () => {
    client?.sock.destroy();
    await proxy?.stop();
    deleteBridge(BR);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('flows added to an atomic bundle appear only at commit, all together', async () => {
    client.send({ type: 'bundle_control', xid: 10, bundleId: 1, ctrlType: 'open_request', flags: { atomic: true } });
    expect(await client.next(isType('bundle_control', 10))).toMatchObject({ bundleId: 1, ctrlType: 'open_reply' });
    client.send(
      { type: 'bundle_add', xid: 11, bundleId: 1, flags: { atomic: true }, message: aclFlow(0x5ac1000000000001n, 5432) },
      { type: 'bundle_add', xid: 12, bundleId: 1, flags: { atomic: true }, message: aclFlow(0x5ac1000000000002n, 443) },
      {
        type: 'bundle_add',
        xid: 13,
        bundleId: 1,
        flags: { atomic: true },
        message: flowMod({
          cookie: 0x5ac1000000000003n,
          tableId: 3,
          priority: 0,
          instructions: [{ type: 'apply_actions', actions: [{ type: 'output', port: OFPP.NORMAL }] }],
        }),
      },
      { type: 'barrier_request', xid: 14 },
    );
    await client.next(isType('barrier_reply', 14));
    expect(client.take(11).concat(client.take(12), client.take(13))).toEqual([]); // no errors for the adds
    expect(ours()).toEqual([]); // nothing installed before the commit
    client.send({ type: 'bundle_control', xid: 15, bundleId: 1, ctrlType: 'commit_request', flags: { atomic: true } });
    expect(await client.next(isType('bundle_control', 15))).toMatchObject({ bundleId: 1, ctrlType: 'commit_reply' });
    const flows = ours();
    expect(flows).toHaveLength(3);
    expect(flows.join('\n')).toMatch(
      /cookie=0x5ac1000000000001, table=2, priority=200,tcp,metadata=0x20001\/0xffffffff,nw_dst=10\.0\.2\.10,tp_dst=5432 actions=goto_table:3/,
    );
    expect(flows.join('\n')).toMatch(/cookie=0x5ac1000000000002, table=2, priority=200,.*tp_dst=443 actions=goto_table:3/);
    expect(flows.join('\n')).toMatch(/cookie=0x5ac1000000000003, table=3, priority=0 actions=NORMAL/);
  });

  it('a flow mod refused when added is left out of the bundle at once (error at bundle_add time, before any commit)', async () => {
    // Open vSwitch checks each message when it is added: a refused one is not in the bundle, and a later commit
    // would still apply the rest. A controller must therefore barrier after its adds and discard on any error.
    const before = ours();
    client.send({ type: 'bundle_control', xid: 20, bundleId: 2, ctrlType: 'open_request', flags: { atomic: true } });
    await client.next(isType('bundle_control', 20));
    client.send(
      { type: 'bundle_add', xid: 21, bundleId: 2, flags: { atomic: true }, message: aclFlow(0x5ac1000000000004n, 22) },
      // goto_table must go forward: table 3 -> 1 is refused
      {
        type: 'bundle_add',
        xid: 22,
        bundleId: 2,
        flags: { atomic: true },
        message: flowMod({ cookie: 0x5ac1000000000005n, tableId: 3, instructions: [{ type: 'goto_table', tableId: 1 }] }),
      },
      // a match without its prerequisite (tcp_dst without ip_proto), built without match() on purpose
      {
        type: 'bundle_add',
        xid: 23,
        bundleId: 2,
        flags: { atomic: true },
        message: flowMod({ cookie: 0x5ac1000000000006n, tableId: 1, match: [{ field: 'tcp_dst', value: 80 }] }),
      },
      { type: 'barrier_request', xid: 24 },
    );
    await client.next(isType('barrier_reply', 24));
    const named = [21, 22, 23]
      .flatMap((x) => client.take(x))
      .filter(isType('error'))
      .map((e) => `${e.xid} ${formatError(e)}`);
    expect(named).toEqual(['22 OFPET_BAD_INSTRUCTION/OFPBIC_BAD_TABLE_ID', '23 OFPET_BAD_MATCH/OFPBMC_BAD_PREREQ']);
    client.send({ type: 'bundle_control', xid: 25, bundleId: 2, ctrlType: 'discard_request', flags: { atomic: true } });
    expect(await client.next(isType('bundle_control', 25))).toMatchObject({ ctrlType: 'discard_reply' });
    expect(ours()).toEqual(before);
  });

  it('a bundle whose commit fails is rolled back entirely; the commit error decodes to OFPBFC_MSG_FAILED', async () => {
    const before = ours();
    expect(before.length).toBe(3);
    client.send({ type: 'bundle_control', xid: 40, bundleId: 4, ctrlType: 'open_request', flags: { atomic: true } });
    await client.next(isType('bundle_control', 40));
    // same table and priority as the installed tcp/5432 flow, a wider match (any tcp port), with check_overlap:
    // the conflict exists only against the table as the commit finds it
    const overlapping = flowMod({
      cookie: 0x5ac1000000000009n,
      tableId: 2,
      priority: 200,
      flags: { checkOverlap: true },
      match: match(
        { field: 'metadata', value: 0x20001n, mask: 0xffffffffn },
        { field: 'eth_type', value: 0x0800 },
        { field: 'ip_proto', value: 6 },
      ),
      instructions: [{ type: 'goto_table', tableId: 3 }],
    });
    client.send(
      {
        type: 'bundle_add',
        xid: 41,
        bundleId: 4,
        flags: { atomic: true },
        message: flowMod({ command: 'delete', tableId: 0xff, cookie: 0x5ac1000000000003n, cookieMask: 0xffffffffffffffffn }),
      },
      { type: 'bundle_add', xid: 42, bundleId: 4, flags: { atomic: true }, message: aclFlow(0x5ac1000000000007n, 25) },
      { type: 'bundle_add', xid: 43, bundleId: 4, flags: { atomic: true }, message: overlapping },
      { type: 'barrier_request', xid: 44 },
    );
    await client.next(isType('barrier_reply', 44));
    expect([41, 42, 43].flatMap((x) => client.take(x))).toEqual([]); // all three accepted into the bundle
    client.send(
      { type: 'bundle_control', xid: 45, bundleId: 4, ctrlType: 'commit_request', flags: { atomic: true } },
      { type: 'barrier_request', xid: 46 },
    );
    await client.next(isType('barrier_reply', 46));
    const errors = [43, 45].flatMap((x) => client.take(x)).filter(isType('error'));
    expect(errors.map((e) => `${e.xid} ${formatError(e)}`)).toEqual([
      '43 OFPET_FLOW_MOD_FAILED/OFPFMFC_OVERLAP',
      '45 OFPET_EXPERIMENTER/OFPBFC_MSG_FAILED',
    ]);
    expect(errors[1]).toMatchObject({ errType: 0xffff, code: 2313, experimenter: 0x4f4e4600, codeName: 'OFPBFC_MSG_FAILED' });
    expect(ours()).toEqual(before); // neither the delete nor the good add happened
  });

  it('a discarded bundle changes nothing; a commit of an unknown bundle is refused with OFPBFC_BAD_ID', async () => {
    const before = ours();
    client.send({ type: 'bundle_control', xid: 30, bundleId: 3, ctrlType: 'open_request', flags: {} });
    await client.next(isType('bundle_control', 30));
    client.send({ type: 'bundle_add', xid: 31, bundleId: 3, flags: {}, message: aclFlow(0x5ac1000000000006n, 80) });
    client.send({ type: 'bundle_control', xid: 32, bundleId: 3, ctrlType: 'discard_request', flags: {} });
    expect(await client.next(isType('bundle_control', 32))).toMatchObject({ ctrlType: 'discard_reply', bundleId: 3 });
    expect(ours()).toEqual(before);
    client.send({ type: 'bundle_control', xid: 33, bundleId: 3, ctrlType: 'commit_request', flags: {} });
    const e = await client.next(isType('error', 33));
    expect(formatError(e)).toBe('OFPET_EXPERIMENTER/OFPBFC_BAD_ID');
    // the refused request comes back in the error data and decodes
    const inner = decode(e.data);
    expect(inner.ok && inner.message).toMatchObject({ type: 'bundle_control', bundleId: 3, ctrlType: 'commit_request' });
  });

  it('ovs-ofctl --bundle add-flows (the reference peer) speaks what we decode and re-encode byte for byte', async () => {
    proxy = new RecordingProxy(join(dir, 'proxy.sock'), MGMT);
    await proxy.start();
    const flows =
      'table=2,priority=300,cookie=0x5ac1000000000011,tcp,metadata=0x30001/0xffffffff,nw_dst=10.0.9.9,tp_dst=8443,actions=goto_table:3\n' +
      'table=0,priority=100,cookie=0x5ac1000000000012,in_port=7,dl_src=02:00:00:00:07:07,ip,nw_src=10.0.7.7,actions=write_metadata:0x7/0xffff,goto_table:1\n';
    const { code } = await proxy.ofctl(['--bundle', 'add-flows', 'TARGET', '-'], flows);
    const seen = proxy.seen.map((s) => ({ from: s.from === 'client' ? 'ofctl' : 'ovs', hex: s.hex }));
    expect(code).toBe(0);
    expect(ours().join('\n')).toMatch(
      /cookie=0x5ac1000000000011, table=2, priority=300,tcp,metadata=0x30001\/0xffffffff,nw_dst=10\.0\.9\.9,tp_dst=8443 actions=goto_table:3/,
    );

    const decoded = seen.map((s) => ({ ...s, r: decode(Buffer.from(s.hex, 'hex')) }));
    // OFPMP_TABLE_FEATURES (multipart 12), which ovs-ofctl asks for first: anything we cannot decode must be that.
    const unsupported = decoded.filter((d) => !d.r.ok);
    for (const u of unsupported) expect(u.hex.slice(16, 20), u.hex.slice(0, 40)).toBe('000c');
    const msgs = decoded.filter((d) => d.r.ok).map((d) => ({ ...d, m: (d.r as { ok: true; message: OfpMessage }).message }));
    // TABLE_FEATURES (multipart 12) is now decoded, in part (max_entries, the match list): not re-encoded byte for byte
    for (const d of msgs)
      if (!(d.m.type === 'multipart_reply' && d.m.body.kind === 'table_features'))
        expect(encode(d.m).toString('hex'), d.m.type).toBe(d.hex);
    expect(msgs.some((d) => d.m.type === 'multipart_reply' && d.m.body.kind === 'table_features') || unsupported.length > 0).toBe(true);

    const fromOfctl = msgs.filter((d) => d.from === 'ofctl').map((d) => d.m);
    const adds = fromOfctl.filter(isType('bundle_add'));
    expect(adds).toHaveLength(2);
    const opened = fromOfctl.find(isType('bundle_control'))!;
    expect(opened.ctrlType).toBe('open_request');
    expect(adds.every((a) => a.bundleId === opened.bundleId)).toBe(true);
    expect(fromOfctl.filter(isType('bundle_control')).map((b) => b.ctrlType)).toEqual(['open_request', 'commit_request']);
    const fm = adds
      .map((a) => a.message)
      .find((m): m is MessageOf<'flow_mod'> => m.type === 'flow_mod' && m.cookie === 0x5ac1000000000011n)!;
    expect(fm).toMatchObject({ tableId: 2, priority: 300, command: 'add', instructions: [{ type: 'goto_table', tableId: 3 }] });
    expect(fm.match).toEqual(
      expect.arrayContaining([
        { field: 'metadata', value: 0x30001n, mask: 0xffffffffn },
        { field: 'ipv4_dst', value: '10.0.9.9' },
        { field: 'tcp_dst', value: 8443 },
      ]),
    );
    const fromOvs = msgs.filter((d) => d.from === 'ovs').map((d) => d.m);
    expect(fromOvs.filter(isType('bundle_control')).map((b) => b.ctrlType)).toEqual(['open_reply', 'commit_reply']);
  });
});
