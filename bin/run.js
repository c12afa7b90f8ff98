#!/usr/bin/env node
/**
 * `acl`. `acl --version` answers without loading oclif (node's own start-up is most of its time), and so does
 * `acl validate FILE [--json]` and `acl lint FILE [--json]` (dist/fast/fast.js prints what the oclif command prints; cli/fast-args.ts says which
 * command lines qualify). Every other command goes through oclif, which reads oclif.manifest.json and imports only
 * the command that runs.
 */
const argv = process.argv.slice(2);
const fast =
  argv[0] === 'validate' || argv[0] === 'lint' ? (await import('../dist/cli/fast-args.js')).fastCommand(argv, process.env) : undefined;
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v')) {
  const { readFileSync } = await import('node:fs');
  const { version, name } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  // the same line oclif prints
  process.stdout.write(`${name}/${version} ${process.platform}-${process.arch} node-${process.version}\n`);
} else if (fast) {
  // dist/fast/: the fast path bundled into one file by esbuild (npm run build); the tsc output when the bundle is
  // missing or older than it (tsc ran alone since), so a stale bundle never answers
  const { statSync } = await import('node:fs');
  const mtime = (f) => statSync(new URL(f, import.meta.url), { throwIfNoEntry: false })?.mtimeMs ?? -1;
  const bundled = mtime('../dist/fast/fast.js') >= mtime('../dist/cli/fast.js');
  const { runFast } = await import(bundled ? '../dist/fast/fast.js' : '../dist/cli/fast.js');
  await runFast(fast);
} else {
  const { manifestStale, writeManifest } = await import('./manifest.js');
  if (manifestStale()) await writeManifest().catch(() => undefined);
  const { execute } = await import('@oclif/core');
  await execute({ dir: import.meta.url });
}
