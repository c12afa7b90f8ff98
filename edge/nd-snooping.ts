/**
 * IPv6 address learning in the controller: ND/DAD snooping and DHCPv6 snooping. The switches send it (compiler
 * first-contact flows and the metered discovery punt):
 *  - Neighbor Solicitations and Advertisements that no table-0 flow admitted (the device's address is not bound
 *    yet): a DAD probe (NS from :: for T) from a MAC admitted on that port makes T pending; T is bound to the MAC
 *    on that port when the device uses it (an unsolicited NA for T from that MAC) or when the DAD time passes with
 *    no conflict. A probe for an address another device holds (directory, topology or learned) is refused and
 *    alerted; an NA from another MAC for a pending address is a conflict: nothing is bound. NA/NS for someone
 *    else's address is counted and alerted (never forwarded).
 *  - a copy of every DHCPv6 reply from a declared `dhcpv6:` server port: IA_NA addresses are bound to the client
 *    (the reply's destination MAC) on the port where it is admitted; a valid lifetime of 0 withdraws.
 *  - DHCPv6 client messages from access ports (metered): checked (rate per port) and forwarded by the controller;
 *    a Release or Decline from the holder's port ends the addresses it names.
 * Limits: messages per port and second, addresses per MAC (pending probes count), alerts per kind, port and minute.
 * Errors are values: every frame gets a verdict with a reason; nothing here throws on input.
 */
import { decodeNd, type NdFrame } from './nd.js';
import { decodeDhcpv6, type Dhcpv6Frame } from './dhcpv6.js';
import type { Lease6Table } from './leases6.js';
import { SnooperBase, type PortRef, type SnooperBaseOptions } from './snooper-base.js';

/** A verdict's reason, and what the snooper counts frames by (GET /api/v1/leases `dhcp.ipv6Counters`; the contract's
 * Ipv6Counters has these keys). */
export type Nd6Reason =
  | 'malformed'
  | 'rate-limited'
  | 'not-admitted'
  | 'conflict'
  | 'too-many'
  | 'spoofed-lla'
  | 'na-for-other'
  | 'ns-from-other'
  | 'dad-conflict'
  | 'unbound-source'
  | 'pending'
  | 'learned'
  | 'renewed'
  | 'rogue-server'
  | 'client-message-from-server'
  | 'client'
  | 'copy'
  | 'lease'
  | 'lease-refused'
  | 'release-elsewhere';

export interface Nd6Verdict {
  /** The controller sends the frame on (PACKET_OUT, NORMAL from its port). */
  readonly forward: boolean;
  readonly reason: Nd6Reason;
}

/** What the snooper asks the controller. */
export interface Nd6Context {
  /** Where the MAC is admitted now (a session, a lease, a learned or static binding), if anywhere. */
  admittedAt(mac: string): PortRef | undefined;
  /** The MAC an address belongs to in the directory or topology (never taken by learning), if any. */
  staticOwner(ip: string): string | undefined;
}

export interface NdSnooperOptions extends SnooperBaseOptions {
  /** How long a DAD probe waits for a conflict before its address is bound (ms; RFC 4862 RetransTimer: 1 s). */
  readonly dadMs?: number;
  /** ND-learned address lifetime (s): it ends then unless learned again (default 24 h). */
  readonly lifetimeSeconds?: number;
  /** ND and DHCPv6 messages looked at per port and second (burst: twice that). */
  readonly rate?: number;
  /** Most pending probes at once (all ports). */
  readonly maxPending?: number;
  /** Runs `fn` after `ms` (tests pass a fake; default setTimeout, unref'd). */
  readonly schedule?: (fn: () => void, ms: number) => void;
}

interface Pending {
  readonly mac: string;
  readonly at: PortRef;
  readonly since: number;
}

export class NdSnooper extends SnooperBase<Lease6Table, Nd6Reason> {
  private readonly pending = new Map<string, Pending>();
  readonly dadMs: number;
  lifetimeSeconds: number;
  private readonly maxPending: number;
  private readonly schedule: (fn: () => void, ms: number) => void;

  constructor(leases: Lease6Table, opts: NdSnooperOptions = {}) {
    super(leases, 'ipv6', opts.rate ?? 10, opts);
    this.dadMs = opts.dadMs ?? 1000;
    this.lifetimeSeconds = opts.lifetimeSeconds ?? 86_400;
    this.maxPending = opts.maxPending ?? 10_000;
    this.schedule = opts.schedule ?? ((fn, ms) => setTimeout(fn, ms).unref());
  }

