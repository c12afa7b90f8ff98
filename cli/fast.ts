/**
 * `acl validate FILE [--json]` and `acl lint FILE [--json]` without oclif (bin/run.js, when cli/fast-args.ts accepts
 * the command line): importing @oclif/core costs more than validating the campus example. Prints exactly what the
 * oclif command prints — the same validatePolicy / lintPolicy through the same CommandIO calls, lines written as oclif's ux writes them, the
 * JSON answer as its logJson, errors as its catch and handle do (test/cli/startup.test.ts compares both ways).
 */
import fs from 'node:fs';
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

/**
 * Standard output, written in large pieces: a lint of a big policy prints thousands of lines, and a write per
 * line (console.log writes synchronously to files and pipes) cost more than the analysis. Flushed before anything
 * goes to standard error and when the command ends, so the two streams interleave as they would line by line.
 */
class Out {
  private parts: string[] = [];
  private size = 0;
  line(s: string): void {
    this.parts.push(s, '\n');
    this.size += s.length + 1;
    if (this.size > 1 << 20) this.flush();
  }
  flush(): void {
    if (!this.parts.length) return;
    const text = this.parts.join('');
    this.parts = [];
    this.size = 0;
    writeSync(1, text);
  }
}

/** Writes all of `text`, as console.log would: a full pipe (EAGAIN) is waited for, a closed one (EPIPE, `| head`) ends the output quietly. */
function writeSync(fd: number, text: string): void {
  let buf = Buffer.from(text);
  while (buf.length) {
    try {
      buf = buf.subarray(fs.writeSync(fd, buf));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') return;
      if (code !== 'EAGAIN') throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}

function io(json: boolean, out: Out): CommandIO {
  return {
    jsonEnabled: () => json,
    log: (m = '') => {
      if (!json) out.line(format(m));
    },
    logToStderr: (m = '') => {
      out.flush();
      if (!json) console.error(format(m));
    },
    logJson: (j) => out.line(JSON.stringify(j, null, 2)),
    exit: (code = 0) => {
      throw new Exit(code);
    },
  };
}

export async function runFast(cmd: FastCommand): Promise<void> {
  const stdout = new Out();
  const out = io(cmd.json, stdout);
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
    stdout.flush();
    if (e instanceof Exit) {
      process.exitCode = e.code;
      return;
    }
    process.exitCode = process.exitCode ?? (e as { exitCode?: number }).exitCode ?? 1;
    // oclif's Command.catch with --json: the error as JSON; without: oclif's own error report and exit code
    if (cmd.json) out.logJson(e instanceof Error ? { error: { ...e, message: e.message, name: e.name } } : { error: e });
    else await (await import('@oclif/core')).handle(e as Error);
  } finally {
    stdout.flush();
  }
}
