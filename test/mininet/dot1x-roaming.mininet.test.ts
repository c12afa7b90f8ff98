/**
 * Roaming with 802.1X for real (#14 on the lab of dot1x-lab.ts): one laptop (one MAC, two interfaces: dxe1:4 and
 * dxe2:1), Debian's wpa_supplicant on each. It logs in at dxe1:4; moves to dxe2:1 (the old supplicant gone, the old
 * link still up) and logs in there: its session moves in one step, access follows, the old port's flows are gone
 * and traffic from the old port gets nothing. Then both interfaces log in at once: the controller alerts
 * (mac-conflict) and, under the default roaming.conflict deny-both, admits the MAC on neither port.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../helpers/needs.js';
import { waitFor } from '../helpers/tmp.js';
import { Dot1xLab, IP, MAC, PASSWORD, haveDot1xLab } from './dot1x-lab.js';

const timings: Record<string, number> = {};

describeWith(haveDot1xLab, '802.1X roaming on Mininet: a moved laptop, and one on two ports at once', () => {
  const lab = new Dot1xLab({ of: 21620, radius: 21622 });

  beforeAll(async () => {
    await lab.start();
  }, 240_000);
  afterAll(async () => {
    await lab.stop();
    console.log('802.1X roaming timings (ms):', JSON.stringify(timings));
  }, 180_000);

  /** A ping from one interface of the laptop (the route is pinned to it): true when answered. */
  const pingVia = async (intf: string, ip: string) =>
    (
      await lab.net.cmd(
        'dxlap',
        `ip route replace ${ip}/32 dev ${intf}; ping -c 1 -W 1 -I ${intf} ${ip} >/dev/null; r=$?; ip route del ${ip}/32 dev ${intf}; exit $r`,
        8,
      )
    ).rc === 0;

  it('1. the laptop logs in at dxe1:4 (PEAP) and reaches what the interpreter predicts', async () => {
    await lab.supplicant('dxlap', 'dxlap-eth0', 'peap', 'dan', PASSWORD.dan);
    await lab.authorized('dxlap', 'dxlap-eth0');
    expect(lab.ctl.edge.sessions.byMac(MAC.lap)).toMatchObject({ user: 'dan', switch: 'dxe1', port: 4 });
    const r = await lab.reachAsPredicted('dxlap', MAC.lap);
    expect(r.got).toEqual(r.want);
    expect(r.want).toEqual([false, true, false]);
    expect(await pingVia('dxlap-eth0', IP.web)).toBe(false); // the policy gives tcp/80 only
  }, 60_000);

  it('2. moved to dxe2:1: the session moves in one step, access follows, the old port denies', async () => {
    // the old supplicant disappears without a logoff (SIGKILL), the old link stays up: nothing tells the controller
    await lab.killSupplicant('dxlap', 'dxlap-eth0');
    await lab.net.cmd(
      'dxlap',
      `ip addr del ${IP.lap}/24 dev dxlap-eth0; ip link set dxlap-eth1 up; ip addr add ${IP.lap}/24 dev dxlap-eth1`,
    );
    const t0 = Date.now();
    await lab.supplicant('dxlap', 'dxlap-eth1', 'md5', 'dan', PASSWORD.dan);
    await lab.authorized('dxlap', 'dxlap-eth1');
    timings.moveStartToAuthorized = Date.now() - t0;
    expect(lab.ctl.edge.sessions.byMac(MAC.lap)).toMatchObject({ user: 'dan', switch: 'dxe2', port: 1 });
    const moved = lab.eventsOf('session-moved', (e) => e.mac === MAC.lap);
    expect(moved.map((e) => [e.switch, e.port, e.from as { switch: string; port: number }])).toEqual([
      ['dxe2', 1, { switch: 'dxe1', port: 4 }],
    ]);
    expect(lab.eventsOf('session-ended', (e) => e.mac === MAC.lap)).toEqual([]); // one step: never logged out in between
    await lab.ctl.edge.settled();
    expect(lab.flowsWith('dxe1', MAC.lap)).toBe(0);
    expect(lab.flowsWith('dxe2', MAC.lap)).toBeGreaterThan(0);
    const r = await lab.reachAsPredicted('dxlap', MAC.lap);
    expect(r.got).toEqual(r.want);
    expect(r.want).toEqual([false, true, false]);
    // the old port: the same MAC and address sending from dxe1:4 gets nothing (asked to log in there; nobody answers)
    const asked = lab.ctl.edge.auth.stats.eapolIn;
    expect(
      await lab.net
        .cmd(
          'dxlap',
          `ip route replace ${IP.web}/32 dev dxlap-eth0 src ${IP.lap}; timeout 2 bash -c 'exec 3<>/dev/tcp/${IP.web}/80'; r=$?; ip route del ${IP.web}/32 dev dxlap-eth0; exit $r`,
          8,
        )
        .then((x) => x.rc),
    ).not.toBe(0);
    expect(lab.ctl.edge.sessions.byMac(MAC.lap)).toMatchObject({ switch: 'dxe2', port: 1 });
    expect(lab.ctl.edge.auth.stats.eapolIn).toBe(asked); // no supplicant answered on the old port
  }, 90_000);

  it('3. the laptop on both ports at once (both supplicants log in): alerted, admitted on neither', async () => {
    const t0 = Date.now();
    await lab.supplicant('dxlap', 'dxlap-eth0', 'peap', 'dan', PASSWORD.dan);
    const alert = await waitFor(
      'mac-conflict alert',
      () => lab.ctl.alerts.find((a) => a.type === 'mac-conflict' && a.mac === MAC.lap),
      20_000,
      50,
    );
    timings.secondPortStartToAlert = Date.now() - t0;
    expect(alert).toMatchObject({ switch: 'dxe1', port: 4, alsoAt: 'dxe2:1', action: 'deny-both' });
    expect(lab.ctl.edge.sessions.byMac(MAC.lap)).toBeUndefined();
    expect(lab.eventsOf('session-ended', (e) => e.mac === MAC.lap && e.reason === 'mac-conflict')).toHaveLength(1);
    await lab.ctl.edge.settled();
    expect(lab.flowsWith('dxe1', MAC.lap)).toBe(0);
    expect(lab.flowsWith('dxe2', MAC.lap)).toBe(0);
    // neither interface reaches anything, and the supplicant at dxe1:4 was told EAP-Failure
    expect(await lab.reach('dxlap')).toEqual([false, false, false]);
    expect(
      await lab.net
        .cmd(
          'dxlap',
          `ip route replace ${IP.web}/32 dev dxlap-eth0 src ${IP.lap}; timeout 2 bash -c 'exec 3<>/dev/tcp/${IP.web}/80'; r=$?; ip route del ${IP.web}/32 dev dxlap-eth0; exit $r`,
          8,
        )
        .then((x) => x.rc),
    ).not.toBe(0);
    expect((await lab.wpaStatus('dxlap', 'dxlap-eth0')).suppPortStatus).toBe('Unauthorized');
    // still refused a few seconds later, while both supplicants keep trying (held: RADIUS is not asked again)
    const sent = lab.ctl.edge.auth.stats.accepts;
    await new Promise((r) => setTimeout(r, 4000));
    expect(lab.ctl.edge.sessions.byMac(MAC.lap)).toBeUndefined();
    expect(lab.ctl.edge.auth.stats.accepts).toBe(sent);
    expect(await lab.reach('dxlap')).toEqual([false, false, false]);
  }, 90_000);
});
