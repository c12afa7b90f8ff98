/**
 * Plans, subject order and access diffs are the same whatever the machine's locale: the compiler sorts text by
 * code unit, never with localeCompare/Intl.Collator (which follow LANG: Turkish dotted/dotless i, Swedish ä after z).
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';

const child = new URL('../helpers/locale-child.ts', import.meta.url).pathname;
function runIn(lang: string): { locale: string; switches: string[]; subjects: string[]; diff: string[]; plan: string } {
  const out = execFileSync(process.execPath, ['--import', 'tsx', child], {
    env: { ...process.env, LANG: lang, LC_ALL: lang },
    encoding: 'utf8',
  });
  return JSON.parse(out);
}

describe('locale-independent order', () => {
  it('compiles to the same plan, order and diff under C, tr_TR and sv_SE', () => {
    const c = runIn('C.UTF-8');
    const tr = runIn('tr_TR.UTF-8');
    const sv = runIn('sv_SE.UTF-8');
    // the locales really differ for this process (otherwise the test would prove nothing)
    expect(new Set([c.locale, tr.locale, sv.locale]).size).toBe(3);
    const strip = (x: typeof c) => ({ ...x, locale: '' });
    expect(strip(tr)).toEqual(strip(c));
    expect(strip(sv)).toEqual(strip(c));
    expect(c.diff.length).toBeGreaterThan(0);
    expect(c.switches).toEqual([...c.switches].sort());
  }, 60_000);
});
