/**
 * YAML input with source locations: parse once, look values up by path, report diagnostics at file:line:column.
 */
import { createRequire } from 'node:module';
import type { Document, Node, LineCounter as LineCounterT } from 'yaml';
import { load as fastLoad, CORE_SCHEMA, YAMLException } from 'js-yaml';
import type { Diagnostic, SourceLocation } from './model.js';
import { hiddenCharacter, showHidden } from './names.js';
import { flowOffset, type FlowIndexes } from './yaml-flow.js';
import { readPlainYaml } from './yaml-plain.js';
import { TOP_KEY, childEntries, topLevelKeys, unique, type Entries, type Entry } from './yaml-entries.js';

export type Path = readonly (string | number)[];

/** The positional parser, loaded on first use: a valid file never needs it (it is a third of `acl`'s start-up). */
type YamlLib = typeof import('yaml');
let yamlLib: YamlLib | undefined;
const yaml = (): YamlLib => (yamlLib ??= createRequire(import.meta.url)('yaml') as YamlLib);

/**
 * Three readers, one meaning (YAML 1.2 core schema, duplicate keys refused). A file in plain style is read by
 * yaml-plain.ts (twice as fast as js-yaml from a cold start, with js-yaml's own scalar typing), any other valid file
 * by js-yaml (~15× faster than the positional parser on a 5,000-rule policy); source positions come from a full
 * document built only when a diagnostic needs one, and every syntax error is reported by the positional parser.
 * Files with aliases always take the positional parser, which caps alias expansion.
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
    let fast: { value: unknown } | { error: YAMLException } | undefined = readPlainYaml(text);
    if (!fast && !text.includes('*')) {
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
    if (!path.length) return { file: this.file, line: 1, column: 1 };
    const quick = this.quick(path, key);
    if (quick) return quick;
    const part = this.docCache ? undefined : this.part(path);
    return part ? this.find(part.doc, part.path(path), key, part.at) : this.find(this.doc, path, key, (o) => this.at(o));
  }

  /** The location of `path` when it can be read off the text without a positional parse. */
  private quick(path: Path, key: boolean): SourceLocation | undefined {
    if (this.docCache || !path.length) return undefined;
    return (path.length === 2 && this.onItsLine(path, key)) || this.inFlow(path, key);
  }

  private find(doc: Document, path: Path, key: boolean, at: (offset: number) => SourceLocation): SourceLocation {
    for (let n = path.length; n >= 0; n--) {
      const sub = path.slice(0, n);
      if (key && n === path.length && n > 0) {
        const parent = sub.length > 1 ? doc.getIn(sub.slice(0, -1), true) : doc.contents;
        if (yaml().isMap(parent)) {
          const pair = parent.items.find((p) => yaml().isPair(p) && yaml().isScalar(p.key) && p.key.value === sub[sub.length - 1]);
          const k = pair?.key as Node | undefined;
          if (k?.range) return at(k.range[0]);
        }
      }
      const node = (sub.length ? doc.getIn(sub, true) : doc.contents) as Node | undefined;
      if (node && node.range) return at(node.range[0]);
    }
    return { file: this.file, line: 1, column: 1 };
  }

  private readonly flows: FlowIndexes = new Map();
  private starts?: Entries | null;
  private children = new Map<string, Entries | null>();
  private parts = new Map<string, Part | undefined>();
  /**
   * The positional document of only the part of the file that holds `path`: its second-level entry (one rule, one
   * user) or else its top-level entry (`users:` up to the next top-level key), with positions mapped back to the
   * whole file. A finding in a 10,000-user directory needs its line, not a positional parse of every user. Only for
   * a valid file in plain block style (top-level keys at column 0; entries of a block list or mapping at one
   * indentation); anything else takes the whole document.
   */
  private top(first: string | number): Entry | undefined {
    if (typeof first !== 'string' || this.diagnostics.length) return undefined;
    if (this.starts === undefined) this.starts = topLevelKeys(this.text);
    return (this.starts && unique(this.starts, first)) || undefined;
  }

  /** The second-level entry `path[1]` of the top-level entry `path[0]`, and whether it is a list item or a key. */
  private item(path: Path): { kind: 'seq' | 'map'; kid: Entry } | undefined {
    const [first, second] = path;
    const top = this.top(first);
    if (!top || second === undefined) return undefined;
    if (!this.children.has(first as string)) this.children.set(first as string, childEntries(this.text, top.offset, top.end, top.line));
    const kids = this.children.get(first as string);
    const kid = kids && (kids.kind === 'seq' ? (typeof second === 'number' ? kids.items[second] : undefined) : unique(kids, second));
    return kid ? { kind: kids.kind, kid } : undefined;
  }

  /**
   * A second-level value (or key) that starts on its entry's own line: `- { name: x }` (the item), `  web: {...}`
   * (the key, or the value after `key:`). Its position is read off the line; undefined where it would take more
   * (a value on the lines below, an anchor, tag, alias or block scalar), which the positional parse answers.
   */
  private onItsLine(path: Path, key: boolean): SourceLocation | undefined {
    const it = this.item(path);
    if (!it) return undefined;
    const { kid } = it;
    const e = this.entryLine(kid.offset, kid.end, it.kind);
    if (!e) return undefined;
    if (key) return it.kind === 'map' ? { file: this.file, line: kid.line + 1, column: e.keyAt + 1 } : undefined;
    const i = e.valueAt;
    if (i >= e.line.length || '#&!*|>\r'.includes(e.line[i])) return undefined;
    return { file: this.file, line: kid.line + 1, column: i + 1 };
  }

  /**
   * The entry line at `offset` (up to `end`), with where its key (or `-`) starts and where the value after `key:`
   * or `- ` starts on it (the line's length when nothing follows); undefined when the line has no such start.
   */
  private entryLine(offset: number, end: number, kind: 'seq' | 'map'): { line: string; keyAt: number; valueAt: number } | undefined {
    let eol = this.text.indexOf('\n', offset);
    if (eol < 0 || eol > end) eol = end;
    const line = this.text.slice(offset, eol);
    let i = 0;
    while (line.charCodeAt(i) === 32) i++;
    const keyAt = i;
    if (kind === 'map') {
      const m = TOP_KEY.exec(line.slice(i));
      if (!m) return undefined;
      i += m[0].length;
    } else {
      if (line[i] !== '-') return undefined;
      i++;
    }
    while (line[i] === ' ' || line[i] === '\t') i++;
    return { line, keyAt, valueAt: i };
  }

  /**
   * A path that goes into a flow collection written on its entry's line — `users: [...]` at the top level, or
   * `- { id: u1, roles: [a, b] }` / `web: { hosts: [...] }` one level down — located by scanning that collection's
   * text (see flowOffset) instead of a positional parse. Undefined when the collection is not there or not plain.
   */
  private inFlow(path: Path, key: boolean): SourceLocation | undefined {
    if (path.length < 2) return undefined;
    const top = this.top(path[0]);
    if (!top) return undefined;
    let from = this.valueOnLine(top.offset, top.end, 'map');
    let rest = path.slice(1);
    if (from === undefined && path.length >= 3) {
      const it = this.item(path);
      if (it) {
        from = this.valueOnLine(it.kid.offset, it.kid.end, it.kind);
        rest = path.slice(2);
      }
    }
    if (from === undefined) return undefined;
    const at = flowOffset(this.text, from, top.end, rest, key, this.flows); // the collection lies in its top-level entry
    if (at === undefined) return undefined;
    return this.position(at);
  }

  private lineStarts?: number[];
  /** Line and column (1-based) of an offset, from the line starts found once. */
  private position(at: number): SourceLocation {
    if (!this.lineStarts) {
      const starts = [0];
      for (let i = this.text.indexOf('\n'); i >= 0; i = this.text.indexOf('\n', i + 1)) starts.push(i + 1);
      this.lineStarts = starts;
    }
    const ls = this.lineStarts;
    let lo = 0,
      hi = ls.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (ls[mid] <= at) lo = mid;
      else hi = mid - 1;
    }
    return { file: this.file, line: lo + 1, column: at - ls[lo] + 1 };
  }

  /** Where a flow collection (`[` or `{`) starts when it is the value on the entry line at `offset`. */
  private valueOnLine(offset: number, end: number, kind: 'seq' | 'map'): number | undefined {
    const e = this.entryLine(offset, end, kind);
    const c = e?.line[e.valueAt];
    return e && (c === '[' || c === '{') ? offset + e.valueAt : undefined;
  }

  private part(path: Path): Part | undefined {
    const [first, second] = path;
    const top = this.top(first);
    if (!top) return undefined;
    if (second !== undefined) {
      const id = `${first}\0${typeof second}:${second}`;
      if (!this.parts.has(id)) {
        const found = this.item(path);
        let part: Part | undefined;
        if (found) {
          const p = this.parse(found.kid);
          const c = p?.doc.contents;
          if (found.kind === 'seq' && yaml().isSeq(c) && c.items.length === 1) part = { ...p!, path: (x) => [0, ...x.slice(2)] };
          if (found.kind === 'map' && yaml().isMap(c) && c.items.length === 1) part = { ...p!, path: (x) => x.slice(1) };
        }
        this.parts.set(id, part);
      }
      const part = this.parts.get(id);
      if (part) return part;
    }
    const id = String(first);
    if (!this.parts.has(id)) {
      const p = this.parse(top);
      this.parts.set(id, p && yaml().isMap(p.doc.contents) ? { ...p, path: (x) => x } : undefined);
    }
    return this.parts.get(id);
  }

  private parse(e: Entry): Omit<Part, 'path'> | undefined {
    const lc = new (yaml().LineCounter)();
    const doc = yaml().parseDocument(this.text.slice(e.offset, e.end), { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
    if (doc.errors.length) return undefined;
    const file = this.file;
    return {
      doc,
      at: (o) => {
        const p = lc.linePos(o);
        return { file, line: p.line + e.line, column: p.col };
      },
    };
  }

  /**
   * The location of `path`, resolved on first read (finding positions needs the positional parse, which a valid
   * file never pays for unless something asks where a value is).
   */
  where(path: Path, key = false): SourceLocation {
    // found now, as plain data, where that is cheap (an entry of a block list or mapping that starts on its own
    // line): an object literal with getters costs V8 a new hidden class each, and 25,000 of them took longer than
    // the YAML parse. (Not inside flow collections: scanning one costs more than the getters.)
    const now = !this.docCache && path.length === 2 ? this.onItsLine(path, key) : undefined;
    if (now) return now;
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

  /** Accepts a string or a list of strings; `locations`, when given, receives where each one kept is written. */
  strings(path: Path, v: unknown, what: string, locations?: SourceLocation[]): string[] {
    if (v === undefined || v === null) return [];
    if (typeof v === 'string' || typeof v === 'number') {
      locations?.push(this.where(path));
      return [String(v)];
    }
    const out: string[] = [];
    this.list(path, v, what).forEach((x, i) => {
      // the usual entry (a plain, visible name) without building its path
      const s = typeof x === 'string' && x.length && x.trim() === x && !hiddenCharacter(x) ? x : this.string([...path, i], x, what);
      if (s === undefined) return;
      out.push(s);
      locations?.push(this.where([...path, i]));
    });
    return out;
  }
}

interface Part {
  readonly doc: Document;
  readonly at: (offset: number) => SourceLocation;
  /** The path within the part's document of a path within the file. */
  readonly path: (p: Path) => Path;
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
