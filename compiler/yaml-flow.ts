/**
 * Positions inside a flow collection (`[a, b]`, `{ k: v }`) read off the text, for YamlSource.locate: a finding
 * in `users: [{ id: u1, roles: [a, b] }, ...]` or `roles: [r0, r1, ...]` needs one offset, not the positional
 * parser (whose loading alone costs more than linting a large policy). Each collection is scanned once into an
 * index of its entries (FlowIndexes), so locating every entry of a long list stays linear.
 */

/** A path to a value: mapping keys and list indexes (yaml-source's Path). */
type Path = readonly (string | number)[];

/** A node that only the positional parser reads right: anchor, tag, alias, explicit key, block scalar, directive. */
const SPECIAL = '&!*?|>%@`';
/** Characters a plain scalar cannot start with in a flow collection (or that this does not follow). */
const NOT_PLAIN = SPECIAL + '#,]}:';

/** Where each entry of one collection starts; -1 / null for an entry only the positional parser may place. */
type FlowIndex =
  | { readonly kind: 'seq'; readonly items: readonly number[] }
  | {
      readonly kind: 'map';
      readonly keys: ReadonlyMap<string, { readonly key: number; readonly value: number } | null>;
      /** a key that is not read as a string (a number, true, null, a collection, an escape): no lookup by name */
      readonly opaque: boolean;
    };

/** The indexes of one text's collections by start offset (null: not plain flow text), built on first use. */
export type FlowIndexes = Map<number, FlowIndex | null>;

/**
 * The offset where the positional parser puts the node at `path` inside the flow collection starting at
 * text[from] (`[` or `{`): the value, or its key when `key` is set; the nearest enclosing node when the path goes
 * on past what is there. Plain flow text only: undefined (ask the positional parser) at a comment, anchor, tag,
 * alias, explicit key, a pair inside a list, an empty value on the path, an escape in a key, or a key that is not
 * read as a string (a number, true, null), so that nothing here can disagree with it.
 */
export function flowOffset(
  text: string,
  from: number,
  end: number,
  path: Path,
  key: boolean,
  cache: FlowIndexes = new Map(),
): number | undefined {
  let at = from;
  for (let d = 0; d < path.length; d++) {
    const c = text[at];
    if (c !== '[' && c !== '{') return at; // a scalar: the path goes on past it
    let ix = cache.get(at);
    if (ix === undefined) cache.set(at, (ix = new FlowScan(text, at, end).index()));
    if (!ix || (ix.kind === 'seq') !== (typeof path[d] === 'number')) return undefined; // e.g. '0' into a list: the parser's rules
    const step = path[d];
    let found: number | undefined;
    if (ix.kind === 'seq') {
      found = ix.items[step as number];
    } else {
      if (ix.opaque) return undefined;
      const e = ix.keys.get(step as string);
      if (e === null) return undefined;
      found = e && (key && d === path.length - 1 ? e.key : e.value);
    }
    if (found === undefined) return at;
    if (found < 0) return undefined;
    at = found;
    if (key && d === path.length - 1) return at;
  }
  return at;
}

class FlowScan {
  private fail = false;
  constructor(
    private readonly text: string,
    private i: number,
    private readonly end: number,
  ) {}

  /** The index of the collection at i, or null when it is not plain flow text. */
  index(): FlowIndex | null {
    const r = this.collection();
    return this.fail ? null : r;
  }

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

  /** Skips one node (scalar or collection); returns the text of a scalar that is read as that string. */
  private node(): string | undefined {
    const c = this.text[this.i];
    if (c === '[' || c === '{') {
      this.collection();
      return undefined;
    }
    if (c === '"' || c === "'") return this.quoted(c);
    const next = this.text[this.i + 1] ?? ' ';
    if (NOT_PLAIN.includes(c) || (c === '-' && ' \t\n\r'.includes(next))) {
      this.fail = true;
      return undefined;
    }
    return this.plain();
  }

  /** A quoted scalar; undefined when it holds an escape (its value is not its text). */
  private quoted(q: string): string | undefined {
    const t = this.text;
    const s = ++this.i;
    let plain = true;
    for (; this.i < this.end; this.i++) {
      if (t[this.i] === '\\' && q === '"') {
        plain = false;
        this.i++;
      } else if (t[this.i] === q) {
        if (q === "'" && t[this.i + 1] === "'") {
          plain = false;
          this.i++;
        } else break;
      }
    }
    if (this.i >= this.end) this.fail = true;
    const v = t.slice(s, this.i++);
    return plain ? v : undefined;
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

  /** Scans the collection at i (i ends past it) and indexes its entries. */
  private collection(): FlowIndex {
    const t = this.text;
    const open = t[this.i++];
    const close = open === '[' ? ']' : '}';
    const items: number[] = [];
    const keys = new Map<string, { key: number; value: number } | null>();
    let opaque = false;
    while (!this.fail) {
      this.ws();
      if (this.fail) break;
      if (t[this.i] === close) {
        this.i++;
        break;
      }
      if (open === '[') items.push(this.item());
      else {
        const keyAt = this.i;
        const k = this.node();
        if (k === undefined) opaque = true;
        const value = this.fail ? -1 : this.value();
        if (k !== undefined) keys.set(k, value < 0 || keys.has(k) ? null : { key: keyAt, value });
      }
      this.ws();
      if (this.fail) break;
      if (t[this.i] === ',') this.i++;
      else if (t[this.i] !== close) this.fail = true;
    }
    return open === '[' ? { kind: 'seq', items } : { kind: 'map', keys, opaque };
  }

  /** A list entry: its offset, or -1 when only the parser may place it. */
  private item(): number {
    const at = this.i;
    const special = SPECIAL.includes(this.text[at]);
    this.node();
    this.ws();
    if (this.text[this.i] === ':') this.fail = true; // a pair in a list
    return special ? -1 : at;
  }

  /** After a mapping key: the offset of its value, or -1 (no value, an empty one, or one only the parser may place). */
  private value(): number {
    const t = this.text;
    this.ws();
    if (this.fail) return -1;
    if (t[this.i] !== ':') {
      // `{ a, b: 1 }`: a key without a value
      if (t[this.i] !== ',' && t[this.i] !== '}') this.fail = true;
      return -1;
    }
    this.i++;
    this.ws();
    if (this.fail || t[this.i] === ',' || t[this.i] === '}') return -1; // an empty value
    const at = this.i;
    const special = SPECIAL.includes(t[at]);
    this.node();
    return special ? -1 : at;
  }
}
