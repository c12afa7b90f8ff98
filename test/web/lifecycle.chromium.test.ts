/**
 * Policy lifecycle in the console, in Chromium: lint warnings at their lines in the editor, the two-person rule
 * (a change by admin A is pending, A cannot approve it — the page shows the API's refusal —, B approves and it
 * applies) and rollback from a history entry (preview, submit, approval, byte-identical plan of version 1).
 * A controller on the basic example with --require-approval, two named admin tokens and an in-memory switch.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import type { Controller } from '../../controller/controller.js';
import { explain } from '../../compiler/query.js';
import { lintInput } from '../../compiler/lint.js';
import { loadPolicy } from '../../loader/load.js';
import { planHash } from '../../controller/lifecycle-api.js';
import { copyExample } from '../helpers/tmp.js';
import { startConsoleLab, type ConsoleLab } from '../helpers/console-lab.js';
import { describeWith } from '../helpers/needs.js';
import { haveChromium, openPage } from '../helpers/browser.js';

const ARTIFACTS = new URL('../../test-artifacts/web/', import.meta.url).pathname;
const A = 'lifecycle-token-anna',
  B = 'lifecycle-token-ben';

describeWith({ Chromium: haveChromium }, 'console: lint markers, pending approval, rollback', () => {
  let lab: ConsoleLab, ctl: Controller, app: FastifyInstance, anna: Page, ben: Page, base: string, policyPath: string;
  let annaErrors: string[], benErrors: string[];
  let hashV1: string;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const dir = copyExample('basic');
    policyPath = join(dir, 'policy.yaml');
    lab = await startConsoleLab({
      controller: { policyPath },
      app: {
        tokens: [
          { name: 'anna', token: A, role: 'admin' },
          { name: 'ben', token: B, role: 'admin' },
        ],
        requireApproval: true,
      },
      before: (c) => {
        hashV1 = planHash(c.compiled.plan);
      },
    });
    ({ ctl, app, base } = lab);
    const viewport = { width: 1400, height: 1000 };
    ({ page: anna, errors: annaErrors } = await lab.signedIn(A, { viewport }));
    ({ page: ben, errors: benErrors } = await lab.signedIn(B, { viewport }));
  }, 60_000);

  afterAll(() => lab?.stop());

  it('lint warnings appear at their lines in the editor, as validate/lint computes them', async () => {
    await openPage(anna, base, 'policy');
    await anna.waitForFunction(() => document.querySelector<HTMLTextAreaElement>('#policy-text')!.value.includes('no-contractors'));
    const text = await anna.inputValue('#policy-text');
    // carol is a contractor: no-contractors (a deny) shadows this grant entirely
    const edited = text.replace(
      /(  - \{ name: no-contractors.*\n)/,
      '$1  - { name: carol-payroll, from: { users: [carol] }, to: payroll-db }\n',
    );
    const line = edited.split('\n').findIndex((l) => l.includes('carol-payroll')) + 1;
    await anna.fill('#policy-text', edited);
    await anna.waitForFunction(
      (n) => [...document.querySelectorAll('#policy-gutter .warn')].some((e) => e.textContent === String(n)),
      line,
    );
    // the same findings the linter gives for this text, at the same lines (warnings and errors; notes are not markers)
    const loaded = await loadPolicy(policyPath, { policyText: edited });
    if (!loaded.ok) throw new Error('edited policy invalid');
    const expected = [
      ...new Set(
        lintInput(loaded.value)
          .findings.filter((f) => f.severity !== 'info' && f.location?.file.endsWith('policy.yaml'))
          .map((f) => f.location!.line),
      ),
    ].sort((a, b) => a - b);
    expect(expected).toContain(line);
    const shown = await anna.$$eval('#policy-gutter .warn', (es) => es.map((e) => Number(e.textContent)));
    expect(shown).toEqual(expected);
    expect(await anna.getAttribute(`#policy-gutter .warn:text-is("${line}")`, 'title')).toMatch(/carol-payroll|no-contractors/);
    const item = await anna.textContent(`#policy-lint li[data-line="${line}"]`);
    expect(item).toMatch(new RegExp(`^line ${line}: .*carol-payroll`));
    await anna.screenshot({ path: join(ARTIFACTS, 'policy-lint.png'), fullPage: true });
    // the link puts the cursor on that line
    await anna.click(`#policy-lint a[data-goto="${line}"]`);
    const caretLine = await anna.$eval(
      '#policy-text',
      (t) => (t as HTMLTextAreaElement).value.slice(0, (t as HTMLTextAreaElement).selectionStart).split('\n').length,
    );
    expect(caretLine).toBe(line);
    // fixing it removes the marker
    await anna.click('#revert');
    await anna.waitForFunction(
      (n) => ![...document.querySelectorAll('#policy-gutter .warn')].some((e) => e.textContent === String(n)),
      line,
    );
  });

  it('two-person rule: a change by anna is pending, anna cannot approve it (the refusal is shown), ben approves and it applies', async () => {
    const text = await anna.inputValue('#policy-text');
    await anna.fill('#policy-text', text.replace(/  - \{ name: staff-intranet.*\n/, ''));
    await anna.click('#preview');
    await anna.waitForSelector('#preview-changes li');
    const losses = await anna.$$eval('#preview-changes li.lose', (ls) => ls.length);
    expect(losses).toBeGreaterThan(0);
    await anna.click('#apply');
    await anna.click('#confirm-apply');
    await anna.waitForSelector('#pending-note');
    expect(ctl.version).toBe(1);
    // ben's nav shows the pending change without a reload
    await ben.waitForFunction(() => document.querySelector('#pending-count')?.textContent === '1');
    await openPage(anna, base, 'pending');
    await anna.waitForSelector('#pending-list article');
    expect(await anna.textContent('#pending-list h3')).toBe('Policy change by anna');
    expect(await anna.$$eval('#pending-list li.lose', (ls) => ls.length)).toBe(losses);
    expect(await anna.textContent('#pending-list article')).toContain('− bob → intranet tcp/80');
    await anna.getByRole('button', { name: /^Approve the change by anna/ }).click();
    await anna.waitForSelector('#pending-list .outcome [role=alert]');
    expect(await anna.textContent('#pending-list .outcome')).toBe(
      "Not approved: 'anna' submitted this change and cannot approve it: a different admin must",
    );
    expect(ctl.version).toBe(1);
    await anna.screenshot({ path: join(ARTIFACTS, 'pending-own-change.png'), fullPage: true });

    await openPage(ben, base, 'pending');
    await ben.getByRole('button', { name: /^Approve the change by anna/ }).click();
    await ben.waitForFunction(() => /approved and applied as version 2/.test(document.querySelector('#pending-result')?.textContent ?? ''));
    expect(ctl.version).toBe(2);
    expect(explain(ctl.compiled, 'bob', 'intranet', 'tcp/80').decision).toBe('deny');
    // the result is shown first, then the list is read again from the API
    await ben.waitForFunction(() => /No pending changes/.test(document.querySelector('#pending-list')?.textContent ?? ''));
    // anna's page follows the approval live
    await anna.waitForSelector('#pending-none');
    await ben.waitForFunction(() => document.querySelector('#pending-count')?.textContent === '');
  });

  it('a rejected change disappears for everyone and nothing is applied', async () => {
    const r = await app.inject({
      method: 'POST',
      url: '/api/v1/policy',
      headers: { authorization: `Bearer ${B}`, 'content-type': 'text/yaml' },
      payload: ctl.loaded.policyText.replace('default: deny', '# ben\ndefault: deny'),
    });
    expect(r.statusCode).toBe(202);
    await anna.waitForSelector('#pending-list article');
    expect(await anna.textContent('#pending-list h3')).toBe('Policy change by ben');
    await anna.getByRole('button', { name: /^Reject the change by ben/ }).click();
    await anna.waitForFunction(() => /rejected/.test(document.querySelector('#pending-result')?.textContent ?? ''));
    await ben.waitForSelector('#pending-none');
    expect(ctl.version).toBe(2);
  });

  it('rollback from a history entry: preview who gains, submit, approval by the other admin, the plan of version 1 exactly', async () => {
    await openPage(anna, base, 'policy');
    await anna.waitForSelector('#history tbody tr[data-version="1"] button.rollback');
    expect(await anna.$('#history tbody tr[data-version="2"] button.rollback')).toBeNull(); // the running version
    await anna.getByRole('button', { name: 'Roll back to version 1…' }).click();
    await anna.waitForSelector('#rollback-changes');
    const gains = await anna.$$eval('#rollback-changes li.gain', (ls) => ls.map((l) => l.textContent.trim()));
    expect(gains).toContain('+ bob → intranet tcp/80 (staff-intranet)');
    expect(await anna.$$eval('#rollback-changes li.lose', (ls) => ls.length)).toBe(0);
    expect(await anna.textContent('#rollback-out')).toMatch(new RegExp(`${gains.length} gain access, 0 lose access`));
    await anna.screenshot({ path: join(ARTIFACTS, 'rollback-preview.png'), fullPage: true });
    await anna.getByRole('button', { name: 'Submit rollback to version 1 for approval' }).click();
    await anna.waitForSelector('#rollback-pending');
    expect(ctl.version).toBe(2);
    await openPage(ben, base, 'pending');
    await ben.waitForSelector('#pending-list article');
    expect(await ben.textContent('#pending-list h3')).toBe('Rollback to version 1 by anna');
    await ben.getByRole('button', { name: /^Approve the change by anna/ }).click();
    await ben.waitForFunction(() => /approved and applied as version 3/.test(document.querySelector('#pending-result')?.textContent ?? ''));
    expect(ctl.version).toBe(3);
    expect(planHash(ctl.compiled.plan)).toBe(hashV1);
    // anna's history shows version 3 as a rollback to 1, approved by ben
    await openPage(anna, base, 'policy');
    await anna.waitForSelector('#history tbody tr[data-version="3"]');
    expect(await anna.textContent('#history tbody tr[data-version="3"]')).toMatch(/anna[\s\S]*approved by ben[\s\S]*rollback to 1/);
    expect([...annaErrors, ...benErrors]).toEqual([]);
  });
});
