#!/usr/bin/env node
/**
 * `acl`. `acl --version` answers without loading oclif (node's own start-up is most of its time); every other
 * command goes through oclif, which reads oclif.manifest.json and imports only the command that runs.
 */
const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v')) {
  const { readFileSync } = await import('node:fs');
  const { version, name } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  // the same line oclif prints
  process.stdout.write(`${name}/${version} ${process.platform}-${process.arch} node-${process.version}\n`);
} else {
  const { manifestStale, writeManifest } = await import('./manifest.js');
  if (manifestStale()) await writeManifest().catch(() => undefined);
  const { execute } = await import('@oclif/core');
  await execute({ dir: import.meta.url });
}
