/**
 * A private OpenLDAP slapd for tests: its own config, database and port in a temp dir; loaded offline with
 * slapadd; started in the foreground as our child and stopped by its pid. Never touches the system slapd.
 */
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'ldapts';

export const haveSlapd = () => spawnSync('test', ['-x', '/usr/sbin/slapd']).status === 0;

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

export interface SlapdOptions {
  suffix?: string;
  rootPassword?: string;
  ldif?: string | string[];
  tls?: boolean;
  /** Server-side size limit (slapd's default is 500). */
  sizeLimit?: number;
  /** Extra equality indexes, e.g. ['modifyTimestamp'] (back-mdb then answers `>=` filters on it from the index). */
  indexes?: string[];
  /** Only bound clients may read (an anonymous search sees nothing). */
  requireBind?: boolean;
  /** Load the syncprov overlay: RFC 4533 content synchronisation (refreshAndPersist). */
  syncprov?: boolean;
}

export class Slapd {
  readonly dir: string;
  readonly suffix: string;
  readonly rootDn: string;
  readonly rootPassword: string;
  port = 0;
  tlsPort = 0;
  caFile = '';
  private child?: ChildProcess;
  private log = '';

  constructor(readonly opts: SlapdOptions = {}) {
    this.dir = mkdtempSync(join(tmpdir(), 'acl-slapd-'));
    this.suffix = opts.suffix ?? 'dc=campus,dc=example';
    this.rootDn = `cn=admin,${this.suffix}`;
    this.rootPassword = opts.rootPassword ?? 'test-secret';
    mkdirSync(join(this.dir, 'db'));
    const tls = opts.tls ? this.makeCerts() : '';
    writeFileSync(
      join(this.dir, 'slapd.conf'),
      [
        'include /etc/ldap/schema/core.schema',
        'include /etc/ldap/schema/cosine.schema',
        'include /etc/ldap/schema/inetorgperson.schema',
        'include /etc/ldap/schema/nis.schema',
        `pidfile ${join(this.dir, 'slapd.pid')}`,
        'modulepath /usr/lib/ldap',
        'moduleload back_mdb',
        opts.syncprov ? 'moduleload syncprov' : '',
        tls,
        `sizelimit ${opts.sizeLimit ?? 500}`,
        'database mdb',
        'maxsize 1073741824',
        `suffix "${this.suffix}"`,
        `rootdn "${this.rootDn}"`,
        `rootpw ${this.rootPassword}`,
        `directory ${join(this.dir, 'db')}`,
        'index objectClass eq',
        'index uid eq',
        'index member eq',
        ...(opts.requireBind ? ['access to * by users read by * none'] : []),
        ...(opts.indexes ?? []).map((a) => `index ${a} eq`),
        ...(opts.syncprov ? ['index entryCSN,entryUUID eq', 'overlay syncprov', 'syncprov-checkpoint 100 10'] : []),
        '',
      ].join('\n'),
    );
    for (const l of [opts.ldif ?? []].flat()) this.slapadd(l);
  }

  private makeCerts(): string {
    const d = this.dir;
    const run = (args: string[]) => execFileSync('openssl', args, { cwd: d, stdio: 'pipe' });
    run([
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '2',
      '-subj',
      '/CN=sdn-acl test CA',
    ]);
    run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
    writeFileSync(join(d, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    run([
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'server.crt',
      '-days',
      '2',
      '-extfile',
      'ext.cnf',
    ]);
    this.caFile = join(d, 'ca.crt');
    return [
      `TLSCACertificateFile ${join(d, 'ca.crt')}`,
      `TLSCertificateFile ${join(d, 'server.crt')}`,
      `TLSCertificateKeyFile ${join(d, 'server.key')}`,
    ].join('\n');
  }

  /** Loads LDIF offline (only while stopped). */
  slapadd(ldif: string): void {
    const f = join(this.dir, `load-${Date.now()}-${Math.random().toString(36).slice(2)}.ldif`);
    writeFileSync(f, ldif);
    execFileSync('/usr/sbin/slapadd', ['-q', '-f', join(this.dir, 'slapd.conf'), '-l', f], { stdio: 'pipe' });
  }

  get url(): string {
    return `ldap://127.0.0.1:${this.port}`;
  }
  get ldapsUrl(): string {
    return `ldaps://127.0.0.1:${this.tlsPort}`;
  }

  async start(): Promise<void> {
    if (!this.port) this.port = await freePort();
    if (this.opts.tls && !this.tlsPort) this.tlsPort = await freePort();
    const urls = [`ldap://127.0.0.1:${this.port}/`, ...(this.opts.tls ? [`ldaps://127.0.0.1:${this.tlsPort}/`] : [])].join(' ');
    this.child = spawn('/usr/sbin/slapd', ['-d', '0', '-f', join(this.dir, 'slapd.conf'), '-h', urls], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (d) => {
      this.log += d;
    });
    this.child.stderr!.on('data', (d) => {
      this.log += d;
    });
    const end = Date.now() + 15_000;
    for (;;) {
      if (this.child.exitCode !== null) throw new Error(`slapd exited ${this.child.exitCode}: ${this.log.slice(-2000)}`);
      const c = new Client({ url: this.url, connectTimeout: 1000, timeout: 1000 });
      try {
        await c.bind(this.rootDn, this.rootPassword);
        await c.unbind();
        return;
      } catch {
        /* not yet */
      }
      if (Date.now() > end) throw new Error(`slapd did not answer on ${this.url}: ${this.log.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Stops slapd by its pid and waits for it to exit. */
  async stop(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((res) => {
      c.once('exit', () => res());
      c.kill('SIGTERM');
      setTimeout(() => {
        if (c.exitCode === null) c.kill('SIGKILL');
      }, 5000);
    });
  }

  async client(): Promise<Client> {
    const c = new Client({ url: this.url });
    await c.bind(this.rootDn, this.rootPassword);
    return c;
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
