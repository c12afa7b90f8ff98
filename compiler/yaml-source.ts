/**
 * YAML input with source locations: parse once, look values up by path, report diagnostics at file:line:column.
 */
import { createRequire } from 'node:module';
import type { Document, Node, LineCounter as LineCounterT } from 'yaml';
import { load as fastLoad, CORE_SCHEMA, YAMLException } from 'js-yaml';
import type { Diagnostic, SourceLocation } from './model.js';
import { hiddenCharacter, showHidden } from './names.js';

export type Path = readonly (string | number)[];

/** The positional parser, loaded on first use: a valid file never needs it (it is a third of `acl`'s start-up). */
type YamlLib = typeof import('yaml');
let yamlLib: YamlLib | undefined;
const yaml = (): YamlLib => (yamlLib ??= createRequire(import.meta.url)('yaml') as YamlLib);

/**
 * Two parsers, one meaning (YAML 1.2 core schema, duplicate keys refused). A valid file is read by the fast one
 * (js-yaml, ~15× faster on a 5,000-rule policy); source positions come from a full document built only when a
 * diagnostic needs one, and every syntax error is reported by the positional parser. Files with aliases always
 * take the positional parser, which caps alias expansion.
 */
export class YamlSource {
  private docCache?: Document;
  private lcCache?: LineCounterT;
  private get lc(): LineCounterT {
    return (this.lcCache ??= new (yaml().LineCounter)());
  }
  readonly value: unknown;
  readonly diagnostics: Diagnostic[] = [];

  constructor(
    readonly file: string,
    private readonly text: string,
  ) {
    let fast: { value: unknown } | { error: YAMLException } | undefined;
    if (!text.includes('*')) {
      try {
        fast = { value: fastLoad(text, { schema: CORE_SCHEMA, filename: file }) ?? null };
      } catch (e) {
        if (!(e instanceof YAMLException)) throw e;
        fast = { error: e };
      }
    }
    if (fast && 'value' in fast) {
      this.value = fast.value;
      return;
    }
    const doc = this.doc;
    for (const e of doc.errors) {
      this.diagnostics.push({ severity: 'error', code: 'yaml-syntax', message: e.message.split('\n')[0], location: this.at(e.pos[0]) });
    }
    if (!doc.errors.length && fast && 'error' in fast) {
      // the fast parser refused what the positional one accepts: refuse too (never guess), at the fast parser's mark
      const m = fast.error.mark;
      this.diagnostics.push({
        severity: 'error',
        code: 'yaml-syntax',
        message: fast.error.reason,
        location: { file, line: (m?.line ?? 0) + 1, column: (m?.column ?? 0) + 1 },
      });
    }
    let value: unknown;
    if (!this.diagnostics.length) {
      try {
        value = doc.toJS({ maxAliasCount: 100 });
      } catch (e) {
        // e.g. an alias bomb: refuse it as bad input, never crash
        this.diagnostics.push({
          severity: 'error',
          code: 'yaml-syntax',
          message: (e as Error).message,
          location: this.at(0),
          hint: 'aliases (*name) may be expanded at most 100 times',
        });
      }
    }
    this.value = this.diagnostics.length ? undefined : value;
  }

  /** The document with source positions, parsed on first use. */
  get doc(): Document {
    return (this.docCache ??= yaml().parseDocument(this.text, { lineCounter: this.lc, prettyErrors: false, uniqueKeys: true }));
  }

  at(offset: number): SourceLocation {
    void this.doc; // positions exist once the document is parsed
    const p = this.lc.linePos(offset);
    return { file: this.file, line: p.line, column: p.col };
  }

