/**
 * The controller's side of IPv6 address learning (policy `ipv6: { learn: [nd, dhcpv6] }`): the IPv6 lease table
 * (joined with the DHCP lease table, so the edge hook recompiles on every change and the state file keeps both),
 * the ND/DHCPv6 snooper fed from PACKET_INs, and the clean-up when a device goes (logoff, port down, moved).
 * First contact calls `onPacketIn` before anything else looks at a frame.
 */
import { EventEmitter } from 'node:events';
import type { MessageOf } from '../openflow/index.js';
import type { AddressLease } from '../compiler/model.js';
import type { Compiled } from '../compiler/compile.js';
import type { Ipv6LearningPolicy } from '../compiler/first-contact.js';
import { parseIpv6, ipv6Text } from '../compiler/addr.js';
import { Lease6Table } from '../edge/leases6.js';
import type { LeaseChange, LeaseTable } from '../edge/leases.js';
import { NdSnooper, type Nd6Context } from '../edge/nd-snooping.js';
import type { PortRef } from '../edge/snooping.js';
import type { SessionChange } from '../edge/sessions.js';
import type { SwitchSession } from './session.js';
import type { ControllerEvent } from './events.js';
import type { EventFeed, EventRelay } from './controller-types.js';
import type { EdgeHook, LeaseSource } from './edge-hook.js';
import { etherType, forwardChecked, isLinkPort, relayAlerts } from './snoop-plumbing.js';

/** IPv4 and IPv6 leases as one source for the edge hook and the state file (one `leases` list, both families). */
export class JoinedLeases extends EventEmitter implements LeaseSource {
  constructor(
    readonly v4: LeaseTable,
    readonly v6: Lease6Table,
  ) {
    super();
    this.setMaxListeners(100);
    const fwd = (c: LeaseChange) => this.emit('change', c);
    v4.on('change', fwd);
    v6.on('change', fwd);
  }
  get version(): number {
    return this.v4.version + this.v6.version;
  }
  list(): AddressLease[] {
    return [...this.v4.list(), ...this.v6.list()];
  }
  snapshot(): AddressLease[] {
    return [...this.v4.snapshot(), ...this.v6.snapshot()];
  }
  restore(values: unknown): void {
    if (!Array.isArray(values)) {
      this.v4.restore(values);
      return;
    }
    const isV6 = (v: unknown) =>
      !!v && typeof v === 'object' && typeof (v as { ip?: unknown }).ip === 'string' && (v as { ip: string }).ip.includes(':');
    this.v4.restore(values.filter((v) => !isV6(v)));
    this.v6.restore(values.filter(isV6));
  }
}

/** Where each MAC is admitted and who owns each IPv6 address, per compiled plan. */
interface Index {
  readonly compiled: Compiled;
  readonly at: Map<string, PortRef>;
  readonly owner: Map<string, string>;
}

/** What IPv6 learning needs from the controller (controller.ts implements it). */
export interface ControllerForIpv6 extends EventRelay, Pick<EventFeed, 'on'> {
  readonly compiled: Compiled;
  readonly edge: Pick<EdgeHook, 'sessions'>;
}

export class Ipv6Learning {
  readonly leases = new Lease6Table();
  readonly snooper = new NdSnooper(this.leases);
  private index?: Index;
  private readonly ctx: Nd6Context;

