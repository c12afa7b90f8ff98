/**
 * The console's Rules page in Chromium with monitor mode: a `mode: monitor` rule is marked; a policy version in
 * monitor mode is shown with what it would have cut (a would-deny sample arrives as a PACKET_IN from edge1's monitor
 * table, as a real switch sends it); Promote applies it. Everything asserted is read from the page.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { Controller } from '../../controller/controller.js';
import { TABLE } from '../../compiler/pipeline.js';
import type { FakeSwitch } from '../controller/fake-switch.js';
import { frame } from '../helpers/frames.js';
import { copyExample, waitFor } from '../helpers/tmp.js';
import { startConsoleLab, type ConsoleLab } from '../helpers/console-lab.js';
import { describeWith } from '../helpers/needs.js';
import { haveChromium, openPage } from '../helpers/browser.js';

const ADMIN = 'monitor-console-admin-token';
const WATCH = '  - { name: watch-db, from: { users: [alice] }, to: payroll-db, action: deny, mode: monitor }\n';

describeWith({ Chromium: haveChromium }, 'console: monitored rules and a monitored policy version', () => {
  let lab: ConsoleLab, ctl: Controller, sw: FakeSwitch, page: Page, base: string, v1: string;
  let errors: string[];

  beforeAll(async () => {
    const dir = copyExample('basic');
    const p = join(dir, 'policy.yaml');
    v1 = readFileSync(p, 'utf8').replace('default: deny', `${WATCH}default: deny`);
    writeFileSync(p, v1);
    lab = await startConsoleLab({ controller: { policyPath: p, observe: { traffic: { intervalMs: 0 } } }, app: { adminToken: ADMIN } });
    ({ ctl, base } = lab);
    sw = lab.sw!;
    ({ page, errors } = await lab.signedIn(ADMIN));
  }, 60_000);

  afterAll(() => lab?.stop());

  it('marks the mode: monitor rule; shows the monitored version, what it would have cut, and promotes it', async () => {
    await openPage(page, base, 'rules');
    await page.waitForSelector('#rules tbody tr[data-rule="watch-db"] .tag.monitor');
    expect(await page.$$eval('#rules tbody .tag.monitor', (t) => t.length)).toBe(1);
    expect(await page.textContent('#monitored-version')).toContain('No policy version is in monitor mode');
    // a candidate that narrows the intranet to managers: bob would lose it
    const candidate = v1.replace('from: { roles: [employee] }, to: intranet', 'from: { roles: [manager] }, to: intranet');
    const started = await ctl.monitorMode.start(candidate, 'admin');
    expect(started.ok).toBe(true);
    await waitFor('monitor flow', () => [...sw.flows.values()].some((f) => f.tableId === TABLE.monitor));
    const cookie = [...sw.flows.values()].find((f) => f.tableId === TABLE.monitor)!.cookie;
    const data = frame({ src: '02:00:00:00:01:02', ipSrc: '10.0.1.2', ipDst: '10.0.2.2', proto: 'tcp', dport: 80 });
    sw.send({
      type: 'packet_in',
      xid: 7,
      bufferId: 0xffffffff,
      totalLen: data.length,
      reason: 1,
      tableId: TABLE.monitor,
      cookie,
      match: [{ field: 'in_port', value: 2 }],
      data,
    });
    await waitFor('would-deny logged', () => ctl.observe.denials.query({ kind: 'would-deny', user: 'bob' })[0]);
    await openPage(page, base, 'denials'); // away and back: the Rules page loads again
    await openPage(page, base, 'rules');
    await page.waitForSelector('#monitor-name');
    expect(await page.textContent('#monitor-name')).toBe(ctl.monitorMode.current!.name);
    const row = await page.$$eval('#would-cut tbody tr[data-user="bob"] td', (cs) => cs.map((c) => (c.textContent ?? '').trim()));
    expect(row.slice(0, 5)).toEqual(['bob', '10.0.2.2 [intranet]', 'tcp/80', 'default', '1']);
    await page.click('#monitor-promote');
    await page.waitForFunction(() =>
      /No policy version is in monitor mode/.test(document.querySelector('#monitored-version')?.textContent ?? ''),
    );
    expect(ctl.version).toBe(2);
    expect(ctl.loaded.policyText).toBe(candidate);
    expect(errors).toEqual([]);
  }, 90_000);
});
