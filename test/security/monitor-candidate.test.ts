/**
 * Attacks through monitor mode (POST /api/v1/policy/monitor): a candidate is never enforced, so a permissive one
 * must not open anything. Checked on the flows an in-memory switch actually holds, with the interpreter, for every
 * user × destination × service of the basic example: a candidate that allows everyone everything (a rule from every
 * role to every address and service) leaves exactly the enforced decisions, only with copies to the monitor path. A candidate
 * that reads a file outside the policy's folder is refused without its content; one without a token, with a read
 * token, or too large is refused; none of them changes the enforced version or the switch.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Controller } from '../../controller/controller.js';
import { buildApp } from '../../controller/api.js';
import { FlowTables, type Packet } from '../../compiler/interpreter.js';
import type { PlannedFlow } from '../../compiler/model.js';
import { copyExample, waitFor } from '../helpers/tmp.js';
import { FakeSwitch } from '../controller/fake-switch.js';

const ADMIN = { authorization: 'Bearer mon-admin-token-1' };
const READER = { authorization: 'Bearer mon-reader-token-2' };
const YAML = { 'content-type': 'text/yaml' };
const USERS = [
  { id: 'alice', mac: '02:00:00:00:01:01', ip: '10.0.1.1', port: 1 },
  { id: 'bob', mac: '02:00:00:00:01:02', ip: '10.0.1.2', port: 2 },
  { id: 'carol', mac: '02:00:00:00:01:03', ip: '10.0.1.3', port: 4 },
  // a device nobody logged in or declared
  { id: 'stranger', mac: '02:00:00:00:0f:0f', ip: '10.0.1.99', port: 5 },
];
const DESTS = ['10.0.2.10', '10.0.2.2', '10.0.2.5', '10.0.3.1', '192.0.2.1'];
const SERVICES: Array<[string, Partial<Packet>]> = [
  ...[21, 22, 80, 443, 5432, 8080].map(
    (p) => [`tcp/${p}`, { ipProto: 6, tpSrc: 40000, tpDst: p, tcpFlags: 0x002 }] as [string, Partial<Packet>],
  ),
  ['udp/53', { ipProto: 17, tpSrc: 40000, tpDst: 53 }],
  ['icmp', { ipProto: 1, icmpType: 8, icmpCode: 0 }],
];

/** What the switch's current flows forward, for every user × destination × service. */
function decisions(sw: FakeSwitch): string[] {
  const t = new FlowTables([...sw.flows.values()] as unknown as PlannedFlow[]);
  const out: string[] = [];
  for (const u of USERS)
    for (const d of DESTS)
      for (const [name, l4] of SERVICES) {
        const p: Packet = { inPort: u.port, ethSrc: u.mac, ethDst: '02:00:00:00:10:01', ethType: 0x0800, ipSrc: u.ip, ipDst: d, ...l4 };
        if (t.apply(p).verdict === 'forward') out.push(`${u.id} -> ${d} ${name}`);
      }
  return out;
}

