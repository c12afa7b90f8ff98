/** The audit log: every applied change (policy, approvals, directory, learned binding, edge logins), one JSON line each. */
import type { FastifyInstance } from 'fastify';
import { appendFile } from 'node:fs/promises';
import type { Controller, ControllerEvent } from '../controller.js';
import { jsonReplacer } from '../../compiler/format.js';
import { AUDITED_EVENTS } from '../events.js';

export function registerAuditLog(app: FastifyInstance, ctl: Controller, file: string | undefined): void {
  if (!file) return;
  const audited: ReadonlySet<string> = new Set(AUDITED_EVENTS);
  let chain: Promise<void> = Promise.resolve();
  const audit = (e: ControllerEvent) => {
    if (!audited.has(e.type)) return;
    const extra = e.type === 'policy-applied' ? { text: ctl.loaded.policyText } : {};
    const by =
      ('by' in e && typeof e.by === 'string' ? e.by : undefined) ??
      (e.type === 'binding-learned' ? 'discovery' : e.type === 'directory-synced' ? 'directory-sync' : 'unknown');
    const line = JSON.stringify({ ...e, ...extra, by }, jsonReplacer) + '\n';
    chain = chain
      .then(() => appendFile(file, line))
      .catch((err) => {
        app.log.error({ err }, 'cannot write the audit log');
      });
  };
  ctl.on('event', audit);
  app.addHook('onClose', async () => {
    ctl.off('event', audit);
    await chain;
  });
}
