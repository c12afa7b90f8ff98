/**
 * A private single-node etcd for tests: own data dir and loopback ports, stopped by pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { haveCommand } from './have.js';
import { tempDir } from './tmp.js';

export const haveEtcd = () => haveCommand('etcd');

export interface EtcdServer {
  readonly url: string; // etcd://127.0.0.1:PORT
  readonly clientPort: number;
  readonly dataDir: string;
  proc: ChildProcess;
  stop(): Promise<void>;
  start(): Promise<void>;
}

async function listening(port: number): Promise<boolean> {
  const { connect } = await import('node:net');
  return new Promise((res) => {
    const s = connect(port, '127.0.0.1', () => {
      s.destroy();
      res(true);
    });
    s.on('error', () => res(false));
  });
}

async function healthy(port: number): Promise<boolean> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(500) });
    return r.ok && ((await r.json()) as { health?: string }).health === 'true';
  } catch {
    return false;
  }
}

export interface EtcdTls {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

/**
 * Starts etcd on clientPort (peer port clientPort+1); resolves when /health says true. With `tls`, clients must
 * use https and present a certificate signed by `tls.ca` (health is then probed with etcdctl-free TLS fetch off).
 */
export async function startEtcd(clientPort: number, name = 'acltest', tls?: EtcdTls): Promise<EtcdServer> {
  const dataDir = tempDir('acl-etcd-'); // removed when the test file ends (helpers/tmp.ts), after its hooks stop etcd
  const peer = clientPort + 1;
  const scheme = tls ? 'https' : 'http';
  const args = [
    '--name',
    name,
    '--data-dir',
    dataDir,
    '--listen-client-urls',
    `${scheme}://127.0.0.1:${clientPort}`,
    '--advertise-client-urls',
    `${scheme}://127.0.0.1:${clientPort}`,
    ...(tls ? ['--cert-file', tls.cert, '--key-file', tls.key, '--trusted-ca-file', tls.ca, '--client-cert-auth'] : []),
    '--listen-peer-urls',
    `http://127.0.0.1:${peer}`,
    '--initial-advertise-peer-urls',
    `http://127.0.0.1:${peer}`,
    '--initial-cluster',
    `${name}=http://127.0.0.1:${peer}`,
    '--log-level',
    'error',
  ];
  const srv: EtcdServer = {
    url: `${tls ? 'etcds' : 'etcd'}://127.0.0.1:${clientPort}`,
    clientPort,
    dataDir,
    proc: undefined as unknown as ChildProcess,
    async start() {
      srv.proc = spawn('etcd', args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      srv.proc.stderr!.on('data', (d: Buffer) => {
        err = (err + d.toString()).slice(-4000);
      });
      const end = Date.now() + 15_000;
      while (!(tls ? await listening(clientPort) : await healthy(clientPort))) {
        if (srv.proc.exitCode !== null) throw new Error(`etcd exited: ${err}`);
        if (Date.now() > end) throw new Error(`etcd did not become healthy: ${err}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      const p = srv.proc;
      if (!p || p.exitCode !== null || p.signalCode !== null) return;
      const done = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      const t = setTimeout(() => p.kill('SIGKILL'), 5000);
      await done;
      clearTimeout(t);
    },
  };
  await srv.start();
  process.on('exit', () => {
    try {
      srv.proc.kill('SIGKILL');
    } catch {
      /* gone */
    }
    rmSync(dataDir, { recursive: true, force: true });
  });
  return srv;
}
