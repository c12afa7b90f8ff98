/**
 * Issue #11 item 9, the pieces on the OpenFlow / state side: the refusal of an OpenFlow 1.0 HELLO is a 1.0 ERROR;
 * PACKET_INs dropped by a switch that then disconnects still count in acl_packet_ins_dropped; per-dpid state does
 * not grow for every unknown dpid that ever connected; acl_directory_sync_age_seconds counts from the last
 * successful read; a confirmed directory shrink is audited as the admin who confirmed it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { encodeMany, type OfpMessage } from '../../openflow/index.js';
import { Controller } from '../../controller/controller.js';
import { buildApp } from '../../controller/api.js';
import type { DirectorySync } from '../../directory/sync.js';
import { copyExample, tempDir, waitFor } from '../helpers/tmp.js';
import { RawPeer } from './raw-peer.js';

const TOKEN = 'so-misc-admin-token-0123';

describe('OpenFlow peer and state details (item 9)', () => {
  let ctl: Controller | undefined;
  let app: FastifyInstance | undefined;
  afterEach(async () => {
    await app?.close();
    await ctl?.stop();
    app = ctl = undefined;
  });

  async function start(opts: Partial<ConstructorParameters<typeof Controller>[0]> = {}, auditLog?: string) {
    const dir = copyExample('basic');
    ctl = new Controller({ policyPath: join(dir, 'policy.yaml'), listen: { host: '127.0.0.1', port: 0 }, ...opts });
    const { port } = await ctl.start();
    app = await buildApp(ctl, { adminToken: TOKEN, auditLog });
    return port;
  }
  const metrics = async () => (await app!.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } })).body;

  it('an OpenFlow 1.0 HELLO is refused with an ERROR in a 1.0 header (HELLO_FAILED/INCOMPATIBLE)', async () => {
    const port = await start();
    const reply = await new Promise<Buffer>((resolve, reject) => {
      let got = Buffer.alloc(0);
      const c = connect(port, '127.0.0.1', () => c.write(Buffer.from('0100000800000007', 'hex')));
      c.on('data', (d) => {
        got = Buffer.concat([got, d]);
      });
      c.on('close', () => resolve(got));
      c.on('error', reject);
    });
    // the controller's own HELLO (1.3) comes first; then the refusal
    const frames: Buffer[] = [];
    for (let off = 0; off + 8 <= reply.length; off += reply.readUInt16BE(off + 2))
      frames.push(reply.subarray(off, off + reply.readUInt16BE(off + 2)));
    const err = frames.find((f) => f[1] === 1)!;
    expect(err).toBeDefined();
    expect(err[0]).toBe(1); // OpenFlow 1.0
    expect(err.readUInt32BE(4)).toBe(7); // the HELLO's xid
    expect(err.readUInt16BE(8)).toBe(0); // OFPET_HELLO_FAILED
    expect(err.readUInt16BE(10)).toBe(0); // OFPHFC_INCOMPATIBLE
  });

  it('PACKET_INs dropped by a switch that disconnects stay counted in acl_packet_ins_dropped', async () => {
    const port = await start({ session: { maxPacketInQueue: 5 } });
    const peer = new RawPeer(1n);
    await peer.connect(port);
    await peer.ready;
    await waitFor('adopted', () => ctl!.sessions.get('0x0000000000000001')?.state === 'ready');
    const frame = Buffer.alloc(60);
    frame.write('ffffffffffff0200000009990806', 'hex');
    const flood: OfpMessage[] = Array.from({ length: 500 }, (_, i) => ({
      type: 'packet_in',
      xid: i,
      bufferId: 0xffffffff,
      totalLen: 60,
      reason: 0,
      tableId: 0,
      cookie: 0n,
      match: [{ field: 'in_port', value: 3 }],
      data: frame,
    }));
    peer.raw(encodeMany(flood));
    await waitFor('flood received', () => (ctl!.sessions.get('0x0000000000000001')?.packetIns ?? 0) >= 500);
    const dropped = ctl!.packetInsDropped();
    expect(dropped).toBeGreaterThan(0);
    expect(await metrics()).toMatch(new RegExp(`^acl_packet_ins_dropped ${dropped}$`, 'm'));
    peer.close();
    await waitFor('disconnected', () => !ctl!.sessions.has('0x0000000000000001'));
    expect(await metrics()).toMatch(new RegExp(`^acl_packet_ins_dropped ${dropped}$`, 'm'));
  });

  it('per-dpid state does not grow for every unknown dpid that connected and left', async () => {
    const port = await start();
    for (let i = 0; i < 40; i++) {
      const p = new RawPeer(0x9000n + BigInt(i));
      await p.connect(port);
      await p.ready;
      await waitFor('synced', () =>
        ctl!.switchStatus().some((s) => s.dpid === `0x${(0x9000 + i).toString(16).padStart(16, '0')}` && !s.known),
      );
      await new Promise((r) => setTimeout(r, 50));
      p.close();
      await p.gone;
    }
    await waitFor('all gone', () => ctl!.sessions.size === 0);
    await new Promise((r) => setTimeout(r, 200));
    expect(ctl!.switches.tracked.queues).toBeLessThanOrEqual(3); // the known switches only (none connected here)
    expect(ctl!.switches.tracked.results).toBe(0);
    expect(ctl!.learning.tracked.ports).toBe(0);
  });

  it('acl_directory_sync_age_seconds counts from the last successful read, not the last change', async () => {
    await start();
    ctl!.directoryStatus = { ...ctl!.directoryStatus, lastSuccessAt: new Date(Date.now() - 3600_000).toISOString() }; // last change: an hour ago
    ctl!.directorySync = {
      status: () => ({ lastSuccessAt: new Date(Date.now() - 2000).toISOString() }),
      stop: () => undefined,
    } as unknown as DirectorySync; // last read: 2 s ago
    const age = Number((await metrics()).match(/^acl_directory_sync_age_seconds (\S+)$/m)![1]);
    expect(age).toBeGreaterThanOrEqual(2);
    expect(age).toBeLessThan(60);
  });

  it('a confirmed directory shrink is audited as the admin who confirmed it', async () => {
    const audit = join(tempDir('acl-so-audit-'), 'audit.jsonl');
    await start({}, audit);
    const c = ctl!;
    const smaller = { ...c.compiled.input.directory, users: c.compiled.input.directory.users.slice(0, 1) };
    c.directorySync = {
      status: () => ({}),
      stop: () => undefined,
      confirmShrink: async () => {
        await c.setDirectory(smaller, 'directory sync');
        return true;
      },
    } as unknown as DirectorySync;
    const r = await app!.inject({ method: 'POST', url: '/api/v1/directory/confirm-shrink', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(r.statusCode).toBe(200);
    await waitFor('audited', () => {
      try {
        return readFileSync(audit, 'utf8').includes('directory-synced');
      } catch {
        return false;
      }
    });
    const line = readFileSync(audit, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .find((e) => e.type === 'directory-synced');
    expect(line.by).toBe('admin');
  });
});
