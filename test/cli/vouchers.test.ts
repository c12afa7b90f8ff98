/**
 * `acl vouchers` against a running controller's API, in process: --create shows the code once and returns the
 * contract's created reply, the list shows the voucher without its code, --revoke ends it, and a refusal (read token,
 * unknown id) is the controller's message with a non-zero exit. The command reads every reply through the typed
 * client (cli/client.ts get/write), so its --json answer is the contract's reply type.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Value } from '@sinclair/typebox/value';
import { Controller } from '../../controller/controller.js';
import { buildApp } from '../../controller/api.js';
import { VoucherCreatedReply, VoucherRevokedReply, VouchersReply } from '../../controller/api/contract.js';
import { exact } from '../../controller/api/reply.js';
import Vouchers from '../../cli/commands/vouchers.js';
import { copyExample } from '../helpers/tmp.js';

const ROOT = new URL('../../', import.meta.url).pathname;
// ports of this test (the helper range 26200-26299)
const OF_PORT = 26210;
const API_PORT = 26211;
const URL_ = `http://127.0.0.1:${API_PORT}`;
const ADMIN = 'vouchers-admin-1';

/** Runs the command in process; returns what it printed (stdout and stderr lines) and its result, or the error it exited with. */
async function acl(
  ...argv: string[]
): Promise<{ out: string; err: string; result?: unknown; error?: Error & { oclif?: { exit?: number } } }> {
  const out: string[] = [],
    err: string[] = [];
  const log = vi.spyOn(Vouchers.prototype, 'log').mockImplementation((m?: string) => void out.push(m ?? ''));
  const logErr = vi.spyOn(Vouchers.prototype, 'logToStderr').mockImplementation((m?: string) => void err.push(m ?? ''));
  try {
    const result = await Vouchers.run(['--controller', URL_, ...argv], ROOT);
    return { out: out.join('\n'), err: err.join('\n'), result };
  } catch (e) {
    return { out: out.join('\n'), err: err.join('\n'), error: e as Error };
  } finally {
    log.mockRestore();
    logErr.mockRestore();
  }
}

describe('acl vouchers (typed client)', () => {
  let ctl: Controller, app: FastifyInstance;
  beforeAll(async () => {
    const dir = copyExample('basic');
    ctl = new Controller({ policyPath: join(dir, 'policy.yaml'), listen: { host: '127.0.0.1', port: OF_PORT } });
    await ctl.start();
    app = await buildApp(ctl, { adminToken: ADMIN, readToken: 'vouchers-read-1' });
    await app.listen({ host: '127.0.0.1', port: API_PORT });
  });
  afterAll(async () => {
    await app?.close();
    await ctl?.stop();
  });
  afterEach(() => vi.restoreAllMocks());

  it('creates (code shown once), lists without the code, revokes; --json answers are the contract replies', async () => {
    const made = await acl('--create', '--valid', '2h', '--uses', '3', '--session', '30m', '--note', 'visitor for Dana', '--token', ADMIN);
    expect(made.error).toBeUndefined();
    const created = made.result as { voucher: { id: string }; code: string };
    expect(Value.Check(exact(VoucherCreatedReply), created)).toBe(true);
    expect(created.code).toMatch(/^[A-Z2-9]{4}(-[A-Z2-9]{4}){3}$/);
    expect(made.out).toContain(`voucher ${created.voucher.id}: code ${created.code}`);
    expect(made.out).toMatch(/for 3 device\(s\); each stays 30 min\. The code is not shown again\./);

    const listed = await acl('--token', ADMIN);
    expect(Value.Check(exact(VouchersReply), listed.result)).toBe(true);
    expect(listed.out).toMatch(new RegExp(`^${created.voucher.id}\\s+valid\\s+0/3\\s+\\S+\\s+\\S+\\s+visitor for Dana$`, 'm'));
    expect(listed.out).not.toContain(created.code);

    const revoked = await acl('--revoke', created.voucher.id, '--token', ADMIN);
    expect(Value.Check(exact(VoucherRevokedReply), revoked.result)).toBe(true);
    expect(revoked.out).toContain(`revoked ${created.voucher.id}; ended 0 guest session(s)`);
    expect((await acl('--token', ADMIN)).out).toMatch(new RegExp(`^${created.voucher.id}\\s+revoked\\s`, 'm'));
  });

  it("a refusal is the controller's message and a non-zero exit", async () => {
    const read = await acl('--token', 'vouchers-read-1');
    expect(read.error?.oclif?.exit).toBe(1);
    expect(read.err).toMatch(/controller answered 403: /);
    const unknown = await acl('--revoke', 'v-nope', '--token', ADMIN);
    expect(unknown.error?.oclif?.exit).toBe(1);
    expect(unknown.err).toContain("controller answered 404: no voucher 'v-nope'");
    const bad = await acl('--create', '--valid', 'forever', '--token', ADMIN);
    expect(bad.error?.oclif?.exit).toBe(1);
    expect(bad.err).toContain('controller answered 400: validFor and sessionTime are durations such as 8h, 30m or 2d');
  });
});
