/**
 * The plain-YAML reader against js-yaml (core schema): whenever it returns a value, js-yaml reads the same text
 * to the same value (same keys in the same order, same types); when js-yaml refuses a text, it gives up. Checked
 * on every YAML file shipped, on the enterprise files, on generated documents in many layouts and on random
 * character-level mutations of all of them. It must also take the files it exists for (or it would be dead weight).
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { load, CORE_SCHEMA } from 'js-yaml';
import { readPlainYaml } from '../../compiler/yaml-plain.js';
import { enterpriseFiles } from '../../bench/enterprise.js';
import { tempDir } from '../helpers/tmp.js';

const ROOT = join(import.meta.dirname, '..', '..');

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? yamlFiles(join(dir, e.name)) : /\.ya?ml$/.test(e.name) ? [join(dir, e.name)] : [],
  );
}

/** A canonical text of a value: key order, -0, NaN, Infinity and types all show. */
function canon(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `[${v.map(canon).join(',')}]`;
  if (typeof v === 'object') {
    if (Object.getPrototypeOf(v) !== Object.prototype) return `<${Object.prototype.toString.call(v)}>`;
    return `{${Object.keys(v)
      .map((k) => `${JSON.stringify(k)}:${canon((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  if (typeof v === 'number') return Object.is(v, -0) ? 'num:-0' : `num:${String(v)}`;
  return `${typeof v}:${JSON.stringify(v)}`;
}

type Outcome = { ok: true; value: string } | { ok: false };
function reference(text: string): Outcome {
  try {
    return { ok: true, value: canon(load(text, { schema: CORE_SCHEMA }) ?? null) };
  } catch {
    return { ok: false };
  }
}

/** Checks one text; returns whether the plain reader took it. */
function agrees(text: string): boolean {
  const fast = readPlainYaml(text);
  if (!fast) return false;
  const ref = reference(text);
  if (!ref.ok) throw new Error(`js-yaml refuses what the plain reader took:\n${text}`);
  if (canon(fast.value) !== ref.value) throw new Error(`different values:\n${text}\nplain:   ${canon(fast.value)}\njs-yaml: ${ref.value}`);
  return true;
}

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SCALARS = [
  'a',
  'payroll-db',
  'u1',
  'Alice Smith',
  '10.0.1.5',
  '10.0.0.0/8',
  'tcp/5432',
  's1:3',
  'aa:bb:cc:dd:ee:ff',
  'http://x/y',
  '0',
  '1',
  '-1',
  '+5',
  '007',
  '0x1F',
  '0o17',
  '0b101',
  '1_000',
  '1.5',
  '1e3',
  '-.5',
  '.inf',
  '-.Inf',
  '.nan',
  '.NaN',
  'true',
  'True',
  'FALSE',
  'yes',
  'no',
  'on',
  'null',
  'Null',
  '~',
  'NULL',
  'nul',
  '2026-12-03',
  '12:30',
  '1:2:3',
  'a#b',
  'a #b',
  'a: b',
  'a:',
  ':a',
  '-a',
  '- a',
  '?a',
  '? a',
  'a,b',
  'a]',
  '[a',
  '{a',
  'a}',
  '"a"',
  "'a'",
  "it's",
  'say "hi"',
  'back\\slash',
  '*x',
  '&x',
  '!x',
  '|',
  '>',
  '%x',
  '@x',
  '`x',
  'a  b',
  ' a',
  'a ',
  '',
  'é',
  'ß-ö',
  '__proto__',
  'constructor',
  'toString',
  '<<',
];
const KEYS = [
  'a',
  'b',
  'name',
  'id',
  'roles',
  '0',
  '1',
  '1.0',
  'true',
  'null',
  '0x10',
  'x.y',
  'a/b',
  'a-b',
  '_k',
  'a b',
  'é',
  '__proto__',
  '<<',
  'a:b',
];

/** A random document: a tree written in a random mix of block and flow styles, quoting and comments. */
function generate(r: () => number): string {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)];
  // what a plain scalar or key cannot be: mostly quoted, sometimes written plain to reach the reader's refusals
  const plainOk = (s: string) => /^[A-Za-z0-9_][^:#]*$/.test(s) && !s.endsWith(' ');
  const scalarText = (s: string): string => {
    const k = r();
    if (k < (plainOk(s) ? 0.6 : 0.1)) return s;
    if (k < 0.8) return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
    return `'${s.replace(/'/g, "''")}'`;
  };
  const flow = (d: number): string => {
    const k = r();
    if (d > 2 || k < 0.5) return scalarText(pick(SCALARS));
    if (k < 0.75)
      return `[${Array.from({ length: Math.floor(r() * 4) }, () => flow(d + 1)).join(pick([', ', ',', ' , ', ',\n  ', ',\n', ', # c\n    ', ',\n\n   ']))}]`;
    const keys = freshKeys();
    return `{${Array.from({ length: Math.floor(r() * 4) }, () => `${keys()}: ${flow(d + 1)}`).join(pick([', ', ',\n    ']))}}`;
  };
  /** Keys for one mapping: different ones, but now and then a duplicate. */
  const freshKeys = () => {
    const used = new Set<string>();
    return () => {
      let k = pick(KEYS);
      for (let t = 0; used.has(k) && t < 5 && r() < 0.97; t++) k = pick(KEYS);
      used.add(k);
      return scalarText(k);
    };
  };
  const lines: string[] = [];
  const comment = () => (r() < 0.1 ? pick([' # note', '  #x', '#', ' #']) : '');
  const block = (indent: number, d: number): void => {
    const pad = ' '.repeat(indent);
    if (r() < 0.5 || d > 3) {
      const n = 1 + Math.floor(r() * 4);
      const keys = freshKeys();
      for (let i = 0; i < n; i++) {
        const key = keys();
        if (r() < 0.5 && d <= 3) {
          lines.push(`${pad}${key}:${comment()}`);
          if (r() < 0.2) lines.push(pick(['', '# c', '   # c']));
          if (r() < 0.3) {
            const inner = r() < 0.5 ? indent : indent + 2;
            const items = 1 + Math.floor(r() * 3);
            for (let k = 0; k < items; k++) lines.push(`${' '.repeat(inner)}- ${flow(d + 1)}${comment()}`);
          } else block(indent + pick([1, 2, 4]), d + 1);
        } else lines.push(`${pad}${key}: ${flow(d)}${comment()}`);
      }
    } else {
      const n = 1 + Math.floor(r() * 4);
      for (let i = 0; i < n; i++) {
        const k = r();
        if (k < 0.4) lines.push(`${pad}- ${flow(d)}${comment()}`);
        else if (k < 0.7) {
          const keys = freshKeys();
          if (r() < 0.3 && d <= 3) {
            // a compact mapping whose first value is a block below it (a list at the key's column, or deeper)
            lines.push(`${pad}- ${keys()}:`);
            block(indent + pick([2, 4]), d + 1);
          } else lines.push(`${pad}- ${keys()}: ${flow(d)}`);
          if (r() < 0.6) lines.push(`${pad}  ${keys()}: ${flow(d)}`);
        } else {
          lines.push(`${pad}-${comment()}`);
          block(indent + 2, d + 1);
        }
      }
    }
  };
  block(0, 0);
  return lines.join('\n') + pick(['\n', '', '\n\n']);
}

const MUTATIONS = [
  ' ',
  '  ',
  '\n',
  ':',
  ': ',
  '-',
  '- ',
  '#',
  ' #',
  '[',
  ']',
  '{',
  '}',
  ',',
  '"',
  "'",
  '\\',
  '&a ',
  '*a',
  '!',
  '|',
  '>',
  '?',
  '\t',
  '\r',
  '---\n',
  '0',
  '.',
  'é',
  '\u2028',
  '\ud800',
];
function mutate(text: string, r: () => number): string {
  let t = text;
  const n = 1 + Math.floor(r() * 3);
  for (let i = 0; i < n; i++) {
    const at = Math.floor(r() * (t.length + 1));
    const k = r();
    if (k < 0.4) t = t.slice(0, at) + MUTATIONS[Math.floor(r() * MUTATIONS.length)] + t.slice(at);
    else if (k < 0.7) t = t.slice(0, at) + t.slice(at + 1 + Math.floor(r() * 3));
    else t = t.slice(0, at) + t.slice(at, at + 1).repeat(2) + t.slice(at + 1);
  }
  return t;
}

describe('plain YAML reader = js-yaml (core schema)', () => {
  const shipped = [...yamlFiles(join(ROOT, 'examples')), ...yamlFiles(join(ROOT, 'test', 'fixtures'))];

  it('reads every shipped YAML file as js-yaml does', () => {
    expect(shipped.length).toBeGreaterThan(5);
    for (const f of shipped) agrees(readFileSync(f, 'utf8'));
  });

  it('takes the enterprise files and the campus example itself (else it is dead weight)', () => {
    const dir = tempDir('yaml-plain');
    const policy = enterpriseFiles(dir);
    for (const f of [policy, join(dir, 'topology.yaml'), join(dir, 'directory.yaml')]) expect(agrees(readFileSync(f, 'utf8'))).toBe(true);
    for (const f of ['policy.yaml', 'topology.yaml', 'directory.yaml'])
      expect(agrees(readFileSync(join(ROOT, 'examples', 'campus', f), 'utf8'))).toBe(true);
  });

  it('reads flow collections over several lines, with comments', () => {
    expect(agrees('a: [1, # one\n  2,\n\n# between\n   { b: x,\n c: "y" }\n]  # end\nd: e\n')).toBe(true);
    expect(readPlainYaml('- { id: a,\n    roles: [r1, r2] }\n- b\n')?.value).toEqual([{ id: 'a', roles: ['r1', 'r2'] }, 'b']);
  });

  it('types scalars as the core schema does, and keys as js-yaml names them', () => {
    const v = readPlainYaml("a: [1, 0x1F, 0o17, 1.5, .inf, true, ~, null, yes, 2026-12-03, \"1\", 'x''y']\n1.0: b\nnull: c\n")!.value;
    expect(v).toEqual({ a: [1, 31, 15, 1.5, Infinity, true, null, null, 'yes', '2026-12-03', '1', "x'y"], '1': 'b', null: 'c' });
  });

  it('gives up on what it does not read, leaving it to js-yaml', () => {
    for (const t of [
      'a: &x 1\nb: *x\n', // anchors
      'a: !!str 1\n', // tags
      'a: |\n  text\n', // block scalar
      'a: one\n  two\n', // a scalar over two lines
      'a: [one\n  two]\n', // a plain scalar over two lines inside a flow collection
      'a: 1\na: 2\n', // duplicate key (js-yaml refuses it)
      '---\na: 1\n', // document marker
      'a:\tb\n', // tab
      '__proto__: 1\n',
      '? a\n: b\n',
      'a: "\\x41"\n', // an uncommon escape
      '['.repeat(200) + ']'.repeat(200),
    ])
      expect(readPlainYaml(t), t).toBeUndefined();
  });

  it('generated documents in many layouts, and mutations of them and of the shipped files', () => {
    const r = rng(20261203);
    let took = 0,
      tried = 0;
    const bases = shipped.map((f) => readFileSync(f, 'utf8'));
    for (let i = 0; i < 4000; i++) {
      const doc = generate(r);
      tried++;
      if (agrees(doc)) took++;
      for (let m = 0; m < 3; m++) {
        tried++;
        if (agrees(mutate(doc, r))) took++;
      }
    }
    for (let i = 0; i < 1500; i++) {
      tried++;
      if (agrees(mutate(bases[i % bases.length], r))) took++;
    }
    // most are taken (the comparison means something), and not all (the mutations reach what it gives up on)
    expect(took / tried).toBeGreaterThan(0.15); // about 0.22: generated documents 0.39, their mutations less
    expect(took).toBeLessThan(tried);
  });
});
