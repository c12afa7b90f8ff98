import { Args, Flags } from '@oclif/core';
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { AclCommand } from '../base.js';
import { Controller } from '../../controller/controller.js';
import { buildApp, parseTokenFile, type ApiToken } from '../../controller/api.js';

function hostPort(s: string, what: string): { host: string; port: number } {
  const m = s.match(/^(?:\[?([^\]]*)\]?:)?(\d+)$/);
  if (!m) throw new Error(`--${what} must be HOST:PORT or PORT (got '${s}')`);
  return { host: m[1] || '0.0.0.0', port: Number(m[2]) };
}

export default class ControllerCmd extends AclCommand {
  static description = 'Run the controller in the foreground: OpenFlow switches connect to --listen, the API and web console are served on --api.';
  static examples = [
    '<%= config.bin %> controller examples/campus/policy.yaml',
    'ACL_ADMIN_TOKEN=secret <%= config.bin %> controller policy.yaml --listen 0.0.0.0:6653 --api 0.0.0.0:8080 --audit-log /var/log/sdn-acl/audit.jsonl',
  ];
  static args = { policy: Args.string({ required: true }) };
  static flags = {
    listen: Flags.string({ default: '0.0.0.0:6653', description: 'OpenFlow listen address' }),
    api: Flags.string({ default: '127.0.0.1:8080', description: 'REST API and web console address' }),
    'token-file': Flags.string({ description: 'file holding the admin token (else $ACL_ADMIN_TOKEN; with neither, changes are accepted only from loopback)' }),
    'read-token-file': Flags.string({ description: 'file holding a read-only token (else $ACL_READ_TOKEN)' }),
    'audit-log': Flags.string({ default: 'acl-audit.jsonl', description: 'append-only JSON-lines log of applied changes' }),
    'state-file': Flags.string({ default: 'acl-state.json', description: 'where learned host bindings are kept across restarts' }),
    'audit-interval': Flags.integer({ default: 10, description: 'seconds between read-back checks of every switch (0 = off)' }),
    'tls-key': Flags.string({ description: 'TLS key for switch connections (OVS ssl: controllers)' }),
    'tls-cert': Flags.string({ description: 'TLS certificate for switch connections' }),
    'tls-ca': Flags.string({ description: 'CA that signs switch certificates (mutual TLS)' }),
    exclusive: Flags.string({ multiple: true, description: 'switch name whose flow tables are exclusively ours: flows we did not install are removed (repeatable)' }),
    'no-bundles': Flags.boolean({ description: 'do not use the ONF bundle extension (ordered updates instead)' }),
    'api-tls-key': Flags.string({ description: 'serve the API over HTTPS with this PEM key' }),
    'api-tls-cert': Flags.string({ description: 'serve the API over HTTPS with this PEM certificate' }),
  };
  static enableJsonFlag = false;

  async run() {
    const { args, flags } = await this.parse(ControllerCmd);
    const log = pino({ name: 'sdn-acl' });
    let tokens: ApiToken[] = [];
    try {
      tokens = [
        ...(flags['token-file'] ? parseTokenFile(readFileSync(flags['token-file'], 'utf8'), 'admin', flags['token-file']) : process.env.ACL_ADMIN_TOKEN ? [{ name: 'admin', token: process.env.ACL_ADMIN_TOKEN, role: 'admin' as const }] : []),
        ...(flags['read-token-file'] ? parseTokenFile(readFileSync(flags['read-token-file'], 'utf8'), 'read', flags['read-token-file']) : process.env.ACL_READ_TOKEN ? [{ name: 'read', token: process.env.ACL_READ_TOKEN, role: 'read' as const }] : []),
      ];
    } catch (e) { this.failMessage((e as Error).message); }
    const adminToken = tokens.some((t) => t.role === 'admin');
    const https = flags['api-tls-key'] && flags['api-tls-cert'] ? { key: readFileSync(flags['api-tls-key']), cert: readFileSync(flags['api-tls-cert']) } : undefined;
    const tls = flags['tls-key'] && flags['tls-cert']
      ? { key: readFileSync(flags['tls-key']), cert: readFileSync(flags['tls-cert']), ca: flags['tls-ca'] ? readFileSync(flags['tls-ca']) : undefined, requestCert: !!flags['tls-ca'], rejectUnauthorized: !!flags['tls-ca'] }
      : undefined;
    const ctl = new Controller({
      policyPath: args.policy, listen: hostPort(flags.listen, 'listen'), tls, stateFile: flags['state-file'], exclusiveSwitches: flags.exclusive, auditIntervalMs: flags['audit-interval'] * 1000, useBundles: !flags['no-bundles'],
      log: (level, msg, data) => log[level](data ?? {}, msg),
    });
    try { await ctl.load(); } catch (e) { this.logToStderr((e as Error).message); this.failMessage('the policy is invalid; the controller did not start'); }
    await ctl.start();
    const app = await buildApp(ctl, { tokens, https, auditLog: flags['audit-log'] });
    const api = hostPort(flags.api, 'api');
    await app.listen({ host: api.host, port: api.port });
    log.info(`API and web console on http${https ? 's' : ''}://${api.host}:${api.port}/ (${adminToken ? 'changes need the admin token' : 'no admin token: changes only from loopback'})`);
    const stop = async (sig: string) => { log.info(`${sig}: stopping (switch flows stay installed)`); await app.close(); await ctl.stop(); process.exit(0); };
    process.on('SIGINT', () => void stop('SIGINT'));
    process.on('SIGTERM', () => void stop('SIGTERM'));
    process.on('SIGHUP', () => { void ctl.reloadPolicyFile().then((r) => log.info({ ok: r.ok }, 'SIGHUP: policy file reloaded')); });
    await new Promise(() => undefined);
  }
}
