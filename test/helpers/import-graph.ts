/**
 * The import graph of the repository's source folders and its cycles. Every relative module specifier counts
 * (static imports, `import type`, re-exports, dynamic `import()`, `require`): a type-only cycle is still two files
 * that cannot be understood, tested or moved one without the other.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';

/** Source without comments (so prose cannot name an import). */
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

/** Source files (.ts, .js, .mjs; not .d.ts) under `dir`, relative to `root`. */
export function sourceFiles(root: string, dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
    const rel = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'node_modules') out.push(...sourceFiles(root, rel));
    } else if (/\.(ts|js|mjs)$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

/** The file of `known` a relative specifier names (`./x.js` is `./x.ts` in the source tree), or undefined. */
export function resolveSpec(known: ReadonlySet<string>, from: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const base = normalize(join(dirname(from), spec));
  const stem = base.replace(/\.(js|mjs|ts)$/, '');
  return [stem + '.ts', base, stem + '.mjs', stem + '.js', join(base, 'index.ts')].find((c) => known.has(c));
}

export interface ImportEdge {
  readonly to: string;
  readonly line: number;
}

/** file → the files of the graph it imports (with the line of the first import of each). */
export type ImportGraph = ReadonlyMap<string, readonly ImportEdge[]>;

/** The graph over `files`, from their text; imports of files outside `files` are left out. */
export function importGraph(
  root: string,
  files: readonly string[],
  read = (f: string) => readFileSync(join(root, f), 'utf8'),
): ImportGraph {
  const known = new Set(files);
  const graph = new Map<string, ImportEdge[]>();
  for (const file of files) {
    const edges: ImportEdge[] = [];
    for (const { spec, line } of importsOf(read(file))) {
      const to = resolveSpec(known, file, spec);
      if (to !== undefined && known.has(to) && !edges.some((e) => e.to === to)) edges.push({ to, line });
    }
    graph.set(file, edges);
  }
  return graph;
}

/** Strongly connected components with more than one file, or a file importing itself (Tarjan, iterative). */
export function importCycles(graph: ImportGraph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const out: string[][] = [];
  let next = 0;
  const nodes = [...graph.keys()].sort();
  for (const start of nodes) {
    if (index.has(start)) continue;
    const work: Array<{ node: string; edge: number }> = [{ node: start, edge: 0 }];
    index.set(start, next);
    low.set(start, next++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const top = work[work.length - 1];
      const edges = graph.get(top.node) ?? [];
      if (top.edge < edges.length) {
        const to = edges[top.edge++].to;
        if (!index.has(to)) {
          index.set(to, next);
          low.set(to, next++);
          stack.push(to);
          onStack.add(to);
          work.push({ node: to, edge: 0 });
        } else if (onStack.has(to)) low.set(top.node, Math.min(low.get(top.node)!, index.get(to)!));
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1].node;
        low.set(parent, Math.min(low.get(parent)!, low.get(top.node)!));
      }
      if (low.get(top.node) === index.get(top.node)) {
        const scc: string[] = [];
        let n: string;
        do {
          n = stack.pop()!;
          onStack.delete(n);
          scc.push(n);
        } while (n !== top.node);
        const selfLoop = (graph.get(top.node) ?? []).some((e) => e.to === top.node);
        if (scc.length > 1 || selfLoop) out.push(scc.sort());
      }
    }
  }
  return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** One shortest cycle through `from` inside its component, as `a:line -> b:line -> ... -> a`, to show where to cut. */
export function cyclePath(graph: ImportGraph, scc: readonly string[]): string {
  const inScc = new Set(scc);
  const from = scc[0];
  const prev = new Map<string, { node: string; line: number }>();
  const queue = [from];
  let end: { node: string; line: number } | undefined;
  while (queue.length > 0 && end === undefined) {
    const node = queue.shift()!;
    for (const e of graph.get(node) ?? []) {
      if (!inScc.has(e.to)) continue;
      if (e.to === from) {
        end = { node, line: e.line };
        break;
      }
      if (!prev.has(e.to)) {
        prev.set(e.to, { node, line: e.line });
        queue.push(e.to);
      }
    }
  }
  if (end === undefined) return scc.join(' <-> ');
  const steps: string[] = [`${end.node}:${end.line}`];
  for (let n = end.node; n !== from;) {
    const p = prev.get(n)!;
    steps.unshift(`${p.node}:${p.line}`);
    n = p.node;
  }
  return [...steps, from].join(' -> ');
}