  constructor(private readonly ctl: ControllerForIpv6) {
    this.ctx = {
      admittedAt: (mac) => {
        const s = this.ctl.edge.sessions.byMac(mac);
        if (s) return { switch: s.switch, port: s.port };
        return this.indexed()?.at.get(mac);
      },
      staticOwner: (ip) => {
        const v = parseIpv6(ip);
        return v === undefined ? undefined : this.indexed()?.owner.get(ipv6Text(v));
      },
    };
    relayAlerts(this.snooper, (type, data) => ctl.relay(type, data));
    // a device that goes takes its IPv6 addresses with it, like its login
    ctl.edge.sessions.on('change', (c: SessionChange) => {
      const s = c.session;
      if (c.kind === 'removed') this.drop((l) => l.mac === s.mac, 'logoff');
      else if (c.kind === 'replaced' && c.previous && (c.previous.switch !== s.switch || c.previous.port !== s.port))
        this.drop((l) => l.mac === s.mac && l.switch === c.previous!.switch && l.port === c.previous!.port, 'replaced');
    });
    ctl.on('event', (e: ControllerEvent) => {
      if (e.type === 'port-status' && e.down === true && typeof e.switch === 'string') {
        const sw = e.switch,
          port = e.port;
        this.drop((l) => l.switch === sw && l.port === port, 'port-down');
      }
    });
  }

  private drop(pred: (l: { mac: string; switch: string; port: number }) => boolean, reason: 'logoff' | 'replaced' | 'port-down'): void {
    this.snooper.forget(pred);
    this.leases.removeWhere(pred, reason);
  }

  private indexed(): Index | undefined {
    const compiled = this.ctl.compiled;
    if (!compiled) return undefined;
    if (this.index?.compiled === compiled) return this.index;
    const at = new Map<string, PortRef>();
    const owner = new Map<string, string>();
    for (const s of compiled.subjects)
      for (const e of s.endpoints) {
        if (e.switch !== undefined && e.port !== undefined) at.set(e.mac, { switch: e.switch, port: e.port });
        for (const a of [...(e.ipv6 ?? []), ...(e.ll6 ?? [])]) owner.set(a, e.mac);
      }
    this.index = { compiled, at, owner };
    return this.index;
  }

  private policy(): Ipv6LearningPolicy | undefined {
    const p = this.ctl.compiled?.input.policy.firstContact?.ipv6;
    if (p) {
      this.snooper.rate = p.rate;
      this.snooper.lifetimeSeconds = p.lifetimeSeconds;
      this.leases.perMacLimit = p.maxAddresses;
    }
    return p;
  }

  /**
   * Returns true when the frame was IPv6 learning's business (ND that no flow admitted, DHCPv6 on a learning
   * network): the controller's discovery learning must not look at it.
   */
  onPacketIn(
    s: SwitchSession,
    switchName: string,
    inPort: number,
    m: MessageOf<'packet_in'>,
    trusted: (sw: string, port: number) => boolean,
  ): boolean {
    const d = m.data;
    const kind = classify(d);
    if (!kind) return false;
    const p = this.policy();
    if (!p || (kind === 'nd' && !p.nd) || (kind === 'dhcpv6' && !p.dhcpv6)) return false;
    if (isLinkPort(this.ctl.compiled.input.topology, switchName, inPort)) return false;
    const at = { switch: switchName, port: inPort };
    const v = kind === 'nd' ? this.snooper.onNd(at, d, this.ctx) : this.snooper.onDhcpv6(at, d, trusted(switchName, inPort), this.ctx);
    if (v.forward) forwardChecked(s, inPort, d);
    return true;
  }
}

/** 'nd' for ICMPv6 135/136, 'dhcpv6' for UDP 546/547, over IPv6 without extension headers (one VLAN tag allowed). */
function classify(d: Buffer): 'nd' | 'dhcpv6' | undefined {
  const eth = etherType(d);
  if (eth?.type !== 0x86dd) return undefined;
  const ip = eth.payload;
  if (d.length < ip + 44) return undefined;
  const next = d[ip + 6];
  if (next === 58) return d[ip + 40] === 135 || d[ip + 40] === 136 ? 'nd' : undefined;
  if (next !== 17) return undefined;
  const sp = d.readUInt16BE(ip + 40),
    dp = d.readUInt16BE(ip + 42);
  return sp === 546 || sp === 547 || dp === 546 || dp === 547 ? 'dhcpv6' : undefined;
}
