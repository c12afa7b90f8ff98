/**
 * Cluster nodes as child processes (test/helpers/cluster-child.ts) for tests and benchmarks that kill, freeze
 * and restart them, and the views they share through the API.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const ROOT = new URL('../../', import.meta.url).pathname;
export const CLUSTER_TOKEN = 'cluster-admin';

export interface NodeSpec {
  readonly name: string;
  readonly of: number;
  readonly api: number;
}

export interface ClusterView {
  node: string;
  healthy: boolean;
  nodes: Array<{ name: string }>;
  switches: Array<{ dpid: string; master?: string; generationId?: string; localRole?: string }>;
  policyVersion?: number;
}

/** Starts a node; resolves when it listens. Its stderr is kept (last 20 kB) and echoed with ACL_TEST_VERBOSE. */
export function spawnNode(spec: NodeSpec, policy: string, etcdUrl: string, stateFile: string): Promise<ChildProcess> {
  const p = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(ROOT, 'test/helpers/cluster-child.ts'),
      policy,
      String(spec.of),
      String(spec.api),
      etcdUrl,
      spec.name,
      stateFile,
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let err = '';
  p.stderr.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-20000);
    if (process.env.ACL_TEST_VERBOSE) process.stderr.write(d);
  });
  process.on('exit', () => {
    try {
      p.kill('SIGKILL');
    } catch {
      /* gone */
    }
  });
  return new Promise((resolve, reject) => {
    p.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('READY')) resolve(p);
    });
    p.once('exit', (c) => reject(new Error(`node ${spec.name} exited ${c}: ${err}`)));
  });
}

export async function nodeApi<T = any>(spec: NodeSpec, path: string, init: RequestInit = {}): Promise<{ status: number; body: T }> {
  const r = await fetch(`http://127.0.0.1:${spec.api}/api/v1${path}`, { ...init, signal: AbortSignal.timeout(5000) });
  return { status: r.status, body: (await r.json()) as T };
}

export function postPolicy(spec: NodeSpec, text: string, baseVersion?: number): Promise<{ status: number; body: any }> {
  return nodeApi(spec, baseVersion === undefined ? '/policy' : `/policy?baseVersion=${baseVersion}`, {
    method: 'POST',
    body: text,
    headers: { authorization: `Bearer ${CLUSTER_TOKEN}`, 'content-type': 'application/yaml' },
  });
}

/**
 * dpid → master when every given node agrees on the master of each of `dpids` and each master has its role
 * confirmed by the switch; undefined otherwise.
 */
export async function agreedMasters(nodes: readonly NodeSpec[], dpids: readonly string[]): Promise<Map<string, string> | undefined> {
  const views = await Promise.all(nodes.map((n) => nodeApi<ClusterView>(n, '/cluster').then((r) => r.body)));
  const names = nodes.map((n) => n.name);
  const out = new Map<string, string>();
  for (const id of dpids) {
    const seen = new Set(views.map((v) => v.switches.find((s) => s.dpid === id)?.master));
    if (seen.size !== 1) return undefined;
    const m = [...seen][0];
    if (!m || !names.includes(m)) return undefined;
    if (views.find((v) => v.node === m)!.switches.find((s) => s.dpid === id)?.localRole !== 'master') return undefined;
    out.set(id, m);
  }
  return out;
}
