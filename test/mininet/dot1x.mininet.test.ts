/**
 * 802.1X for real (root, Open vSwitch, Mininet, slapd, FreeRADIUS with rlm_ldap, wpa_supplicant): the controller is
 * the authenticator of the access ports; hosts run Debian's wpa_supplicant (wired driver) with PEAP/MSCHAPv2,
 * TTLS/PAP and MD5 against a private FreeRADIUS whose users are the controller's own LDAP directory. On real
 * packets: before login nothing; after login exactly what the interpreter predicts for that device; a wrong
 * password nothing; two users behind one access port (an unmanaged switch between) each their own access; a
 * printer by MAC bypass its device group's; a user removed from an LDAP group loses that access while logged
 * in; logoff and port down take access away within a second (measured on the switch's own flow table); the link
 * back up, the supplicant re-authenticates by itself and the access returns.
 * The lab is described in dot1x-lab.ts; roaming and a laptop on two ports at once are in dot1x-roaming.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { describeWith } from '../helpers/needs.js';
import { waitFor } from '../helpers/tmp.js';
import { BASE, Dot1xLab, IP, MAC, PASSWORD, TARGETS, haveDot1xLab, pct } from './dot1x-lab.js';

const timings: Record<string, number> = {};
const HOSTS = ['dxann', 'dxben', 'dxcat', 'dxprn', 'dxlap'] as const;

describeWith(haveDot1xLab, '802.1X on Mininet with wpa_supplicant and FreeRADIUS (users from LDAP)', () => {
  const lab = new Dot1xLab({ of: 21601, radius: 21602 });

  beforeAll(async () => {
    const t0 = Date.now();
    await lab.start();
    timings.setup = Date.now() - t0;
  }, 240_000);

  afterAll(async () => {
    if (lab.ctl) {
      const a = lab.ctl.edge.auth.stats.acceptToFlowsMs;
      timings.acceptToFlowsP50 = pct(a, 0.5);
      timings.acceptToFlowsMax = pct(a, 1);
    }
    await lab.stop();
    console.log('802.1X Mininet timings (ms):', JSON.stringify(timings));
  }, 180_000);

  it('1. before any login, no host on an authenticating port reaches anything', async () => {
    const got = await Promise.all(HOSTS.map((h) => lab.reach(h)));
    expect(got.flat().filter(Boolean)).toEqual([]);
    // nobody logged in; only the printer, which sent frames (the probes' ARP) on its MAB port, is being admitted (test 4)
    expect(lab.ctl.edge.sessions.list().filter((s) => s.method !== 'mab')).toEqual([]);
  }, 60_000);

  it('2. PEAP/MSCHAPv2, TTLS/PAP (two users behind one port) and MD5 logins: each reaches exactly what the interpreter predicts', async () => {
    const t0 = Date.now();
    await Promise.all([
      lab.supplicant('dxann', 'dxann-eth0', 'peap', 'ann', PASSWORD.ann),
      lab.supplicant('dxben', 'dxben-eth0', 'ttls', 'ben', PASSWORD.ben),
      lab.supplicant('dxcat', 'dxcat-eth0', 'md5', 'cat', PASSWORD.cat),
    ]);
    await Promise.all([
      lab.authorized('dxann', 'dxann-eth0'),
      lab.authorized('dxben', 'dxben-eth0'),
      lab.authorized('dxcat', 'dxcat-eth0'),
    ]);
    timings.threeLoginsStartToAuthorized = Date.now() - t0;
    expect(lab.ctl.edge.sessions.byMac(MAC.ann)).toMatchObject({ user: 'ann', method: 'dot1x', switch: 'dxe1', port: 1 });
    expect(lab.ctl.edge.sessions.byMac(MAC.ben)).toMatchObject({ user: 'ben', switch: 'dxe1', port: 2 });
    expect(lab.ctl.edge.sessions.byMac(MAC.cat)).toMatchObject({ user: 'cat', switch: 'dxe1', port: 2 });
    // EAP-Success went out after the barrier: access is there at once
    const [ra, rb, rc] = await Promise.all([
      lab.reachAsPredicted('dxann', MAC.ann),
      lab.reachAsPredicted('dxben', MAC.ben),
      lab.reachAsPredicted('dxcat', MAC.cat),
    ]);
    timings.authorizedToAccessAsPredicted = Math.max(ra.ms, rb.ms, rc.ms);
    const got = { ann: ra.got, ben: rb.got, cat: rc.got };
    const want = { ann: ra.want, ben: rb.want, cat: rc.want };
    expect(got).toEqual(want);
    // and the prediction is the policy: ann finance+staff → db, web; ben staff → web; cat finance → db
    expect(want).toEqual({ ann: [true, true, false], ben: [false, true, false], cat: [true, false, false] });
    // the two users behind port 2 are in different classes
    expect(lab.ctl.compiled.subjectById.get('ben')!.classId).not.toBe(lab.ctl.compiled.subjectById.get('cat')!.classId);
  }, 90_000);

  it('3. a wrong password gets EAP-Failure and nothing else; the right one then gets in', async () => {
    await lab.supplicant('dxlap', 'dxlap-eth0', 'md5', 'dan', 'not-dans-password');
    await waitFor('two rejects for dan', () => lab.eventsOf('auth-reject', (e) => e.mac === MAC.lap).length >= 2, 20_000, 50);
    const st = await lab.wpaStatus('dxlap', 'dxlap-eth0');
    expect(st.suppPortStatus).toBe('Unauthorized');
    expect(lab.ctl.edge.sessions.byMac(MAC.lap)).toBeUndefined();
    expect(lab.flowsWith('dxe1', MAC.lap)).toBe(0);
    expect(await lab.reach('dxlap')).toEqual([false, false, false]);
    expect(lab.eventsOf('auth-failures-alert', (e) => e.port === 4).length).toBe(1);
    // the same supplicant with the right password (it retries after its held period)
    await lab.wpaCli('dxlap', 'dxlap-eth0', `set_network 0 password '"${PASSWORD.dan}"'`);
    await lab.authorized('dxlap', 'dxlap-eth0');
    const r = await lab.reachAsPredicted('dxlap', MAC.lap);
    timings.danAuthorizedToAccess = r.ms;
    expect(r.got).toEqual(r.want);
    expect(r.want).toEqual([false, true, false]);
  }, 60_000);

  it('4. a printer by MAC bypass (RADIUS Filter-Id) reaches its device group’s resource and nothing else', async () => {
    // it spoke first in test 1 (ARP): RADIUS answered with Filter-Id printers and its Framed-IP
    await waitFor('printer session', () => lab.ctl.edge.sessions.byMac(MAC.prn), 10_000, 50);
    expect(lab.ctl.edge.sessions.byMac(MAC.prn)).toMatchObject({
      method: 'mab',
      deviceGroup: 'printers',
      ip: IP.prn,
      switch: 'dxe1',
      port: 3,
    });
    await lab.ctl.edge.settled();
    const r = await lab.reachAsPredicted('dxprn', MAC.prn);
    expect(r.got).toEqual(r.want);
    expect(r.want).toEqual([false, false, true]);
  }, 30_000);

  it('5. ann removed from the LDAP group staff loses the web server while logged in; keeps the database', async () => {
    const web = TARGETS.filter(([n]) => n === 'web');
    expect(await lab.reach('dxann', web)).toEqual([true]);
    const ldif = `dn: cn=staff,ou=groups,${BASE}\nchangetype: modify\ndelete: member\nmember: uid=ann,ou=finance,ou=people,${BASE}\n`;
    const t0 = Date.now();
    const r = spawnSync('ldapmodify', ['-x', '-H', lab.slapd.url, '-D', lab.slapd.rootDn, '-w', lab.slapd.rootPassword], {
      input: ldif,
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    await waitFor('ann loses staff', () => !lab.ctl.compiled.subjectById.get('ann')?.roles.includes('staff'), 10_000, 10);
    await lab.ctl.edge.settled();
    await waitFor('ann cannot reach the web server', async () => !(await lab.reach('dxann', web, 0.5))[0], 10_000, 20);
    timings.ldapGroupRemovalToWebDenied = Date.now() - t0;
    expect(timings.ldapGroupRemovalToWebDenied).toBeLessThan(5000);
    expect(lab.ctl.edge.sessions.byMac(MAC.ann)?.user).toBe('ann'); // still logged in
    expect(await lab.reach('dxann')).toEqual(lab.predicted(MAC.ann));
    expect(lab.predicted(MAC.ann)).toEqual([true, false, false]);
  }, 60_000);

  it('6. EAPOL-Logoff (wpa_cli logoff) behind the shared port: cat’s access is gone within a second; ben keeps his', async () => {
    const t0 = await lab.timed('dxcat', `wpa_cli -p ${lab.ctrlDir('dxcat', 'dxcat-eth0')} -i dxcat-eth0 logoff`);
    const gone = await lab.flowsGone('dxe1', MAC.cat);
    timings.logoffToFlowsGone = gone - t0;
    const ended = lab.eventsOf('session-ended', (e) => e.mac === MAC.cat && e.reason === 'logoff');
    expect(ended.length).toBe(1);
    timings.logoffEventToFlowsGone = gone - ended[0].t;
    expect(timings.logoffToFlowsGone).toBeLessThan(1000);
    expect(await lab.reach('dxcat')).toEqual([false, false, false]);
    expect(await lab.reach('dxben')).toEqual(lab.predicted(MAC.ben));
    expect(lab.predicted(MAC.ben)).toEqual([false, true, false]);
    expect(lab.ctl.edge.sessions.byMac(MAC.ben)?.port).toBe(2);
  }, 30_000);

  it('7. port down (link of ann’s access port): her access is gone within a second', async () => {
    const t0 = await lab.timed('dxann', 'ip link set dxann-eth0 down');
    const gone = await lab.flowsGone('dxe1', MAC.ann);
    timings.portDownToFlowsGone = gone - t0;
    expect(lab.eventsOf('session-ended', (e) => e.mac === MAC.ann && e.reason === 'port-down').length).toBe(1);
    expect(timings.portDownToFlowsGone).toBeLessThan(1000);
    expect(lab.ctl.edge.sessions.byMac(MAC.ann)).toBeUndefined();
    expect(await lab.reach('dxann')).toEqual([false, false, false]);
  }, 60_000);

  it('8. link up again: wpa_supplicant re-authenticates by itself and ann’s access is back (nobody logs her in)', async () => {
    expect(lab.ctl.edge.sessions.byMac(MAC.ann)).toBeUndefined();
    const t0 = await lab.timed('dxann', 'ip link set dxann-eth0 up');
    await waitFor('ann logged in again', () => lab.ctl.edge.sessions.byMac(MAC.ann)?.user === 'ann', 60_000, 20);
    timings.linkUpToSession = Date.now() - t0;
    const accepts = lab.eventsOf('auth-accept', (e) => e.mac === MAC.ann).filter((e) => e.t >= t0);
    expect(accepts.length).toBeGreaterThanOrEqual(1);
    expect(accepts[0]).toMatchObject({ user: 'ann', method: 'dot1x', switch: 'dxe1', port: 1 });
    await lab.authorized('dxann', 'dxann-eth0', 30_000);
    const r = await lab.reachAsPredicted('dxann', MAC.ann, 10_000);
    timings.linkUpToAccess = Date.now() - t0;
    expect(r.want.some(Boolean)).toBe(true);
    expect(r.got).toEqual(r.want);
  }, 120_000);
});
