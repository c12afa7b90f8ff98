/**
 * Import rules of docs/architecture.md, checked on the source text: the compiler and the codec stay pure (no files,
 * sockets, processes, timers or environment), the codec knows nothing of policies, and the directory and loading
 * layers never reach into the controller or the CLI. A rule broken anywhere fails here with file:line.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { cyclePath, importCycles, importGraph, importsOf, sourceFiles, stripComments } from './helpers/import-graph.js';

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
  // plans, diffs, API replies and CLI output come out the same on every machine, whatever its LANG
  stripComments(src)
    .split('\n')
    .forEach((text, i) => {
      if (/\blocaleCompare\s*\(|\bIntl\s*\.\s*Collator\b/.test(text))
        out.push({ file, line: i + 1, what: 'sorts by locale (use compareText from compiler/order.ts: output must not depend on LANG)' });
    });
  if (pure) {
    const lines = stripComments(src).split('\n');
    lines.forEach((text, i) => {
      for (const [re, what] of IO_GLOBALS) if (re.test(text)) out.push({ file, line: i + 1, what: `uses ${what} (${folder}/ is pure)` });
    });
  }
  return out;
}

/** Folders that are not the product (they may import anything, and nothing of the product imports them). */
const NOT_SOURCE = new Set(['node_modules', 'dist', 'docs', 'examples', 'test', 'bench', 'scripts']);

/** Every top-level folder holding TypeScript or JavaScript source: a new folder is checked without being listed here. */
const FOLDERS = readdirSync(ROOT, { withFileTypes: true })
  .filter((d) => d.isDirectory() && !d.name.startsWith('.') && !NOT_SOURCE.has(d.name))
  .map((d) => d.name)
  .filter((d) => sourceFiles(ROOT, d).length > 0)
  .sort();

describe('architecture: import rules (docs/architecture.md)', () => {
  it('every source folder keeps its import rules', () => {
    const found: string[] = [];
    for (const dir of FOLDERS)
      for (const f of sourceFiles(ROOT, dir)) {
        if (f.startsWith('controller/web/')) continue; // browser code, bundled separately (tsconfig.web.json)
        for (const v of violations(f, readFileSync(join(ROOT, f), 'utf8'))) found.push(`${v.file}:${v.line}: ${v.what}`);
      }
    expect(found).toEqual([]);
  });

  it('checks real files (the pure folders exist and are scanned)', () => {
    expect(sourceFiles(ROOT, 'compiler').length).toBeGreaterThan(5);
    expect(sourceFiles(ROOT, 'openflow').length).toBeGreaterThan(5);
    expect(sourceFiles(ROOT, 'compiler')).toContain('compiler/compile.ts');
    for (const d of ['cli', 'cluster', 'compiler', 'controller', 'directory', 'edge', 'io', 'loader', 'openflow'])
      expect(FOLDERS).toContain(d);
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

  it('catches locale-dependent sorting in any source folder', () => {
    expect(violations('compiler/x.ts', 'xs.sort((a, b) => a.localeCompare(b));')).toHaveLength(1);
    expect(violations('directory/x.ts', 'const c = new Intl.Collator();')).toHaveLength(1);
    expect(violations('controller/x.ts', 'macs.sort((a, b) => a.mac.localeCompare(b.mac));')).toHaveLength(1);
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

describe('architecture: no import cycles (docs/architecture.md)', () => {
  it('no source file reaches itself through its imports (type-only imports, re-exports and import() count)', () => {
    const files = FOLDERS.flatMap((d) => sourceFiles(ROOT, d));
    const graph = importGraph(ROOT, files);
    expect([...graph.values()].reduce((n, edges) => n + edges.length, 0)).toBeGreaterThan(500); // the imports were resolved
    expect(importCycles(graph).map((scc) => `${scc.length} files: ${cyclePath(graph, scc)}`)).toEqual([]);
  });

  const graphOf = (files: Record<string, string>) => importGraph(ROOT, Object.keys(files), (f) => files[f]);

  it('finds a cycle of type-only imports and names each step with file:line', () => {
    const g = graphOf({
      'controller/part.ts': "import { x } from './util.js';\nimport type { Controller } from './controller.js';",
      'controller/controller.ts': "import { Part } from './part.js';",
      'controller/util.ts': 'export const x = 1;',
    });
    const cycles = importCycles(g);
    expect(cycles).toEqual([['controller/controller.ts', 'controller/part.ts']]);
    expect(cyclePath(g, cycles[0])).toBe('controller/controller.ts:1 -> controller/part.ts:2 -> controller/controller.ts');
  });

  it('finds longer cycles across folders, through index files, re-exports and import()', () => {
    const g = graphOf({
      'compiler/a.ts': "export { b } from './b.js';",
      'compiler/b.ts': "const c = await import('../openflow/index.js');",
      'openflow/index.ts': "export * from './c.js';",
      'openflow/c.ts': "import type { A } from '../compiler/a.js';",
      'openflow/d.ts': "import { c } from './c.js';",
    });
    expect(importCycles(g)).toEqual([['compiler/a.ts', 'compiler/b.ts', 'openflow/c.ts', 'openflow/index.ts']]);
  });

  it('finds a file importing itself, and no cycle in a diamond', () => {
    expect(importCycles(graphOf({ 'cli/x.ts': "import { y } from './x.js';" }))).toEqual([['cli/x.ts']]);
    const diamond = graphOf({
      'edge/a.ts': "import './b.js';\nimport './c.js';",
      'edge/b.ts': "import './d.js';",
      'edge/c.ts': "import './d.js';",
      'edge/d.ts': "import { readFile } from 'node:fs';",
    });
    expect(importCycles(diamond)).toEqual([]);
  });
});
