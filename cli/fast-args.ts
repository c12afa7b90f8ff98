/**
 * Which command lines bin/run.js answers without oclif (cli/fast.ts): exactly `acl validate FILE` and `acl lint FILE`
 * (its default flags), with or without `--json`. Anything else — `--help`, another flag, a second argument, a file name starting with '-', oclif's
 * environment switches (ACL_CONTENT_TYPE, DEBUG) — goes through oclif, which parses and reports it as always.
 * ACL_NO_FAST_PATH=1 sends every command through oclif (tests compare both ways). No imports: loading this costs nothing.
 */
export interface FastCommand {
  readonly command: 'validate' | 'lint';
  readonly policy: string;
  readonly json: boolean;
}

export function fastCommand(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): FastCommand | undefined {
  if (env.ACL_NO_FAST_PATH || env.ACL_CONTENT_TYPE || env.DEBUG || env.ACL_DEBUG) return undefined;
  const command = argv[0];
  if (command !== 'validate' && command !== 'lint') return undefined;
  const rest = argv.slice(1);
  const json = rest.filter((a) => a === '--json').length;
  const args = rest.filter((a) => a !== '--json');
  if (json > 1 || args.length !== 1 || args[0] === '' || args[0].startsWith('-')) return undefined;
  return { command, policy: args[0], json: json === 1 };
}
