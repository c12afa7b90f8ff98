/**
 * oclif.manifest.json: the command list with flags and args, so `acl <command>` imports only that command's module
 * instead of every command (and fastify, ldapts, etcd3, pino with them). Same content as `oclif manifest`, without
 * the oclif CLI package. Written by `npm run build`/`prepare` after tsc, and again by bin/run.js when a compiled
 * command is newer than it (someone ran tsc alone), so the manifest never describes old flags.
 */
import { readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const root = new URL('..', import.meta.url).pathname;
export const manifestFile = join(root, 'oclif.manifest.json');

/** True when the manifest is missing or older than a compiled command (cheap: one stat per command file). */
export function manifestStale() {
  let at;
  try { at = statSync(manifestFile).mtimeMs; } catch { return true; }
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory() ? walk(p) : e.name.endsWith('.js') && statSync(p).mtimeMs > at) return true;
    }
    return false;
  };
  try { return walk(join(root, 'dist/cli/commands')); } catch { return false; }
}

export async function writeManifest() {
  const { Plugin } = await import('@oclif/core');
  const plugin = new Plugin({ root, type: 'core', ignoreManifest: true, errorOnManifestCreate: true });
  await plugin.load();
  // write then rename: a command starting at the same moment reads the old file or the new one, never half of one
  const tmp = `${manifestFile}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(plugin.manifest, null, 2) + '\n');
  renameSync(tmp, manifestFile);
  return Object.keys(plugin.manifest.commands).length;
}
