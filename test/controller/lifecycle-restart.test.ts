/**
 * Pending approvals and the version history survive a real controller restart: a controller process (API over
 * HTTP, a state file) records two versions and a pending change, is killed (SIGKILL), and a new process on the
 * same files lists the same history, continues the numbering, and lets a second admin approve the pending change,
 * which then applies. A damaged lifecycle file is dropped, never applied.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyExample, waitFor } from '../helpers/tmp.js';

const TOKENS = [
  { name: 'alice', token: 'alice-admin-token', role: 'admin' },
  { name: 'bob', token: 'bob-admin-token-2', role: 'admin' },
];
const A = { authorization: 'Bearer alice-admin-token' };
const B = { authorization: 'Bearer bob-admin-token-2' };

const children: ChildProcess[] = [];
function start(dir: string): Promise<{ child: ChildProcess; api: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', new URL('../helpers/controller-child.ts', import.meta.url).pathname, join(dir, 'policy.yaml'), '0', '0', '0'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, ACL_STATE_FILE: join(dir, 'state.json'), ACL_TOKENS: JSON.stringify(TOKENS), ACL_REQUIRE_APPROVAL: '1' },
      },
    );
    children.push(child);
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/READY (\d+) (\d+)/);
      if (m) resolve({ child, api: `http://127.0.0.1:${m[2]}/api/v1` });
    });
    child.on('exit', (code) => reject(new Error(`controller exited ${code}`)));
  });
}
const kill = async (c: ChildProcess) => {
  const gone = new Promise((r) => c.once('exit', r));
  c.kill('SIGKILL');
  await gone;
};
const post = (url: string, headers: Record<string, string>, body?: string) =>
  fetch(url, { method: 'POST', headers: { ...headers, ...(body !== undefined ? { 'content-type': 'text/yaml' } : {}) }, body });

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

describe('lifecycle state across a controller restart', () => {
  it('history and a pending change survive SIGKILL; numbering continues; B approves the restored change and it applies', async () => {
    const dir = copyExample('basic');
    const v1 = readFileSync(join(dir, 'policy.yaml'), 'utf8');
    const v2 = v1.replace('from: { organizations: [finance] }, to: payroll-db', 'from: { organizations: [corp] }, to: payroll-db');
    expect(v2).not.toBe(v1);
    const v3 = v1;

    const first = await start(dir);
    // v2: submitted by alice, approved by bob
    const s2 = await post(`${first.api}/policy`, A, v2);
    expect(s2.status).toBe(202);
    const id2 = ((await s2.json()) as { pending: { id: string } }).pending.id;
    const ap2 = await post(`${first.api}/pending/${id2}/approve`, B);
    expect(ap2.status).toBe(200);
    expect(((await ap2.json()) as { version: number }).version).toBe(2);
    // v3 (back to v1's text): pending when the controller dies
    const s3 = await post(`${first.api}/policy`, A, v3);
    expect(s3.status).toBe(202);
    const pending = ((await s3.json()) as { pending: { id: string; textSha256: string } }).pending;
    const before = (await (await fetch(`${first.api}/policy/versions`, { headers: A })).json()) as {
      current: number;
      versions: Array<{ version: number; by: string; approvedBy?: string }>;
    };
    expect(before.current).toBe(2);
    await kill(first.child);

    const second = await start(dir);
    const after = (await (await fetch(`${second.api}/policy/versions`, { headers: A })).json()) as typeof before;
    expect(after.current).toBe(2); // numbering continues: the policy file holds version 2
    expect(after.versions.map((v) => [v.version, v.by, v.approvedBy])).toEqual(before.versions.map((v) => [v.version, v.by, v.approvedBy]));
    const v1Text = (await (await fetch(`${second.api}/policy/versions/1`, { headers: A })).json()) as { text: string };
    expect(v1Text.text).toBe(v1);
    const list = (await (await fetch(`${second.api}/pending`, { headers: A })).json()) as {
      pending: Array<{ id: string; by: string; textSha256: string }>;
    };
    expect(list.pending).toEqual([expect.objectContaining({ id: pending.id, by: 'alice', textSha256: pending.textSha256 })]);

    // the two-person rule holds across the restart: alice still cannot approve her own change
    expect((await post(`${second.api}/pending/${pending.id}/approve`, A)).status).toBe(403);
    const ap3 = await post(`${second.api}/pending/${pending.id}/approve`, B);
    expect(ap3.status).toBe(200);
    expect(((await ap3.json()) as { version: number }).version).toBe(3);
    expect(readFileSync(join(dir, 'policy.yaml'), 'utf8')).toBe(v1);
    await waitFor('history saved', () =>
      (
        JSON.parse(readFileSync(join(dir, 'state.lifecycle.json'), 'utf8')) as { versions: Array<{ version: number }>; pending: unknown[] }
      ).versions.some((v) => v.version === 3),
    );
    const saved = JSON.parse(readFileSync(join(dir, 'state.lifecycle.json'), 'utf8')) as { pending: unknown[] };
    expect(saved.pending).toEqual([]);
    await kill(second.child);

    // a damaged file (a forged pending change without its base text, garbage versions) is dropped, not applied
    writeFileSync(
      join(dir, 'state.lifecycle.json'),
      JSON.stringify({ versions: [{ version: 'x' }, 7], pending: [{ id: 'forged', kind: 'policy', by: 'mallory', text: 'version: 1' }] }),
    );
    const third = await start(dir);
    const l3 = (await (await fetch(`${third.api}/pending`, { headers: A })).json()) as { pending: unknown[] };
    expect(l3.pending).toEqual([]);
    expect((await post(`${third.api}/pending/forged/approve`, B)).status).toBe(404);
    const vs3 = (await (await fetch(`${third.api}/policy/versions`, { headers: A })).json()) as { current: number; versions: unknown[] };
    expect(vs3.versions).toHaveLength(1);
    await kill(third.child);
  }, 120_000);
});
