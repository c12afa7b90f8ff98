/** The fast YAML reader must mean exactly what the positional one means, and errors keep their file:line:column. */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { YamlSource } from '../../compiler/yaml-source.js';
import { parsePolicyText } from '../../compiler/index.js';

const positional = (text: string) => {
  const d = parseDocument(text, { uniqueKeys: true });
  return d.errors.length ? { errors: d.errors.length } : { value: d.toJS({ maxAliasCount: 100 }) };
};

const EXAMPLES = new URL('../../examples/', import.meta.url).pathname;
const exampleFiles = readdirSync(EXAMPLES, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => join(EXAMPLES, f));

const TRICKY = [
  'a: 0x1F\nb: 0o17\nc: 017\nd: 1e3\ne: .inf\nf: -.INF\ng: .NaN\nh: 1_000\n',
  'mac: 02:00:00:00:01:01\ntime: 12:30:00\nsexa: 190:20:30\n',
  'yes: yes\nno: no\non: on\nt: True\nf: FALSE\nn: ~\nn2: Null\nempty:\n',
  'date: 2026-11-23\nts: 2001-12-14t21:59:43.10-05:00\n',
  'merge: { <<: { a: 1 }, b: 2 }\n',
  'list: [a, "b", \'c\', 10.0.1.1, 10.0.0.0/8, tcp/443, "tcp/1-2"]\n',
  'block: |\n  line1\n  line2\nfolded: >\n  a\n  b\n',
  'key with spaces: v\n"quoted key": 1\n? complex\n: v\n',
  '# only a comment\n',
  '',
  '---\nx: 1\n...\n',
  'x: !!str 123\ny: !!int "7"\n',
  'big: 18446744073709551615\ndpid: 00:00:00:00:00:00:00:01\n',
  'unicode: "caf\\u00e9"\nraw: café\n',
];

