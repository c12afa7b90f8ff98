/**
 * `node --import ./test/helpers/import-log.mjs …`: records which modules a process loads into $ACL_IMPORT_LOG —
 * every ES module as it is resolved (import-log-hooks.mjs), and at exit every CommonJS module in require's cache
 * (as file: URLs), which the ESM hooks do not see (oclif and most npm packages are CommonJS).
 */
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';

register('./import-log-hooks.mjs', import.meta.url);

const cache = createRequire(import.meta.url).cache;
process.on('exit', () => {
  if (!process.env.ACL_IMPORT_LOG) return;
  const files = Object.keys(cache).filter((f) => f.startsWith('/'));
  if (files.length) appendFileSync(process.env.ACL_IMPORT_LOG, files.map((f) => pathToFileURL(f).href + '\n').join(''));
});
