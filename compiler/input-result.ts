/** What parsing an input file returns, and how a parser ends (shared by inputs.ts, inputs-directory.ts, inputs-topology.ts). */
import type { Diagnostic } from './model.js';
import type { YamlSource } from './yaml-source.js';

/**
 * A parse result. On failure, `partial` (when present) is what could be read despite the errors, so that checks
 * across files still run and every mistake is reported at once; it must never be compiled.
 */
export type Parsed<T> = { ok: true; value: T; warnings: Diagnostic[] } | { ok: false; diagnostics: Diagnostic[]; partial?: T };

/** The result of a parse that read `value`: an error among the diagnostics makes it a failure (with `value` as partial). */
export function finish<T>(src: YamlSource, value: T | undefined): Parsed<T> {
  const errors = src.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length || value === undefined) return { ok: false, diagnostics: src.diagnostics, partial: value };
  return { ok: true, value, warnings: src.diagnostics };
}

/** A parse that could not read the file at all. */
export function fail(src: YamlSource): { ok: false; diagnostics: Diagnostic[] } {
  return { ok: false, diagnostics: src.diagnostics };
}
