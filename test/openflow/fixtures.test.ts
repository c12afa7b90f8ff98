/** Decoding bytes produced by a real Open vSwitch (test/fixtures/openflow/ovs.json and ovs-multipart.json; see README.md there). */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { decode, encode, formatError, Framer, MultipartAssembler, type MessageOf, type OfpMessage } from '../../openflow/index.js';

const fx = JSON.parse(readFileSync(new URL('../fixtures/openflow/ovs.json', import.meta.url), 'utf8')) as {
  note: string;
  messages: Array<{ label: string; hex: string }>;
};
const mp = JSON.parse(readFileSync(new URL('../fixtures/openflow/ovs-multipart.json', import.meta.url), 'utf8')) as {
  note: string;
  messages: Array<{ label: string; hex: string }>;
};
const get = (label: string) => {
  const m = fx.messages.find((x) => x.label === label);
  if (!m) throw new Error(`no fixture ${label}`);
  const r = decode(Buffer.from(m.hex, 'hex'));
  if (!r.ok) throw new Error(`${label}: ${r.error.message}`);
  return r.message as OfpMessage & Record<string, any>;
};

describe('messages recorded from Open vSwitch decode field by field', () => {
  it('hello offers OpenFlow 1.3', () => expect(get('hello').versions).toContain(4));
  it('features reply carries the configured datapath id', () => {
    const f = get('features_reply');
    expect(f.type).toBe('features_reply');
    expect(f.datapathId).toBe(0xabn);
    expect(f.nTables).toBeGreaterThanOrEqual(254);
  });
  it('get config and echo replies', () => {
    expect(get('get_config_reply')).toMatchObject({ type: 'get_config_reply', flags: 0 });
    expect(get('echo_reply').data.toString()).toBe('sdn-acl');
  });
  it("port desc reply lists the bridge's LOCAL port by name", () => {
    const m = get('port_desc_reply');
    expect(m.body.kind).toBe('port_desc');
    expect(m.body.ports.find((p: { portNo: number }) => p.portNo === 0xfffffffe)?.name).toBe('ofc-rec');
  });
  it('desc reply names Open vSwitch', () => {
    const m = get('desc_reply');
    expect(m.body).toMatchObject({ kind: 'desc', mfrDesc: 'Nicira, Inc.', hwDesc: 'Open vSwitch' });
    expect(m.body.swDesc).toMatch(/^3\./);
  });
  it('flow stats reply returns our three flows with matches and instructions as installed', () => {
    const m = get('flow_stats_reply');
    const flows = m.body.flows as Array<Record<string, any>>;
    expect(flows.map((f) => f.cookie).sort()).toEqual([0x5ac1000000000001n, 0x5ac1000000000002n, 0x5ac1000000000003n]);
    const acl = flows.find((f) => f.cookie === 0x5ac1000000000002n)!;
    expect(acl).toMatchObject({ tableId: 2, priority: 200, instructions: [{ type: 'goto_table', tableId: 3 }] });
    expect(acl.match).toEqual(
      expect.arrayContaining([
        { field: 'metadata', value: 0x20001n, mask: 0xffffffffn },
        { field: 'tcp_dst', value: 5432 },
      ]),
    );
    const cls = flows.find((f) => f.cookie === 0x5ac1000000000001n)!;
    expect(cls.match).toEqual(
      expect.arrayContaining([
        { field: 'in_port', value: 1 },
        { field: 'eth_src', value: '02:00:00:00:01:01' },
        { field: 'ipv4_src', value: '10.0.1.1' },
      ]),
    );
    expect(cls.instructions).toEqual(expect.arrayContaining([{ type: 'write_metadata', metadata: 1n, mask: 0xffffn }]));
  });
  it('aggregate, table and port stats', () => {
    expect(get('aggregate_reply').body).toMatchObject({ kind: 'aggregate', flowCount: 3 });
    expect(get('table_stats_reply').body.tables.find((t: { tableId: number }) => t.tableId === 2)?.activeCount).toBe(1);
    expect(get('port_stats_reply').body.kind).toBe('port_stats');
  });
  it('errors decode to their OpenFlow names, carrying the offending request', () => {
    const e1 = get('error_bad_table');
    expect([e1.errTypeName, e1.codeName]).toEqual(['OFPET_BAD_INSTRUCTION', 'OFPBIC_BAD_TABLE_ID']);
    expect(e1.xid).toBe(15);
    const e2 = get('error_bad_prereq');
    expect([e2.errTypeName, e2.codeName]).toEqual(['OFPET_BAD_MATCH', 'OFPBMC_BAD_PREREQ']);
    // the error carries (the start of) the refused FLOW_MOD, so the controller can tie it to the flow
    expect([e2.data[1], e2.data.readUInt32BE(4)]).toEqual([14, 16]);
  });
  it('bundle open and commit replies', () => {
    expect(get('bundle_open_reply')).toMatchObject({ type: 'bundle_control', bundleId: 9, ctrlType: 'open_reply' });
    expect(get('bundle_commit_reply')).toMatchObject({ type: 'bundle_control', bundleId: 9, ctrlType: 'commit_reply' });
  });
  it('role reply, port status for a new port, and a packet-in with its in_port and data', () => {
    expect(get('role_reply').type).toBe('role_reply');
    const ps = get('port_status');
    expect(ps).toMatchObject({ type: 'port_status', reason: 'add' });
    expect(ps.desc.name).toBe('ofc-rec-p1');
    const pi = get('packet_in');
    expect(pi.type).toBe('packet_in');
    expect(pi.data.subarray(6, 12).toString('hex')).toBe('020000000101');
  });
  it("flow removed after a delete carries the flow's cookie, table, priority, reason and match", () => {
    const m = get('flow_removed');
    expect(m).toMatchObject({ type: 'flow_removed', cookie: 0x5ac100000000000an, tableId: 4, priority: 7, reason: 2, idleTimeout: 60 });
    expect(m.match).toEqual([{ field: 'in_port', value: 3 }]);
  });
  it("a bundle whose commit fails: the flow mod's OVERLAP error, then OFPBFC_MSG_FAILED for the commit", () => {
    const o = get('error_overlap');
    expect([o.xid, o.errTypeName, o.codeName]).toEqual([25, 'OFPET_FLOW_MOD_FAILED', 'OFPFMFC_OVERLAP']);
    const b = get('error_bundle_failed');
    expect([b.xid, b.errType, b.code, b.experimenter, b.codeName]).toEqual([26, 0xffff, 2313, 0x4f4e4600, 'OFPBFC_MSG_FAILED']);
    expect(formatError(b as MessageOf<'error'>)).toBe('OFPET_EXPERIMENTER/OFPBFC_MSG_FAILED');
  });
  it('a flow stats reply split by OVS into OFPMPF_REPLY_MORE parts is reassembled into all 800 flows', () => {
    const parts = mp.messages.map((p) => decode(Buffer.from(p.hex, 'hex')));
    expect(parts.length).toBeGreaterThan(1);
    const a = new MultipartAssembler();
    let whole: MessageOf<'multipart_reply'> | undefined;
    parts.forEach((r, i) => {
      if (!r.ok || r.message.type !== 'multipart_reply') throw new Error(`part ${i}`);
      expect(r.message.flags & 1).toBe(i < parts.length - 1 ? 1 : 0);
      const out = a.add(r.message);
      if (i < parts.length - 1) expect(out).toBeUndefined();
      else whole = out;
    });
    expect(whole?.xid).toBe(28);
    const flows = whole?.body.kind === 'flow' ? whole.body.flows : [];
    expect(flows).toHaveLength(800);
    const byCookie = new Map(flows.map((f) => [f.cookie, f]));
    for (let i = 0; i < 800; i += 37) {
      const f = byCookie.get(0x5ac1000000010000n + BigInt(i));
      expect(f?.match).toEqual(
        expect.arrayContaining([
          { field: 'tcp_dst', value: 1000 + i },
          { field: 'ipv4_dst', value: `10.9.${i >> 8}.${i & 255}` },
        ]),
      );
      expect(f?.instructions).toEqual([{ type: 'goto_table', tableId: 6 }]);
    }
    for (const p of mp.messages) {
      const r = decode(Buffer.from(p.hex, 'hex'));
      expect(r.ok && encode(r.message).toString('hex')).toBe(p.hex);
    }
  });
  it('re-encoding each decoded message gives the recorded bytes back', () => {
    for (const m of fx.messages) {
      const r = decode(Buffer.from(m.hex, 'hex'));
      if (!r.ok) throw new Error(m.label);
      expect(encode(r.message).toString('hex'), m.label).toBe(m.hex);
    }
  });
  it('the recorded stream, cut anywhere, frames back into the same messages', () => {
    const stream = Buffer.concat(fx.messages.map((m) => Buffer.from(m.hex, 'hex')));
    for (const cut of [1, 3, 7, 13, 64]) {
      const f = new Framer();
      const out: Buffer[] = [];
      for (let i = 0; i < stream.length; i += cut) out.push(...f.push(stream.subarray(i, i + cut)));
      expect(out.map((b) => b.toString('hex'))).toEqual(fx.messages.map((m) => m.hex));
    }
  });
});
