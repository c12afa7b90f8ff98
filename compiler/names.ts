/**
 * Characters that make two different names look the same, or reorder what a reader sees (Trojan Source,
 * CVE-2021-42574): bidirectional embeddings, overrides and isolates, and invisible characters (zero-width space,
 * joiners, word joiner, BOM, soft hyphen, Mongolian vowel separator). They are refused in every name.
 */
export const HIDDEN_CHARS = /[\u00AD\u061C\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]/u;

/** The first hidden character of a name as "U+202E (right-to-left override)", or undefined when there is none. */
export function hiddenCharacter(name: string): string | undefined {
  const m = name.match(HIDDEN_CHARS);
  if (!m) return undefined;
  const cp = m[0].codePointAt(0)!;
  const what =
    cp >= 0x202a && cp <= 0x202e
      ? 'bidirectional embedding/override'
      : cp >= 0x2066 && cp <= 0x2069
        ? 'bidirectional isolate'
        : cp === 0x200e || cp === 0x200f || cp === 0x061c
          ? 'direction mark'
          : cp === 0x00ad
            ? 'soft hyphen'
            : 'zero-width/invisible character';
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')} (${what})`;
}

/** A name with hidden characters made visible (\u{202E}), for messages that must not be reordered by them. */
export function showHidden(name: string): string {
  return name.replace(new RegExp(HIDDEN_CHARS.source, 'gu'), (c) => `\\u{${c.codePointAt(0)!.toString(16).toUpperCase()}}`);
}
