/**
 * Builds a controller that runs as one node of an etcd cluster (`acl controller --cluster … --node …`).
 * Order matters: read etcd (shared class ids, the committed policy), load and compile, join (take a lease), adopt
 * the cluster's policy, listen.
 */
import { Controller, type ControllerOptions } from './controller.js';
import { ClusterDriver } from './cluster-driver.js';
import { ClusterNode } from '../cluster/node.js';
import { etcdClient, type EtcdConfig } from '../cluster/etcd.js';
import { sharedLifecycle } from './lifecycle-cluster.js';

export interface ClusteredController {
  readonly ctl: Controller;
  readonly cluster: ClusterNode;
  readonly driver: ClusterDriver;
  stop(): Promise<void>;
}

export async function startClusteredController(
  ctlOpts: Omit<ControllerOptions, 'cluster'>,
  etcd: EtcdConfig,
  node: { name: string; ttlSeconds?: number; info?: Record<string, unknown> },
): Promise<ClusteredController & { port: number }> {
  const log = ctlOpts.log;
  const cluster = new ClusterNode(etcdClient(etcd), {
    node: node.name,
    ttlSeconds: node.ttlSeconds,
    info: node.info,
    log: log ? (l, m) => log(l, m) : undefined,
  });
  let driver: ClusterDriver | undefined;
  const ctl = new Controller({
    ...ctlOpts,
    cluster: {
      mayWrite: (dpid) => driver?.mayWrite(dpid) ?? false,
      submit: (text, opts) => driver!.submit(text, opts),
      scheduleAt: (at) => driver!.scheduleAt(at),
      initialIds: () => validIds(cluster.ids),
      lifecycle: sharedLifecycle(cluster),
    },
  });
  await cluster.prefetch();
  await ctl.load();
  await cluster.start();
  driver = new ClusterDriver(ctl, cluster);
  await driver.start();
  const { port } = await ctl.start();
  const d = driver;
  return {
    ctl,
    cluster,
    driver: d,
    port,
    stop: async () => {
      d.stop();
      await ctl.stop();
      await cluster.stop();
    },
  };
}

function validIds(v: unknown): { classIds: Array<[string, number]>; dstClassIds: Array<[string, number]> } | undefined {
  const o = v as { classIds?: unknown; dstClassIds?: unknown } | undefined;
  const ok = (a: unknown) => Array.isArray(a) && a.every((p) => Array.isArray(p) && typeof p[0] === 'string' && Number.isInteger(p[1]));
  return o && ok(o.classIds) && ok(o.dstClassIds)
    ? (o as { classIds: Array<[string, number]>; dstClassIds: Array<[string, number]> })
    : undefined;
}