  private verdict(forward: boolean, reason: Nd6Reason, at?: PortRef, data?: Record<string, unknown>): Nd6Verdict {
    this.note(reason, data && at, data);
    return { forward, reason };
  }

  private admittedHere(mac: string, at: PortRef, ctx: Nd6Context): boolean {
    const a = ctx.admittedAt(mac);
    return !!a && a.switch === at.switch && a.port === at.port;
  }

  /** Who holds `ip` if not `mac`: the directory/topology owner or a learned holder. */
  private otherHolder(ip: string, mac: string, ctx: Nd6Context): string | undefined {
    const owner = ctx.staticOwner(ip);
    if (owner !== undefined && owner !== mac) return owner;
    const l = this.leases.byIp(ip);
    return l && l.mac !== mac ? l.mac : undefined;
  }

  /** Addresses pending for a MAC. */
  pendingFor(mac: string): string[] {
    return [...this.pending].filter(([, p]) => p.mac === mac).map(([ip]) => ip);
  }

  /** An ND frame (NS or NA) from `at` that no table-0 flow admitted. */
  onNd(at: PortRef, frame: Buffer, ctx: Nd6Context): Nd6Verdict {
    if (!this.allow(at)) return this.verdict(false, 'rate-limited', at, { reason: 'ND messages over the port rate' });
    const r = decodeNd(frame);
    if (!r.ok) return this.verdict(false, 'malformed', at, { code: r.code, message: r.message });
    const m = r.value;
    if (m.lla !== undefined && m.lla !== m.ethSrc) return this.verdict(false, 'spoofed-lla', at, { mac: m.ethSrc, lla: m.lla });
    if (m.type === 'ns' && m.ipSrc === '::') return this.onProbe(at, m, ctx);
    if (m.type === 'na') return this.onAdvert(at, m, ctx);
    // an NS from a source address that is not bound to this MAC here (a bound one passes in the switch)
    const other = this.otherHolder(m.ipSrc, m.ethSrc, ctx);
    if (other) return this.verdict(false, 'ns-from-other', at, { mac: m.ethSrc, claims: m.ipSrc, holder: other });
    return this.verdict(false, 'unbound-source');
  }

  private onProbe(at: PortRef, m: NdFrame, ctx: Nd6Context): Nd6Verdict {
    const mac = m.ethSrc,
      t = m.target;
    if (!this.admittedHere(mac, at, ctx)) return this.verdict(false, 'not-admitted');
    const other = this.otherHolder(t, mac, ctx);
    // the probe goes on, so the holder defends its address and the prober's DAD fails as it should
    if (other) return this.verdict(true, 'conflict', at, { mac, target: t, holder: other });
    const held = this.leases.byIp(t);
    if (held && held.switch === at.switch && held.port === at.port) {
      // probed for again (the interface came back): an ND-learned address starts a new lifetime; a DHCPv6 one keeps its lease
      if (held.source === 'nd') this.bind(mac, t, at, 'nd');
      return this.verdict(true, 'renewed');
    }
    const p = this.pending.get(t);
    if (p && p.mac !== mac) {
      // two devices probing for one address at once: neither gets it
      this.pending.delete(t);
      return this.verdict(true, 'dad-conflict', at, { mac, target: t, alsoProbing: p.mac });
    }
    if (!p) {
      const count = this.leases.byMac(mac).filter((l) => l.switch === at.switch && l.port === at.port).length + this.pendingFor(mac).length;
      if (count >= this.leases.perMac || this.pending.size >= this.maxPending)
        return this.verdict(false, 'too-many', at, { mac, target: t, limit: this.leases.perMac });
      this.pending.set(t, { mac, at, since: this.now() });
      this.schedule(() => this.confirm(t, ctx), this.dadMs);
    }
    return this.verdict(true, 'pending');
  }

  private onAdvert(at: PortRef, m: NdFrame, ctx: Nd6Context): Nd6Verdict {
    const mac = m.ethSrc,
      t = m.target;
    const p = this.pending.get(t);
    if (p && p.mac !== mac) {
      this.pending.delete(t);
      return this.verdict(false, 'dad-conflict', at, { mac: p.mac, target: t, inUseBy: mac });
    }
    const other = this.otherHolder(t, mac, ctx);
    if (other) return this.verdict(false, 'na-for-other', at, { mac, target: t, holder: other });
    if (p && p.at.switch === at.switch && p.at.port === at.port) {
      // the device uses the address it probed for: bind now, then the advertisement goes on
      const ok = this.confirm(t, ctx);
      return this.verdict(ok, ok ? 'learned' : 'not-admitted');
    }
    return this.verdict(false, 'unbound-source');
  }

