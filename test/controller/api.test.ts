/**
 * Every REST route through app.inject() (no OVS): auth rules, schemas, policy dry run / apply / invalid, audit log,
 * flows desired vs installed (with an in-memory switch), explain, matrix, directory, metrics, health, SSE, console files.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { get as httpsGet } from 'node:https';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Controller } from '../../controller/controller.js';
import { buildApp, parseTokenFile } from '../../controller/api.js';
import { copyExample as copyExampleDir, waitFor } from '../helpers/tmp.js';
import { FakeSwitch } from './fake-switch.js';
import { describeWith } from '../helpers/needs.js';

/** Private copies of examples, removed when the file's tests are done. */
const madeDirs: string[] = [];
const example = (name: string) => {
  const d = copyExampleDir(name);
  madeDirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of madeDirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const ADMIN = { authorization: 'Bearer admin-secret-1' };
const OPS = { authorization: 'Bearer ops-secret-22' };
const READ = { authorization: 'Bearer read-secret-1' };
const YAML = { 'content-type': 'text/yaml' };
const REMOTE = { remoteAddress: '10.9.9.9' };

describe('REST API', () => {
  let dir: string;
  let ctl: Controller;
  let app: FastifyInstance;
  let sw: FakeSwitch;
  let policyText: string;

  beforeAll(async () => {
    dir = example('basic');
    policyText = readFileSync(join(dir, 'policy.yaml'), 'utf8');
    ctl = new Controller({ policyPath: join(dir, 'policy.yaml'), listen: { host: '127.0.0.1', port: 0 } });
    const { port } = await ctl.start();
    app = await buildApp(ctl, {
      tokens: [{ name: 'ops-team', token: 'ops-secret-22', role: 'admin' }],
      adminToken: 'admin-secret-1',
      readToken: 'read-secret-1',
      auditLog: join(dir, 'audit.jsonl'),
    });
    sw = new FakeSwitch({ dpid: 1n });
    await sw.connect(port);
    await waitFor('edge1 synced', () => ctl.switchStatus().find((s) => s.name === 'edge1')?.lastResult);
  });
  afterAll(async () => {
    sw?.close();
    await app?.close();
    await ctl?.stop();
  });

  it('health, readiness and metrics are open', async () => {
    expect((await app.inject({ url: '/healthz', ...REMOTE })).json()).toEqual({ ok: true });
    expect((await app.inject({ url: '/readyz', ...REMOTE })).json()).toEqual({ ready: true, version: 1 });
    const m = await app.inject({ url: '/metrics', ...REMOTE });
    expect(m.statusCode).toBe(200);
    expect(m.body).toMatch(/^acl_switches_connected 1$/m);
    expect(m.body).toMatch(/^acl_flows_desired\{switch="edge1"\} \d+$/m);
    expect(m.body).toMatch(/^acl_flows_installed\{switch="edge1"\} \d+$/m);
    expect(m.body).toMatch(/acl_apply_seconds_bucket/);
    expect(m.body).toMatch(/^acl_directory_sync_age_seconds /m);
    expect(m.body).toMatch(/^acl_packet_ins_total /m);
    expect(m.body).toMatch(/^acl_packet_ins_dropped 0$/m);
  });

  it('reads need a token when a read token is configured; any admin or read token works', async () => {
    expect((await app.inject({ url: '/api/v1/status', ...REMOTE })).statusCode).toBe(401);
    expect((await app.inject({ url: '/api/v1/status', headers: { authorization: 'Bearer nope' }, ...REMOTE })).statusCode).toBe(401);
    for (const h of [READ, ADMIN, OPS]) expect((await app.inject({ url: '/api/v1/status', headers: h, ...REMOTE })).statusCode).toBe(200);
  });

  it('GET /status and /switches describe the network', async () => {
    const st = (await app.inject({ url: '/api/v1/status', headers: READ })).json();
    expect(st).toMatchObject({ version: 1, switches: { total: 3, connected: 1, known: 3, inSync: 1 }, lastChange: null });
    expect(st.directory.entries).toBe(3);
    const sw = (await app.inject({ url: '/api/v1/switches', headers: READ })).json();
    expect(sw.map((s: { name: string }) => s.name).sort()).toEqual(['core', 'edge1', 'hv1']);
    const e1 = sw.find((s: { name: string }) => s.name === 'edge1');
    expect(e1).toMatchObject({ dpid: '0x0000000000000001', connected: true, known: true, errors: [], ports: 3 });
    expect(e1.flowsInstalled).toBe(e1.flowsDesired);
  });

  it('GET /switches/:dpid/flows shows desired vs installed and their difference', async () => {
    const byName = (await app.inject({ url: '/api/v1/switches/edge1/flows', headers: READ })).json();
    const byHex = (await app.inject({ url: '/api/v1/switches/0x1/flows', headers: READ })).json();
    expect(byHex.switch).toBe('edge1');
    expect(byName.connected).toBe(true);
    expect(byName.installed).toHaveLength(byName.desired.length);
    expect(byName.diff).toMatchObject({ inSync: true, missing: [], extra: [], differing: [] });
    // remove one installed flow behind the controller's back: the diff shows it missing
    const k = [...sw.flows.keys()].find((x) => sw.flows.get(x)!.cookie >> 48n === 0x5ac1n)!;
    sw.flows.delete(k);
    const after = (await app.inject({ url: '/api/v1/switches/edge1/flows', headers: READ })).json();
    expect(after.diff.inSync).toBe(false);
    expect(after.diff.missing).toHaveLength(1);
    await ctl.syncAll();
    const core = (await app.inject({ url: '/api/v1/switches/core/flows', headers: READ })).json();
    expect(core).toMatchObject({ connected: false, installed: null, diff: null });
    expect(core.desired.length).toBeGreaterThan(0);
    expect((await app.inject({ url: '/api/v1/switches/nope/flows', headers: READ })).statusCode).toBe(404);
  });

  it('GET /policy returns the running text', async () => {
    const p = (await app.inject({ url: '/api/v1/policy', headers: READ })).json();
    expect(p).toMatchObject({ version: 1, text: policyText });
  });

  it('POST /policy: mutations need an admin token (read token is refused)', async () => {
    const text = policyText.replace(/ {2}- \{ name: staff-intranet.*\n/, '');
    expect((await app.inject({ method: 'POST', url: '/api/v1/policy', payload: text, headers: YAML, ...REMOTE })).statusCode).toBe(401);
    const ro = await app.inject({ method: 'POST', url: '/api/v1/policy', payload: text, headers: { ...YAML, ...READ }, ...REMOTE });
    expect(ro.statusCode).toBe(403);
    expect(ro.json().error).toMatch(/read-only/);
    expect((await app.inject({ method: 'POST', url: '/api/v1/sync', headers: READ })).statusCode).toBe(403);
    expect(ctl.version).toBe(1);
  });

  it('POST /policy validates the request', async () => {
    expect((await app.inject({ method: 'POST', url: '/api/v1/policy', payload: '', headers: { ...YAML, ...ADMIN } })).statusCode).toBe(400);
    expect((await app.inject({ method: 'POST', url: '/api/v1/policy', payload: { nope: 1 }, headers: ADMIN })).statusCode).toBe(400);
    expect(
      (await app.inject({ method: 'POST', url: '/api/v1/policy?dryRun=maybe', payload: policyText, headers: { ...YAML, ...ADMIN } }))
        .statusCode,
    ).toBe(400);
  });

  it('POST /policy with an invalid policy answers 422 with file:line:column and changes nothing', async () => {
    const bad = policyText.replace('to: payroll-db }', 'to: payrol-db }');
    const r = await app.inject({ method: 'POST', url: '/api/v1/policy', payload: bad, headers: { ...YAML, ...ADMIN } });
    expect(r.statusCode).toBe(422);
    const body = r.json();
    expect(body.ok).toBe(false);
    expect(body.errors[0]).toMatch(/policy\.yaml:\d+:\d+: error/);
    expect(body.diagnostics[0]).toMatchObject({
      severity: 'error',
      code: expect.any(String),
      location: { file: expect.stringMatching(/policy\.yaml$/), line: expect.any(Number), column: expect.any(Number) },
    });
    expect(readFileSync(join(dir, 'policy.yaml'), 'utf8')).toBe(policyText);
    expect(ctl.version).toBe(1);
  });

  it('POST /policy?dryRun=true shows who loses access and the flow counts, changes nothing', async () => {
    const text = policyText.replace(/ {2}- \{ name: staff-intranet.*\n/, '');
    const installedBefore = sw.flows.size;
    const r = await app.inject({ method: 'POST', url: '/api/v1/policy?dryRun=true', payload: { text }, headers: OPS });
    expect(r.statusCode).toBe(200);
    const d = r.json();
    expect(d.dryRun).toBe(true);
    expect(d.access.length).toBeGreaterThan(0);
    expect(d.access.every((a: { change: string; resource: string }) => a.change === 'lose' && a.resource === 'intranet')).toBe(true);
    expect(d.flows.map((f: { switch: string }) => f.switch).sort()).toEqual(['core', 'edge1', 'hv1']);
    expect(d.results).toBeUndefined();
    expect(ctl.version).toBe(1);
    expect(sw.flows.size).toBe(installedBefore);
    expect(existsSync(join(dir, 'audit.jsonl'))).toBe(false);
  });

  it('POST /policy applies, confirms the switches, and writes the audit log with the token name', async () => {
    const text = policyText.replace(/ {2}- \{ name: staff-intranet.*\n/, '');
    const r = await app.inject({ method: 'POST', url: '/api/v1/policy', payload: text, headers: { ...YAML, ...OPS } });
    expect(r.statusCode).toBe(200);
    const res = r.json();
    expect(res).toMatchObject({ ok: true, dryRun: false, version: 2 });
    expect(res.results).toEqual([expect.objectContaining({ switch: 'edge1', errors: [] })]);
    expect(readFileSync(join(dir, 'policy.yaml'), 'utf8')).toBe(text);
    const e = (await app.inject({ url: '/api/v1/explain?from=bob&to=intranet&service=tcp/80', headers: READ })).json();
    expect(e.decision).toBe('deny');
    await waitFor(
      'audit written',
      () => existsSync(join(dir, 'audit.jsonl')) && readFileSync(join(dir, 'audit.jsonl'), 'utf8').endsWith('\n'),
    );
    const lines = readFileSync(join(dir, 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ type: 'policy-applied', by: 'ops-team', version: 2, text });
    expect(lines[0].at).toMatch(/^\d{4}-/);
    const hist = (await app.inject({ url: '/api/v1/policy/history', headers: READ })).json();
    expect(hist).toHaveLength(1);
    const st = (await app.inject({ url: '/api/v1/status', headers: READ })).json();
    expect(st.lastChange).toMatchObject({ by: 'ops-team', version: 2 });
    const m = await app.inject({ url: '/metrics' });
    expect(m.body).toMatch(/^acl_apply_seconds_count 1$/m);
    expect(m.body).toMatch(/^acl_policy_version 2$/m);
  });

  it('POST /policy?baseVersion=N applies only if the policy is still at version N (else 409, nothing changed)', async () => {
    const v = ctl.version;
    const text = readFileSync(join(dir, 'policy.yaml'), 'utf8');
    const stale = await app.inject({
      method: 'POST',
      url: `/api/v1/policy?baseVersion=${v - 1}`,
      payload: text + '# stale\n',
      headers: { ...YAML, ...OPS },
    });
    expect(stale.statusCode).toBe(409);
    expect(JSON.stringify(stale.json().errors)).toMatch(/changed meanwhile/);
    expect(ctl.version).toBe(v);
    expect(readFileSync(join(dir, 'policy.yaml'), 'utf8')).toBe(text);
    const ok = await app.inject({
      method: 'POST',
      url: `/api/v1/policy?baseVersion=${v}`,
      payload: text + '# fresh\n',
      headers: { ...YAML, ...OPS },
    });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ctl.version).toBe(v + 1);
  });

  it('POST /sync reconciles now; POST /directory/confirm-shrink is 409 for a file directory', async () => {
    const r = await app.inject({ method: 'POST', url: '/api/v1/sync', headers: ADMIN });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual([expect.objectContaining({ switch: 'edge1', added: 0, removed: 0, changed: 0 })]);
    expect((await app.inject({ method: 'POST', url: '/api/v1/directory/confirm-shrink', headers: ADMIN })).statusCode).toBe(409);
  });

  it('GET /explain answers with the path; bad queries are 400 with a message', async () => {
    const ok = (await app.inject({ url: '/api/v1/explain?from=alice&to=payroll-db&service=tcp/5432', headers: READ })).json();
    expect(ok).toMatchObject({ decision: 'allow', rule: 'finance-payroll', consistent: true });
    expect(ok.path.length).toBeGreaterThan(0);
    const missing = await app.inject({ url: '/api/v1/explain?from=alice', headers: READ });
    expect(missing.statusCode).toBe(400);
    const unknown = await app.inject({ url: '/api/v1/explain?from=zed&to=payroll-db&service=tcp/5432', headers: READ });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error).toMatch(/zed/);
  });

  it('GET /matrix and /directory', async () => {
    const m = (await app.inject({ url: '/api/v1/matrix', headers: READ })).json();
    expect(m.cells).toContainEqual(
      expect.objectContaining({ subject: 'carol', resource: 'payroll-db', decision: 'deny', rule: 'no-contractors' }),
    );
    const d = (await app.inject({ url: '/api/v1/directory', headers: READ })).json();
    expect(d.users.map((u: { id: string }) => u.id).sort()).toEqual(['alice', 'bob', 'carol']);
    expect(d.users.find((u: { id: string }) => u.id === 'alice').devices[0]).toMatchObject({
      mac: '02:00:00:00:01:01',
      switch: 'edge1',
      port: 1,
      learned: false,
    });
    expect(d.servers.map((s: { name: string }) => s.name)).toContain('payroll-db');
    expect(d.organizations).toContainEqual({ name: 'finance', parent: 'corp' });
  });

  it('GET /events streams server-sent events (hello, then policy-applied)', async () => {
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    const ac = new AbortController();
    const res = await fetch(`${address}/api/v1/events`, { headers: READ, signal: ac.signal });
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = res.body!.getReader();
    let buf = '';
    const until = async (re: RegExp) => {
      while (!re.test(buf)) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += Buffer.from(value).toString();
      }
    };
    const v = ctl.version;
    await until(new RegExp(`event: hello\\ndata: \\{"version":${v}\\}`));
    await ctl.applyPolicy(policyText, { by: 'sse-test' });
    await until(/event: policy-applied\ndata: .*"by":"sse-test"/);
    expect(buf).toMatch(new RegExp(`event: policy-applied\\ndata: \\{"type":"policy-applied","at":"[^"]+","version":${v + 1}`));
    ac.abort();
  });

  it('serves the web console at / (or a JSON 404 when it is not built) and never outside its folder', async () => {
    const r = await app.inject({ url: '/' });
    expect([200, 404]).toContain(r.statusCode);
    if (r.statusCode === 200) expect(r.headers['content-type']).toMatch(/text\/html/);
    const t = await app.inject({ url: '/ui/..%2f..%2fpackage.json' });
    expect(t.statusCode).toBe(404);
    expect((await app.inject({ url: '/api/v1/nope', headers: READ })).statusCode).toBe(404);
  });
});

describe('REST API without tokens', () => {
  it('accepts no change at all, not even from loopback (there is no tokenless admin); reads stay open', async () => {
    const dir = example('basic');
    const ctl = new Controller({ policyPath: join(dir, 'policy.yaml') });
    await ctl.load();
    const app = await buildApp(ctl, { auditLog: join(dir, 'audit.jsonl') });
    const text = readFileSync(join(dir, 'policy.yaml'), 'utf8');
    const far = await app.inject({
      method: 'POST',
      url: '/api/v1/policy?dryRun=true',
      payload: text,
      headers: YAML,
      remoteAddress: '192.0.2.1',
    });
    expect(far.statusCode).toBe(401);
    expect(far.json().error).toMatch(/no admin token is configured/);
    expect((await app.inject({ url: '/api/v1/status', remoteAddress: '192.0.2.1' })).statusCode).toBe(200); // reads are open
    for (const remoteAddress of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) {
      const near = await app.inject({
        method: 'POST',
        url: '/api/v1/policy',
        payload: text.replace('default: deny', 'default: deny # v2'),
        headers: YAML,
        remoteAddress,
      });
      expect(near.statusCode).toBe(401);
      expect((await app.inject({ method: 'POST', url: '/api/v1/sync', remoteAddress })).statusCode).toBe(401);
    }
    expect(ctl.version).toBe(1);
    expect(readFileSync(join(dir, 'policy.yaml'), 'utf8')).toBe(text);
    expect(existsSync(join(dir, 'audit.jsonl'))).toBe(false);
    await app.close();
  });
});

describe('parseTokenFile', () => {
  it('reads a bare token or NAME TOKEN [ROLE] lines, and rejects malformed lines with file:line', () => {
    expect(parseTokenFile('  s3cret-token\n')).toEqual([{ name: 'admin', token: 's3cret-token', role: 'admin' }]);
    expect(parseTokenFile('# ops\nalice aaaaaaaaaa\nbot bbbbbbbbbb read\n', 'admin', 't')).toEqual([
      { name: 'alice', token: 'aaaaaaaaaa', role: 'admin' },
      { name: 'bot', token: 'bbbbbbbbbb', role: 'read' },
    ]);
    expect(() => parseTokenFile('alice aaaaaaaaaa boss\n', 'admin', 'tokens.txt')).toThrow(/tokens\.txt:1:1/);
    expect(() => parseTokenFile('x short\ny yyyyyyyyyy\n', 'admin', 'tokens.txt')).toThrow(/tokens\.txt:1:1: .*shorter/);
  });
});

describeWith({ openssl: !(spawnSync('which', ['openssl']).status !== 0) }, 'REST API over HTTPS', () => {
  it('serves the API with the given key and certificate', async () => {
    const dir = example('basic');
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', 'api.key', '-out', 'api.pem'],
      { cwd: dir, stdio: 'pipe' },
    );
    const ctl = new Controller({ policyPath: join(dir, 'policy.yaml') });
    await ctl.load();
    const app = await buildApp(ctl, { https: { key: readFileSync(join(dir, 'api.key')), cert: readFileSync(join(dir, 'api.pem')) } });
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    expect(address).toMatch(/^https:/);
    const body = await new Promise<string>((resolve, reject) => {
      httpsGet(`${address}/healthz`, { ca: readFileSync(join(dir, 'api.pem')), servername: 'localhost' }, (res) => {
        let b = '';
        res.on('data', (d) => {
          b += d;
        });
        res.on('end', () => resolve(b));
      }).on('error', reject);
    });
    expect(JSON.parse(body)).toEqual({ ok: true });
    await app.close();
  });
});

describe('closing the API', () => {
  it('ends open event streams instead of waiting for them', async () => {
    const dir = example('basic');
    const ctl = new Controller({ policyPath: join(dir, 'policy.yaml') });
    await ctl.load();
    const app = await buildApp(ctl);
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    const res = await fetch(`${address}/api/v1/events`);
    const reader = res.body!.getReader();
    await reader.read();
    // waiting for the stream would never end (the test's timeout would fail it): close must return by itself
    await app.close();
    let done = false;
    for (let i = 0; i < 10 && !done; i++) ({ done } = await reader.read());
    expect(done).toBe(true);
  });
});
