/**
 * The web console in a real browser: Debian's /usr/bin/chromium through playwright-core. `buildConsole()` compiles
 * controller/web/src (tsconfig.web.json) so a test always runs the current sources; `pageErrors` collects what the
 * page threw or logged as an error (a console that throws fails its test).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const haveChromium = existsSync(CHROMIUM);
const ROOT = new URL('../../', import.meta.url).pathname;

let built = false;
/** Builds the console the way `npm run build` does (the build:web script if there is one, else tsc's ES modules). */
export function buildConsole(): void {
  if (built) return;
  const scripts = (JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { scripts?: Record<string, string> }).scripts ?? {};
  if (scripts['build:web']) execFileSync('npm', ['run', '--silent', 'build:web'], { cwd: ROOT, stdio: 'pipe' });
  else
    execFileSync(process.execPath, [createRequire(import.meta.url).resolve('typescript/bin/tsc'), '-p', 'tsconfig.web.json'], {
      cwd: ROOT,
      stdio: 'pipe',
    });
  built = true;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Errors the page throws or logs (uncaught exceptions, console.error). */
export function pageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(`console: ${m.text()}`);
  }); // 4xx answers are the API's to give
  return errors;
}

/** Signs in with a token through the token box and waits until the overview reports the mode. */
export async function signIn(page: Page, token: string, mode: 'admin' | 'read-only' = 'admin'): Promise<void> {
  await page.fill('#token', token);
  await page.click('#token-form button');
  await page.waitForFunction((m) => document.querySelector('#mode')?.textContent === m, mode);
}

/** Goes to a console page and waits until it has loaded its data. */
export async function openPage(page: Page, base: string, name: string): Promise<void> {
  await page.goto(`${base}#${name}`);
  await page.waitForFunction((n) => document.body.dataset.loaded === n, name);
}