describe('YAML reading', () => {
  it('every example file reads to the same value as the positional parser', () => {
    expect(exampleFiles.length).toBeGreaterThan(5);
    for (const f of exampleFiles) {
      const text = readFileSync(f, 'utf8');
      const s = new YamlSource(f, text);
      expect(s.diagnostics, f).toEqual([]);
      expect(s.value, f).toEqual(positional(text).value);
    }
  });

  it('a path is located where the whole positional document puts it, though only its top-level entry is parsed', () => {
    /** Every path to a value in `v` (keys of mappings, indexes of lists), depth-first. */
    const paths = (v: unknown, at: (string | number)[] = []): (string | number)[][] =>
      v !== null && typeof v === 'object'
        ? [at, ...Object.entries(v).flatMap(([k, x]) => paths(x, [...at, Array.isArray(v) ? Number(k) : k]))]
        : [at];
    const texts = [
      ...exampleFiles.map((f) => [f, readFileSync(f, 'utf8')] as const),
      [
        'odd.yaml',
        '# head\n\nversion: 1\n"quoted": { a: [1, 2] }\nrules:\n  # a comment\n  - { name: x }\n\n  - name: y\n    to: z\nlast: |\n  text\n',
      ],
      ['crlf.yaml', 'a: 1\r\nb:\r\n  - x\r\n  - y\r\n'],
      ['flow.yaml', '{ a: 1, b: [x, y] }\n'],
      ['seq.yaml', '- a: 1\n- b: 2\n'],
      ['compact.yaml', 'rules:\n- a: 1\n- b: 2\nres:\n  k:\n  - x\n  - y\n  "q k": { a: [1,\n      2] }\n'],
      [
        'nested.yaml',
        'users:\n  - id: a\n    devices:\n      - { mac: m }\n# out\n  # in\n  - id: b\n    note: |\n      - not a list\n      k: not a key\n',
      ],
      ['value-on-line.yaml', 'a: [1, 2]\nb: { c: 1 }\nc: text\nd: # c\n  - 1\n'],
      [
        'flow-entries.yaml',
        'roles: [a, "b", \'c\', d e]\norgs: [{ name: o1, children: [{ name: o2 }, { name: "o,3" }] }, { name: o4 }]\nusers:\n' +
          '  - { id: u0, name: User 0, roles: [r1, r2], devices: [{ mac: "02:00:00:00:00:01", ip: 10.0.0.1 }] }\n' +
          "  - { id: 'u''1', \"k\":v, e: [], f: {}, g: [1, 2, ], h: -1, i: a:b, j: [[x], {y: z}] }\n" +
          '  - {id: u2,\n     roles: [x,\n       y]}\n' +
          '  - { id: u3, "esc\\"k": 1, 1: one, true: t, n: ~, m: null, x: [a: b], y: { a, b: 1 }, z: {q: }, w: "a\\tb" }\n' +
          '  - { id: u4, c: [a, b] # comment\n    }\n  - { id: u5, t: !!str 1, a: &x [1], s: { ? k } }\n' +
          'res:\n  web: { hosts: [srv0, srv1], services: [tcp/22, "udp/53"] }\n  "db k": {hosts: [a],services: []}\n',
      ],
    ] as const;
    let checked = 0;
    for (const [f, text] of texts) {
      const value = new YamlSource(f, text).value;
      for (const p of paths(value).slice(0, 400)) {
        for (const key of [false, true]) {
          const fast = new YamlSource(f, text).locate(p, key); // only p[0]'s entry parsed
          const whole = new YamlSource(f, text);
          void whole.doc; // the whole positional document first: locate then reads it
          expect(fast, `${f} ${JSON.stringify(p)} key=${key}`).toEqual(whole.locate(p, key));
          checked++;
          // a path that goes on past what is there: located at the nearest node that is
          for (const more of [
            [...p, 'nope'],
            [...p, 7],
            [...p, 'nope', 0],
          ]) {
            const w = new YamlSource(f, text);
            void w.doc;
            expect(new YamlSource(f, text).locate(more, key), `${f} ${JSON.stringify(more)} key=${key}`).toEqual(w.locate(more, key));
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(1000);
  });

  it('tricky scalars and forms read the same (YAML 1.2 core: no sexagesimal, no yes/no, no timestamps, no merge keys)', () => {
    for (const t of TRICKY) {
      const s = new YamlSource('t.yaml', t);
      const p = positional(t);
      if ('errors' in p) expect(s.diagnostics.length, t).toBeGreaterThan(0);
      else expect({ d: s.diagnostics, v: s.value }, t).toEqual({ d: [], v: p.value });
    }
  });

  it('syntax errors and duplicate keys are reported with line and column; nothing is read', () => {
    const dup = new YamlSource('p.yaml', 'version: 1\nrules: []\nversion: 2\n');
    expect(dup.value).toBeUndefined();
    expect(dup.diagnostics[0]).toMatchObject({ code: 'yaml-syntax', location: { file: 'p.yaml', line: 3, column: 1 } });
    const bad = new YamlSource('p.yaml', 'a: 1\nb: [1, 2\nc: 3\n');
    expect(bad.value).toBeUndefined();
    expect(bad.diagnostics[0].location!.line).toBeGreaterThanOrEqual(2);
    const two = new YamlSource('p.yaml', 'a: 1\n---\nb: 2\n');
    expect(two.value).toBeUndefined();
    expect(two.diagnostics.length).toBeGreaterThan(0);
  });

  it('aliases go through the positional parser, which caps their expansion', () => {
    const ok = new YamlSource('p.yaml', 'base: &b [a, b]\nuse: *b\n');
    expect(ok.value).toEqual({ base: ['a', 'b'], use: ['a', 'b'] });
    let bomb = 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n';
    for (let i = 1; i < 8; i++)
      bomb += `a${i}: &a${i} [${Array(10)
        .fill(`*a${i - 1}`)
        .join(', ')}]\n`;
    const b = new YamlSource('p.yaml', bomb);
    expect(b.value).toBeUndefined();
    expect(b.diagnostics.length).toBeGreaterThan(0);
  });

  it('a validation error in a large valid file still points at its line and column', () => {
    const rules = Array.from({ length: 2000 }, (_, i) => `  - { name: r${i}, from: { users: [u${i}] }, to: svc }`);
    rules[1500] = '  - { name: r1500, from: { users: [u1500] }, to: svc, acton: deny }';
    const r = parsePolicyText(
      `version: 1\ndirectory: d\ntopology: t\nresources:\n  svc: { hosts: [10.0.0.1], services: [tcp/443] }\nrules:\n${rules.join('\n')}\n`,
      'big.yaml',
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const d = r.diagnostics.find((x) => x.code === 'unknown-field')!;
    expect(d.location).toEqual({ file: 'big.yaml', line: 1507, column: 55 });
    expect(d.hint).toMatch(/action/);
  });
});