  /** Binds a pending address whose DAD time has passed (or that is in use); false when it is refused now. */
  confirm(ip: string, ctx: Nd6Context): boolean {
    const p = this.pending.get(ip);
    if (!p) return false;
    this.pending.delete(ip);
    if (!this.admittedHere(p.mac, p.at, ctx)) return false;
    const other = this.otherHolder(ip, p.mac, ctx);
    if (other) {
      this.alert('conflict', p.at, { mac: p.mac, target: ip, holder: other });
      return false;
    }
    return this.bind(p.mac, ip, p.at, 'nd');
  }

  private bind(mac: string, ip: string, at: PortRef, source: 'nd' | 'dhcpv6', seconds = this.lifetimeSeconds): boolean {
    const r = this.leases.add({ mac, ip, switch: at.switch, port: at.port, seconds, source });
    if (!r.ok) {
      this.alert('lease-refused', at, { mac, ip, code: r.code, message: r.message });
      return false;
    }
    this.emit('learned', r.lease);
    return true;
  }

  /**
   * A DHCPv6 frame from `at`; `trusted`: a declared `dhcpv6:` server port. Client messages are checked and
   * forwarded by the controller; a trusted server's reply is a copy (the switch forwards the original).
   */
  onDhcpv6(at: PortRef, frame: Buffer, trusted: boolean, ctx: Nd6Context): Nd6Verdict {
    if (!trusted && !this.allow(at)) return this.verdict(false, 'rate-limited', at, { reason: 'DHCPv6 messages over the port rate' });
    const r = decodeDhcpv6(frame);
    if (!r.ok) return this.verdict(false, 'malformed', at, { code: r.code, message: r.message });
    const m = r.value;
    const fromServer = m.udpSrc === 547 && m.udpDst === 546;
    if (fromServer && !trusted) return this.verdict(false, 'rogue-server', at, { mac: m.ethSrc, ip: m.ipSrc, messageType: m.type });
    if (!fromServer && trusted) return this.verdict(false, 'client-message-from-server', at, { mac: m.ethSrc });
    if (fromServer) return this.onReply(at, m, ctx);
    if (m.udpSrc !== 546) return this.verdict(false, 'malformed', at, { reason: 'a client message not from port 546' });
    if (m.type === 'release' || m.type === 'decline') {
      for (const a of m.addresses) {
        const l = this.leases.byIp(a.ip);
        if (!l || l.mac !== m.ethSrc) continue;
        if (l.switch !== at.switch || l.port !== at.port) return this.verdict(false, 'release-elsewhere', at, { mac: m.ethSrc, ip: a.ip });
        this.leases.remove(a.ip, m.type === 'release' ? 'release' : 'decline', m.ethSrc);
      }
    }
    return this.verdict(true, 'client');
  }

  private onReply(at: PortRef, m: Dhcpv6Frame, ctx: Nd6Context): Nd6Verdict {
    if (m.type !== 'reply' || !m.addresses.length) return this.verdict(false, 'copy');
    const mac = m.ethDst;
    const where = ctx.admittedAt(mac);
    if (parseInt(mac.slice(0, 2), 16) & 1 || !where)
      return this.verdict(false, 'lease-refused', at, { mac, reason: 'the reply is not addressed to a device admitted on a port' });
    let bound = 0;
    for (const a of m.addresses) {
      if (a.valid === 0) {
        this.leases.remove(a.ip, 'withdrawn', mac);
        continue;
      }
      const other = this.otherHolder(a.ip, mac, ctx);
      const otherSource = other ? this.leases.byIp(a.ip)?.source : undefined;
      // the server's word over its own earlier lease (another client's, now reassigned); never over ND or static
      if (other && otherSource !== 'dhcpv6') {
        this.alert('conflict', where, { mac, ip: a.ip, holder: other, source: 'dhcpv6' });
        continue;
      }
      const r = this.leases.add({
        mac,
        ip: a.ip,
        switch: where.switch,
        port: where.port,
        seconds: a.valid,
        source: 'dhcpv6',
        reassign: true,
      });
      if (!r.ok) this.alert('lease-refused', where, { mac, ip: a.ip, code: r.code, message: r.message });
      else {
        bound++;
        this.emit('learned', r.lease);
      }
    }
    return this.verdict(false, bound ? 'lease' : 'lease-refused');
  }

  /** The device left (logoff, port down, moved): its pending probes go. */
  forget(pred: (p: { mac: string; switch: string; port: number }) => boolean): void {
    for (const [ip, p] of this.pending) if (pred({ mac: p.mac, ...p.at })) this.pending.delete(ip);
  }
}
