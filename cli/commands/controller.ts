import { Args, Flags, type Interfaces } from '@oclif/core';
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { AclCommand } from '../base.js';
import { createLogger, defaultLogFormat, LOG_FORMATS } from '../log.js';
import { Controller, type ControllerOptions } from '../../controller/controller.js';
import { buildApp, parseTokenFile, type ApiToken } from '../../controller/api.js';
import { defaultTokenFile, ensureAdminTokenFile } from '../../controller/security.js';
import { parseLdapAllow, type LdapAllowlist } from '../../controller/policy-guard.js';
import { FileClock, testClockRefusal } from '../../controller/test-clock.js';

function hostPort(s: string, what: string): { host: string; port: number } {
  const m = s.match(/^(?:\[?([^\]]*)\]?:)?(\d+)$/);
  if (!m) throw new Error(`--${what} must be HOST:PORT or PORT (got '${s}')`);
  return { host: m[1] || '0.0.0.0', port: Number(m[2]) };
}

type ControllerFlags = Interfaces.InferredFlags<(typeof ControllerCmd)['flags']>;

/**
 * The API tokens: admin from --token-file (created 0600 on first start) or $ACL_ADMIN_TOKEN — never a tokenless
 * admin — and read-only from --read-token-file or $ACL_READ_TOKEN. Throws on an unreadable or malformed file.
 */
async function readTokens(flags: ControllerFlags, log: Logger): Promise<ApiToken[]> {
  const tokenFile = flags['token-file'] ?? (process.env.ACL_ADMIN_TOKEN ? undefined : defaultTokenFile());
  let adminTokens: ApiToken[];
  if (tokenFile) {
    const t = await ensureAdminTokenFile(tokenFile);
    if (t.created)
      log.info(`created the admin token in ${tokenFile} (mode 0600); acl apply/status read it from there, the web console asks for it`);
    else log.info(`admin token from ${tokenFile}`);
    if (t.warning) log.warn(t.warning);
    adminTokens = parseTokenFile(t.text, 'admin', tokenFile);
  } else adminTokens = [{ name: 'admin', token: process.env.ACL_ADMIN_TOKEN!, role: 'admin' as const }];
  const readFile = flags['read-token-file'];
  const readTokens: ApiToken[] = readFile
    ? parseTokenFile(readFileSync(readFile, 'utf8'), 'read', readFile)
    : process.env.ACL_READ_TOKEN
      ? [{ name: 'read', token: process.env.ACL_READ_TOKEN, role: 'read' as const }]
      : [];
  return [...adminTokens, ...readTokens];
}

/** HTTPS for the API (--api-tls-*) and TLS for switch connections (--tls-*; mutual when --tls-ca is given). */
function tlsOptions(flags: ControllerFlags) {
  const https =
    flags['api-tls-key'] && flags['api-tls-cert']
      ? { key: readFileSync(flags['api-tls-key']), cert: readFileSync(flags['api-tls-cert']) }
      : undefined;
  const tls =
    flags['tls-key'] && flags['tls-cert']
      ? {
          key: readFileSync(flags['tls-key']),
          cert: readFileSync(flags['tls-cert']),
          ca: flags['tls-ca'] ? readFileSync(flags['tls-ca']) : undefined,
          requestCert: !!flags['tls-ca'],
          rejectUnauthorized: !!flags['tls-ca'],
        }
      : undefined;
  return { https, tls };
}

