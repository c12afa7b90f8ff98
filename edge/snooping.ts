/**
 * DHCP snooping in the controller. The switches send it (see compiler/first-contact.ts):
 *  - every DHCP client message from an access port (metered) — it checks the message and forwards the good ones
 *    itself (PACKET_OUT), so a spoofed chaddr or a starvation flood from one port never reaches a server;
 *  - a copy of every reply from a trusted server port — DHCPACK records a lease, DHCPNAK removes one;
 *  - DHCP replies from any other port (metered) — a rogue server: dropped (never forwarded), counted, alerted;
 *  - ARP that no flow admitted (discovery) — a gratuitous ARP for an address leased to someone else is counted.
 *
 * Errors are values: every frame gets a verdict with a reason; nothing here throws on input.
 */
import { decodeArp, decodeDhcp, type DhcpClientType, type DhcpFrame, type DhcpServerType } from './dhcp.js';
import type { LeaseTable } from './leases.js';
import { SnooperBase, type PortRef, type SnooperBaseOptions } from './snooper-base.js';

export type { PortRef } from './snooper-base.js';

export type SnoopVerdict =
  | { readonly forward: true; readonly reason: 'client' }
  | { readonly forward: false; readonly reason: DropReason | 'lease' | 'nak' | 'copy' | 'not-dhcp' | 'arp-ok' };

export type DropReason =
  | 'malformed'
  | 'spoofed-chaddr'
  | 'rate-limited'
  | 'rogue-server'
  | 'server-message-from-client'
  | 'client-message-from-server'
  | 'ack-unknown-client'
  | 'lease-refused'
  | 'arp-spoof'
  | 'arp-malformed'
  | 'mac-conflict'
  | 'release-elsewhere';

/**
 * What DHCP snooping counts: drops by reason, frames that were not DHCP, and forwarded client messages and copied
 * server replies by message type (GET /api/v1/leases `dhcp.counters`; the contract's DhcpCounters has these keys).
 */
export type DhcpCounter = DropReason | 'not-dhcp' | `client-${DhcpClientType}` | `server-${DhcpServerType}`;

export interface SnooperOptions extends SnooperBaseOptions {
  /** DHCP client messages per second accepted from one port (burst: twice that). */
  readonly clientRate?: number;
  /** Where the controller forgets a client it saw asking (ms) — an ACK for it after that is not bound. */
  readonly clientMemoryMs?: number;
  /** Most clients remembered at once (a flood of invented MACs cannot grow memory). */
  readonly maxClients?: number;
  /** How long a MAC seen on two ports at once stays refused (ms). */
  readonly conflictHoldMs?: number;
  /** A MAC back on a port within this time after being seen on another is on two ports at once (ms). */
  readonly conflictWindowMs?: number;
  /** 'deny-both': a MAC on two ports at once loses its lease and is refused for conflictHoldMs. */
  readonly conflict?: 'deny-both' | 'newest';
}

export class DhcpSnooper extends SnooperBase<LeaseTable, DhcpCounter> {
  /** chaddr → where its last good client message came from. */
  private readonly clients = new Map<string, PortRef & { at: number }>();
  private readonly conflicts = new Map<string, number>();
  private readonly sightings = new Map<string, { port: string; at: number; prevPort?: string; prevAt?: number }>();
  private readonly window: number;
  private readonly memory: number;
  private readonly maxClients: number;
  private readonly conflictHold: number;
  /** What a MAC on two ports at once gets (the policy's roaming.conflict). */
  conflict: 'deny-both' | 'newest';

  constructor(leases: LeaseTable, opts: SnooperOptions = {}) {
    super(leases, 'dhcp', opts.clientRate ?? 10, opts);
    this.memory = opts.clientMemoryMs ?? 120_000;
    this.maxClients = opts.maxClients ?? 50_000;
    this.conflictHold = opts.conflictHoldMs ?? 60_000;
    this.conflict = opts.conflict ?? 'deny-both';
    this.window = opts.conflictWindowMs ?? 30_000;
  }

