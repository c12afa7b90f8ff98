/**
 * The authenticator inside a real controller, against a real FreeRADIUS: an in-memory switch carries EAPOL as
 * packet-ins and PACKET_OUTs; a simulated EAP-MD5 supplicant answers. Checks flows on the switch, sessions,
 * events, MAB with a device group, logoff, port down, wrong password, several devices on one port, and
 * sessions surviving a restart.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Controller, type ControllerEvent } from '../../controller/controller.js';
import { ManualClock, type Clock } from '../../controller/clock.js';
import { copyExample, tempDir, waitFor } from '../helpers/tmp.js';
import { describeWith } from '../helpers/needs.js';
import { FakeSwitch } from '../controller/fake-switch.js';
import { haveFreeradius, startFreeRadius, type FreeRadius } from '../helpers/freeradius.js';
import { Md5Supplicant } from '../helpers/supplicant.js';
import type { MessageOf } from '../../openflow/index.js';

const PORT = 18420;

export function authPolicy(dir: string, radiusPort: number, extra = ''): void {
  const base = `version: 1
directory: directory.yaml
topology: topology.yaml
resources:
  payroll-db: { hosts: [payroll-db], services: [tcp/5432] }
  intranet:   { hosts: [10.0.2.0/28], services: [tcp/80, tcp/443, icmp] }
  print-server: { hosts: [10.0.2.2], services: [tcp/631] }
rules:
  - { name: finance-payroll, from: { organizations: [finance] }, to: payroll-db }
  - { name: staff-intranet,  from: { roles: [employee] }, to: intranet }
  - { name: printers-to-spool, from: { roles: [printers] }, to: print-server }
authentication:
  radius:
    servers: [{ host: 127.0.0.1, port: ${radiusPort}, secretFile: radius.secret }]
    timeout: 2000
    retries: 1
  ports:
    - { switch: edge1, ports: [5, 6, 7], auth: dot1x-then-mab, maxDevices: 3 }
  mab: { quietPeriod: 300 }
  deviceGroups: [printers]
  failureAlert: { count: 3, within: 60 }
${extra}`;
  writeFileSync(join(dir, 'policy.yaml'), base);
}

/** Why the sessions of `mac` ended, in order (session-ended events). */
const ended = (events: readonly ControllerEvent[], mac: string) =>
  events.flatMap((e) => (e.type === 'session-ended' && e.mac === mac ? [e.reason] : []));

