/** DOM helpers: element lookup, an escaping HTML template (the only way markup reaches innerHTML), announcements. */

/** The element for a selector; throws if the page lacks it (a missing id is a bug, not a state). */
export function $<T extends Element = HTMLElement>(sel: string, root: ParentNode = document): T {
  const el = root.querySelector<T & Element>(sel);
  if (!el) throw new Error(`console: no element ${sel}`);
  return el;
}
export const $input = (sel: string) => $<HTMLInputElement>(sel);
export const $button = (sel: string) => $<HTMLButtonElement>(sel);

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const esc = (s: unknown): string => String(s ?? '').replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);

/** Markup that is already safe (built by `html`). */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export type HtmlValue = Html | string | number | boolean | null | undefined | readonly HtmlValue[];

function part(v: HtmlValue): string {
  if (v instanceof Html) return v.text;
  if (Array.isArray(v)) return v.map(part).join('');
  if (v === null || v === undefined || v === false) return '';
  return esc(v);
}

/** A template whose interpolations are escaped unless they are `Html` themselves; arrays are concatenated. */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): Html {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += part(values[i]) + strings[i + 1];
  return new Html(out);
}

/** Joins markup with a separator (itself markup). */
export const join = (items: readonly HtmlValue[], sep: Html | string = ''): Html => new Html(items.map(part).join(part(sep)));

/** The only place markup is written into the page. */
const drawn = new WeakMap<Element, string>();

/**
 * Replaces an element's content, unless it would be drawn exactly as it is: a live update that changes nothing then
 * keeps the elements (a click in progress, the focus and the scroll position are not lost).
 */
export function render(target: Element | string, h: Html): void {
  const el = typeof target === 'string' ? $(target) : target;
  if (drawn.get(el) === h.text && el.innerHTML !== '') return;
  drawn.set(el, h.text);
  el.innerHTML = h.text;
}

export function announce(msg: string): void {
  $('#live').textContent = msg;
}

/** A count with its noun: plural(2, 'gain') → "2 gains". */
export const plural = (n: number, noun: string, many = `${noun}s`) => `${n} ${n === 1 ? noun : many}`;

/** "12.3 kB", "1.2 MB". */
export function bytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const u = ['kB', 'MB', 'GB', 'TB'];
  let v = n,
    i = -1;
  while (v >= 1000 && i < u.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${u[i]}`;
}

/** An ISO time as local date and time, with the ISO text kept in a <time> element. */
export const time = (iso: string | null | undefined, none = '–'): Html =>
  iso ? html`<time datetime="${iso}">${new Date(iso).toLocaleString()}</time>` : html`${none}`;
