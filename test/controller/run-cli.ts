/**
 * Runs one CLI command class from the TypeScript sources (no build): node --import tsx run-cli.ts COMMAND ARGS...
 * Used by cli-commands.test.ts so the command writes to a real stdout/stderr and exits with its real code.
 */
const [name, ...argv] = process.argv.slice(2);
const mod = await import(`../../cli/commands/${name}.js`);
await mod.default.run(argv, new URL('../../', import.meta.url).pathname).catch((e: { oclif?: { exit?: number } }) => {
  process.exitCode = e.oclif?.exit ?? 1;
});
