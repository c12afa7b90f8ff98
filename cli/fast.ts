/**
 * `acl validate FILE [--json]` and `acl lint FILE [--json]` without oclif (bin/run.js, when cli/fast-args.ts accepts
 * the command line): importing @oclif/core costs more than validating the campus example. Prints exactly what the
 * oclif command prints — the same validatePolicy / lintPolicy through the same CommandIO calls, lines written as oclif's ux writes them, the
 * JSON answer as its logJson, errors as its catch and handle do (test/cli/startup.test.ts compares both ways).
 */
import { format } from 'node:util';
import { CompileError, compileDiagnostic } from '../compiler/compile.js';
import { fail, type CommandIO } from './output.js';
import type { FastCommand } from './fast-args.js';
import { validatePolicy } from './run/validate.js';
import { lintPolicy } from './run/lint.js';

/** this.exit(code): unwinds the command like oclif's ExitError. */
class Exit extends Error {
  constructor(readonly code: number) {
    super(`EEXIT: ${code}`);
  }
}

function io(json: boolean): CommandIO {
  return {
    jsonEnabled: () => json,
    log: (m = '') => {
      if (!json) console.log(format(m));
    },
    logToStderr: (m = '') => {
      if (!json) console.error(format(m));
    },
    logJson: (j) => console.log(JSON.stringify(j, null, 2)),
    exit: (code = 0) => {
      throw new Exit(code);
    },
  };
}

export async function runFast(cmd: FastCommand): Promise<void> {
  const out = io(cmd.json);
  try {
    try {
      const result =
        cmd.command === 'lint'
          ? await lintPolicy(out, cmd.policy, { failOn: 'error', quiet: false })
          : await validatePolicy(out, cmd.policy);
      if (cmd.json) out.logJson(result);
    } catch (e) {
      // AclCommand.catch: a compile error is reported as a diagnostic about the policy
      if (e instanceof CompileError) fail(out, [compileDiagnostic(e, cmd.policy)]);
      throw e;
    }
  } catch (e) {
    if (e instanceof Exit) {
      process.exitCode = e.code;
      return;
    }
    process.exitCode = process.exitCode ?? (e as { exitCode?: number }).exitCode ?? 1;
    // oclif's Command.catch with --json: the error as JSON; without: oclif's own error report and exit code
    if (cmd.json) out.logJson(e instanceof Error ? { error: { ...e, message: e.message, name: e.name } } : { error: e });
    else await (await import('@oclif/core')).handle(e as Error);
  }
}
