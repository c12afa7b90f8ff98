/**
 * How a command reports, without oclif: diagnostics as file:line:col on stderr (or one JSON document with --json),
 * exit non-zero on errors. Used by AclCommand (an oclif Command is a CommandIO) and by the fast path of bin/run.js
 * (cli/fast.ts), which answers `acl validate FILE` without loading oclif — so both print exactly the same.
 */
import { terminalSafe } from './terminal.js';
import type { Diagnostic } from '../compiler/model.js';
import { formatDiagnostic } from '../compiler/diagnostics.js';
import { loadPolicy, type LoadedPolicy } from '../loader/load.js';
import { jsonReplacer } from '../compiler/json.js';

/** The part of oclif's Command a command's logic prints through. */
export interface CommandIO {
  jsonEnabled(): boolean;
  /** A line on stdout (not with --json). */
  log(message?: string): void;
  /** A line on stderr (not with --json). */
  logToStderr(message?: string): void;
  /** The JSON answer (pretty, on stdout). */
  logJson(json: unknown): void;
  exit(code?: number): never;
}

/** JSON-safe copy (bigints as hex) for --json output. */
export function plain<T>(v: T): unknown {
  return JSON.parse(JSON.stringify(v, jsonReplacer));
}

/** Prints the diagnostics (or `{ ok: false, diagnostics }` with --json) and exits with `exit`. */
export function fail(io: CommandIO, diagnostics: readonly Diagnostic[], exit = 1): never {
  if (io.jsonEnabled()) io.logJson({ ok: false, diagnostics });
  else {
    for (const d of diagnostics) io.logToStderr(terminalSafe(formatDiagnostic(d)));
    const n = diagnostics.filter((d) => d.severity === 'error').length;
    io.logToStderr(`${n} error${n === 1 ? '' : 's'}; nothing was produced.`);
  }
  return io.exit(exit);
}

export function failMessage(io: CommandIO, message: string, exit = 1): never {
  if (io.jsonEnabled()) io.logJson({ ok: false, error: message });
  else io.logToStderr(`error: ${terminalSafe(message)}`);
  return io.exit(exit);
}

/** Loads a policy (its warnings on stderr) or fails with its diagnostics; `at` is the instant time windows are evaluated at. */
export async function loadOrFail(
  io: CommandIO,
  policyPath: string,
  at = Date.now(),
): Promise<{ loaded: LoadedPolicy & { at: number }; warnings: Diagnostic[] }> {
  const r = await loadPolicy(policyPath);
  if (!r.ok) fail(io, r.diagnostics);
  if (!io.jsonEnabled()) for (const w of r.warnings) io.logToStderr(terminalSafe(formatDiagnostic(w)));
  return { loaded: { ...r.value, at }, warnings: r.warnings };
}
