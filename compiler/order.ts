/**
 * Text order for everything the compiler and the directory sort: by UTF-16 code unit, like Array.prototype.sort()
 * without a comparator. Never localeCompare or Intl.Collator: those follow the machine's locale (LANG), and a
 * plan, a diff or a directory must come out the same on every machine.
 */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
