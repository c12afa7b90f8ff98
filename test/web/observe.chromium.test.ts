/**
 * The console's Sessions, Denials (with the why box) and Rule traffic pages in Chromium, against a controller on the
 * basic example with an in-memory switch (edge1). Sessions are added the way the 802.1X authenticator adds them;
 * denied packets arrive as PACKET_INs from the switch's deny-sample flows; rule counters are the switch's flow
 * statistics. Everything the test asserts is read from the page.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { Controller } from '../../controller/controller.js';
import { attributePlan, type FlowAttribution } from '../../compiler/observe.js';
import { TABLE } from '../../compiler/pipeline.js';
import { why } from '../../compiler/why.js';
import type { FakeSwitch } from '../controller/fake-switch.js';
import { frame } from '../helpers/frames.js';
import { copyExample, waitFor } from '../helpers/tmp.js';
import { startConsoleLab, type ConsoleLab } from '../helpers/console-lab.js';
import { describeWith } from '../helpers/needs.js';
import { haveChromium, openPage } from '../helpers/browser.js';

const ARTIFACTS = new URL('../../test-artifacts/web/', import.meta.url).pathname;
const ADMIN = 'observe-admin-token';
const READ = 'observe-read-token';

describeWith({ Chromium: haveChromium }, 'console: sessions, denials, why, rule traffic', () => {
  let lab: ConsoleLab, ctl: Controller, sw: FakeSwitch, page: Page, base: string;
  let errors: string[];
  let xid = 1;

  /** The cookie of edge1's first flow the predicate picks. */
  const cookie = (pred: (a: FlowAttribution) => boolean): bigint => {
    const plan = ctl.compiled.plan.switches.find((s) => s.name === 'edge1')!;
    const hit = [...attributePlan(ctl.compiled, plan)].find(([, a]) => pred(a));
    if (!hit) throw new Error('no such flow on edge1');
    return hit[0];
  };
  /** A denied packet sampled to the controller by the switch (PACKET_IN from the policy table). */
  const denied = (c: bigint, inPort: number, data: Buffer) =>
    sw.send({
      type: 'packet_in',
      xid: xid++,
      bufferId: 0xffffffff,
      totalLen: data.length,
      reason: 1,
      tableId: TABLE.policy,
      cookie: c,
      match: [{ field: 'in_port', value: inPort }],
      data,
    });

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const dir = copyExample('basic');
    lab = await startConsoleLab({
      controller: { policyPath: join(dir, 'policy.yaml'), observe: { traffic: { intervalMs: 0 } } },
      app: { adminToken: ADMIN, readToken: READ },
    });
    ({ ctl, base } = lab);
    sw = lab.sw!;
    ({ page, errors } = await lab.signedIn(ADMIN));
  }, 60_000);

  afterAll(() => lab?.stop());

  it('Sessions: a login appears live with user, MAC, switch:port, method, since and expires; an admin ends it', async () => {
    await openPage(page, base, 'sessions');
    expect(await page.textContent('#sessions tbody')).toContain('Nobody is logged in');
    const expires = new Date(Date.now() + 3600_000).toISOString();
    const r = ctl.edge.sessions.add(
      { mac: '02:00:00:00:0e:01', switch: 'edge1', port: 5, method: 'dot1x', user: 'bob', expires },
      'radius:test',
    );
    if (!r.ok) throw new Error(r.message);
    const r2 = ctl.edge.sessions.add({ mac: '02:00:00:00:0e:02', switch: 'edge1', port: 5, method: 'mab', user: 'alice' }, 'radius:test');
    if (!r2.ok) throw new Error(r2.message);
    // no reload: the page follows /events
    await page.waitForFunction(() => document.querySelectorAll('#sessions tbody tr[data-id]').length === 2);
    const rows = await page.$$eval('#sessions tbody tr[data-id]', (rs) =>
      rs.map((tr) => [...tr.children].map((c) => (c.textContent ?? '').trim())),
    );
    const bob = rows.find((x) => x[0] === 'bob')!;
    expect(bob.slice(1, 4)).toEqual(['02:00:00:00:0e:01', 'edge1:5', '802.1X']);
    expect(bob[4]).not.toBe('–');
    expect(bob[5]).toBe(new Date(expires).toLocaleString('en-US'));
    expect(rows.find((x) => x[0] === 'alice')!.slice(1, 6)).toEqual([
      '02:00:00:00:0e:02',
      'edge1:5',
      'MAC bypass',
      expect.any(String),
      'until logoff',
    ]);
    expect(await page.textContent('#sessions-summary')).toBe('2 sessions.');
    await page.screenshot({ path: join(ARTIFACTS, 'sessions.png'), fullPage: true });
    await page.getByRole('button', { name: 'End the session of bob on edge1:5' }).click();
    await page.waitForFunction(() => /Ended the session of bob/.test(document.querySelector('#sessions-result')?.textContent ?? ''));
    expect(ctl.edge.sessions.list().map((s) => s.user)).toEqual(['alice']);
    expect(await page.$$eval('#sessions tbody tr[data-id] th', (ths) => ths.map((t) => t.textContent))).toEqual(['alice']);
    // a logoff elsewhere (not from the console) also disappears live
    ctl.edge.sessions.remove(r2.session.id, 'logoff');
    await page.waitForFunction(() => document.querySelectorAll('#sessions tbody tr[data-id]').length === 0);
    // a MAC held after being seen on two ports at once: listed with a Release button; released, it may log in again
    const held = '02:00:00:00:0e:99';
    for (const port of [5, 6, 5]) ctl.edge.auth.sightings.admit(held, 'edge1', port, 'deny-both', () => {});
    await openPage(page, base, 'overview');
    await openPage(page, base, 'sessions');
    await page.waitForSelector(`#holds tr[data-mac="${held}"]`);
    expect(await page.textContent('#holds tbody')).toContain('802.1X logins');
    await page.getByRole('button', { name: `Release the hold on ${held}` }).click();
    await page.waitForFunction(() => /Released 02:00:00:00:0e:99/.test(document.querySelector('#sessions-result')?.textContent ?? ''));
    expect(ctl.edge.auth.sightings.held(held)).toBe(false);
    await page.waitForFunction(() => /No MAC is held/.test(document.querySelector('#holds tbody')?.textContent ?? ''));
  });

  it('Sessions: with a read-only token there is no End session button, and the API refuses anyway', async () => {
    const { page: p, errors: errs } = await lab.signedIn(READ, { mode: 'read-only' });
    const r = ctl.edge.sessions.add({ mac: '02:00:00:00:0e:03', switch: 'edge1', port: 6, method: 'web', user: 'carol' }, 'signin');
    if (!r.ok) throw new Error(r.message);
    await openPage(p, base, 'sessions');
    await p.waitForSelector('#sessions tbody tr[data-id]');
    expect(await p.textContent('#sessions tbody')).toContain('web sign-in');
    expect(await p.isVisible('button.end-session')).toBe(false);
    const status = await p.evaluate(
      async (t) =>
        (
          await fetch(`/api/v1/sessions/${document.querySelector<HTMLElement>('#sessions tbody tr[data-id]')!.dataset.id}`, {
            method: 'DELETE',
            headers: { authorization: `Bearer ${t}` },
          })
        ).status,
      READ,
    );
    expect(status).toBe(403);
    expect(ctl.edge.sessions.size).toBe(1);
    ctl.edge.sessions.remove(r.session.id, 'admin', 'test');
    expect(errs).toEqual([]);
    await p.context().close();
  });

  it('Denials: denied packets appear live with user, port, resource, service and rule; filters by user, resource and time', async () => {
    await openPage(page, base, 'denials');
    expect(await page.textContent('#denials tbody')).toContain('No denied traffic recorded');
    const defaultDeny = cookie((a) => a.role === 'default-deny');
    denied(defaultDeny, 2, frame({ src: '02:00:00:00:01:02', ipSrc: '10.0.1.2', ipDst: '10.0.2.10', proto: 'tcp', dport: 5432 }));
    denied(defaultDeny, 4, frame({ src: '02:00:00:00:01:03', ipSrc: '10.0.1.3', ipDst: '10.0.2.10', proto: 'tcp', dport: 5432 }));
    // carol's packet hits the same drop flow; the deny log names the policy's deciding rule (an explicit deny)
    // a scan from bob of web1: one entry, however many ports
    for (let p = 1000; p < 1040; p++)
      denied(defaultDeny, 2, frame({ src: '02:00:00:00:01:02', ipSrc: '10.0.1.2', ipDst: '10.0.2.2', proto: 'tcp', dport: p }));
    await page.waitForFunction(() => document.querySelectorAll('#denials tbody tr[data-id]').length === 3);
    await waitFor('scan aggregated', () => ctl.observe.denials.query({ user: 'bob', dst: '10.0.2.2' })[0]?.count === 40);
    await page.click('#denials-form button[type=submit]'); // reload: counts of an aggregated entry do not emit events
    await page.waitForFunction(() => /40 services/.test(document.querySelector('#denials tbody')?.textContent ?? ''));
    const rows = await page.$$eval('#denials tbody tr[data-id]', (rs) =>
      rs.map((tr) => [...tr.children].map((c) => (c as HTMLElement).innerText.replace(/\s+/g, ' ').trim())),
    );
    const carol = rows.find((r) => r[1].startsWith('carol'))!;
    expect(carol[1]).toMatch(/^carol \(Carol Cruz\) finance · contractor 02:00:00:00:01:03 10\.0\.1\.3$/);
    expect(carol.slice(2, 5)).toEqual(['edge1:4', 'payroll-db, intranet 10.0.2.10', 'tcp/5432']);
    expect(carol[5]).toMatch(/^no-contractors/);
    const bobDb = rows.find((r) => r[1].startsWith('bob') && r[3].startsWith('payroll-db'))!;
    expect(bobDb[5]).toMatch(/^default deny/);
    const scan = rows.find((r) => r[1].startsWith('bob') && r[4].startsWith('40 services'))!;
    expect(scan[6]).toBe('40');
    await page.screenshot({ path: join(ARTIFACTS, 'denials.png'), fullPage: true });

    await page.fill('#den-user', 'carol');
    await page.click('#denials-form button[type=submit]');
    await page.waitForFunction(() => document.querySelectorAll('#denials tbody tr[data-id]').length === 1);
    expect(await page.textContent('#denials-summary')).toMatch(/^1 entry matching the filters/);
    await page.fill('#den-user', '');
    await page.fill('#den-resource', 'payroll-db');
    await page.click('#denials-form button[type=submit]');
    await page.waitForFunction(() => document.querySelectorAll('#denials tbody tr[data-id]').length === 2);
    await page.fill('#den-resource', 'intranet'); // 10.0.2.0/28 holds payroll-db's and web1's addresses
    await page.click('#denials-form button[type=submit]');
    await page.waitForFunction(() => document.querySelectorAll('#denials tbody tr[data-id]').length === 3);
    // a filter keeps applying to live entries: a new denial for another resource does not show
    await page.fill('#den-resource', '');
    await page.fill('#den-user', 'alice');
    await page.selectOption('#den-since', '15m');
    await page.click('#denials-form button[type=submit]');
    await page.waitForFunction(() => /No denied traffic matches/.test(document.querySelector('#denials tbody')?.textContent ?? ''));
    denied(defaultDeny, 1, frame({ src: '02:00:00:00:01:01', ipSrc: '10.0.1.1', ipDst: '10.0.2.2', proto: 'udp', dport: 161 }));
    await page.waitForFunction(() => document.querySelectorAll('#denials tbody tr[data-id]').length === 1);
    expect(await page.textContent('#denials tbody')).toContain('udp/161');
    await page.click('#denials-form button[type=reset]');
    await page.waitForFunction(() => document.querySelectorAll('#denials tbody tr[data-id]').length === 4);
  });

  it('the why box: the decision, the recent denials for the pair and the smallest change, from a denial row', async () => {
    await page.getByRole('button', { name: 'Why was bob blocked from payroll-db tcp/5432?' }).click();
    await page.waitForSelector('#why-decision');
    const expected = why(ctl.compiled, 'bob', 'payroll-db', 'tcp/5432');
    expect(await page.textContent('#why-decision')).toBe('BLOCKED');
    expect(await page.textContent('#why-out h3')).toContain('bob → payroll-db (10.0.2.10) tcp/5432');
    expect(await page.textContent('#why-out')).toContain('the default (deny)');
    expect(await page.$$eval('#why-denials li', (ls) => ls.length)).toBe(1);
    expect(await page.textContent('#why-denials')).toMatch(/1× from 02:00:00:00:01:02 at edge1:2 to 10\.0\.2\.10 tcp\/5432/);
    const suggestions = await page.$$eval('#why-suggestions li', (ls) => ls.map((l) => l.getAttribute('data-kind')));
    expect(suggestions).toEqual(expected.suggestions.map((s) => s.kind));
    expect(suggestions.length).toBeGreaterThan(0);
    expect(await page.textContent('#why-suggestions li')).toContain(expected.suggestions[0].text);
    // typed by hand: an allowed pair says so and suggests nothing
    await page.fill('#why-user', 'alice');
    await page.fill('#why-resource', 'payroll-db');
    await page.fill('#why-service', 'tcp/5432');
    await page.getByRole('button', { name: 'Explain' }).click();
    await page.waitForFunction(() => document.querySelector('#why-decision')?.textContent === 'ALLOWED');
    expect(await page.textContent('#why-out')).toContain('rule finance-payroll');
    expect(await page.$('#why-suggestions')).toBeNull();
    await page.fill('#why-user', 'nobody');
    await page.getByRole('button', { name: 'Explain' }).click();
    await page.waitForFunction(() => /nobody/.test(document.querySelector('#why-out [role=alert]')?.textContent ?? ''));
    await page.screenshot({ path: join(ARTIFACTS, 'why.png'), fullPage: true });
  });

  it("Rule traffic: a rule's packets and bytes, last hit and series after a poll; unused rules; matrix cells in use", async () => {
    // traffic through alice's finance-payroll flows on edge1, as the switch's counters report it
    const allow = cookie((a) => a.role === 'allow' && a.rules.includes('finance-payroll'));
    let bumped = 0;
    for (const [k, f] of sw.flows)
      if (f.cookie === allow) {
        sw.flows.set(k, { ...f, packetCount: f.packetCount + 37n, byteCount: f.byteCount + 4100n });
        bumped++;
      }
    expect(bumped).toBeGreaterThan(0);
    await openPage(page, base, 'rules');
    const row = (rule: string) =>
      page.$$eval(`#rules tbody tr[data-rule="${rule}"] > *`, (cs) => cs.map((c) => (c.textContent ?? '').trim()));
    expect((await row('finance-payroll')).slice(2, 5)).toEqual(['0', '0 B', 'never']);
    expect(await page.textContent('#unused-list')).toContain('finance-payroll');
    await page.getByRole('button', { name: 'Read the switch counters now' }).click();
    await page.waitForFunction(() => /Read \d+ flows? from 1 switch/.test(document.querySelector('#poll-result')?.textContent ?? ''));
    await page.waitForFunction(
      () => document.querySelector('#rules tbody tr[data-rule="finance-payroll"] td.num')?.textContent === String(37 * 1),
    );
    const fp = await row('finance-payroll');
    expect(fp.slice(2, 4)).toEqual([String(37 * bumped), `${((4100 * bumped) / 1000).toFixed(1)} kB`]);
    expect(fp[4]).not.toBe('never');
    const unused = await page.$$eval('#unused-list li strong', (ss) => ss.map((s) => s.textContent));
    expect(unused).not.toContain('finance-payroll');
    expect(unused).toEqual(expect.arrayContaining(['staff-intranet', 'app-to-db']));
    await page.getByRole('button', { name: 'Traffic of rule finance-payroll' }).click();
    await page.waitForSelector('#rule-traffic svg rect');
    expect(await page.textContent('#rule-traffic-title')).toBe('Traffic of rule finance-payroll');
    expect(await page.textContent('#rule-traffic .packets')).toBe(String(37 * bumped));
    expect(await page.$$eval('#rule-traffic svg rect', (rs) => rs.length)).toBe(1);
    expect(await page.getAttribute('#rule-traffic svg', 'aria-label')).toMatch(/finance-payroll: 1 points, peak 37/);
    // a second read with more traffic adds a point to the series
    for (const [k, f] of sw.flows)
      if (f.cookie === allow) sw.flows.set(k, { ...f, packetCount: f.packetCount + 5n, byteCount: f.byteCount + 500n });
    await page.getByRole('button', { name: 'Read the switch counters now' }).click();
    await page.waitForFunction(() => document.querySelectorAll('#rule-traffic svg rect').length === 2);
    expect(await page.textContent('#rule-traffic .packets')).toBe(String(42 * bumped));
    await page.screenshot({ path: join(ARTIFACTS, 'rule-traffic.png'), fullPage: true });
    // the matrix marks the allowed cell that carried traffic as in use, the others not
    await openPage(page, base, 'matrix');
    await page.waitForSelector('#matrix tbody button');
    expect(await page.getAttribute('#matrix button[data-members="alice"][data-resource="payroll-db"]', 'data-in-use')).toBe('yes');
    expect(await page.getAttribute('#matrix button[data-members="alice"][data-resource="payroll-db"]', 'aria-label')).toMatch(
      /allow, in use \(last hit /,
    );
    expect(
      await page.getAttribute('#matrix button[data-members="bob"][data-resource="intranet"][data-service="tcp/80"]', 'data-in-use'),
    ).toBe('no');
    expect(await page.getAttribute('#matrix button[data-members="bob"][data-resource="payroll-db"]', 'data-in-use')).toBeNull();
    expect(errors).toEqual([]);
  });
});
