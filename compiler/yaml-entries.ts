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

/** Each line of text[from, to) as offset, end and line number. */
function* lines(text: string, from: number, to: number, line: number): Generator<{ offset: number; end: number; line: number }> {
  for (let offset = from; offset < to; line++) {
    let end = text.indexOf('\n', offset);
    if (end < 0 || end > to) end = to;
    yield { offset, end, line };
    offset = end + 1;
  }
}

const blank = (text: string, at: number, end: number) => {
  const c = text.charCodeAt(at);
  return at >= end || c === 10 || c === 13 || c === 35; // an empty line or a comment
};

/**
 * The top-level keys of a block-mapping document, each with the text up to the next; null when the top level is
 * anything else (a directive, a document marker, a flow collection, a line this does not read as a key), so that
 * the caller parses the whole document instead.
 */
export function topLevelKeys(text: string): Entries | null {
  const starts: Array<{ key: string; offset: number; line: number }> = [];
  for (const l of lines(text, 0, text.length, 0)) {
    const c = text.charCodeAt(l.offset);
    // indented lines, blank lines and comments belong to the entry above; anything else at column 0 must be a key
    if (c === 32 || c === 9 || blank(text, l.offset, l.end)) continue;
    const m = TOP_KEY.exec(text.slice(l.offset, Math.min(l.end, l.offset + 300)));
    if (!m) return null;
    starts.push({ key: m[1] ?? m[2] ?? m[3], offset: l.offset, line: l.line });
  }
  if (!starts.length) return null;
  return { kind: 'map', items: starts.map((x, i) => ({ ...x, end: starts[i + 1]?.offset ?? text.length })) };
}

/**
 * The entries of the block list or mapping that is the value of the key line at text[from] (up to `to`): every
 * content line at the first one's indentation starts an entry (`- ` of a list, or a key); null when the value is on
 * the key's line (a flow collection, a scalar), is indented with tabs, or a line does not fit that shape.
 */
export function childEntries(text: string, from: number, to: number, line: number): Entries | null {
  const it = lines(text, from, to, line);
  const head = it.next();
  if (head.done) return null;
  const afterColon = text.slice(head.value.offset, head.value.end).replace(TOP_KEY, '').trim();
  if (afterColon && !afterColon.startsWith('#')) return null;
  let indent = -1;
  let kind: 'seq' | 'map' | undefined;
  const starts: Array<{ key?: string; offset: number; line: number }> = [];
  for (const l of it) {
    let i = l.offset;
    while (i < l.end && text.charCodeAt(i) === 32) i++;
    if (blank(text, i, l.end)) continue;
    if (text.charCodeAt(i) === 9) return null;
    const d = i - l.offset;
    if (indent < 0) indent = d;
    if (d < indent) return null;
    if (d > indent) continue;
    const rest = text.slice(i, Math.min(l.end, i + 300));
    const k = rest === '-' || rest.startsWith('- ') || rest.startsWith('-\r') ? 'seq' : TOP_KEY.test(rest) ? 'map' : undefined;
    if (!k || (kind && k !== kind)) return null;
    kind = k;
    const m = k === 'map' ? TOP_KEY.exec(rest)! : undefined;
    starts.push({ ...(m ? { key: m[1] ?? m[2] ?? m[3] } : {}), offset: l.offset, line: l.line });
  }
  if (!kind || indent <= 0) return null;
  return { kind, items: starts.map((x, n) => ({ ...x, end: starts[n + 1]?.offset ?? to })) };
}
