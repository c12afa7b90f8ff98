/**
 * A reader for the plain YAML that policies, topologies and directories are written in: block mappings and lists,
 * one-line flow collections (`{ id: u1, roles: [a, b] }`), plain and quoted one-line scalars, comments.
 *
 * It returns exactly what js-yaml returns with the core schema (scalars are typed by js-yaml's own core-schema
 * types), or undefined as soon as the text uses anything outside that subset: anchors and aliases, tags, block
 * scalars (`|`, `>`), scalars or flow collections over several lines, tabs, directives and document markers,
 * explicit keys, duplicate keys, uncommon escapes. The caller then reads the text with js-yaml, so this reader
 * never has to report an error and can never change what a file means (test/compiler/yaml-plain.test.ts checks
 * it against js-yaml on the examples and on generated and mutated documents). On the enterprise files it takes
 * half js-yaml's time in a fresh process (125 ms against 260 ms), and reading was the largest part of `acl lint`.
 */
import { CORE_SCHEMA, type Type } from 'js-yaml';

/** Characters js-yaml refuses or treats specially, and everything else this reader leaves to it. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what it looks for
const OUTSIDE = /[\t\r\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]/;

/** The core schema's implicit types in js-yaml's own order (null, bool, int, float): the same typing, not a copy. */
const IMPLICIT: readonly Type[] = (CORE_SCHEMA as unknown as { compiledImplicit: Type[] }).compiledImplicit;
const MAX_DEPTH = 64;
const MAX_KEY = 1024;

const SP = 0x20,
  HASH = 0x23,
  COLON = 0x3a,
  DASH = 0x2d,
  COMMA = 0x2c,
  DQ = 0x22,
  SQ = 0x27,
  LBRACKET = 0x5b,
  RBRACKET = 0x5d,
  LBRACE = 0x7b,
  RBRACE = 0x7d,
  BACKSLASH = 0x5c;

class GiveUp {}
const GIVE_UP = new GiveUp();
function giveUp(): never {
  throw GIVE_UP;
}

/** Character classes for the scanners: 0 for an ordinary character (and everything from 0x80). */
const FLOW = 1,
  COLON_C = 2,
  HASH_C = 4,
  SPACE_C = 8;
const CLASS = new Uint8Array(128);
for (const c of [COMMA, LBRACKET, RBRACKET, LBRACE, RBRACE]) CLASS[c] = FLOW;
CLASS[COLON] = COLON_C;
CLASS[HASH] = HASH_C;
CLASS[SP] = SPACE_C;

const isFlowIndicator = (c: number) => c === COMMA || c === LBRACKET || c === RBRACKET || c === LBRACE || c === RBRACE;

/** A plain scalar typed as the core schema types it (null, bool, int, float), else the string itself. */
function typed(s: string): unknown {
  const c = s.charCodeAt(0);
  if (c >= 0x30 && c <= 0x39) {
    const n = s.length;
    let i = 1;
    while (i < n) {
      const d = s.charCodeAt(i);
      if (d < 0x30 || d > 0x39) break;
      i++;
    }
    // decimal digits without a leading zero: the int js-yaml makes of them (parseInt) is Number(s)
    if (i === n && n <= 15 && (c !== 0x30 || n === 1)) return Number(s);
    // an address, a prefix, a MAC...: no int has `.`, `/` or `:`, no float has two dots, `/` or `:`
    if (i < n) {
      const d = s.charCodeAt(i);
      if (d === 0x2f || d === COLON || (d === 0x2e && s.indexOf('.', i + 1) >= 0)) return s;
    }
  }
  // only these first characters can begin a core-schema null, bool, int or float: ~ n N t T f F 0-9 + - .
  if (
    (c >= 0x30 && c <= 0x39) ||
    c === 0x2b ||
    c === DASH ||
    c === 0x2e ||
    c === 0x7e ||
    c === 0x6e ||
    c === 0x4e ||
    c === 0x74 ||
    c === 0x54 ||
    c === 0x66 ||
    c === 0x46
  ) {
    for (const t of IMPLICIT) if (t.resolve(s)) return t.construct(s);
  }
  return s;
}

