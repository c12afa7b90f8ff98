/**
 * The controller's eyes: traffic counters per rule (controller/stats.ts) and the deny log
 * (controller/denials.ts), wired to the switch sessions. The controller calls `onPacketIn` for every packet-in
 * and `start`/`stop`; everything else lives here.
 */
import type { MessageOf } from '../openflow/index.js';
import type { Compiled } from '../compiler/compile.js';
import { TABLE } from '../compiler/pipeline.js';
import { attributePlan, type FlowAttribution } from '../compiler/observe.js';
import type { SwitchPlan } from '../compiler/model.js';
import { DenialLog, type Denial, type DenialLogOptions } from './denials.js';
import { TrafficStats, type TrafficOptions } from './stats.js';
import { readFlows } from './reconcile.js';
import type { SwitchSession } from './session.js';
import type { EventData } from './events.js';
import { isLinkPort } from './snoop-plumbing.js';

export interface ObserveOptions {
  readonly traffic?: TrafficOptions;
  readonly denials?: DenialLogOptions;
}

/** What the observer needs from the controller (kept narrow so tests and benchmarks can supply it). */
export interface ObservedController {
  readonly compiled: Compiled;
  readonly sessions: ReadonlyMap<string, SwitchSession>;
  planFor(dpid: bigint): SwitchPlan | undefined;
  event(type: 'denial', data: EventData<'denial'>): void;
  /** A policy being monitored: the compile that would be enforced, and what it is called. */
  readonly monitoring?: { readonly compiled: Compiled; readonly name: string };
}

export class Observer {
  readonly denials: DenialLog;
  readonly traffic: TrafficStats;
  private readonly attr = new WeakMap<SwitchPlan, Map<bigint, FlowAttribution>>();

  constructor(
    private readonly ctl: ObservedController,
    opts: ObserveOptions = {},
  ) {
    this.denials = new DenialLog(opts.denials);
    this.denials.onNew = (d: Denial) => ctl.event('denial', { denial: d });
    this.traffic = new TrafficStats(
      () => ctl.compiled,
      () => {
        const out = [];
        for (const s of ctl.sessions.values()) {
          if (s.state !== 'ready' || s.dpid === undefined) continue;
          const plan = ctl.planFor(s.dpid);
          if (plan) out.push({ switch: plan.name, plan, read: () => readFlows(s) });
        }
        return out;
      },
      opts.traffic,
    );
  }

  async start(): Promise<void> {
    this.denials.start();
    await this.traffic.start();
  }

  async stop(): Promise<void> {
    this.traffic.stop();
    await this.denials.stop();
  }

  /**
   * A packet-in: samples of denied traffic (policy table) and would-deny samples (monitor) are logged and
   * consumed (returns true); discovery packets are logged when they come from an unknown or misplaced device
   * and left to discovery (returns false).
   */
  onPacketIn(s: SwitchSession, m: MessageOf<'packet_in'>): boolean {
    if (s.dpid === undefined) return false;
    const plan = this.ctl.planFor(s.dpid);
    const inPort = m.match.find((e) => e.field === 'in_port')?.value as number | undefined;
    if (!plan || inPort === undefined) return false;
    const c = this.ctl.compiled;
    if (m.tableId === TABLE.classify) {
      // only the discovery flow's packets (other table-0 packet-ins — EAPOL, DHCP — belong to the edge)
      if (this.discoveryCookie(plan) === m.cookie) this.denials.ingest(c, m.data, { switch: plan.name, port: inPort, source: 'discovery' });
      return false;
    }
    if (m.tableId !== TABLE.policy && m.tableId !== TABLE.monitor) return false;
    // the flows' roles, per plan (a walk of the whole plan: only for policy and monitor samples, never for EAPOL)
    let a = this.attr.get(plan);
    if (!a) this.attr.set(plan, (a = attributePlan(c, plan)));
    const role = a.get(m.cookie)?.role;
    if (m.tableId === TABLE.policy && (role === 'deny' || role === 'default-deny')) {
      this.denials.ingest(c, m.data, { switch: plan.name, port: inPort, source: 'policy', explicit: role === 'deny' });
      return true;
    }
    if (m.tableId === TABLE.monitor && role === 'monitor') {
      // a monitored deny (mode: monitor) let this packet through; logged where it entered the network, not again
      // on the inter-switch link of a destination hypervisor that checks it once more
      if (!isLinkPort(c.input.topology, plan.name, inPort)) {
        const mon = this.ctl.monitoring;
        this.denials.ingest(c, m.data, {
          switch: plan.name,
          port: inPort,
          source: 'monitor',
          ...(mon ? { candidate: mon.compiled, monitor: mon.name } : {}),
        });
      }
      return true;
    }
    return false;
  }

  private readonly discovery = new WeakMap<SwitchPlan, bigint | undefined>();
  private discoveryCookie(plan: SwitchPlan): bigint | undefined {
    if (!this.discovery.has(plan)) this.discovery.set(plan, plan.flows.find((f) => f.origin === 'discovery')?.cookie);
    return this.discovery.get(plan);
  }
}
