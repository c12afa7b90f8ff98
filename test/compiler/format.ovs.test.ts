/**
 * Needs root and Open vSwitch: the `ovs-ofctl add-flows` text we print is accepted by a real switch, which then
 * holds exactly the flows of the plan (same count, same cookies, same tables and priorities).
 * Creates bridges named cmp0, cmp1, … (userspace datapath) and deletes them by name afterwards.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { writeFileSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile, formatOvsFlows, COOKIE_TAG_MASK, COOKIE_TAG } from '../../compiler/index.js';
import { loadPolicy } from '../../loader/index.js';
import { createBridge, deleteBridge, ensureOvs, haveOvs, ofctl } from '../helpers/ovs.js';
import { describeWith } from '../helpers/needs.js';

const EXAMPLES = ['basic', 'campus'].map((n) => new URL(`../../examples/${n}/policy.yaml`, import.meta.url).pathname);
const bridges: string[] = [];
let dir = '';

describeWith({ 'Open vSwitch (root)': !!haveOvs() }, 'formatOvsFlows output on a real Open vSwitch', () => {
  beforeAll(() => {
    ensureOvs();
    dir = mkdtempSync(join(tmpdir(), 'cmp-ovs-'));
  });
  afterAll(() => {
    for (const b of bridges) deleteBridge(b);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const policyPath of EXAMPLES) {
    it(`every switch of ${policyPath.split('/').slice(-2, -1)[0]} loads with ovs-ofctl add-flows, flow for flow`, async () => {
      const r = await loadPolicy(policyPath);
      if (!r.ok) throw new Error(JSON.stringify(r.diagnostics));
      const c = compile(r.value);
      for (const sp of c.plan.switches) {
        const br = `cmp${bridges.length}`;
        bridges.push(br);
        createBridge(br);
        // the classify table's discovery flow meters packet-ins with meter 1, which the controller installs
        ofctl('add-meter', br, 'meter=1,pktps,band=type=drop,rate=100');
        ofctl('add-meter', br, 'meter=2,pktps,band=type=drop,rate=50');
        const file = join(dir, `${sp.name}.flows`);
        writeFileSync(file, formatOvsFlows(sp) + '\n');
        ofctl('add-flows', br, file);
        const lines = ofctl('dump-flows', br)
          .split('\n')
          .filter((l) => l.includes('cookie='));
        expect(lines.length, sp.name).toBe(sp.flows.length);
        const got = lines
          .map((l) => {
            const cookie = BigInt(/cookie=(0x[0-9a-f]+)/.exec(l)![1]);
            const table = Number(/table=(\d+)/.exec(l)?.[1] ?? 0);
            const priority = Number(/priority=(\d+)/.exec(l)?.[1] ?? 32768);
            return `${table}/${priority}/${cookie.toString(16)}`;
          })
          .sort();
        const want = sp.flows.map((f) => `${f.tableId}/${f.priority}/${f.cookie.toString(16)}`).sort();
        expect(got, sp.name).toEqual(want);
        for (const f of sp.flows) expect(f.cookie & COOKIE_TAG_MASK).toBe(COOKIE_TAG);
        deleteBridge(br);
      }
    }, 120_000);
  }
});