  /** Location of the value at `path`, or of the key when `key` is set; falls back to the nearest parent. */
  locate(path: Path, key = false): SourceLocation {
    for (let n = path.length; n >= 0; n--) {
      const sub = path.slice(0, n);
      if (key && n === path.length && n > 0) {
        const parent = sub.length > 1 ? this.doc.getIn(sub.slice(0, -1), true) : this.doc.contents;
        if (yaml().isMap(parent)) {
          const pair = parent.items.find((p) => yaml().isPair(p) && yaml().isScalar(p.key) && p.key.value === sub[sub.length - 1]);
          const k = pair?.key as Node | undefined;
          if (k?.range) return this.at(k.range[0]);
        }
      }
      const node = (sub.length ? this.doc.getIn(sub, true) : this.doc.contents) as Node | undefined;
      if (node && node.range) return this.at(node.range[0]);
    }
    return { file: this.file, line: 1, column: 1 };
  }

  /**
   * The location of `path`, resolved on first read (finding positions needs the positional parse, which a valid
   * file never pays for unless something asks where a value is).
   */
  where(path: Path, key = false): SourceLocation {
    let loc: SourceLocation | undefined;
    const get = (): SourceLocation => (loc ??= this.locate(path, key));
    const file = this.file;
    return {
      file,
      get line() {
        return get().line;
      },
      get column() {
        return get().column;
      },
    };
  }

  error(path: Path, code: string, message: string, hint?: string, key = false): void {
    this.diagnostics.push({ severity: 'error', code, message: `${fmtPath(path)}: ${message}`, location: this.locate(path, key), hint });
  }

  warn(path: Path, code: string, message: string, hint?: string): void {
    this.diagnostics.push({ severity: 'warning', code, message: `${fmtPath(path)}: ${message}`, location: this.locate(path), hint });
  }

  /** Reports keys of the object at `path` that are not in `allowed`; returns the object or undefined. */
  object(path: Path, v: unknown, allowed: readonly string[], what: string): Record<string, unknown> | undefined {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      this.error(path, 'type', `${what} must be a mapping (key: value)`);
      return undefined;
    }
    for (const k of Object.keys(v)) {
      if (!allowed.includes(k)) {
        this.error([...path, k], 'unknown-field', `unknown field '${k}' in ${what}`, suggest(k, allowed), true);
      }
    }
    return v as Record<string, unknown>;
  }

  list(path: Path, v: unknown, what: string): unknown[] {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) {
      this.error(path, 'type', `${what} must be a list`);
      return [];
    }
    return v;
  }

  string(path: Path, v: unknown, what: string): string | undefined {
    if (typeof v === 'string' && v.trim()) {
      this.visible(path, v, what);
      return v.trim();
    }
    if (typeof v === 'number') return String(v);
    this.error(path, 'type', `${what} must be a non-empty string`);
    return undefined;
  }

  /** Reports a name holding bidi-override or zero-width characters (two names that look alike must be the same). */
  visible(path: Path, name: string, what: string, key = false): void {
    const h = hiddenCharacter(name);
    if (h)
      this.diagnostics.push({
        severity: 'error',
        code: 'hidden-character',
        message: `${fmtPath(path.map((x) => (typeof x === 'string' ? showHidden(x) : x)))}: ${what} '${showHidden(name)}' contains the invisible or reordering character ${h}`,
        location: this.locate(path, key),
        hint: 'names may not contain bidi controls or zero-width characters: retype the name',
      });
  }

  /** Accepts a string or a list of strings. */
  strings(path: Path, v: unknown, what: string): string[] {
    if (v === undefined || v === null) return [];
    if (typeof v === 'string' || typeof v === 'number') return [String(v)];
    return this.list(path, v, what).flatMap((x, i) => {
      const s = this.string([...path, i], x, what);
      return s === undefined ? [] : [s];
    });
  }
}

export function fmtPath(path: Path): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s ? `.${p}` : p;
  return s || '(document)';
}

/** "did you mean 'finance'?" for a near miss. */
export function suggest(word: string, options: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const o of options) {
    const d = distance(word.toLowerCase(), o.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = o;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? `did you mean '${best}'?` : undefined;
}

function distance(a: string, b: string): number {
  const m = a.length,
    n = b.length;
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  for (let i = 1; i <= m; i++) {
    const cur = [i];
    for (let j = 1; j <= n; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[n];
}

export function isSeqNode(n: unknown): boolean {
  return yaml().isSeq(n);
}