/** A plain key's characters: letters, digits and `_ . - /`, starting with a letter, digit or `_`. */
function plainKeyEnd(s: string, p: number, end: number): number {
  const c0 = s.charCodeAt(p);
  if (!((c0 >= 0x30 && c0 <= 0x39) || (c0 >= 0x41 && c0 <= 0x5a) || (c0 >= 0x61 && c0 <= 0x7a) || c0 === 0x5f)) return p;
  let q = p + 1;
  while (q < end) {
    const c = s.charCodeAt(q);
    if (
      (c >= 0x30 && c <= 0x39) ||
      (c >= 0x41 && c <= 0x5a) ||
      (c >= 0x61 && c <= 0x7a) ||
      c === 0x5f ||
      c === 0x2e ||
      c === DASH ||
      c === 0x2f
    )
      q++;
    else break;
  }
  return q;
}

class Reader {
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  /** Column of a line's first character, or -1 for a blank or comment-only line. */
  private readonly ind: number[] = [];
  private readonly n: number;
  /** The first content line not consumed yet. */
  private line = 0;
  private depth = 0;
  private q = 0;
  /** Inside a flow collection: its current line and that line's end. */
  private fl = 0;
  private end = 0;

  constructor(private readonly s: string) {
    const len = s.length;
    let start = 0;
    while (start <= len) {
      let end = s.indexOf('\n', start);
      if (end < 0) end = len;
      let p = start;
      while (p < end && s.charCodeAt(p) === SP) p++;
      // directives and document markers
      const c = s.charCodeAt(start);
      if (c === 0x25 || ((c === DASH || c === 0x2e) && s.charCodeAt(start + 1) === c && s.charCodeAt(start + 2) === c)) giveUp();
      this.starts.push(start);
      this.ends.push(end);
      this.ind.push(p === end || s.charCodeAt(p) === HASH ? -1 : p - start);
      start = end + 1;
    }
    this.n = this.starts.length;
  }

  private next(i: number): number {
    while (i < this.n && this.ind[i] < 0) i++;
    return i;
  }

  document(): unknown {
    const i = this.next(0);
    if (i >= this.n || this.ind[i] !== 0) giveUp();
    const v = this.block(i, 0, -1);
    if (this.line < this.n) giveUp();
    return v;
  }

  private isItem(p: number, end: number): boolean {
    return this.s.charCodeAt(p) === DASH && (p + 1 === end || this.s.charCodeAt(p + 1) === SP);
  }

  /** A block node whose content starts at column `col` of line `i`; `parent` is the enclosing node's indentation. */
  private block(i: number, col: number, parent: number): unknown {
    if (++this.depth > MAX_DEPTH) giveUp();
    const p = this.starts[i] + col,
      end = this.ends[i];
    let v: unknown;
    if (this.isItem(p, end)) v = this.list(i, col);
    else if (this.isKey(p, end)) v = this.map(i, col);
    else {
      v = this.inline(i, p);
      // a scalar continued on the next lines (or a node out of place): js-yaml decides
      if (this.line < this.n && this.ind[this.line] > parent) giveUp();
    }
    this.depth--;
    return v;
  }

  /** Whether a mapping key (plain or quoted, then `:` and a space or the line's end) starts at p. */
  private isKey(p: number, end: number): boolean {
    const s = this.s;
    const c = s.charCodeAt(p);
    let q: number;
    if (c === DQ || c === SQ) {
      q = this.quotedEnd(p, end);
      if (q < 0) return false;
      while (q < end && s.charCodeAt(q) === SP) q++;
      return q < end && s.charCodeAt(q) === COLON && (q + 1 === end || s.charCodeAt(q + 1) === SP);
    }
    if (c === LBRACKET || c === LBRACE) return false; // a flow collection (as a key it is left to js-yaml by inline())
    for (q = p; q < end; q++) {
      const ch = s.charCodeAt(q);
      if (ch === COLON && (q + 1 === end || s.charCodeAt(q + 1) === SP)) return true;
      if (ch === HASH && q > p && s.charCodeAt(q - 1) === SP) return false;
    }
    return false;
  }

