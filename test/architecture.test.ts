/**
 * Import rules of docs/architecture.md, checked on the source text: the compiler and the codec stay pure (no files,
 * sockets, processes, timers or environment), the codec knows nothing of policies, and the directory and loading
 * layers never reach into the controller or the CLI. A rule broken anywhere fails here with file:line.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = new URL('..', import.meta.url).pathname;

/** Modules that do I/O or keep time: none of them may be imported by a pure folder. */
const IO_MODULES = [
  'fs',
  'fs/promises',
  'net',
  'tls',
  'dgram',
  'child_process',
  'http',
  'https',
  'http2',
  'dns',
  'timers',
  'timers/promises',
  'worker_threads',
  'cluster',
];
const IO_PACKAGES = ['ldapts', 'pino', 'fastify', 'prom-client'];
/** Ambient I/O that needs no import. */
const IO_GLOBALS: ReadonlyArray<[RegExp, string]> = [
  [/\bprocess\s*\.\s*env\b/, 'process.env'],
  [/\bprocess\s*\.\s*(argv|exit|stdout|stderr|stdin|cwd|hrtime)\b/, 'process I/O'],
  [/\bsetTimeout\s*\(/, 'setTimeout'],
  [/\bsetInterval\s*\(/, 'setInterval'],
  [/\bsetImmediate\s*\(/, 'setImmediate'],
  [/\bDate\s*\.\s*now\s*\(|\bnew\s+Date\s*\(\s*\)/, 'the wall clock'],
  [/\bfetch\s*\(/, 'fetch'],
];

interface Violation {
  readonly file: string;
  readonly line: number;
  readonly what: string;
}

/** Source without comments and string contents other than module specifiers (so prose cannot trip a rule). */
export function stripComments(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, ' ')).replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

/** Every module specifier a file names: static imports, re-exports, dynamic import() and require(). */
export function importsOf(src: string): Array<{ spec: string; line: number }> {
  const text = stripComments(src);
  const out: Array<{ spec: string; line: number }> = [];
  const re =
    /\b(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]|\bimport\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)|\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (const m of text.matchAll(re)) {
    const spec = m[1] ?? m[2] ?? m[3] ?? m[4];
    out.push({ spec, line: text.slice(0, m.index).split('\n').length });
  }
  return out;
}

function isIoModule(spec: string): boolean {
  const bare = spec.replace(/^node:/, '');
  if (IO_MODULES.includes(bare)) return true;
  return IO_PACKAGES.some((p) => spec === p || spec.startsWith(p + '/'));
}

/** Top-level folder a relative import from `file` lands in ('' for the repository root). */
function targetFolder(file: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const abs = join(ROOT, file, '..', spec);
  return relative(ROOT, abs).split('/')[0];
}

export function violations(file: string, src: string): Violation[] {
  const folder = file.split('/')[0];
  const out: Violation[] = [];
  const pure = folder === 'compiler' || folder === 'openflow';
  for (const { spec, line } of importsOf(src)) {
    const to = targetFolder(file, spec);
    if (pure && isIoModule(spec)) out.push({ file, line, what: `imports ${spec} (${folder}/ is pure: no I/O)` });
    if (folder === 'openflow' && to !== undefined && to !== 'openflow')
      out.push({ file, line, what: `imports ${spec} (openflow/ knows bytes, not ${to}/)` });
    else if (folder === 'io' && to !== undefined && to !== 'io')
      out.push({ file, line, what: `imports ${spec} (io/ is generic file reading: it imports nothing of this repository)` });
    if (folder === 'compiler' && to !== undefined && !['compiler', 'openflow', 'schema'].includes(to))
      out.push({ file, line, what: `imports ${spec} (compiler/ may import only openflow/ and schema/)` });
    if (['io', 'directory', 'edge', 'cluster', 'loader'].includes(folder) && (to === 'controller' || to === 'cli'))
      out.push({ file, line, what: `imports ${spec} (${folder}/ is called by controller/ and cli/, never the reverse)` });
    else if (folder !== 'cli' && to === 'cli') out.push({ file, line, what: `imports ${spec} (nothing outside cli/ depends on the CLI)` });
  }
  if (pure || folder === 'directory' || folder === 'loader') {
    stripComments(src)
      .split('\n')
      .forEach((text, i) => {
        if (/\blocaleCompare\s*\(|\bIntl\s*\.\s*Collator\b/.test(text))
          out.push({ file, line: i + 1, what: 'sorts by locale (use compareText from compiler/order.ts: output must not depend on LANG)' });
      });
  }
  if (pure) {
    const lines = stripComments(src).split('\n');
    lines.forEach((text, i) => {
      for (const [re, what] of IO_GLOBALS) if (re.test(text)) out.push({ file, line: i + 1, what: `uses ${what} (${folder}/ is pure)` });
    });
  }
  return out;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const rel = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'node_modules') out.push(...sourceFiles(rel));
    } else if (/\.(ts|js|mjs)$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

const FOLDERS = ['openflow', 'compiler', 'io', 'directory', 'loader', 'controller', 'cli', 'edge', 'cluster'].filter((d) => {
  try {
    return readdirSync(join(ROOT, d)).length >= 0;
  } catch {
    return false;
  }
});

describe('architecture: import rules (docs/architecture.md)', () => {
  it('every source folder keeps its import rules', () => {
    const found: string[] = [];
    for (const dir of FOLDERS)
      for (const f of sourceFiles(dir)) {
        if (f.startsWith('controller/web/')) continue; // browser code, bundled separately (tsconfig.web.json)
        for (const v of violations(f, readFileSync(join(ROOT, f), 'utf8'))) found.push(`${v.file}:${v.line}: ${v.what}`);
      }
    expect(found).toEqual([]);
  });

  it('checks real files (the pure folders exist and are scanned)', () => {
    expect(sourceFiles('compiler').length).toBeGreaterThan(5);
    expect(sourceFiles('openflow').length).toBeGreaterThan(5);
    expect(sourceFiles('compiler')).toContain('compiler/compile.ts');
  });

  it('catches I/O put back into the compiler', () => {
    const bad = [
      "import { readFileSync } from 'node:fs';",
      "import type { Socket } from 'net';",
      "export { Client } from 'ldapts';",
      "const t = await import('node:timers/promises');",
      "const cp = require('child_process');",
      'const url = process.env.LDAP_URL;',
      'setTimeout(() => 0, 10);',
      'const h = setInterval(tick, 5);',
      "import { DirectorySync } from '../directory/sync.js';",
      "import { loadPolicy } from '../loader/index.js';",
    ].join('\n');
    const v = violations('compiler/x.ts', bad);
    expect(v.map((x) => x.line).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('catches the codec reaching into the compiler or the controller', () => {
    const v = violations(
      'openflow/x.ts',
      "import type { PlannedFlow } from '../compiler/model.js';\nimport { x } from '../controller/session.js';\nimport { y } from './types.js';",
    );
    expect(v.map((x) => x.line)).toEqual([1, 2]);
  });

  it('catches locale-dependent sorting in the compiler and the directory', () => {
    expect(violations('compiler/x.ts', 'xs.sort((a, b) => a.localeCompare(b));')).toHaveLength(1);
    expect(violations('directory/x.ts', 'const c = new Intl.Collator();')).toHaveLength(1);
  });

  it('ignores prose in comments and allows pure modules', () => {
    const ok =
      "// setTimeout( and process.env are described here\n/* import x from 'node:fs' */\nimport { createRequire } from 'node:module';\nimport { x } from '../openflow/index.js';";
    expect(violations('compiler/x.ts', ok)).toEqual([]);
  });

  it('keeps directory/ and loader/ below the controller and the CLI', () => {
    expect(violations('directory/x.ts', "import { Controller } from '../controller/controller.js';")).toHaveLength(1);
    expect(violations('loader/x.ts', "import { BaseCommand } from '../cli/base.js';")).toHaveLength(1);
    expect(
      violations('controller/x.ts', "import { readFile } from 'node:fs/promises';\nimport { loadPolicy } from '../loader/index.js';"),
    ).toEqual([]);
  });
});