  private drop(reason: DropReason, at: PortRef, data: Record<string, unknown> = {}, alert = false): SnoopVerdict {
    this.note(reason, alert ? at : undefined, data);
    return { forward: false, reason };
  }

  private remember(mac: string, at: PortRef): void {
    const t = this.now();
    this.clients.delete(mac);
    this.clients.set(mac, { switch: at.switch, port: at.port, at: t });
    // oldest first (insertion order): trim what is too old or too many
    for (const [k, v] of this.clients) {
      if (this.clients.size <= this.maxClients && t - v.at <= this.memory) break;
      this.clients.delete(k);
    }
  }

  /**
   * Where each MAC was last seen by the controller, and before that. A MAC that comes back to a port within
   * `conflictWindowMs` after being seen elsewhere (A → B → A) is on two ports at once: a device that moves goes
   * A → B once. Returns true when this sighting is such a conflict (alerted; under 'deny-both' its lease goes and
   * new leases are refused for conflictHoldMs).
   */
  private seen(mac: string, at: PortRef): boolean {
    const t = this.now();
    const here = `${at.switch}:${at.port}`;
    const s = this.sightings.get(mac);
    if (!s) {
      if (this.sightings.size >= this.maxClients) this.sightings.delete(this.sightings.keys().next().value!);
      this.sightings.set(mac, { port: here, at: t });
      return false;
    }
    if (s.port === here) {
      s.at = t;
      return false;
    }
    const flip = s.prevPort === here && s.prevAt !== undefined && t - s.prevAt <= this.window;
    this.sightings.delete(mac);
    this.sightings.set(mac, { port: here, at: t, prevPort: s.port, prevAt: s.at });
    if (!flip) return false;
    if (this.inConflict(mac)) return true;
    const other = s.port.split(':');
    this.alert('mac-conflict', at, {
      mac,
      alsoAt: { switch: other.slice(0, -1).join(':'), port: Number(other[other.length - 1]) },
      action: this.conflict,
    });
    if (this.conflict === 'deny-both') {
      this.conflicts.set(mac, t + this.conflictHold);
      this.leases.remove(mac, 'conflict');
      this.emit('conflict', { mac, ports: [s.port, here] });
      return true;
    }
    return false; // 'newest': alerted; the newest sighting's DHCP moves the lease as usual
  }

  /** MACs held after a DHCP-seen conflict, with when the hold ends (ms since epoch). */
  holds(): Array<{ mac: string; until: number }> {
    return [...this.conflicts].filter(([m]) => this.inConflict(m)).map(([mac, until]) => ({ mac, until }));
  }

  /** An admin resolved a conflict: the MAC may get a lease again; its next sighting starts fresh. */
  release(mac: string): boolean {
    this.sightings.delete(mac);
    return this.conflicts.delete(mac);
  }

  /** Is this MAC held after a conflict? */
  inConflict(mac: string): boolean {
    const until = this.conflicts.get(mac);
    if (until === undefined) return false;
    if (until <= this.now()) {
      this.conflicts.delete(mac);
      return false;
    }
    return true;
  }

  /**
   * A DHCP frame from `at`. `trusted`: the port is a declared server port. Returns whether the controller
   * should forward it (client messages only; replies from trusted servers are forwarded by the switch itself).
   */
  onDhcp(at: PortRef, frame: Buffer, trusted: boolean): SnoopVerdict {
    const r = decodeDhcp(frame);
    if (!r.ok) {
      if (r.code === 'not-ipv4' || r.code === 'not-udp' || r.code === 'not-dhcp-port') {
        this.count('not-dhcp');
        return { forward: false, reason: 'not-dhcp' };
      }
      // a reply port's garbage is as rogue as a well-formed rogue reply
      return this.drop('malformed', at, { code: r.code, message: r.message }, !trusted);
    }
    const m = r.value;
    if (m.op === 2)
      return trusted ? this.onServer(at, m) : this.drop('rogue-server', at, { mac: m.ethSrc, ip: m.ipSrc, messageType: m.type }, true);
    if (trusted) return this.drop('client-message-from-server', at, { mac: m.ethSrc });
    return this.onClient(at, m);
  }

