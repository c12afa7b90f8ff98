/** `acl validate`'s work, free of oclif: run by the oclif command (cli/commands/validate.ts) and by the fast path (cli/fast.ts). */
import { compile } from '../../compiler/compile.js';
import { lintInput, formatFinding } from '../../compiler/lint.js';
import { loadOrFail, plain, type CommandIO } from '../output.js';

export async function validatePolicy(io: CommandIO, policy: string) {
  const { loaded, warnings } = await loadOrFail(io, policy);
  const c = compile(loaded);
  // lint findings as warnings (informational notes only with `acl lint`); a policy without time windows is linted
  // on this same compile
  const lintWarnings = lintInput(loaded, { withoutInfo: true }, c).findings;
  if (!io.jsonEnabled()) for (const f of lintWarnings) io.logToStderr(formatFinding(f));
  io.log(
    `${policy}: valid — ${loaded.policy.rules.length} rules, ${loaded.policy.resources.length} resources, ${c.stats.users} users, ${c.stats.servers} servers, ${c.stats.classes} classes, ${c.stats.flows} flows on ${c.plan.switches.length} switches`,
  );
  return { ok: true, warnings, lint: plain(lintWarnings), stats: c.stats };
}
