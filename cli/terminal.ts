/**
 * Text for a terminal: control characters (C0 except tab, DEL, C1 — escape sequences that move the cursor, clear
 * the screen or set the window title) and bidi/zero-width characters are shown escaped (\x1b, \u{202E}), so a
 * crafted policy or expectations file cannot drive the terminal through `acl`'s messages.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is what this expression is for
const UNSAFE = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ufff9-\ufffb]/gu;

export function terminalSafe(s: string): string {
  return s.replace(UNSAFE, (c) => {
    const cp = c.codePointAt(0)!;
    return cp <= 0xff ? `\\x${cp.toString(16).padStart(2, '0')}` : `\\u{${cp.toString(16).toUpperCase()}}`;
  });
}
