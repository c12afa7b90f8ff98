/**
 * The console's sources keep two rules: no `any` (replies are typed by the API contract, events by controller/events.ts),
 * and markup reaches the page only through dom.ts (`render` of an `html` template, which escapes every value).
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const SRC = new URL('../../controller/web/src/', import.meta.url).pathname;
const files = (d: string): string[] =>
  readdirSync(d, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(d, e.name)) : e.name.endsWith('.ts') ? [join(d, e.name)] : [],
  );
const code = (f: string) =>
  readFileSync(f, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/\/\/.*$/gm, '');
const lines = (f: string) =>
  code(f)
    .split('\n')
    .map((l, i) => ({ file: relative(SRC, f), line: i + 1, text: l.trim() }));

describe('web console sources', () => {
  const all = files(SRC);
  it('are split into modules per page, none over 250 lines', () => {
    expect(all.map((f) => relative(SRC, f)).filter((f) => f.startsWith('pages/')).length).toBeGreaterThanOrEqual(8);
    for (const f of all) expect(readFileSync(f, 'utf8').split('\n').length, relative(SRC, f)).toBeLessThan(250);
  });
  it('have no `any`', () => {
    expect(all.flatMap(lines).filter((x) => /(:\s*any\b|\bas any\b|<any>|\bany\[\]|=\s*any\b)/.test(x.text))).toEqual([]);
  });
  it('write markup only through dom.ts', () => {
    expect(
      all
        .filter((f) => !f.endsWith('/dom.ts'))
        .flatMap(lines)
        .filter((x) => /\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write/.test(x.text)),
    ).toEqual([]);
  });
});
