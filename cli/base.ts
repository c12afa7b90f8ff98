/** Shared CLI plumbing: every command has --json; diagnostics print as file:line:col and exit non-zero. */
import { terminalSafe } from './terminal.js';
import { Command } from '@oclif/core';
import type { Diagnostic } from '../compiler/model.js';
import { formatDiagnostic, loadPolicy, type LoadedPolicy } from '../loader/index.js';
import { jsonReplacer } from '../compiler/format.js';
import { CompileError, compileDiagnostic } from '../compiler/compile.js';

export abstract class AclCommand extends Command {
  static enableJsonFlag = true;

  /** JSON-safe copy (bigints as hex) for --json output. */
  protected plain<T>(v: T): unknown {
    return JSON.parse(JSON.stringify(v, jsonReplacer));
  }

  /**
   * With --json, a command that already printed its JSON answer and then exits non-zero (this.exit) must not
   * print oclif's error object after it: stdout stays one JSON document, and the exit code is the one asked for.
   */
  async catch(err: Error & { code?: string; oclif?: { exit?: number } }): Promise<unknown> {
    if (this.jsonEnabled() && err?.code === 'EEXIT' && typeof err.oclif?.exit === 'number') {
      process.exitCode = err.oclif.exit;
      return undefined;
    }
    if (err instanceof CompileError) this.fail([compileDiagnostic(err, this.policyFile ?? 'policy')]);
    return super.catch(err);
  }

  /** The policy file of this run (for diagnostics that are about the policy as a whole). */
  private policyFile?: string;

  protected fail(diagnostics: readonly Diagnostic[], exit = 1): never {
    if (this.jsonEnabled()) this.logJson({ ok: false, diagnostics });
    else {
      for (const d of diagnostics) this.logToStderr(terminalSafe(formatDiagnostic(d)));
      const n = diagnostics.filter((d) => d.severity === 'error').length;
      this.logToStderr(`${n} error${n === 1 ? '' : 's'}; nothing was produced.`);
    }
    this.exit(exit);
  }

  protected failMessage(message: string, exit = 1): never {
    if (this.jsonEnabled()) this.logJson({ ok: false, error: message });
    else this.logToStderr(`error: ${terminalSafe(message)}`);
    this.exit(exit);
  }

  /** Loads a policy; `at` (epoch ms, default now) is the instant time-windowed rules are evaluated at. */
  protected async load(policyPath: string, at = Date.now()): Promise<{ loaded: LoadedPolicy & { at: number }; warnings: Diagnostic[] }> {
    this.policyFile = policyPath;
    const r = await loadPolicy(policyPath);
    if (!r.ok) this.fail(r.diagnostics);
    if (!this.jsonEnabled()) for (const w of r.warnings) this.logToStderr(terminalSafe(formatDiagnostic(w)));
    return { loaded: { ...r.value, at }, warnings: r.warnings };
  }
}