  private list(i: number, col: number): unknown[] {
    const s = this.s;
    const out: unknown[] = [];
    for (;;) {
      const ls = this.starts[i],
        end = this.ends[i];
      let q = ls + col + 1;
      while (q < end && s.charCodeAt(q) === SP) q++;
      if (q === end || s.charCodeAt(q) === HASH) {
        const j = this.next(i + 1);
        if (j < this.n && this.ind[j] > col) out.push(this.block(j, this.ind[j], col));
        else {
          // js-yaml reads a less indented `- x` after an empty item into this list: leave that to it
          if (j < this.n && this.ind[j] < col && this.isItem(this.starts[j] + this.ind[j], this.ends[j])) giveUp();
          out.push(null);
          this.line = j;
        }
      } else if (this.isItem(q, end))
        giveUp(); // `- - a`
      else if (this.isKey(q, end)) out.push(this.map(i, q - ls));
      else out.push(this.inline(i, q));
      const j = this.line;
      if (j >= this.n || this.ind[j] < col) return out;
      if (this.ind[j] > col) giveUp();
      if (!this.isItem(this.starts[j] + col, this.ends[j])) return out;
      i = j;
    }
  }

  private map(i: number, col: number): Record<string, unknown> {
    const s = this.s;
    const out: Record<string, unknown> = {};
    for (;;) {
      const end = this.ends[i];
      const key = this.key(this.starts[i] + col, end, false);
      let q = this.q; // after the colon
      while (q < end && s.charCodeAt(q) === SP) q++;
      let v: unknown;
      if (q === end || s.charCodeAt(q) === HASH) {
        const j = this.next(i + 1);
        if (j < this.n && this.ind[j] > col) v = this.block(j, this.ind[j], col);
        else if (j < this.n && this.ind[j] === col && this.isItem(this.starts[j] + col, this.ends[j])) v = this.list(j, col);
        else {
          v = null;
          this.line = j;
        }
      } else {
        if (this.isItem(q, end)) giveUp();
        v = this.inline(i, q);
      }
      this.store(out, key, v);
      const j = this.line;
      if (j >= this.n || this.ind[j] < col) return out;
      if (this.ind[j] > col) giveUp();
      i = j;
    }
  }

  private store(out: Record<string, unknown>, key: string, v: unknown): void {
    // a duplicate is an error js-yaml reports; __proto__ it stores as an own property (and names like toString,
    // found on the prototype, are left to it too: values are never undefined)
    if (out[key] !== undefined) giveUp();
    out[key] = v;
  }

  /** A key at p followed by `:` and a space (or, in block context, the line's end); this.q = after the colon. */
  private key(p: number, end: number, flow: boolean): string {
    const s = this.s;
    const c = s.charCodeAt(p);
    let key: string;
    let q: number;
    if (c === DQ || c === SQ) {
      key = c === DQ ? this.double(p, end) : this.single(p, end);
      q = this.q;
    } else {
      q = plainKeyEnd(s, p, end);
      if (q === p) giveUp();
      key = this.plainKey(p, q);
    }
    if (q - p > MAX_KEY) giveUp();
    while (q < end && s.charCodeAt(q) === SP) q++;
    if (q >= end || s.charCodeAt(q) !== COLON) giveUp();
    q++;
    if (q < end ? s.charCodeAt(q) !== SP : flow) giveUp();
    this.q = q;
    return key;
  }

  /** Plain keys read so far, by length and first character: a file repeats a few keys thousands of times. */
  private readonly keys = new Map<number, { raw: string; key: string }[]>();

  /** The key written plain from p to q, as js-yaml names it (typed, then made a string). */
  private plainKey(p: number, q: number): string {
    const s = this.s;
    const slot = (q - p) * 128 + s.charCodeAt(p);
    let seen = this.keys.get(slot);
    if (seen) {
      for (const k of seen) if (s.startsWith(k.raw, p)) return k.key;
    } else this.keys.set(slot, (seen = []));
    const raw = s.slice(p, q);
    const key = String(typed(raw));
    if (seen.length < 8) seen.push({ raw, key });
    return key;
  }

