/**
 * A whole `acl controller` process killed with SIGKILL before a grant's end (no shutdown code runs: no goodbye to the
 * switch, no last sync): on a real Open vSwitch (bridge e5-kill, fail-mode secure), the switch keeps every flow,
 * then drops the time-bound ones by itself at the grant's end (their hard_timeout), and keeps the others. A switch
 * left without its controller does not extend a grant.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyExample, waitFor } from '../helpers/tmp.js';
import { createBridge, deleteBridge, dumpFlows, ensureOvs, haveOvs } from '../helpers/ovs.js';
import { describeWith, isRoot } from '../helpers/needs.js';

const BR = 'e5-kill';
const OF_PORT = 26514;
const API_PORT = 26515;
const ROOT = new URL('../..', import.meta.url).pathname;
const timeoutOf = (l: string) => Number(l.match(/hard_timeout=(\d+)/)?.[1] ?? 0);
const timed = () => dumpFlows(BR).filter((l) => timeoutOf(l) > 0);
const iso = (t: number) => new Date(t).toISOString().replace(/\.\d+Z$/, 'Z');

describeWith({ 'Open vSwitch': haveOvs(), root: isRoot }, 'a controller process killed before a grant ends', () => {
  let child: ChildProcess | undefined;
  beforeAll(() => ensureOvs());
  afterAll(() => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    deleteBridge(BR);
  });

  it('SIGKILL: the switch keeps its flows, then drops the grant at its end by itself; the rest stays', async () => {
    const dir = copyExample('basic');
    const end = Math.ceil((Date.now() + 20_000) / 1000) * 1000; // bob's grant ends 20 s from now
    const file = join(dir, 'policy.yaml');
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace(
        'default: deny',
        `  - { name: bob-db, from: { users: [bob] }, to: payroll-db, until: ${iso(end)} }\ndefault: deny`,
      ),
    );
    let err = '';
    child = spawn(
      process.execPath,
      [
        join(ROOT, 'bin/run.js'),
        'controller',
        file,
        '--listen',
        `127.0.0.1:${OF_PORT}`,
        '--api',
        `127.0.0.1:${API_PORT}`,
        '--audit-log',
        join(dir, 'audit.jsonl'),
        '--state-file',
        join(dir, 'state.json'),
      ],
      { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ACL_ADMIN_TOKEN: 'kill-test-admin' } },
    );
    child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    const exited = new Promise<NodeJS.Signals | number | null>((res) => child!.once('exit', (code, sig) => res(sig ?? code)));

    createBridge(BR, { controller: `tcp:127.0.0.1:${OF_PORT}`, dpid: '0000000000000001' });
    const synced = async () => {
      const r = await fetch(`http://127.0.0.1:${API_PORT}/api/v1/switches`).catch(() => undefined);
      if (!r?.ok) return false;
      const sw = ((await r.json()) as Array<{ name?: string; connected: boolean; flowsInstalled?: number; flowsDesired: number }>).find(
        (s) => s.name === 'edge1',
      );
      return !!sw?.connected && sw.flowsInstalled === sw.flowsDesired;
    };
    await waitFor(`edge1 synced by the controller process (${err})`, synced, 30_000, 200);
    const grant = timed();
    expect(grant.length).toBeGreaterThan(0);
    for (const l of grant) expect(timeoutOf(l)).toBeLessThanOrEqual(Math.ceil((end - Date.now()) / 1000) + 1);
    const permanent = dumpFlows(BR).filter((l) => timeoutOf(l) === 0);
    expect(permanent.length).toBeGreaterThan(grant.length);

    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(Date.now()).toBeLessThan(end - 2000);
    // a moment later the switch still holds everything (fail-mode secure keeps flows when the controller is gone)
    await new Promise((r) => setTimeout(r, 1000));
    expect(timed().length).toBe(grant.length);
    await waitFor('the grant left the switch', () => timed().length === 0, 40_000, 200);
    expect(Date.now()).toBeGreaterThanOrEqual(end - 1000);
    expect(dumpFlows(BR).filter((l) => timeoutOf(l) === 0)).toEqual(permanent);
  }, 90_000);
});