  private onClient(at: PortRef, m: Extract<DhcpFrame, { op: 1 }>): SnoopVerdict {
    if (m.udpSrc !== 68 || m.udpDst !== 67) return this.drop('malformed', at, { reason: 'client message not from port 68 to 67' });
    // a client speaks for its own MAC only (starvation tools invent chaddrs behind one source MAC)
    if (m.chaddr !== m.ethSrc) return this.drop('spoofed-chaddr', at, { mac: m.ethSrc, chaddr: m.chaddr }, true);
    if (!this.allow(at)) return this.drop('rate-limited', at, { mac: m.ethSrc }, true);
    if (this.seen(m.chaddr, at) || this.inConflict(m.chaddr)) return this.drop('mac-conflict', at, { mac: m.chaddr });
    const held = this.leases.byMac(m.chaddr);
    if (m.type === 'release') {
      // only from where the lease is held, for the address it holds
      if (held && (held.switch !== at.switch || held.port !== at.port)) return this.drop('release-elsewhere', at, { mac: m.chaddr }, true);
      if (held && held.ip === m.ciaddr) this.leases.remove(m.chaddr, 'release', m.ciaddr);
    } else if (m.type === 'decline') {
      if (held && held.switch === at.switch && held.port === at.port) this.leases.remove(m.chaddr, 'decline');
    }
    this.remember(m.chaddr, at);
    this.count(`client-${m.type}`);
    return { forward: true, reason: 'client' };
  }

  private onServer(at: PortRef, m: Extract<DhcpFrame, { op: 2 }>): SnoopVerdict {
    this.count(`server-${m.type}`);
    if (m.type === 'nak') {
      const c = this.clients.get(m.chaddr);
      if (this.leases.byMac(m.chaddr)) this.leases.remove(m.chaddr, 'nak');
      if (c) this.emit('nak', { mac: m.chaddr, ...c });
      return { forward: false, reason: 'nak' };
    }
    if (m.type !== 'ack' || m.yiaddr === '0.0.0.0') return { forward: false, reason: 'copy' }; // OFFER, ACK to INFORM
    const c = this.clients.get(m.chaddr);
    if (!c || this.now() - c.at > this.memory) return this.drop('ack-unknown-client', at, { mac: m.chaddr, ip: m.yiaddr }, true);
    if (this.inConflict(m.chaddr)) return this.drop('mac-conflict', at, { mac: m.chaddr });
    const r = this.leases.add({
      mac: m.chaddr,
      ip: m.yiaddr,
      switch: c.switch,
      port: c.port,
      seconds: m.leaseSeconds ?? 3600,
      source: 'dhcp',
    });
    if (!r.ok)
      return this.drop(
        'lease-refused',
        { switch: c.switch, port: c.port },
        { mac: m.chaddr, ip: m.yiaddr, code: r.code, message: r.message },
        true,
      );
    this.emit('lease', r.lease);
    return { forward: false, reason: 'lease' };
  }

  /**
   * A frame no table-0 flow admitted (the discovery path) from an access port: ARP claiming an address leased to
   * another MAC is counted and alerted; a MAC whose lease is on another port, seen here, is a conflict.
   */
  onUnadmitted(at: PortRef, frame: Buffer, srcMac: string): SnoopVerdict {
    if (this.seen(srcMac, at)) return this.drop('mac-conflict', at, { mac: srcMac, action: this.conflict });
    if (frame.length >= 14 && frame.readUInt16BE(12) === 0x0806) {
      const a = decodeArp(frame);
      if (!a.ok) return this.drop('arp-malformed', at, { code: a.code });
      const owner = a.value.spa !== '0.0.0.0' ? this.leases.byIp(a.value.spa) : undefined;
      if ((owner && owner.mac !== a.value.sha) || a.value.sha !== a.value.ethSrc) {
        return this.drop('arp-spoof', at, { mac: a.value.ethSrc, claims: a.value.spa, holder: owner?.mac }, true);
      }
      return { forward: false, reason: 'arp-ok' };
    }
    return { forward: false, reason: 'not-dhcp' };
  }
}