/** SIGINT/SIGTERM: close the API, the controller and the cluster membership, then exit (switch flows stay). */
function stopOnSignals(log: Logger, close: () => Promise<void>): void {
  const stop = async (sig: string) => {
    log.info(`${sig}: stopping (switch flows stay installed)`);
    await close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

export default class ControllerCmd extends AclCommand {
  static description =
    'Run the controller in the foreground: OpenFlow switches connect to --listen, the API and web console are served on --api.';
  static examples = [
    '<%= config.bin %> controller examples/campus/policy.yaml',
    'ACL_ADMIN_TOKEN=secret <%= config.bin %> controller policy.yaml --listen 0.0.0.0:6653 --api 0.0.0.0:8080 --audit-log /var/log/sdn-acl/audit.jsonl',
  ];
  static args = { policy: Args.string({ required: true }) };
  static flags = {
    listen: Flags.string({ default: '0.0.0.0:6653', description: 'OpenFlow listen address' }),
    api: Flags.string({ default: '127.0.0.1:8080', description: 'REST API and web console address' }),
    'token-file': Flags.string({
      description:
        'file holding the admin token(s); created with a random token (mode 0600) when missing. Default: $ACL_ADMIN_TOKEN if set, else $ACL_TOKEN_FILE or ~/.config/sdn-acl/admin-token',
    }),
    'api-host': Flags.string({
      multiple: true,
      description: 'DNS name the API is reached by (Host/Origin check; localhost and IP addresses are always accepted) (repeatable)',
    }),
    'allow-root': Flags.string({
      multiple: true,
      description: "folder whose files a policy sent through the API may name, besides the policy's own folder (repeatable)",
    }),
    'allow-ldap': Flags.string({
      multiple: true,
      description:
        'FIELD=VALUE an LDAP block sent through the API may use although the running policy does not (url, bindDn, passwordFile, passwordEnv, caFile) (repeatable)',
    }),
    'read-token-file': Flags.string({ description: 'file holding a read-only token (else $ACL_READ_TOKEN)' }),
    'audit-log': Flags.string({ default: 'acl-audit.jsonl', description: 'append-only JSON-lines log of applied changes' }),
    'state-file': Flags.string({ default: 'acl-state.json', description: 'where learned host bindings are kept across restarts' }),
    'audit-interval': Flags.integer({ default: 10, description: 'seconds between read-back checks of every switch (0 = off)' }),
    'tls-key': Flags.string({ description: 'TLS key for switch connections (OVS ssl: controllers)' }),
    'tls-cert': Flags.string({ description: 'TLS certificate for switch connections' }),
    'tls-ca': Flags.string({ description: 'CA that signs switch certificates (mutual TLS)' }),
    exclusive: Flags.string({
      multiple: true,
      description: 'switch name whose flow tables are exclusively ours: flows we did not install are removed (repeatable)',
    }),
    'no-bundles': Flags.boolean({ description: 'do not use the ONF bundle extension (ordered updates instead)' }),
    'api-tls-key': Flags.string({ description: 'serve the API over HTTPS with this PEM key' }),
    'require-approval': Flags.boolean({
      description:
        'two-person rule: a policy change or rollback waits until a different named admin approves it (needs two admin tokens in --token-file)',
    }),
    'approval-ttl': Flags.integer({ default: 24 * 3600, description: 'seconds a pending change waits for approval before it expires' }),
    'api-tls-cert': Flags.string({ description: 'serve the API over HTTPS with this PEM certificate' }),
    cluster: Flags.string({
      description:
        'run as one node of a cluster sharing its switches and state through etcd: etcd://host:2379[,host:2379] (etcds:// for TLS)',
    }),
    node: Flags.string({ description: "this node's name in the cluster (unique; default: the host name)" }),
    'cluster-ttl': Flags.integer({
      default: 2,
      description: 'seconds of etcd silence after which a node stops writing and its switches move to another node',
    }),
    'etcd-ca': Flags.string({ description: 'CA certificate of the etcd servers (etcds://)' }),
    'etcd-cert': Flags.string({ description: 'client certificate for etcd (mutual TLS)' }),
    'etcd-key': Flags.string({ description: 'client key for etcd (mutual TLS)' }),
    'etcd-user': Flags.string({ description: 'etcd user (password from --etcd-password-file or --etcd-password-env)' }),
    'etcd-password-file': Flags.string({ description: 'file holding the etcd password' }),
    'etcd-password-env': Flags.string({ description: 'environment variable holding the etcd password' }),
    'stats-interval': Flags.integer({ default: 10, description: 'seconds between flow-counter reads for traffic per rule (0 = off)' }),
    'stats-state': Flags.string({ default: 'acl-traffic.json', description: 'where the last hit of every rule is kept across restarts' }),
    'deny-log': Flags.string({ default: 'acl-denials.jsonl', description: 'JSON-lines deny log (rotated at 16 MiB, 3 old files kept)' }),
    'deny-sample-pps': Flags.integer({
      default: 50,
      description: 'denied packets per second each switch samples to the deny log (meter 2)',
    }),
    // TEST ONLY, hidden: refused unless ACL_TEST_CLOCK=1 (controller/test-clock.ts, docs/testing.md)
    'test-clock': Flags.string({
      hidden: true,
      description: 'TEST ONLY (refused unless ACL_TEST_CLOCK=1): the controller clock follows the instant written in this file',
    }),
    'log-format': Flags.option({
      options: LOG_FORMATS,
      description: 'log lines for people (pretty) or JSON lines for machines (json). Default: pretty when stdout is a terminal, else json',
    })(),
  };
  static enableJsonFlag = false;

  async run() {
    const { args, flags } = await this.parse(ControllerCmd);
    const log = await createLogger(flags['log-format'] ?? defaultLogFormat(process.stdout));
    const clock = this.testClock(flags['test-clock'], log);
    let tokens: ApiToken[] = [];
    let ldapAllow: LdapAllowlist = {};
    try {
      ldapAllow = parseLdapAllow(flags['allow-ldap'] ?? []);
      tokens = await readTokens(flags, log);
    } catch (e) {
      this.failMessage((e as Error).message);
    }
    const adminToken = tokens.some((t) => t.role === 'admin');
    if (flags['require-approval'] && new Set(tokens.filter((t) => t.role === 'admin').map((t) => t.name)).size < 2)
      this.failMessage('--require-approval needs at least two named admin tokens (lines NAME TOKEN admin in --token-file)');
    const { https, tls } = tlsOptions(flags);
    const ctlOpts = {
      policyPath: args.policy,
      listen: hostPort(flags.listen, 'listen'),
      tls,
      submitted: { allowRoots: flags['allow-root'], ldapAllow },
      stateFile: flags['state-file'],
      exclusiveSwitches: flags.exclusive,
      auditIntervalMs: flags['audit-interval'] * 1000,
      useBundles: !flags['no-bundles'],
      denySamplePps: flags['deny-sample-pps'],
      observe: {
        traffic: { intervalMs: flags['stats-interval'] * 1000, stateFile: flags['stats-state'] },
        denials: { file: flags['deny-log'] },
      },
      log: (level: 'info' | 'warn' | 'error', msg: string, data?: Record<string, unknown>) => log[level](data ?? {}, msg),
      clock,
    };
    const { ctl, clusterStatus, stopCluster } = await this.startController(ctlOpts, flags, log);
    const api = hostPort(flags.api, 'api');
    const hosts = [...(flags['api-host'] ?? []), ...(api.host && api.host !== '0.0.0.0' && api.host !== '::' ? [api.host] : [])];
    const app = await buildApp(ctl, {
      tokens,
      https,
      auditLog: flags['audit-log'],
      hosts,
      cluster: clusterStatus,
      requireApproval: flags['require-approval'],
      approvalTtlMs: flags['approval-ttl'] * 1000,
    });
    await app.listen({ host: api.host, port: api.port });
    log.info(
      `API and web console on http${https ? 's' : ''}://${api.host}:${api.port}/ (${adminToken ? 'changes need the admin token' : 'no admin token: no changes accepted'})`,
    );
    stopOnSignals(log, async () => {
      await app.close();
      await ctl.stop();
      await stopCluster?.();
      clock?.close();
    });
    process.on('SIGHUP', () => {
      void ctl.reloadPolicyFile().then((r) => log.info({ ok: r.ok }, 'SIGHUP: policy file reloaded'));
    });
    await new Promise(() => undefined);
  }

  /** `--test-clock FILE`: refused (the controller does not start) unless this is a test (controller/test-clock.ts). */
  private testClock(file: string | undefined, log: Logger): FileClock | undefined {
    if (file === undefined) return undefined;
    const why = testClockRefusal(file);
    if (why) this.failMessage(why);
    const clock = new FileClock(file, (m) => log.warn(m));
    log.warn(`TEST CLOCK: time windows and expiries follow ${file} (now ${new Date(clock.now()).toISOString()}), not the system clock`);
    return clock;
  }

  /** Starts the controller alone, or as one node of a cluster (--cluster); a policy that does not load ends the run. */
  private async startController(
    ctlOpts: ControllerOptions,
    flags: ControllerFlags,
    log: Logger,
  ): Promise<{ ctl: Controller; clusterStatus?: () => unknown; stopCluster?: () => Promise<void> }> {
    if (!flags.cluster) {
      const ctl = new Controller(ctlOpts);
      try {
        await ctl.load();
      } catch (e) {
        this.logToStderr((e as Error).message);
        this.failMessage('the policy is invalid; the controller did not start');
      }
      await ctl.start();
      return { ctl };
    }
    const { startClusteredController } = await import('../../controller/cluster-setup.js');
    const etcd = {
      url: flags.cluster,
      caFile: flags['etcd-ca'],
      certFile: flags['etcd-cert'],
      keyFile: flags['etcd-key'],
      user: flags['etcd-user'],
      passwordFile: flags['etcd-password-file'],
      passwordEnv: flags['etcd-password-env'],
    };
    const node = flags.node ?? (await import('node:os')).hostname();
    try {
      const c = await startClusteredController(ctlOpts, etcd, {
        name: node,
        ttlSeconds: flags['cluster-ttl'],
        info: { api: flags.api, openflow: flags.listen },
      });
      log.info(`cluster node ${node} on ${flags.cluster}`);
      return { ctl: c.ctl, clusterStatus: () => c.driver.status(), stopCluster: () => c.cluster.stop() };
    } catch (e) {
      this.logToStderr((e as Error).message);
      this.failMessage(`cluster node ${node} did not start`);
    }
  }
}
