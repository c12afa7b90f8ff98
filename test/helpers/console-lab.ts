/**
 * The web console's test lab: the console built from its sources, a controller on a policy, the API on a loopback
 * port, an in-memory switch (edge1, dpid 1) in sync, and Chromium; `signedIn(token)` opens a page signed in with a
 * token. `stop()` closes all of it. What each Chromium test used to start by hand, in one place.
 */
import { join, dirname } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { Controller } from '../../controller/controller.js';
import type { ControllerOptions } from '../../controller/controller-types.js';
import { buildApp, type ApiOptions } from '../../controller/api.js';
import { FakeSwitch } from '../controller/fake-switch.js';
import { buildConsole, launchChromium, pageErrors, signIn } from './browser.js';
import { waitFor } from './tmp.js';

export interface ConsoleLab {
  readonly ctl: Controller;
  readonly app: FastifyInstance;
  /** The console's address, `http://127.0.0.1:PORT/`. */
  readonly base: string;
  /** The in-memory switch edge1 (absent with `noSwitch`). */
  readonly sw?: FakeSwitch;
  readonly browser: Browser;
  /** A new page (its own browser context) signed in with `token`, and the errors it throws or logs. */
  signedIn(
    token: string,
    opts?: { viewport?: { width: number; height: number }; mode?: 'admin' | 'read-only' },
  ): Promise<{ page: Page; errors: string[] }>;
  stop(): Promise<void>;
}

export async function startConsoleLab(opts: {
  controller: Omit<ControllerOptions, 'listen'> & Partial<Pick<ControllerOptions, 'listen'>>;
  /** API options; the audit log defaults to audit.jsonl next to the policy. */
  app?: ApiOptions;
  /** Runs after the controller started, before the API and the switch (sessions, leases a test sets up). */
  before?: (ctl: Controller) => void | Promise<void>;
  /** No in-memory switch. */
  noSwitch?: boolean;
}): Promise<ConsoleLab> {
  buildConsole();
  const ctl = new Controller({ listen: { host: '127.0.0.1', port: 0 }, ...opts.controller });
  const parts: { app?: FastifyInstance; sw?: FakeSwitch; browser?: Browser } = {};
  const stop = async () => {
    await parts.browser?.close();
    parts.sw?.close();
    await parts.app?.close();
    await ctl.stop();
  };
  try {
    const { port } = await ctl.start();
    await opts.before?.(ctl);
    const app = (parts.app = await buildApp(ctl, { auditLog: join(dirname(opts.controller.policyPath), 'audit.jsonl'), ...opts.app }));
    await app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/`;
    if (!opts.noSwitch) {
      parts.sw = new FakeSwitch({ dpid: 1n });
      await parts.sw.connect(port);
      await waitFor('edge1 synced', () => ctl.switchStatus().find((s) => s.name === 'edge1')?.lastResult);
    }
    const browser = (parts.browser = await launchChromium());
    return {
      ctl,
      app,
      base,
      sw: parts.sw,
      browser,
      async signedIn(token, o = {}) {
        const page = await (await browser.newContext({ viewport: o.viewport ?? { width: 1400, height: 900 } })).newPage();
        const errors = pageErrors(page);
        await page.goto(base);
        await signIn(page, token, o.mode);
        return { page, errors };
      },
      stop,
    };
  } catch (e) {
    await stop().catch(() => undefined);
    throw e;
  }
}
