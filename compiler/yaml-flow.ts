/**
 * Positions inside a flow collection (`[a, b]`, `{ k: v }`) read off the text, for YamlSource.locate: a finding
 * in `users: [{ id: u1, roles: [a, b] }, ...]` or `roles: [r0, r1, ...]` needs one offset, not the positional
 * parser (whose loading alone costs more than linting a large policy).
 */
/** A path to a value: mapping keys and list indexes (yaml-source's Path). */
type Path = readonly (string | number)[];

/** A node that only the positional parser reads right: anchor, tag, alias, explicit key, block scalar, directive. */
const SPECIAL = '&!*?|>%@`';

/**
 * The offset where the positional parser puts the node at `path` inside the flow collection starting at
 * text[from] (`[` or `{`): the value, or its key when `key` is set; the nearest enclosing node when the path goes
 * on past what is there. Plain flow text only: undefined (ask the positional parser) at a comment, anchor, tag,
 * alias, explicit key, a pair inside a list, an empty value on the path, an escape in a key, or a key that is not
 * read as a string (a number, true, null), so that nothing here can disagree with it.
 */
export function flowOffset(text: string, from: number, end: number, path: Path, key: boolean): number | undefined {
  const s = new FlowScan(text, from, end);
  let at = from;
  for (let d = 0; d < path.length; d++) {
    const c = text[s.i];
    if (c !== '[' && c !== '{') return at; // a scalar: the path goes on past it
    if ((c === '[') !== (typeof path[d] === 'number')) return undefined; // e.g. '0' into a list: the parser's rules
    const last = key && d === path.length - 1;
    const found = s.collection(path[d], last);
    if (s.fail) return undefined;
    if (found === undefined) return at;
    at = s.i = found;
    if (last) return at;
  }
  return at;
}

class FlowScan {
  fail = false;
  constructor(
    private readonly text: string,
    public i: number,
    private readonly end: number,
  ) {}

  /** Skips white space and line breaks; a comment, or running out of the entry, is a failure. */
  private ws(): void {
    const t = this.text;
    for (;;) {
      const c = t.charCodeAt(this.i);
      if (c === 32 || c === 9 || c === 10 || c === 13) this.i++;
      else break;
    }
    if (t.charCodeAt(this.i) === 35 || this.i >= this.end) this.fail = true;
  }

  /** A node to stop at: its offset, or undefined (and a failure) when only the parser may say where it is. */
  private stop(at: number): number | undefined {
    if (SPECIAL.includes(this.text[at])) this.fail = true;
    return this.fail ? undefined : at;
  }

  /** Skips one node (scalar or collection); returns the text of a scalar that is read as that string. */
  private node(): string | undefined {
    const c = this.text[this.i];
    if (c === '[' || c === '{') {
      this.collection(undefined, false);
      return undefined;
    }
    if (c === '"' || c === "'") return this.quoted(c);
    const next = this.text[this.i + 1] ?? ' ';
    if ((SPECIAL + '#,]}:').includes(c) || (c === '-' && ' \t\n\r'.includes(next))) {
      this.fail = true;
      return undefined;
    }
    return this.plain();
  }

  private quoted(q: string): string {
    const t = this.text;
    const s = ++this.i;
    for (; this.i < this.end; this.i++) {
      if (t[this.i] === '\\' && q === '"') {
        this.fail = true; // an escape: the value is not the text
        this.i++;
      } else if (t[this.i] === q) {
        if (q === "'" && t[this.i + 1] === "'") {
          this.fail = true;
          this.i++;
        } else break;
      }
    }
    if (this.i >= this.end) this.fail = true;
    return t.slice(s, this.i++);
  }

  private plain(): string | undefined {
    const t = this.text;
    const s = this.i;
    for (; this.i < this.end; this.i++) {
      const d = t[this.i];
      if (d === ',' || d === '[' || d === ']' || d === '{' || d === '}') break;
      if (d === ':' && ' \t\n\r,[]{}'.includes(t[this.i + 1] ?? ' ')) break;
      if (d === '#' && ' \t'.includes(t[this.i - 1])) break;
      if (d === '\n' || d === '\r') break;
    }
    // a comment, or a plain scalar over several lines (the parser folds it)
    if (t[this.i] === '\n' || t[this.i] === '\r' || t[this.i] === '#') this.fail = true;
    const v = t.slice(s, this.i).trimEnd();
    return /^(?:[-+]?[.\d]|~$|null$|Null$|NULL$|true$|True$|TRUE$|false$|False$|FALSE$)/.test(v) ? undefined : v;
  }

  /**
   * Skips the collection at i. With `want` (the next path step): stops at the node it names and returns its
   * offset (its key's when `asKey`), or undefined when it is not there (i is then past the collection).
   */
  collection(want: string | number | undefined, asKey: boolean): number | undefined {
    const t = this.text;
    const open = t[this.i++];
    const close = open === '[' ? ']' : '}';
    for (let n = 0; !this.fail; n++) {
      this.ws();
      if (this.fail) return undefined;
      if (t[this.i] === close) {
        this.i++;
        return undefined;
      }
      const found = open === '[' ? this.item(want === n) : this.pair(want, asKey);
      if (found !== undefined || this.fail) return found;
      this.ws();
      if (this.fail) return undefined;
      if (t[this.i] === ',') this.i++;
      else if (t[this.i] !== close) this.fail = true;
    }
    return undefined;
  }

  private item(wanted: boolean): number | undefined {
    if (wanted) return this.stop(this.i);
    this.node();
    this.ws();
    if (this.text[this.i] === ':') this.fail = true; // a pair in a list
    return undefined;
  }

  private pair(want: string | number | undefined, asKey: boolean): number | undefined {
    const t = this.text;
    const keyAt = this.i;
    const k = this.node();
    if (k === undefined && typeof want === 'string') this.fail = true; // a key we cannot compare
    this.ws();
    if (this.fail) return undefined;
    const hit = k === want;
    if (t[this.i] !== ':') {
      // `{ a, b: 1 }`: a key without a value
      if (hit || (t[this.i] !== ',' && t[this.i] !== '}')) this.fail = true;
      return undefined;
    }
    this.i++;
    this.ws();
    if (this.fail) return undefined;
    if (t[this.i] === ',' || t[this.i] === '}') {
      if (hit) this.fail = true; // an empty value
      return undefined;
    }
    if (hit) return this.stop(this.i) === undefined ? undefined : asKey ? keyAt : this.i;
    this.node();
    return undefined;
  }
}
