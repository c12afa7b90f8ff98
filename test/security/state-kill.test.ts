/**
 * Issue #11 item 7: the state file never goes back in time. A controller child process learns a host moving
 * between two ports as fast as PACKET_INs arrive (learning limits lifted), so state saves overlap; it is killed with
 * SIGKILL at random moments and restarted. The restored state is never older than the last one the controller
 * acknowledged (a `state-saved` event is printed only once the state is durable), generations only grow, and after
 * a kill at a quiet moment the restart sends the switch no flow mods at all.
 */
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeSwitch } from '../controller/fake-switch.js';
import { copyExample, waitFor } from '../helpers/tmp.js';
import { startChild, type Child } from './child.js';

const OF = 18230,
  API = 18231;
const TOM = '02:00:00:00:01:0a';

function arp(mac: string, ip: string): Buffer {
  const b = Buffer.alloc(60);
  b.write('ffffffffffff', 0, 'hex');
  b.write(mac.replace(/:/g, ''), 6, 'hex');
  b.writeUInt16BE(0x0806, 12);
  b.write('0001080006040001', 14, 'hex');
  b.write(mac.replace(/:/g, ''), 22, 'hex');
  ip.split('.').forEach((o, i) => b.writeUInt8(Number(o), 28 + i));
  return b;
}

type Ack = { generation: number; digest: string };
const readState = (f: string) =>
  JSON.parse(readFileSync(f, 'utf8')) as { generation: number; bindings: Array<{ mac: string; port: number }> };
const digest = (bindings: unknown) => createHash('sha256').update(JSON.stringify(bindings)).digest('hex').slice(0, 16);

describe('state file under SIGKILL (controller child process)', () => {
  const dir = copyExample('campus');
  const stateFile = join(dir, 'state.json');
  const options = { stateFile, learning: { flapMoves: 1e9, perPortRate: 1e6, perPortBurst: 1e6 } };
  const start = () => startChild(join(dir, 'policy.yaml'), OF, API, { options, events: ['state-saved'] });
  const acks = (c: Child) => c.events.filter((e) => e.type === 'state-saved') as unknown as Ack[];

  async function edgeSwitch(c: Child, flows?: FakeSwitch['flows']): Promise<FakeSwitch> {
    const s = new FakeSwitch({ dpid: 1n });
    if (flows) for (const [k, f] of flows) s.flows.set(k, f);
    await s.connect(c.ofPort);
    await waitFor(
      'edge1 synced',
      async () =>
        ((await (await fetch(`http://127.0.0.1:${API}/api/v1/switches`)).json()) as Array<{ name?: string; lastSync?: string }>).find(
          (x) => x.name === 'edge1',
        )?.lastSync,
      20_000,
    );
    return s;
  }

  it('killed at random points during saves: the restored state is never older than the last acknowledged one', async () => {
    let last: Ack | undefined;
    let kills = 0,
      saves = 0;
    for (let round = 0; round < 6; round++) {
      const c = await start();
      if (last) {
        const st = readState(stateFile);
        expect(st.generation).toBeGreaterThanOrEqual(last.generation);
        if (st.generation === last.generation) expect(digest(st.bindings)).toBe(last.digest);
      }
      const sw = await edgeSwitch(c);
      // tom hops between ports 7 and 8 every 2 ms; the controller is killed 150..900 ms in
      let port = 7,
        stop = false;
      const hop = (async () => {
        for (let i = 0; !stop; i++) {
          port = port === 7 ? 8 : 7;
          sw.send({
            type: 'packet_in',
            xid: i,
            bufferId: 0xffffffff,
            totalLen: 60,
            reason: 0,
            tableId: 0,
            cookie: 0n,
            match: [{ field: 'in_port', value: port }],
            data: arp(TOM, '10.0.1.10'),
          });
          await new Promise((r) => setTimeout(r, 2));
        }
      })();
      await new Promise((r) => setTimeout(r, 150 + Math.floor(Math.random() * 750)));
      await c.stop('SIGKILL');
      stop = true;
      await hop;
      sw.close();
      kills++;
      const mine = acks(c);
      saves += mine.length;
      // generations only grow, across restarts too
      for (let i = 1; i < mine.length; i++) expect(mine[i].generation).toBeGreaterThan(mine[i - 1].generation);
      if (last && mine.length) expect(mine[0].generation).toBeGreaterThan(last.generation);
      if (mine.length) last = mine[mine.length - 1];
    }
    console.log(`state file: ${kills} SIGKILLs during ${saves} acknowledged saves; last acknowledged generation ${last?.generation}`);
    expect(saves).toBeGreaterThan(10);
    // one writer, one temp name: no temp files pile up
    expect(readdirSync(dir).filter((f) => f.includes('.tmp')).length).toBeLessThanOrEqual(1);
  }, 180_000);

  it('after a kill at a quiet moment, the restart sends the switch no flow mods', async () => {
    const c = await start();
    const a = await edgeSwitch(c);
    a.send({
      type: 'packet_in',
      xid: 1,
      bufferId: 0xffffffff,
      totalLen: 60,
      reason: 0,
      tableId: 0,
      cookie: 0n,
      match: [{ field: 'in_port', value: 8 }],
      data: arp(TOM, '10.0.1.10'),
    });
    await waitFor(
      'tom learned on port 8 and saved',
      () => existsSync(stateFile) && readState(stateFile).bindings.some((b) => b.mac === TOM && b.port === 8) && acks(c).length > 0,
      10_000,
    );
    await new Promise((r) => setTimeout(r, 1000)); // the sync after the save has finished
    const flows = a.flows;
    const before = [...flows.keys()].sort();
    await c.stop('SIGKILL');
    a.close();
    const c2 = await start();
    try {
      const b = await edgeSwitch(c2, flows);
      await new Promise((r) => setTimeout(r, 500));
      expect(b.applied).toHaveLength(0);
      expect([...b.flows.keys()].sort()).toEqual(before);
      b.close();
    } finally {
      await c2.stop();
    }
  }, 60_000);
});
