/**
 * Connecting to etcd: `etcd://host:2379[,host2:2379…]` (plain) or `etcds://…` (TLS), with optional CA / client
 * certificate files and user / password (password from a file or an environment variable, never inline).
 */
import { readFileSync } from 'node:fs';
import { Etcd3, type IOptions } from 'etcd3';

export interface EtcdConfig {
  /** `etcd://h:p[,h:p]` or `etcds://h:p[,h:p]`. */
  readonly url: string;
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
  readonly user?: string;
  readonly passwordFile?: string;
  readonly passwordEnv?: string;
}

export class EtcdConfigError extends Error {}

/** Parses the cluster URL into gRPC endpoints ("http://h:p" / "https://h:p"). */
export function parseEtcdUrl(url: string): { tls: boolean; hosts: string[] } {
  const m = /^(etcds?):\/\/(.+)$/.exec(url.trim());
  if (!m) throw new EtcdConfigError(`cluster URL must look like etcd://host:2379[,host:2379] or etcds://…, got '${url}'`);
  const tls = m[1] === 'etcds';
  const hosts = m[2]
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean);
  if (hosts.length === 0) throw new EtcdConfigError('cluster URL names no etcd endpoint');
  for (const h of hosts) {
    if (!/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(h)) throw new EtcdConfigError(`bad etcd endpoint '${h}' (want host:port)`);
    const port = Number(h.slice(h.lastIndexOf(':') + 1));
    if (port < 1 || port > 65535) throw new EtcdConfigError(`bad etcd port in '${h}'`);
  }
  return { tls, hosts: hosts.map((h) => `${tls ? 'https' : 'http'}://${h}`) };
}

export function etcdClient(cfg: EtcdConfig): Etcd3 {
  const { tls, hosts } = parseEtcdUrl(cfg.url);
  const opts: IOptions = { hosts, dialTimeout: 2000 };
  if (tls) {
    if (!cfg.caFile) throw new EtcdConfigError('etcds:// needs --etcd-ca (the CA that signed the etcd server certificate)');
    opts.credentials = {
      rootCertificate: readFileSync(cfg.caFile),
      ...(cfg.certFile && cfg.keyFile ? { certChain: readFileSync(cfg.certFile), privateKey: readFileSync(cfg.keyFile) } : {}),
    };
  }
  if (cfg.user) {
    const password = cfg.passwordFile
      ? readFileSync(cfg.passwordFile, 'utf8').trim()
      : cfg.passwordEnv
        ? process.env[cfg.passwordEnv]
        : undefined;
    if (password === undefined) throw new EtcdConfigError('etcd user given without --etcd-password-file or --etcd-password-env');
    opts.auth = { username: cfg.user, password };
  }
  return new Etcd3(opts);
}
