/**
 * A private single-node etcd for tests: own data dir and loopback ports, stopped by pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { haveCommand } from './have.js';

export const haveEtcd = () => haveCommand('etcd');

export interface EtcdServer {
  readonly url: string; // etcd://127.0.0.1:PORT
  readonly clientPort: number;
  readonly dataDir: string;
  proc: ChildProcess;
  stop(): Promise<void>;
  start(): Promise<void>;
}

async function healthy(port: number): Promise<boolean> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(500) });
    return r.ok && ((await r.json()) as { health?: string }).health === 'true';
  } catch { return false; }
}

/** Starts etcd on clientPort (peer port clientPort+1); resolves when /health says true. */
export async function startEtcd(clientPort: number, name = 'acltest'): Promise<EtcdServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'acl-etcd-'));
  const peer = clientPort + 1;
  const args = ['--name', name, '--data-dir', dataDir,
    '--listen-client-urls', `http://127.0.0.1:${clientPort}`, '--advertise-client-urls', `http://127.0.0.1:${clientPort}`,
    '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
    '--initial-cluster', `${name}=http://127.0.0.1:${peer}`, '--log-level', 'error'];
  const srv: EtcdServer = {
    url: `etcd://127.0.0.1:${clientPort}`, clientPort, dataDir,
    proc: undefined as unknown as ChildProcess,
    async start() {
      srv.proc = spawn('etcd', args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      srv.proc.stderr!.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-4000); });
      const end = Date.now() + 15_000;
      while (!(await healthy(clientPort))) {
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
  process.on('exit', () => { try { srv.proc.kill('SIGKILL'); } catch { /* gone */ } rmSync(dataDir, { recursive: true, force: true }); });
  return srv;
}
