#!/usr/bin/env node
/**
 * `npm run format:check`: prettier --check (printWidth 140, .prettierrc.json) on the TypeScript files this branch
 * ADDS compared with its base (default `main`, or FORMAT_BASE). Existing files are not reformatted wholesale (that
 * would conflict with every open branch); they are formatted when they are split or rewritten.
 * `--changed` also checks the files the branch modifies.
 */
import { execFileSync, spawnSync } from 'node:child_process';

const base = process.env.FORMAT_BASE ?? 'main';
const filter = process.argv.includes('--changed') ? 'AMR' : 'A';
let files = [];
try {
  const mergeBase = execFileSync('git', ['merge-base', 'HEAD', base], { encoding: 'utf8' }).trim();
  files = execFileSync('git', ['diff', '--name-only', `--diff-filter=${filter}`, mergeBase, '--', '*.ts'], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
} catch {
  console.log(`format:check: no base '${base}' to compare with (set FORMAT_BASE); nothing checked`);
  process.exit(0);
}
if (files.length === 0) {
  console.log(`format:check: no TypeScript files ${filter === 'A' ? 'added' : 'changed'} since ${base}`);
  process.exit(0);
}
const r = spawnSync(process.execPath, ['node_modules/prettier/bin/prettier.cjs', '--check', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
