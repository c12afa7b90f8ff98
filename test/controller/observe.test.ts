/**
 * Deny log, frame decoder, flow attribution and "why" on the basic example (no switches: frames are built here,
 * counters are given as a switch would report them).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { loadPolicy } from '../../loader/load.js';
import { compile, type Compiled } from '../../compiler/compile.js';
import { attributeFlow } from '../../compiler/observe.js';
import { isDropFlow } from '../../compiler/deny-sample.js';
import { why } from '../../compiler/why.js';
import { decodeFrame, serviceOf } from '../../controller/packet.js';
import { DenialLog, parseSince } from '../../controller/denials.js';
import { TrafficStats } from '../../controller/stats.js';
import type { FlowStats } from '../../openflow/index.js';
import { tempDir } from '../helpers/tmp.js';
import { frame } from '../helpers/frames.js';

const ROOT = new URL('../../', import.meta.url).pathname;

let c: Compiled;
beforeAll(async () => {
  const r = await loadPolicy(join(ROOT, 'examples/basic/policy.yaml'));
  if (!r.ok) throw new Error('basic example invalid');
  c = compile(r.value);
});

describe('frame decoder', () => {
  it('decodes TCP, UDP, ICMP over IPv4, ARP, IPv6 with an extension header, and VLAN tags', () => {
    const t = decodeFrame(frame({ src: '02:00:00:00:01:02', ipSrc: '10.0.1.2', ipDst: '10.0.2.10', proto: 'tcp', dport: 5432 }));
    expect(t).toMatchObject({
      ok: true,
      frame: { ethSrc: '02:00:00:00:01:02', l3: 'ipv4', ipSrc: '10.0.1.2', ipDst: '10.0.2.10', proto: 6, dstPort: 5432, tcpFlags: 2 },
    });
    expect(serviceOf((t as { frame: any }).frame)).toBe('tcp/5432');
    expect(
      serviceOf(
        (decodeFrame(frame({ src: '02:00:00:00:01:02', ipSrc: '10.0.1.2', ipDst: '10.0.2.10', proto: 'udp', dport: 53 })) as any).frame,
      ),
    ).toBe('udp/53');
    expect(
      serviceOf((decodeFrame(frame({ src: '02:00:00:00:01:02', ipSrc: '10.0.1.2', ipDst: '10.0.2.10', proto: 'icmp' })) as any).frame),
    ).toBe('icmp');
    const arp = Buffer.from(
      'ffffffffffff0200000001020806' + '0001080006040001' + '020000000102' + '0a000102' + '000000000000' + '0a00020a',
      'hex',
    );
    expect(decodeFrame(arp)).toMatchObject({ ok: true, frame: { l3: 'arp', arpOp: 1, arpSpa: '10.0.1.2', arpTpa: '10.0.2.10' } });
    // IPv6, hop-by-hop options (8 bytes), then TCP to port 22
    const v6 = Buffer.concat([
      Buffer.from('3333000000010200000001020086dd', 'hex').subarray(0, 12),
      Buffer.from('86dd', 'hex'),
      Buffer.from('60000000' + '001c' + '00' + '40', 'hex'),
      Buffer.from('fe800000000000000000000000000001', 'hex'),
      Buffer.from('20010db8000000000000000000000002', 'hex'),
      Buffer.from('0600000000000000', 'hex'),
      Buffer.from('9c4000160000000000000000500200000000', 'hex'),
      Buffer.alloc(2),
    ]);
    expect(decodeFrame(v6)).toMatchObject({
      ok: true,
      frame: { l3: 'ipv6', ipSrc: 'fe80::1', ipDst: '2001:db8::2', proto: 6, dstPort: 22 },
    });
    const tagged = Buffer.concat([
      frame({ src: '02:00:00:00:01:02', ipSrc: '10.0.1.2', ipDst: '10.0.2.10', proto: 'udp', dport: 9 }).subarray(0, 12),
      Buffer.from('8100000a', 'hex'),
      frame({ src: '02:00:00:00:01:02', ipSrc: '10.0.1.2', ipDst: '10.0.2.10', proto: 'udp', dport: 9 }).subarray(12),
    ]);
    expect(decodeFrame(tagged)).toMatchObject({ ok: true, frame: { vlan: 10, dstPort: 9 } });
  });

  it('refuses structurally wrong frames with a code', () => {
    expect(decodeFrame(Buffer.alloc(13))).toMatchObject({ ok: false, code: 'short-ethernet' });
    const bad = frame({ src: '02:00:00:00:01:02', ipSrc: '10.0.1.2', ipDst: '10.0.2.10', proto: 'tcp', dport: 1 });
    bad[14] = 0x44; // IHL 4 words
    expect(decodeFrame(bad)).toMatchObject({ ok: false, code: 'bad-ipv4-ihl' });
    bad[14] = 0x65;
    expect(decodeFrame(bad)).toMatchObject({ ok: false, code: 'bad-ipv4-version' });
  });
});

describe('deny log', () => {
  const bob = '02:00:00:00:01:02';
  it('attributes a denied packet to the user, switch:port, resource, service and rule; a scan is one entry', () => {
    const log = new DenialLog();
    const e = log.ingest(c, frame({ src: bob, ipSrc: '10.0.1.2', ipDst: '10.0.2.10', proto: 'tcp', dport: 5432 }), {
      switch: 'edge1',
      port: 2,
      source: 'policy',
    })!;
    expect(e).toMatchObject({
      kind: 'deny',
      user: 'bob',
      organization: 'platform',
      roles: ['employee'],
      switch: 'edge1',
      port: 2,
      dst: '10.0.2.10',
      service: 'tcp/5432',
      rule: 'default',
      count: 1,
    });
    expect(e.resources).toContain('payroll-db');
    const carol = log.ingest(c, frame({ src: '02:00:00:00:01:03', ipSrc: '10.0.1.3', ipDst: '10.0.2.10', proto: 'tcp', dport: 5432 }), {
      switch: 'edge1',
      port: 4,
      source: 'policy',
    })!;
    expect(carol.rule).toBe('no-contractors');
    for (let p = 1; p <= 5000; p++)
      log.ingest(c, frame({ src: bob, ipSrc: '10.0.1.2', ipDst: '10.0.2.2', proto: 'tcp', dport: p }), {
        switch: 'edge1',
        port: 2,
        source: 'policy',
      });
    const scan = log.query({ user: 'bob', dst: '10.0.2.2' });
    // ports 80 and 443 are allowed: the switch would not have sent them; if it did, they are flagged, not merged
    const main = scan.filter((x) => x.rule === 'default');
    expect(main.length).toBe(1);
    expect(main[0].count).toBe(4998);
    expect(main[0].distinctServices).toBe(4998);
    expect(main[0].services.length).toBe(32);
    expect(
      log
        .query({ resource: 'payroll-db' })
        .map((x) => x.user)
        .sort(),
    ).toEqual(['bob', 'carol']);
  });

  it('unknown devices and misplaced devices are logged from discovery; a known device on its own port is not', () => {
    const log = new DenialLog();
    expect(
      log.ingest(c, frame({ src: '02:00:00:00:99:99', ipSrc: '10.0.9.9', ipDst: '10.0.2.10', proto: 'tcp', dport: 22 }), {
        switch: 'edge1',
        port: 7,
        source: 'discovery',
      }),
    ).toMatchObject({ subjectKind: 'unknown', rule: 'unclassified', reason: 'unknown device' });
    expect(
      log.ingest(c, frame({ src: bob, ipSrc: '10.0.1.2', ipDst: '10.0.2.10', proto: 'tcp', dport: 22 }), {
        switch: 'edge1',
        port: 7,
        source: 'discovery',
      }),
    ).toMatchObject({ user: 'bob', rule: 'unclassified' });
    expect(
      log.ingest(c, frame({ src: bob, ipSrc: '10.0.1.2', ipDst: '10.0.2.10', proto: 'tcp', dport: 22 }), {
        switch: 'edge1',
        port: 2,
        source: 'discovery',
      }),
    ).toBeUndefined();
  });

  it('is bounded in memory and on disk (rotation)', async () => {
    const dir = tempDir('acl-deny-');
    const file = join(dir, 'd.jsonl');
    const log = new DenialLog({ maxEntries: 100, file, maxFileBytes: 20_000, keepFiles: 2 });
    for (let i = 0; i < 3000; i++) {
      log.ingest(c, frame({ src: bob, ipSrc: '10.0.1.2', ipDst: `10.0.${(i >> 8) & 255}.${i & 255}`, proto: 'udp', dport: 9 }), {
        switch: 'edge1',
        port: 2,
        source: 'policy',
      });
      if (i % 100 === 99) await log.flush();
    }
    await log.stop();
    expect(log.size).toBe(100);
    const sizes = ['', '.1', '.2'].map((s) => {
      try {
        return readFileSync(file + s).length;
      } catch {
        return 0;
      }
    });
    for (const s of sizes) expect(s).toBeLessThanOrEqual(20_000 + 40_000);
    expect(sizes[1]).toBeGreaterThan(0);
    const last = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(last.at(-1).user).toBe('bob');
  });

  it('since accepts ISO times and durations', () => {
    expect(parseSince('2h', 10_000_000)).toBe(10_000_000 - 7_200_000);
    expect(parseSince('2026-01-01T00:00:00Z')).toBe(Date.parse('2026-01-01T00:00:00Z'));
    expect(parseSince('yesterday')).toMatchObject({ error: expect.any(String) });
  });
});

describe('traffic attribution', () => {
  const stat = (f: { tableId: number; priority: number; cookie: bigint; match: any; instructions: any }, p: number): FlowStats => ({
    ...f,
    durationSec: 1,
    durationNsec: 0,
    idleTimeout: 0,
    hardTimeout: 0,
    flags: {},
    packetCount: BigInt(p),
    byteCount: BigInt(p * 100),
  });

  it('attributes counters by cookie to rules, resources, classes and devices; deltas between polls', () => {
    const edge = c.plan.switches.find((s) => s.name === 'edge1')!;
    const allows = edge.flows.filter((f) => f.tableId === 2 && !isDropFlow(f));
    const fin = allows.find((f) => attributeFlow(c, f).rules.includes('finance-payroll'))!;
    expect(attributeFlow(c, fin)).toMatchObject({ role: 'allow' });
    expect(attributeFlow(c, fin).resources).toContain('payroll-db');
    const dd = edge.flows.find((f) => f.origin === 'default-deny')!;
    expect(attributeFlow(c, dd)).toMatchObject({ role: 'default-deny', rules: ['default'] });
    const cls = edge.flows.find((f) => f.origin === 'classify:user:alice')!;
    let t = 0;
    const ts = new TrafficStats(
      () => c,
      () => [],
      { intervalMs: 0, now: () => t },
    );
    t = 1000;
    ts.attribute(c, 'edge1', edge, [stat(fin, 5), stat(dd, 2), stat(cls, 7)], t);
    t = 2000;
    ts.attribute(c, 'edge1', edge, [stat(fin, 12), stat(dd, 2), stat(cls, 7)], t);
    expect(ts.ruleTraffic('finance-payroll')).toMatchObject({ packets: 12, bytes: 1200, lastHit: new Date(2000).toISOString() });
    expect(ts.ruleTraffic('default').packets).toBe(2);
    expect(ts.subjects.get('alice')).toMatchObject({ packets: 7 });
    expect(
      ts
        .unused(
          c.input.policy.rules.map((r) => r.name),
          1,
        )
        .map((x) => x.rule),
    ).not.toContain('finance-payroll');
    // a flow re-added (counters reset) counts from zero again
    t = 3000;
    ts.attribute(c, 'edge1', edge, [stat(fin, 3)], t);
    expect(ts.ruleTraffic('finance-payroll').packets).toBe(15);
  });
});

describe('why', () => {
  it('explains a default deny and names the smallest change; an allowed pair needs none', () => {
    const w = why(c, 'bob', 'payroll-db', 'tcp/5432');
    expect(w.decision).toBe('deny');
    expect(w.suggestions[0]).toMatchObject({ kind: 'set-organization', organization: 'finance', rule: 'finance-payroll' });
    expect(why(c, 'alice', 'payroll-db', 'tcp/5432').suggestions).toEqual([]);
    const carol = why(c, 'carol', 'payroll-db', 'tcp/5432');
    expect(carol.rule).toBe('no-contractors');
    expect(carol.suggestions[0]).toMatchObject({ kind: 'narrow-deny-rule', rule: 'no-contractors' });
    const intranetRole = why(c, 'carol', 'intranet', 'tcp/80');
    expect(intranetRole.suggestions[0]).toMatchObject({ kind: 'add-role', role: 'employee' });
  });
});

describe('deny-log decisions', () => {
  it('the fast per-sample decision equals the policy answer (decideFor) for every subject, resource address and service', async () => {
    const { decisionOf } = await import('../../controller/denials.js');
    const { decideFor } = await import('../../compiler/query.js');
    const { parseService } = await import('../../compiler/addr.js');
    let n = 0;
    for (const s of c.subjects)
      for (const dst of ['10.0.2.10', '10.0.2.2', '10.0.2.15', '10.0.1.1', '192.0.2.1'])
        for (const svc of ['tcp/5432', 'tcp/80', 'tcp/443', 'tcp/22', 'udp/53', 'icmp']) {
          const want = decideFor(c, s, dst, parseService(svc) as any);
          const got = decisionOf(c, s, dst, svc);
          expect({ d: got.decision, r: got.rule }, `${s.id} ${dst} ${svc}`).toEqual({ d: want.decision, r: want.rule });
          n++;
        }
    expect(n).toBeGreaterThan(100);
  });
});
