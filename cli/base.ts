/** Shared CLI plumbing: every command has --json; diagnostics print as file:line:col and exit non-zero (cli/output.ts). */
import { Command } from '@oclif/core';
import type { Diagnostic } from '../compiler/model.js';
import type { LoadedPolicy } from '../loader/index.js';
import { CompileError, compileDiagnostic } from '../compiler/compile.js';
import { fail, failMessage, loadOrFail, plain, type CommandIO } from './output.js';

export abstract class AclCommand extends Command {
  static enableJsonFlag = true;

  /** JSON-safe copy (bigints as hex) for --json output. */
  protected plain<T>(v: T): unknown {
    return plain(v);
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

  /** This command as cli/output.ts prints through (oclif's logJson is protected, so an adapter). */
  protected get io(): CommandIO {
    return {
      jsonEnabled: () => this.jsonEnabled(),
      log: (m) => this.log(m),
      logToStderr: (m) => this.logToStderr(m),
      logJson: (j) => this.logJson(j),
      exit: (code) => this.exit(code),
    };
  }

  /** The policy file of this run (for diagnostics that are about the policy as a whole). */
  protected policyFile?: string;

  protected fail(diagnostics: readonly Diagnostic[], exit = 1): never {
    return fail(this.io, diagnostics, exit);
  }

  protected failMessage(message: string, exit = 1): never {
    return failMessage(this.io, message, exit);
  }

  /** Loads a policy; `at` (epoch ms, default now) is the instant time-windowed rules are evaluated at. */
  protected async load(policyPath: string, at = Date.now()): Promise<{ loaded: LoadedPolicy & { at: number }; warnings: Diagnostic[] }> {
    this.policyFile = policyPath;
    return loadOrFail(this.io, policyPath, at);
  }
}
