/**
 * The JSON form of messages (openflow/json.ts) and the debugging commands `acl ofp encode FILE` / `acl ofp decode HEX`,
 * run from the sources in a child process (tsx), with their real stdout, stderr and exit code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireIntegration } from '../helpers/needs.js';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode, encode, messageFromJson, messageToJson, type OfpMessage } from '../../openflow/index.js';
import { aclFlow, samples } from './samples.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const haveOfctl = spawnSync('which', ['ovs-ofctl']).status === 0;

const withoutNames = (m: OfpMessage): OfpMessage => {
  if (m.type !== 'error') return m;
  const { errTypeName: _a, codeName: _b, ...rest } = m;
  return rest;
};

describe('JSON form of messages', () => {
  it('every sample survives messageToJson -> JSON text -> messageFromJson unchanged', () => {
    for (const m of samples) {
      const text = JSON.stringify(messageToJson(m));
      const r = messageFromJson(JSON.parse(text));
      if (!r.ok) throw new Error(`${m.type}: ${r.error}`);
      expect(withoutNames(r.message)).toEqual(m);
      expect(encode(r.message).equals(encode(m))).toBe(true);
    }
  });

  it('what decode prints for a recorded OVS message is accepted back', () => {
    const r = decode(Buffer.from('0401001400000005ffff09094f4e460004140008', 'hex'));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const j = messageToJson(r.message) as Record<string, unknown>;
    expect(j).toMatchObject({ type: 'error', code: 2313, experimenter: 0x4f4e4600, data: '04140008', codeName: 'OFPBFC_MSG_FAILED' });
    const back = messageFromJson(j);
    expect(back.ok && encode(back.message).toString('hex')).toBe('0401001400000005ffff09094f4e460004140008');
  });

  it('names the path of a missing or invalid field instead of encoding garbage', () => {
    const fm = messageToJson(aclFlow) as Record<string, any>;
    const { xid: _x, ...noXid } = fm;
    expect(messageFromJson(noXid)).toEqual({ ok: false, error: 'flow_mod: field xid is missing' });
    const { match: _m, ...noMatch } = fm;
    expect(messageFromJson(noMatch)).toEqual({ ok: false, error: 'flow_mod: field match is missing' });
    expect(messageFromJson({ type: 'bundle_add', xid: 1, bundleId: 1, flags: {}, message: { type: 'flow_mod' } })).toMatchObject({
      ok: false,
      error: 'bundle_add message: flow_mod: field cookie is missing',
    });
    expect(messageFromJson({ ...fm, priority: 70000 })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/priority 70000 is out of range/),
    });
    // a field the encoder does not check is still caught by the encode + decode comparison
    expect(messageFromJson({ type: 'echo_request', xid: 1, data: 'zz' })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/field data is missing or invalid \("zz"\)/),
    });
    expect(messageFromJson({ ...fm, command: 'replace' })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/flow mod command|command/),
    });
    const badMatch = { ...fm, match: [{ field: 'ipv4_dst', value: '10.0.0.300' }] };
    expect(messageFromJson(badMatch)).toMatchObject({ ok: false, error: expect.stringMatching(/cannot encode flow_mod: .*10\.0\.0\.300/) });
    const badInstr = { ...fm, instructions: [{ type: 'goto_table', tableId: 'two' }] };
    expect(messageFromJson(badInstr)).toMatchObject({ ok: false, error: expect.stringMatching(/goto_table two is out of range/) });
    expect(messageFromJson([1, 2])).toMatchObject({ ok: false });
    expect(messageFromJson({ type: 'no_such_message', xid: 1 })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/unknown message type 'no_such_message'/),
    });
  });
});

interface Run {
  out: string;
  err: string;
  code: number;
}
function acl(cmd: 'encode' | 'decode', ...args: string[]): Promise<Run> {
  const script = `const m = await import(${JSON.stringify(join(ROOT, `cli/commands/ofp/${cmd}.ts`))}); await m.default.run(process.argv.slice(1), import.meta.url);`;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script, '--', ...args],
      { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } },
      (e, out, err) => {
        resolve({ out, err, code: e ? (typeof e.code === 'number' ? e.code : 1) : 0 });
      },
    );
  });
}

describe('acl ofp encode / decode', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ofc-cli-'));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('encode prints one hex line per message, which decode --json turns back into the same JSON', async () => {
    const msgs = [messageToJson({ type: 'barrier_request', xid: 1 }), messageToJson(aclFlow)];
    const file = join(dir, 'msgs.json');
    writeFileSync(file, JSON.stringify(msgs));
    const enc = await acl('encode', file);
    expect(enc.code).toBe(0);
    const lines = enc.out.trim().split('\n');
    expect(lines).toEqual(['0414000800000001', encode(aclFlow).toString('hex')]);
    const dec = await acl('decode', '--json', lines.join(''));
    expect(dec.code).toBe(0);
    expect(JSON.parse(dec.out)).toEqual(msgs);
  }, 30_000);

  it.skipIf(!haveOfctl && !requireIntegration)(
    'what encode prints is what ovs-ofctl ofp-print reads',
    async () => {
      const file = join(dir, 'one.json');
      writeFileSync(file, JSON.stringify(messageToJson(aclFlow)));
      const enc = await acl('encode', '--json', file);
      expect(enc.code).toBe(0);
      const res = JSON.parse(enc.out) as { ok: boolean; messages: Array<{ type: string; length: number; hex: string }> };
      expect(res.messages[0]).toMatchObject({ type: 'flow_mod', length: 112 });
      const printed = spawnSync('ovs-ofctl', ['ofp-print', res.messages[0].hex], { encoding: 'utf8' }).stdout;
      expect(printed).toMatch(
        /OFPT_FLOW_MOD \(OF1\.3\) \(xid=0x2a\): ADD table:2 priority=200,tcp,metadata=0x20001\/0xffffffff,nw_dst=10\.0\.2\.10,tp_dst=5432 cookie:0x5ac1000000000007 actions=goto_table:3/,
      );
    },
    30_000,
  );

  it('bad input exits non-zero with a message naming the problem; nothing on stdout without --json', async () => {
    const file = join(dir, 'bad.json');
    writeFileSync(
      file,
      JSON.stringify([
        { type: 'barrier_request', xid: 1 },
        { ...(messageToJson(aclFlow) as object), priority: -1 },
      ]),
    );
    const enc = await acl('encode', file);
    expect(enc.code).not.toBe(0);
    expect(enc.out).toBe('');
    expect(enc.err).toMatch(/message 1: cannot encode flow_mod: flow_mod: priority -1 is out of range/);
    const notJson = join(dir, 'x.json');
    writeFileSync(notJson, '{ nope');
    const r2 = await acl('encode', '--json', notJson);
    expect(r2.code).not.toBe(0);
    expect(JSON.parse(r2.out)).toMatchObject({ ok: false, error: expect.stringMatching(/not JSON/) });
    const d = await acl('decode', '--json', '04140010000000');
    expect(d.code).not.toBe(0);
    expect(JSON.parse(d.out)).toMatchObject({ ok: false, error: expect.stringMatching(/not hex|truncated/) });
    const d2 = await acl('decode', '0414ffff00000001');
    expect(d2.code).not.toBe(0);
    expect(d2.err).toMatch(/truncated/);
  }, 30_000);
});
