import type { Diagnostic } from './model.js';

/** One diagnostic as a line: `file:line:column: severity code: message (hint)`. */
export function formatDiagnostic(d: Diagnostic): string {
  const loc = d.location ? `${d.location.file}:${d.location.line}:${d.location.column}: ` : '';
  return `${loc}${d.severity} ${d.code}: ${d.message}${d.hint ? ` (${d.hint})` : ''}`;
}
