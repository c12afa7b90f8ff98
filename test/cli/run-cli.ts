/**
 * Runs one CLI command class from the TypeScript sources: node --import tsx test/cli/run-cli.ts COMMAND ARGS...
 * The command writes to a real stdout/stderr and exits with its real code (as `node bin/run.js` would after a build).
 */
const [name, ...argv] = process.argv.slice(2);
const mod = await import(`../../cli/commands/${name}.js`);
await mod.default.run(argv, new URL('../../', import.meta.url).pathname).catch((e: { oclif?: { exit?: number }; message?: string }) => {
  if (e.oclif?.exit === undefined) process.stderr.write(`${e.message}\n`);
  process.exitCode = e.oclif?.exit ?? 1;
});