  /**
   * A scalar or flow collection from p on line i: a scalar ends on its line, a flow collection may go on over the
   * next lines; a comment may follow. this.line = the next content line.
   */
  private inline(i: number, p: number): unknown {
    const s = this.s;
    const c = s.charCodeAt(p);
    if (c === LBRACKET || c === LBRACE || c === DQ || c === SQ) {
      this.fl = i;
      this.end = this.ends[i];
      const v = this.flowValue(p);
      const end = this.end;
      let q = this.q;
      const at = q;
      while (q < end && s.charCodeAt(q) === SP) q++;
      if (q < end && (s.charCodeAt(q) !== HASH || q === at)) giveUp();
      this.line = this.next(this.fl + 1);
      return v;
    }
    const end = this.ends[i];
    this.line = this.next(i + 1);
    if (!this.plainStart(p, end)) giveUp();
    let q = p,
      last = p;
    for (; q < end; q++) {
      const ch = s.charCodeAt(q);
      if (ch === COLON) {
        if (q + 1 === end || s.charCodeAt(q + 1) === SP) giveUp();
      } else if (ch === HASH) {
        if (s.charCodeAt(q - 1) === SP) break;
      }
      if (ch !== SP) last = q + 1;
    }
    return typed(s.slice(p, last));
  }

  /** Whether a plain scalar may start at p (no indicator; `- ? :` only before a non-space). */
  private plainStart(p: number, end: number): boolean {
    const c = this.s.charCodeAt(p);
    switch (c) {
      case COMMA:
      case LBRACKET:
      case RBRACKET:
      case LBRACE:
      case RBRACE:
      case HASH:
      case 0x26: // &
      case 0x2a: // *
      case 0x21: // !
      case 0x7c: // |
      case 0x3e: // >
      case 0x25: // %
      case 0x40: // @
      case 0x60: // `
      case DQ:
      case SQ:
      case SP:
        return false;
      case DASH:
      case 0x3f: // ?
      case COLON: {
        if (p + 1 >= end) return false;
        const nx = this.s.charCodeAt(p + 1);
        return nx !== SP && !isFlowIndicator(nx);
      }
      default:
        return true;
    }
  }

  /**
   * A value inside a flow collection (or a quoted scalar / flow collection in block context) on line this.fl, which
   * ends at this.end; this.q = its end. Only collections go on over several lines.
   */
  private flowValue(p: number): unknown {
    const s = this.s;
    const end = this.end;
    const c = s.charCodeAt(p);
    if (c === LBRACKET) return this.flowList(p);
    if (c === LBRACE) return this.flowMap(p);
    if (c === DQ) return this.double(p, end);
    if (c === SQ) return this.single(p, end);
    if (!this.plainStart(p, end)) giveUp();
    let q = p,
      last = p;
    for (; q < end; q++) {
      const ch = s.charCodeAt(q);
      const k = ch < 128 ? CLASS[ch] : 0;
      if (k === 0) {
        last = q + 1;
        continue;
      }
      if (k === FLOW) break;
      if (k === COLON_C) {
        if (q + 1 === end) break;
        const nx = s.charCodeAt(q + 1);
        if (nx === SP || isFlowIndicator(nx)) break;
      } else if (k === HASH_C && s.charCodeAt(q - 1) === SP) break;
      if (k !== SPACE_C) last = q + 1;
    }
    this.q = q;
    return typed(s.slice(p, last));
  }

  /** Skips spaces, comments and line ends inside a flow collection: the next character's position (this.fl follows). */
  private gap(q: number): number {
    const s = this.s;
    for (;;) {
      while (q < this.end && s.charCodeAt(q) === SP) q++;
      if (q < this.end && (s.charCodeAt(q) !== HASH || (q > this.starts[this.fl] && s.charCodeAt(q - 1) !== SP))) return q;
      if (++this.fl >= this.n) giveUp(); // unclosed
      q = this.starts[this.fl];
      this.end = this.ends[this.fl];
    }
  }