describeWith({ freeradius: haveFreeradius }, '802.1X against a real FreeRADIUS (in-memory switch)', () => {
  let fr: FreeRadius;
  beforeAll(async () => {
    fr = await startFreeRadius({
      port: PORT,
      innerPort: PORT + 1,
      users: [
        { name: 'alice', password: 'alice-pw' },
        { name: 'bob', password: 'bob-pw', reply: { 'Session-Timeout': 3 } },
        { name: 'mallory', password: 'm-pw' },
        { name: '0200000000aa', password: '0200000000aa', reply: { 'Filter-Id': 'printers', 'Framed-IP-Address': '10.0.1.77' } },
      ],
    });
  }, 60_000);
  afterAll(async () => {
    await fr?.stop();
  });

  async function setup(stateFile?: string, dir = copyExample('basic'), clock?: Clock) {
    authPolicy(dir, PORT);
    writeFileSync(join(dir, 'radius.secret'), fr.secret + '\n');
    // alice's and bob's devices are not bound in the topology: they get in only by logging in
    writeFileSync(
      join(dir, 'topology.yaml'),
      `switches:
  - { name: edge1, dpid: 1 }
  - { name: core, dpid: 2, kind: core }
  - { name: hv1, dpid: 16, kind: hypervisor }
links: [[edge1:3, core:1], [hv1:9, core:2]]
hosts:
  - { mac: "02:00:00:00:01:03", switch: edge1, port: 4 }
servers:
  - { name: payroll-db, switch: hv1, port: 1, mac: "02:00:00:00:10:01", ip: 10.0.2.10 }
  - { name: web1,       switch: hv1, port: 2, mac: "02:00:00:00:10:02", ip: 10.0.2.2 }
`,
    );
    const ctl = new Controller({ policyPath: join(dir, 'policy.yaml'), listen: { host: '127.0.0.1', port: 0 }, stateFile, clock });
    ctl.edge.radiusBindAddress = '127.0.0.1';
    const events: ControllerEvent[] = [];
    ctl.on('event', (e) => events.push(e));
    const { port } = await ctl.start();
    const sw = new FakeSwitch({ dpid: 1n });
    await sw.connect(port);
    await waitFor('edge1 synced', () => ctl.switchStatus().find((s) => s.name === 'edge1')?.lastResult);
    // wire simulated supplicants to the switch: packet_out on port P to MAC M reaches supplicant M on P
    const sups = new Map<string, { s: Md5Supplicant; port: number }>();
    sw.onPacketOut = (m: MessageOf<'packet_out'>) => {
      const out = m.actions.find((a) => a.type === 'output') as { port: number } | undefined;
      const dst = [...m.data.subarray(0, 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');
      const sup = sups.get(dst);
      if (!sup || sup.port !== out?.port) return;
      const reply = sup.s.onFrame(m.data);
      if (reply) inject(sup.port, reply);
    };
    const inject = (inPort: number, data: Buffer) => sw.packetIn(inPort, data);
    const login = async (mac: string, user: string, pw: string, port: number) => {
      const s = new Md5Supplicant(mac, user, pw);
      sups.set(mac, { s, port });
      inject(port, s.start());
      await waitFor(`${user} result`, () => s.result, 5000, 20);
      return s;
    };
    const classified = (mac: string, port: number) =>
      [...sw.flows.values()].some(
        (f) =>
          f.tableId === 0 &&
          f.match.some((m) => m.field === 'eth_src' && m.value === mac) &&
          f.match.some((m) => m.field === 'in_port' && m.value === port),
      );
    return {
      ctl,
      sw,
      events,
      inject,
      login,
      classified,
      sups,
      dir,
      stop: async () => {
        sw.close();
        await ctl.stop();
      },
    };
  }

  it('installs the EAPOL flow under its meter; a login admits exactly that MAC on that port, Success after the flows', async () => {
    const t = await setup();
    try {
      const eapol = [...t.sw.flows.values()].filter((f) => f.match.some((m) => m.field === 'eth_type' && m.value === 0x888e));
      expect(eapol.map((f) => f.match.find((m) => m.field === 'in_port')?.value).sort()).toEqual([5, 6, 7]);
      expect(eapol.every((f) => f.instructions.some((i) => i.type === 'meter' && i.meterId === 3))).toBe(true);
      expect(t.classified('02:00:00:00:01:01', 5)).toBe(false);
      const s = await t.login('02:00:00:00:01:01', 'alice', 'alice-pw', 5);
      expect(s.result).toBe('success');
      // flows were confirmed before EAP-Success went out
      expect(t.classified('02:00:00:00:01:01', 5)).toBe(true);
      const sess = t.ctl.edge.sessions.byMac('02:00:00:00:01:01')!;
      expect(sess).toMatchObject({ user: 'alice', switch: 'edge1', port: 5, method: 'dot1x' });
      expect(t.events.some((e) => e.type === 'auth-accept' && e.user === 'alice')).toBe(true);
      // alice's class reaches payroll (finance): the compiled subject carries the port
      expect(t.ctl.compiled.subjectById.get('alice')!.endpoints.find((e) => e.mac === '02:00:00:00:01:01')).toMatchObject({
        switch: 'edge1',
        port: 5,
        ip: '10.0.1.1',
      });
    } finally {
      await t.stop();
    }
  });

  it('a wrong password gets EAP-Failure and nothing else; repeated failures raise an alert', async () => {
    const t = await setup();
    try {
      for (let i = 0; i < 3; i++) {
        const s = await t.login('02:00:00:00:01:02', 'bob', 'wrong', 6);
        expect(s.result).toBe('failure');
      }
      expect(t.ctl.edge.sessions.size).toBe(0);
      expect(t.classified('02:00:00:00:01:02', 6)).toBe(false);
      expect(t.events.filter((e) => e.type === 'auth-reject').length).toBe(3);
      expect(t.events.some((e) => e.type === 'auth-failures-alert' && e.port === 6)).toBe(true);
    } finally {
      await t.stop();
    }
  });

  it('two users behind one port each get their own session and class; one logs off, the other stays', async () => {
    // the controller's clock stands still (no session expiry or scheduled boundary can fire) and it runs no
    // periodic audit: alice's flows can only go because of her logoff
    const t = await setup(undefined, undefined, new ManualClock(Date.now()));
    try {
      await t.login('02:00:00:00:01:01', 'alice', 'alice-pw', 7);
      await t.login('02:00:00:00:01:02', 'bob', 'bob-pw', 7);
      expect(t.classified('02:00:00:00:01:01', 7) && t.classified('02:00:00:00:01:02', 7)).toBe(true);
      const a = t.ctl.compiled.subjectById.get('alice')!,
        b = t.ctl.compiled.subjectById.get('bob')!;
      expect(a.classId).not.toBe(b.classId);
      t.inject(7, t.sups.get('02:00:00:00:01:01')!.s.logoff());
      await waitFor('alice gone', () => !t.classified('02:00:00:00:01:01', 7), 10_000, 10);
      expect(ended(t.events, '02:00:00:00:01:01')).toEqual(['logoff']);
      expect(t.classified('02:00:00:00:01:02', 7)).toBe(true);
      expect(t.ctl.edge.sessions.byMac('02:00:00:00:01:02')?.user).toBe('bob');
    } finally {
      await t.stop();
    }
  });

  it('Session-Timeout: re-authentication renews the session before it ends, without removing its flows', async () => {
    const t = await setup();
    try {
      await t.login('02:00:00:00:01:02', 'bob', 'bob-pw', 6);
      const first = t.ctl.edge.sessions.byMac('02:00:00:00:01:02')!;
      expect(first.expires).toBeDefined();
      const removedFlows: unknown[] = [];
      const before = t.sw.applied.length;
      await waitFor('renewed', () => t.events.find((e) => e.type === 'session-renewed' && e.mac === '02:00:00:00:01:02'), 6000, 50);
      const renewed = t.ctl.edge.sessions.byMac('02:00:00:00:01:02')!;
      expect(renewed.id).toBe(first.id);
      expect(Date.parse(renewed.expires!)).toBeGreaterThan(Date.parse(first.expires!));
      for (const fm of t.sw.applied.slice(before))
        if (fm.command !== 'add' && fm.match.some((m) => m.field === 'eth_src' && m.value === '02:00:00:00:01:02')) removedFlows.push(fm);
      expect(removedFlows).toEqual([]);
      expect(t.classified('02:00:00:00:01:02', 6)).toBe(true);
    } finally {
      await t.stop();
    }
  });

  it('MAB: a printer that never speaks EAPOL gets its device group (Filter-Id) and its Framed-IP after the quiet period', async () => {
    const t = await setup();
    try {
      const frame = Buffer.alloc(60);
      frame.write('ffffffffffff0200000000aa0806', 'hex');
      t.inject(6, frame);
      await waitFor('printer session', () => t.ctl.edge.sessions.byMac('02:00:00:00:00:aa'), 5000, 20);
      await t.ctl.edge.settled();
      expect(t.ctl.edge.sessions.byMac('02:00:00:00:00:aa')).toMatchObject({
        method: 'mab',
        deviceGroup: 'printers',
        ip: '10.0.1.77',
        port: 6,
      });
      expect(t.classified('02:00:00:00:00:aa', 6)).toBe(true);
      const printer = t.ctl.compiled.subjects.find((s) => s.id === 'device:02:00:00:00:00:aa')!;
      expect(printer.roles).toEqual(['printers']);
      // an unknown MAC is refused by RADIUS: nothing
      const other = Buffer.from(frame);
      other.write('0200000000bb', 6, 'hex');
      t.inject(6, other);
      await waitFor('mab reject', () => t.events.find((e) => e.type === 'auth-reject' && e.mac === '02:00:00:00:00:bb'), 5000, 20);
      expect(t.ctl.edge.sessions.byMac('02:00:00:00:00:bb')).toBeUndefined();
    } finally {
      await t.stop();
    }
  });

  it('port down ends every session on the port at once (by the port status itself, with the clock standing still)', async () => {
    const t = await setup(undefined, undefined, new ManualClock(Date.now()));
    try {
      await t.login('02:00:00:00:01:01', 'alice', 'alice-pw', 5);
      t.sw.send({
        type: 'port_status',
        xid: 0,
        reason: 'modify',
        desc: {
          portNo: 5,
          hwAddr: '02:00:00:00:00:05',
          name: 'p5',
          config: 0,
          state: 1,
          curr: 0,
          advertised: 0,
          supported: 0,
          peer: 0,
          currSpeed: 0,
          maxSpeed: 0,
        },
      });
      await waitFor('flows gone', () => !t.classified('02:00:00:00:01:01', 5), 10_000, 10);
      expect(ended(t.events, '02:00:00:00:01:01')).toEqual(['port-down']);
    } finally {
      await t.stop();
    }
  });

  it('sessions survive a controller restart: the flows are there again without a new login', async () => {
    const state = join(tempDir('acl-dot1x-state-'), 'state.json');
    const dir = copyExample('basic');
    const t = await setup(state, dir);
    await t.login('02:00:00:00:01:01', 'alice', 'alice-pw', 5);
    await t.ctl.saveState();
    await t.stop();
    const t2 = await setup(state, dir);
    try {
      expect(t2.ctl.edge.sessions.byMac('02:00:00:00:01:01')?.user).toBe('alice');
      expect(t2.classified('02:00:00:00:01:01', 5)).toBe(true);
    } finally {
      await t2.stop();
    }
  });
});
