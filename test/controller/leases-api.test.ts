/** GET /api/v1/leases through app.inject(): the controller's DHCP leases and counters, behind the read token. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Controller } from '../../controller/controller.js';
import { buildApp } from '../../controller/api.js';
import { copyExample } from '../helpers/tmp.js';

describe('GET /api/v1/leases', () => {
  let ctl: Controller;
  let app: FastifyInstance;
  beforeAll(async () => {
    const dir = copyExample('basic');
    ctl = new Controller({ policyPath: join(dir, 'policy.yaml'), listen: { host: '127.0.0.1', port: 0 } });
    await ctl.start();
    app = await buildApp(ctl, { adminToken: 'admin-secret-1', readToken: 'read-secret-1' });
  });
  afterAll(async () => {
    await app?.close();
    await ctl?.stop();
  });

  it('needs a token and lists the leases with the snooper counters', async () => {
    const remote = { remoteAddress: '10.9.9.9' };
    expect((await app.inject({ url: '/api/v1/leases', ...remote })).statusCode).toBe(401);
    ctl.firstContact.leases.add({ mac: '02:00:00:00:00:aa', ip: '10.0.9.9', switch: 'edge1', port: 7, seconds: 60 });
    const r = await app.inject({ url: '/api/v1/leases', headers: { authorization: 'Bearer read-secret-1' }, ...remote });
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(body.leases).toEqual([
      expect.objectContaining({ mac: '02:00:00:00:00:aa', ip: '10.0.9.9', switch: 'edge1', port: 7, source: 'dhcp' }),
    ]);
    expect(body.dhcp.counters).toEqual({});
    expect(body.dhcp.ipv6Counters).toEqual({});
    expect(body.signin).toBeUndefined();
  });

  it('lists learned IPv6 addresses with the DHCP leases; the state file keeps both families and restores each into its table', async () => {
    ctl.firstContact.ipv6.leases.add({ mac: '02:00:00:00:00:aa', ip: '2001:DB8::AA', switch: 'edge1', port: 7, seconds: 60, source: 'nd' });
    const r = await app.inject({ url: '/api/v1/leases', headers: { authorization: 'Bearer read-secret-1' }, remoteAddress: '10.9.9.9' });
    expect(r.json().leases).toEqual([
      expect.objectContaining({ ip: '10.0.9.9', source: 'dhcp' }),
      expect.objectContaining({ mac: '02:00:00:00:00:aa', ip: '2001:db8::aa', switch: 'edge1', port: 7, source: 'nd' }),
    ]);
    expect(r.json().dhcp.ipv6Counters).toEqual({});
    const saved = ctl.edge.state().leases as Array<{ ip: string }>;
    expect(saved.map((l) => l.ip)).toEqual(['10.0.9.9', '2001:db8::aa']);
    const { LeaseTable } = await import('../../edge/leases.js');
    const { Lease6Table } = await import('../../edge/leases6.js');
    const { JoinedLeases } = await import('../../controller/ipv6-learning.js');
    const joined = new JoinedLeases(new LeaseTable(), new Lease6Table());
    joined.restore(JSON.parse(JSON.stringify(saved)));
    expect(joined.v4.list().map((l) => l.ip)).toEqual(['10.0.9.9']);
    expect(joined.v6.list().map((l) => l.ip)).toEqual(['2001:db8::aa']);
    joined.v4.stop();
    joined.v6.stop();
  });
});
