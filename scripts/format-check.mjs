#!/usr/bin/env node
/**
 * `npm run format:check` (part of `npm test`): prettier --check (printWidth 140, .prettierrc.json) on every
 * TypeScript file of the tree. `npm run format` rewrites them.
 */
import { spawnSync } from 'node:child_process';

const r = spawnSync(process.execPath, ['node_modules/prettier/bin/prettier.cjs', '--check', '--log-level=warn', '**/*.ts'], {
  stdio: 'inherit',
});
if (r.status !== 0) console.error('format:check: run `npm run format` to format these files');
process.exit(r.status ?? 1);
