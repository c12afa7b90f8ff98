/**
 * The basic example on Mininet with a test's own switch names and dpids (so its interfaces, `waedge-eth1` or
 * `m4edge-eth1`, are not another test's), and the lab started against a controller and warmed up.
 */
import { expect } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Controller } from '../../controller/controller.js';
import { copyExample, waitFor } from '../helpers/tmp.js';
import { MininetLab } from './harness.js';

/** A copy of examples/basic whose switches are PREFIXedge, PREFIXcore, PREFIXhv with the given dpids; returns its folder. */
export function basicWithSwitches(prefix: string, [edge, core, hv]: readonly [number, number, number]): string {
  const dir = copyExample('basic');
  const [e, c, h] = [`${prefix}edge`, `${prefix}core`, `${prefix}hv`];
  const renamed = readFileSync(join(dir, 'topology.yaml'), 'utf8')
    .replace('{ name: edge1, dpid: 1 }', `{ name: ${e}, dpid: ${edge} }`)
    .replace('{ name: core, dpid: 2,', `{ name: ${c}, dpid: ${core},`)
    .replace('{ name: hv1, dpid: 16,', `{ name: ${h}, dpid: ${hv},`)
    .replace('[[edge1:3, core:1], [hv1:9, core:2]]', `[[${e}:3, ${c}:1], [${h}:9, ${c}:2]]`)
    .replaceAll('switch: edge1,', `switch: ${e},`)
    .replaceAll('switch: hv1,', `switch: ${h},`);
  expect(renamed).not.toMatch(/edge1|hv1|name: core/);
  writeFileSync(join(dir, 'topology.yaml'), renamed);
  return dir;
}

/** Mininet for the controller's topology, every switch synced without errors, hosts warmed up (ARP). */
export async function startLab(ctl: Controller, ofPort: number, timeoutMs = 60_000): Promise<MininetLab> {
  const lab = new MininetLab();
  await lab.start(ctl.loaded, ofPort);
  await waitFor(
    'all switches synced',
    () => ctl.switchStatus().filter((s) => s.connected && s.lastSync && !s.errors.length).length === ctl.loaded.topology.switches.length,
    timeoutMs,
  );
  await lab.call({ op: 'warmup' });
  return lab;
}