describe('monitor mode cannot be used to open access or read files', () => {
  let dir: string, ctl: Controller, app: FastifyInstance, sw: FakeSwitch, v1: string, enforced: string[];
  const synced = () => {
    const s = ctl.switchStatus().find((x) => x.name === 'edge1');
    return !!s?.connected && s.flowsInstalled === s.flowsDesired;
  };

  beforeAll(async () => {
    dir = copyExample('basic');
    v1 = readFileSync(join(dir, 'policy.yaml'), 'utf8');
    ctl = new Controller({ policyPath: join(dir, 'policy.yaml'), listen: { host: '127.0.0.1', port: 0 } });
    const { port } = await ctl.start();
    app = await buildApp(ctl, {
      tokens: [
        { name: 'mallory', token: 'mon-admin-token-1', role: 'admin' },
        { name: 'rita', token: 'mon-reader-token-2', role: 'read' },
      ],
      auditLog: join(dir, 'audit.jsonl'),
    });
    sw = new FakeSwitch({ dpid: 1n });
    await sw.connect(port);
    await waitFor('edge1 synced', synced);
    enforced = decisions(sw);
    // sanity: the example allows some and denies some of these, so both directions of the check can fail
    expect(enforced.length).toBeGreaterThan(0);
    expect(enforced.length).toBeLessThan((USERS.length * DESTS.length * SERVICES.length) / 2);
  });
  afterAll(async () => {
    sw?.close();
    await app?.close();
    await ctl?.stop();
  });

  it('a candidate that allows everyone everything changes no decision on the switch (only copies to the monitor path)', async () => {
    // (default: allow itself is refused by validation: anything not allowed is denied)
    const open = v1
      .replace('rules:\n', 'rules:\n  - { name: everyone-everywhere, from: { roles: [employee, manager, contractor] }, to: anywhere }\n')
      .replace('resources:\n', 'resources:\n  anywhere: { hosts: [0.0.0.0/0], services: [tcp/1-65535, udp/1-65535, icmp] }\n');
    // sanity: enforced, this candidate would open a lot (so the check below can fail)
    const dry = await app.inject({ method: 'POST', url: '/api/v1/policy?dryRun=true', headers: { ...ADMIN, ...YAML }, payload: open });
    expect(dry.json().access.filter((a: { change: string }) => a.change === 'gain').length).toBeGreaterThan(3);
    const r = await app.inject({ method: 'POST', url: '/api/v1/policy/monitor', headers: { ...ADMIN, ...YAML }, payload: open });
    expect(r.statusCode, r.body).toBe(200);
    const version = ctl.version;
    await waitFor('the sampling flows installed', () => synced() && [...sw.flows.values()].some((f) => f.tableId === 4));
    expect(decisions(sw)).toEqual(enforced);
    expect(ctl.version).toBe(version);
    const stop = await app.inject({ method: 'DELETE', url: '/api/v1/policy/monitor', headers: ADMIN });
    expect(stop.statusCode).toBe(200);
    await waitFor('back to the enforced plan', synced);
    expect(decisions(sw)).toEqual(enforced);
  });

  it('a candidate naming a file outside its folder is refused without the file content; nothing is monitored', async () => {
    for (const target of ['/etc/passwd', '../../../../etc/shadow', '/proc/self/environ']) {
      const r = await app.inject({
        method: 'POST',
        url: '/api/v1/policy/monitor',
        headers: { ...ADMIN, ...YAML },
        payload: v1.replace(/^directory: .*$/m, `directory: ${target}`),
      });
      expect(r.statusCode, target).toBeGreaterThanOrEqual(400);
      expect(r.body, target).not.toMatch(/root:x:0|PATH=|HOME=/);
    }
    const st = await app.inject({ url: '/api/v1/policy/monitor', headers: ADMIN });
    expect(st.json()).toMatchObject({ active: false });
    expect(decisions(sw)).toEqual(enforced);
  });

  it('without a token, with a read token, or too large: refused; nothing changes', async () => {
    const version = ctl.version;
    const none = await app.inject({ method: 'POST', url: '/api/v1/policy/monitor', headers: YAML, payload: v1 });
    expect(none.statusCode).toBe(401);
    const reader = await app.inject({ method: 'POST', url: '/api/v1/policy/monitor', headers: { ...READER, ...YAML }, payload: v1 });
    expect(reader.statusCode).toBe(403);
    const huge = await app.inject({
      method: 'POST',
      url: '/api/v1/policy/monitor',
      headers: { ...ADMIN, ...YAML },
      payload: v1 + `# ${'x'.repeat(5 << 20)}\n`, // over the API's 4 MiB body limit
    });
    expect(huge.statusCode).toBe(413);
    const readerStop = await app.inject({ method: 'DELETE', url: '/api/v1/policy/monitor', headers: READER });
    expect(readerStop.statusCode).toBe(403);
    const readerPromote = await app.inject({ method: 'POST', url: '/api/v1/policy/monitor/promote', headers: READER });
    expect(readerPromote.statusCode).toBe(403);
    expect(ctl.version).toBe(version);
    expect(decisions(sw)).toEqual(enforced);
  });
});
