/**
 * The entries of a YAML text in plain block style, found from its lines without parsing: the top-level keys, and
 * the entries of a block list or mapping under one of them. YamlSource uses them to parse (or read off a line)
 * only the entry that holds a path.
 */

export const TOP_KEY = /^(?:([A-Za-z_][\w-]*)|"([^"\\]*)"|'([^']*)')[ \t]*:(?:[ \t\r]|$)/;

/** A part of the text, whole lines: from `offset` (the start of line `line`, 0-based) to `end`; its mapping key. */
export interface Entry {
  readonly key?: string;
  readonly offset: number;
  readonly end: number;
  readonly line: number;
}
export interface Entries {
  readonly kind: 'seq' | 'map';
  readonly items: readonly Entry[];
}

/** The entry with mapping key `k` when exactly one has it. */
const byKey = new WeakMap<Entries, Map<string | number | undefined, Entry | null>>();
export function unique(e: Entries, k: string | number): Entry | undefined {
  let m = byKey.get(e);
  if (!m) {
    // key -> its entry, or null when two entries have it (a duplicate key: the positional parse reports it)
    m = new Map();
    for (const x of e.items) m.set(x.key, m.has(x.key) ? null : x);
    byKey.set(e, m);
  }
  return m.get(k) ?? undefined;
}

const blank = (text: string, at: number, end: number) => {
  const c = text.charCodeAt(at);
  return at >= end || c === 10 || c === 13 || c === 35; // an empty line or a comment
};

/** Where the line starting at `offset` ends (its '\n', or `to`). */
const lineEnd = (text: string, offset: number, to: number) => {
  const end = text.indexOf('\n', offset);
  return end < 0 || end > to ? to : end;
};

/** The key of a `key:` at text[at] (within the line ending at `end`), or undefined. */
function keyAt(text: string, at: number, end: number): string | undefined {
  const m = TOP_KEY.exec(text.slice(at, Math.min(end, at + 300)));
  return m ? (m[1] ?? m[2] ?? m[3]) : undefined;
}

/** Entries from their starts: each runs to the next one's start, the last to `to`. */
function entries(kind: 'seq' | 'map', starts: Array<{ key?: string; offset: number; line: number }>, to: number): Entries {
  const items: Entry[] = [];
  for (let i = 0; i < starts.length; i++) {
    const x = starts[i];
    const end = i + 1 < starts.length ? starts[i + 1].offset : to;
    items.push(x.key === undefined ? { offset: x.offset, end, line: x.line } : { key: x.key, offset: x.offset, end, line: x.line });
  }
  return { kind, items };
}

/**
 * The top-level keys of a block-mapping document, each with the text up to the next; null when the top level is
 * anything else (a directive, a document marker, a flow collection, a line this does not read as a key), so that
 * the caller parses the whole document instead.
 */
export function topLevelKeys(text: string): Entries | null {
  const starts: Array<{ key: string; offset: number; line: number }> = [];
  for (let offset = 0, line = 0; offset < text.length; line++) {
    const end = lineEnd(text, offset, text.length);
    const c = text.charCodeAt(offset);
    // indented lines, blank lines and comments belong to the entry above; anything else at column 0 must be a key
    if (c !== 32 && c !== 9 && !blank(text, offset, end)) {
      const key = keyAt(text, offset, end);
      if (key === undefined) return null;
      starts.push({ key, offset, line });
    }
    offset = end + 1;
  }
  return starts.length ? entries('map', starts, text.length) : null;
}

/**
 * The entries of the block list or mapping that is the value of the key line at text[from] (up to `to`): every
 * content line at the first one's indentation starts an entry (`- ` of a list, or a key); null when the value is on
 * the key's line (a flow collection, a scalar), is indented with tabs, or a line does not fit that shape.
 */
export function childEntries(text: string, from: number, to: number, line: number): Entries | null {
  if (from >= to) return null;
  const headEnd = lineEnd(text, from, to);
  const afterColon = text.slice(from, headEnd).replace(TOP_KEY, '').trim();
  if (afterColon && !afterColon.startsWith('#')) return null;
  let indent = -1;
  let kind: 'seq' | 'map' | undefined;
  const starts: Array<{ key?: string; offset: number; line: number }> = [];
  for (let offset = headEnd + 1, n = line + 1; offset < to; n++) {
    const end = lineEnd(text, offset, to);
    const l = offset;
    offset = end + 1;
    let i = l;
    while (i < end && text.charCodeAt(i) === 32) i++;
    if (blank(text, i, end)) continue;
    if (text.charCodeAt(i) === 9) return null;
    const d = i - l;
    if (indent < 0) indent = d;
    if (d < indent) return null;
    if (d > indent) continue;
    const next = i + 1 < end ? text.charCodeAt(i + 1) : -1; // -1: the line ends after this character
    const isSeq = text.charCodeAt(i) === 45 && (next === -1 || next === 32 || next === 13); // '-' then ' ', '\r' or the end
    const key = isSeq ? undefined : keyAt(text, i, end);
    const k = isSeq ? 'seq' : key !== undefined ? 'map' : undefined;
    if (!k || (kind && k !== kind)) return null;
    kind = k;
    starts.push(key !== undefined ? { key, offset: l, line: n } : { offset: l, line: n });
  }
  if (!kind || indent <= 0) return null;
  return entries(kind, starts, to);
}
