/**
 * Hostile names in the web console (Chromium): a directory display name, a RADIUS user name and a policy comment
 * carrying markup and script. Every page renders them as text: nothing runs, no element is injected, and the
 * literal text is what the page shows.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { Controller } from '../../controller/controller.js';
import { TABLE } from '../../compiler/pipeline.js';
import { attributePlan } from '../../compiler/observe.js';
import type { FakeSwitch } from '../controller/fake-switch.js';
import { frame } from '../helpers/frames.js';
import { copyExample } from '../helpers/tmp.js';
import { startConsoleLab, type ConsoleLab } from '../helpers/console-lab.js';
import { describeWith } from '../helpers/needs.js';
import { haveChromium, openPage } from '../helpers/browser.js';

const TOKEN = 'escaping-admin-token';
const DISPLAY = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>Alice';
const RADIUS_USER = '<script>window.__xss=3</script><b id="injected">x</b>';
const COMMENT = '# </textarea></pre><script>window.__xss=4</script><img src=x onerror="window.__xss=5">';

describeWith({ Chromium: haveChromium }, 'hostile names in the web console render as text', () => {
  let lab: ConsoleLab, ctl: Controller, sw: FakeSwitch, page: Page, base: string, errors: string[];

  beforeAll(async () => {
    const dir = copyExample('basic');
    const dirFile = join(dir, 'directory.yaml');
    writeFileSync(dirFile, readFileSync(dirFile, 'utf8').replace('name: Alice Ito', `name: ${JSON.stringify(DISPLAY)}`));
    lab = await startConsoleLab({ controller: { policyPath: join(dir, 'policy.yaml') }, app: { adminToken: TOKEN } });
    ({ ctl, base } = lab);
    sw = lab.sw!;
    expect(ctl.compiled.input.directory.users.find((u) => u.id === 'alice')?.name).toBe(DISPLAY);
    ({ page, errors } = await lab.signedIn(TOKEN));
  }, 60_000);

  afterAll(() => lab?.stop());

  const nothingRan = async () => {
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(await page.$$('#injected, main img, main script')).toHaveLength(0);
  };

  it('a display name with markup: Directory and Denials pages', async () => {
    await openPage(page, base, 'directory');
    await page.waitForSelector('#users tbody tr');
    expect(await page.textContent('#users tbody')).toContain(DISPLAY);
    await nothingRan();
    // alice denied: the deny log shows her display name
    const plan = ctl.compiled.plan.switches.find((s) => s.name === 'edge1')!;
    const cookie = [...attributePlan(ctl.compiled, plan)].find(([, a]) => a.role === 'default-deny')![0];
    const data = frame({ src: '02:00:00:00:01:01', ipSrc: '10.0.1.1', ipDst: '10.0.2.2', proto: 'tcp', dport: 22 });
    sw.send({
      type: 'packet_in',
      xid: 9,
      bufferId: 0xffffffff,
      totalLen: data.length,
      reason: 1,
      tableId: TABLE.policy,
      cookie,
      match: [{ field: 'in_port', value: 1 }],
      data,
    });
    await openPage(page, base, 'denials');
    await page.waitForSelector('#denials tbody tr[data-id]');
    expect(await page.textContent('#denials tbody')).toContain(DISPLAY);
    await nothingRan();
  });

  it('a RADIUS user name with script: Sessions page and the live announcement', async () => {
    await openPage(page, base, 'sessions');
    const r = ctl.edge.sessions.add(
      { mac: '02:00:00:00:0e:09', switch: 'edge1', port: 7, method: 'dot1x', user: RADIUS_USER },
      'radius:test',
    );
    if (!r.ok) throw new Error(r.message);
    await page.waitForSelector('#sessions tbody tr[data-id]');
    expect(await page.textContent('#sessions tbody th')).toContain(RADIUS_USER);
    expect(await page.getAttribute('button.end-session', 'aria-label')).toBe(`End the session of ${RADIUS_USER} on edge1:7`);
    expect(await page.textContent('#live')).toContain(RADIUS_USER);
    await nothingRan();
  });

  it('a policy comment closing the textarea: editor, preview and the history diff', async () => {
    await openPage(page, base, 'policy');
    await page.waitForFunction(() => document.querySelector<HTMLTextAreaElement>('#policy-text')!.value.includes('default: deny'));
    const text = await page.inputValue('#policy-text');
    await page.fill('#policy-text', text.replace('default: deny', `${COMMENT}\ndefault: deny`));
    expect(await page.textContent('#policy-highlight')).toContain(COMMENT);
    await page.click('#preview');
    await page.waitForSelector('#preview-out h3');
    await page.click('#apply');
    await page.click('#confirm-apply');
    await page.waitForFunction(() => /Applied as version 2/.test(document.querySelector('#preview-out')?.textContent ?? ''));
    await page.waitForSelector('#history input.cmp[value="2"]');
    await page.check('#history input.cmp[value="1"]');
    await page.check('#history input.cmp[value="2"]');
    await page.waitForSelector('#history-diff .add');
    expect(await page.textContent('#history-diff .add')).toBe(`+ ${COMMENT}`);
    await nothingRan();
    expect(errors).toEqual([]);
  });
});