  private flowList(p: number): unknown[] {
    if (++this.depth > MAX_DEPTH) giveUp();
    const s = this.s;
    const out: unknown[] = [];
    let q = this.gap(p + 1);
    if (s.charCodeAt(q) !== RBRACKET)
      for (;;) {
        out.push(this.flowValue(q));
        q = this.gap(this.q);
        const c = s.charCodeAt(q);
        if (c === RBRACKET) break;
        if (c !== COMMA) giveUp(); // a scalar over two lines, `key: value` pairs...: js-yaml decides
        q = this.gap(q + 1);
        if (s.charCodeAt(q) === RBRACKET) giveUp(); // a trailing comma
      }
    this.q = q + 1;
    this.depth--;
    return out;
  }

  private flowMap(p: number): Record<string, unknown> {
    if (++this.depth > MAX_DEPTH) giveUp();
    const s = this.s;
    const out: Record<string, unknown> = {};
    let q = this.gap(p + 1);
    if (s.charCodeAt(q) !== RBRACE)
      for (;;) {
        const key = this.key(q, this.end, true);
        q = this.gap(this.q);
        const v = s.charCodeAt(q);
        if (v === COMMA || v === RBRACE) giveUp(); // an empty value
        this.store(out, key, this.flowValue(q));
        q = this.gap(this.q);
        const c = s.charCodeAt(q);
        if (c === RBRACE) break;
        if (c !== COMMA) giveUp();
        q = this.gap(q + 1);
        if (s.charCodeAt(q) === RBRACE) giveUp();
      }
    this.q = q + 1;
    this.depth--;
    return out;
  }

  /** Where the quoted scalar at p ends (after its closing quote), or -1 when not on this line. */
  private quotedEnd(p: number, end: number): number {
    const s = this.s;
    const quote = s.charCodeAt(p);
    for (let q = p + 1; q < end; q++) {
      const ch = s.charCodeAt(q);
      if (quote === DQ && ch === BACKSLASH) q++;
      else if (ch === quote) {
        if (quote === SQ && q + 1 < end && s.charCodeAt(q + 1) === SQ) q++;
        else return q + 1;
      }
    }
    return -1;
  }

  /** A double-quoted scalar on one line, with the common escapes; this.q = after it. */
  private double(p: number, end: number): string {
    const s = this.s;
    let out = '';
    let from = p + 1;
    for (let q = p + 1; q < end; q++) {
      const ch = s.charCodeAt(q);
      if (ch === DQ) {
        this.q = q + 1;
        return out + s.slice(from, q);
      }
      if (ch === BACKSLASH) {
        if (q + 1 >= end) giveUp();
        const e = s.charCodeAt(q + 1);
        const r = e === BACKSLASH ? '\\' : e === DQ ? '"' : e === 0x2f ? '/' : e === 0x6e ? '\n' : e === 0x74 ? '\t' : undefined;
        if (r === undefined) giveUp();
        out += s.slice(from, q) + r;
        from = ++q + 1;
      }
    }
    return giveUp();
  }

  /** A single-quoted scalar on one line (`''` is a quote); this.q = after it. */
  private single(p: number, end: number): string {
    const s = this.s;
    let out = '';
    let from = p + 1;
    for (let q = p + 1; q < end; q++) {
      if (s.charCodeAt(q) !== SQ) continue;
      if (q + 1 < end && s.charCodeAt(q + 1) === SQ) {
        out += s.slice(from, q + 1);
        from = ++q + 1;
        continue;
      }
      this.q = q + 1;
      return out + s.slice(from, q);
    }
    return giveUp();
  }
}

/** The value of `text` as js-yaml reads it with the core schema, or undefined when the text is outside this subset. */
export function readPlainYaml(text: string): { value: unknown } | undefined {
  if (OUTSIDE.test(text)) return undefined;
  try {
    return { value: new Reader(text).document() };
  } catch (e) {
    if (e === GIVE_UP) return undefined;
    if (e instanceof RangeError) return undefined; // too deep for the stack: js-yaml decides
    throw e;
  }
}
