/**
 * The web console in a real browser (Debian's /usr/bin/chromium through playwright-core), against a controller
 * on the campus example; with Open vSwitch available, a bridge web-hv1 shows the applied change in its flows.
 * Screenshots of every page go to test-artifacts/web/.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { Controller } from '../../controller/controller.js';
import { buildApp } from '../../controller/api.js';
import { explain } from '../../compiler/query.js';
import { copyExample, waitFor } from '../helpers/tmp.js';
import { createBridge, deleteBridge, ensureOvs, haveOvs, ofctl } from '../helpers/ovs.js';
import { describeWith } from '../helpers/needs.js';
import { buildConsole } from '../helpers/browser.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = new URL('../../test-artifacts/web/', import.meta.url).pathname;
const TOKEN = 'console-admin-token';
const withOvs = haveOvs() && process.getuid?.() === 0;

describeWith({ Chromium: !!existsSync(CHROMIUM) }, 'web console in Chromium', () => {
  let ctl: Controller;
  let app: FastifyInstance;
  let browser: Browser;
  let page: Page;
  let url: string;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    buildConsole();
    const dir = copyExample('campus');
    ctl = new Controller({ policyPath: join(dir, 'policy.yaml'), listen: { host: '127.0.0.1', port: 0 } });
    const { port } = await ctl.start();
    app = await buildApp(ctl, { adminToken: TOKEN, auditLog: join(dir, 'audit.jsonl') });
    await app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/`;
    if (withOvs) {
      ensureOvs();
      createBridge('web-hv1', { controller: `tcp:127.0.0.1:${port}`, dpid: (17).toString(16).padStart(16, '0') });
      await waitFor('web-hv1 synced', () => ctl.switchStatus().find((s) => s.name === 'hv2')?.lastSync, 15_000);
    }
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    if (withOvs) deleteBridge('web-hv1');
    await app?.close();
    await ctl?.stop();
  });

  it('without a token the console is read-only: no preview, apply or editing', async () => {
    await page.goto(url + '#overview');
    await page.waitForSelector('#switches tbody tr');
    expect(await page.textContent('#mode')).toBe('read-only');
    expect(await page.isVisible('#apply')).toBe(false);
    expect(await page.isVisible('#preview')).toBe(false);
    expect(await page.textContent('#switches tbody')).toContain('hv1');
    await page.screenshot({ path: join(ARTIFACTS, 'overview-read-only.png'), fullPage: true });
    await page.goto(url + '#policy');
    await page.waitForFunction(() => (document.querySelector('#policy-text') as HTMLTextAreaElement).value.length > 0);
    expect(await page.$eval('#policy-text', (t) => (t as HTMLTextAreaElement).readOnly)).toBe(true);
  });

  it('with the admin token, the overview shows switches and the mode is admin', async () => {
    await page.goto(url + '#overview');
    await page.fill('#token', TOKEN);
    await page.click('#token-form button');
    await page.waitForFunction(() => document.querySelector('#mode')?.textContent === 'admin');
    if (withOvs) await page.waitForFunction(() => /hv2[\s\S]*connected/.test(document.querySelector('#switches tbody')?.textContent ?? ''));
    await page.screenshot({ path: join(ARTIFACTS, 'overview.png'), fullPage: true });
  });

  it('the access matrix matches explain for every cell, and a click explains the rule and the flows', async () => {
    await page.goto(url + '#matrix');
    await page.waitForSelector('#matrix tbody button');
    const cells = await page.$$eval('#matrix tbody button', (bs) =>
      bs.map((b) => ({
        members: (b as HTMLElement).dataset.members!,
        resource: (b as HTMLElement).dataset.resource!,
        service: (b as HTMLElement).dataset.service!,
        cls: b.className,
      })),
    );
    expect(cells.length).toBe(16 * 9);
    const wrong = cells.filter(
      (c) => (explain(ctl.compiled, c.members, c.resource, c.service).decision === 'allow' ? 'allow' : 'deny') !== c.cls,
    );
    expect(wrong).toEqual([]);
    await page.screenshot({ path: join(ARTIFACTS, 'matrix.png'), fullPage: true });
    await page.click('#matrix button[data-members="carl"][data-resource="payroll-db"]');
    await page.waitForFunction(() => /no-contractors-payroll/.test(document.querySelector('#explain')?.textContent ?? ''));
    const text = await page.textContent('#explain');
    expect(text).toMatch(/DENY carl → payroll-db/);
    expect(text).toMatch(/edge1 \(in_port 3\): drop/);
    await page.click('#matrix button[data-members="alice"][data-resource="payroll-db"]');
    await page.waitForFunction(() => /finance-payroll/.test(document.querySelector('#explain')?.textContent ?? ''));
    expect(await page.textContent('#explain')).toMatch(/hv1 \(in_port 9\): forward/);
    // keyboard: cells are buttons reachable by Tab and activated by Enter
    await page.focus('#matrix button[data-members="bob"][data-resource="git"]');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => /engineering-git/.test(document.querySelector('#explain')?.textContent ?? ''));
    await page.selectOption('#matrix-view', 'organizations');
    expect(await page.textContent('#matrix tbody')).toContain('finance');
    // an organization's row includes its sub-organizations (bob and erin are in platform, under engineering)
    const members = async (org: string) =>
      (await page.getAttribute(`#matrix tbody tr:has(th:text-is("${org}")) button`, 'data-members'))!.split(',').sort();
    expect(await members('engineering')).toEqual(['bob', 'cathy', 'dave', 'erin']);
    expect(await members('platform')).toEqual(['bob', 'erin']);
    expect(await members('corp')).toEqual(expect.arrayContaining(['alice', 'bob', 'frank']));
    await page.screenshot({ path: join(ARTIFACTS, 'matrix-explain.png'), fullPage: true });
  });

  it('an invalid edit shows the error at its line and applies nothing', async () => {
    await page.goto(url + '#policy');
    await page.waitForFunction(() => (document.querySelector('#policy-text') as HTMLTextAreaElement).value.includes('finance-payroll'));
    const text = await page.inputValue('#policy-text');
    const bad = text.replace('to: payroll-db }', 'to: payrol-db }');
    const line = bad.split('\n').findIndex((l) => l.includes('payrol-db')) + 1;
    await page.fill('#policy-text', bad);
    await page.click('#preview');
    await page.waitForSelector('#policy-errors li');
    expect(await page.textContent('#policy-errors')).toContain(`line ${line}, column`);
    expect(await page.textContent('#policy-errors')).toContain("unknown resource 'payrol-db'");
    expect(await page.textContent('#policy-errors')).toContain("did you mean 'payroll-db'?");
    expect(await page.$eval(`#policy-gutter .err`, (e) => e.textContent)).toBe(String(line));
    expect(await page.isDisabled('#apply')).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'policy-error.png'), fullPage: true });
    expect(ctl.version).toBe(1);
  });

  it('a valid edit previews who gains and loses, applies after confirmation, and the switch flows change', async () => {
    const flowsBefore = withOvs ? ofctl('dump-flows', 'web-hv1') : '';
    await page.click('#revert');
    const text = await page.inputValue('#policy-text');
    await page.fill('#policy-text', text.replace(/ {2}- \{ name: contractors-git.*\n/, ''));
    await page.click('#preview');
    await page.waitForSelector('#preview-changes li');
    expect(await page.$$eval('#preview-changes li', (ls) => ls.map((l) => l.textContent.trim()))).toEqual(['− cathy → git tcp/443']);
    await page.screenshot({ path: join(ARTIFACTS, 'policy-preview.png'), fullPage: true });
    await page.click('#apply');
    await page.waitForSelector('#confirm[open]');
    await page.click('#confirm-apply');
    await page.waitForFunction(() => /Applied as version 2/.test(document.querySelector('#preview-out')?.textContent ?? ''));
    expect(ctl.version).toBe(2);
    expect(explain(ctl.compiled, 'cathy', 'git', 'tcp/443').decision).toBe('deny');
    if (withOvs) expect(ofctl('dump-flows', 'web-hv1')).not.toEqual(flowsBefore);
    await page.waitForSelector('#history tbody input.cmp');
    await page.screenshot({ path: join(ARTIFACTS, 'policy-applied.png'), fullPage: true });
  });

  it('the history compares two applied versions', async () => {
    const text = await page.inputValue('#policy-text');
    await page.fill('#policy-text', text.replace('default: deny', '# reviewed by the network team\ndefault: deny'));
    await page.click('#preview');
    await page.waitForSelector('#preview-out h3');
    await page.click('#apply');
    await page.click('#confirm-apply');
    await page.waitForFunction(() => /Applied as version 3/.test(document.querySelector('#preview-out')?.textContent ?? ''));
    // versions 1 (loaded at start), 2 and 3 of this run
    await page.waitForFunction(() => document.querySelectorAll('#history input.cmp').length === 3);
    for (const v of [2, 3]) await page.check(`#history input.cmp[value="${v}"]`);
    await page.waitForFunction(() => /version 2 → 3/.test(document.querySelector('#history-diff')?.textContent ?? ''));
    expect(await page.textContent('#history-diff .add')).toContain('# reviewed by the network team');
  });

  it('the directory page lists users, organizations and where devices were seen', async () => {
    await page.goto(url + '#directory');
    await page.waitForSelector('#users tbody tr');
    const rows = await page.$$eval('#users tbody tr', (rs) => rs.map((r) => r.textContent ?? ''));
    expect(rows).toHaveLength(12);
    expect(rows.find((r) => r.startsWith('alice'))).toMatch(/finance[\s\S]*edge1:1/);
    expect(rows.find((r) => r.startsWith('tom'))).toMatch(/not seen yet/);
    expect(await page.textContent('#orgs')).toMatch(/corp.*engineering.*platform/s);
    await page.screenshot({ path: join(ARTIFACTS, 'directory.png'), fullPage: true });
  });
});
