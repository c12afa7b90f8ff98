/** Prometheus metrics of the API (GET /metrics, open like /healthz): switches, flows, directory age, policy version, packet-ins. */
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Controller } from '../controller.js';
import { registerEdgeMetrics } from '../edge-api.js';

export interface ApiMetrics {
  readonly registry: Registry;
  readonly applyLatency: Histogram;
}

export function registerMetrics(app: FastifyInstance, ctl: Controller): ApiMetrics {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry, prefix: 'acl_' });
  const perSwitch = () => ctl.switchStatus();
  new Gauge({
    name: 'acl_switches_connected',
    help: 'Switches connected and known',
    registers,
    collect() {
      this.set(perSwitch().filter((s) => s.connected && s.known).length);
    },
  });
  new Gauge({
    name: 'acl_switches_unknown',
    help: 'Connected switches not in the topology (held)',
    registers,
    collect() {
      this.set(perSwitch().filter((s) => !s.known).length);
    },
  });
  new Gauge({
    name: 'acl_flows_desired',
    help: 'Flows in the plan per switch',
    labelNames: ['switch'],
    registers,
    collect() {
      for (const s of perSwitch()) if (s.name) this.set({ switch: s.name }, s.flowsDesired);
    },
  });
  new Gauge({
    name: 'acl_flows_installed',
    help: 'Flows read back from the switch at the last sync',
    labelNames: ['switch'],
    registers,
    collect() {
      for (const s of perSwitch()) if (s.name && s.flowsInstalled !== undefined) this.set({ switch: s.name }, s.flowsInstalled);
    },
  });
  new Gauge({
    name: 'acl_directory_sync_age_seconds',
    help: 'Seconds since the last successful directory read (changed or not)',
    registers,
    collect() {
      const t = ctl.directorySync?.status().lastSuccessAt ?? ctl.directoryStatus.lastSuccessAt;
      this.set(t ? (Date.now() - Date.parse(t)) / 1000 : -1);
    },
  });
  registerEdgeMetrics(registry, ctl);
  new Gauge({
    name: 'acl_policy_version',
    help: 'Applied policy version (increments on each apply)',
    registers,
    collect() {
      this.set(ctl.version);
    },
  });
  new Gauge({
    name: 'acl_packet_ins_dropped',
    help: 'Packet-ins dropped by the per-switch queue bound (switches connected now and before)',
    registers,
    collect() {
      this.set(ctl.packetInsDropped());
    },
  });
  new Gauge({
    name: 'acl_foreign_override_flows',
    help: 'Foreign flows that can override the policy (priority above ours, forwarding) per switch',
    labelNames: ['switch'],
    registers,
    collect() {
      this.reset();
      for (const s of perSwitch()) if (s.name && s.connected) this.set({ switch: s.name }, s.foreignOverrides?.length ?? 0);
    },
  });
  const packetIns = new Counter({ name: 'acl_packet_ins_total', help: 'Packet-ins received', registers });
  const applyLatency = new Histogram({
    name: 'acl_apply_seconds',
    help: 'Time from policy POST to all switches confirmed',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
    registers,
  });
  let lastPacketIns = 0;
  app.get('/metrics', async (_req, reply) => {
    packetIns.inc(ctl.packetIns - lastPacketIns);
    lastPacketIns = ctl.packetIns;
    reply.type(registry.contentType).send(await registry.metrics());
  });
  return { registry, applyLatency };
}
