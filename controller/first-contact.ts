/**
 * The controller's side of first contact: the DHCP lease table (attached to the edge hook, so every lease change
 * recompiles), the DHCP snooper fed from PACKET_INs, and the web sign-in listener. The controller calls
 * `onPacketIn` first for every PACKET_IN, `start()` and `stop()`; everything else happens here.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { MessageOf } from '../openflow/index.js';
import type { AddressLease, Topology } from '../compiler/model.js';
import type { Policy } from '../compiler/inputs.js';
import { trustedDhcpPorts } from '../compiler/first-contact.js';
import { LeaseTable, type LeaseChange } from '../edge/leases.js';
import { DhcpSnooper } from '../edge/snooping.js';
import { SigninServer, type CredentialChecker } from '../edge/signin.js';
import { LdapBindChecker } from '../edge/signin-ldap.js';
import { RadiusPapChecker } from '../edge/signin-radius.js';
import { readLdapConfig } from '../directory/ldap-config.js';
import type { SwitchSession } from './session.js';
import type { LoadedPolicy } from '../loader/index.js';
import type { Compiled } from '../compiler/compile.js';
import type { EventSink } from './controller-types.js';
import type { EdgeHook } from './edge-hook.js';
import { Ipv6Learning, JoinedLeases, type ControllerForIpv6 } from './ipv6-learning.js';
import { etherType, forwardChecked, isLinkPort, relayAlerts } from './snoop-plumbing.js';

/** What first contact needs from the controller (controller.ts implements it); IPv6 learning gets the same. */
export interface ControllerForFirstContact extends EventSink, ControllerForIpv6 {
  readonly compiled: Compiled;
  readonly loaded: LoadedPolicy;
  readonly edge: Pick<EdgeHook, 'attachLeases' | 'settled' | 'radius' | 'sessions' | 'vouchers'>;
  saveState(): Promise<void>;
}

export class FirstContact {
  readonly leases: LeaseTable;
  readonly snooper: DhcpSnooper;
  /** IPv6 address learning (ND/DAD, DHCPv6 snooping); its leases join the DHCP ones. */
  readonly ipv6: Ipv6Learning;
  readonly allLeases: JoinedLeases;
  signin?: SigninServer;
  /** Override the credential check (tests, RADIUS PAP); default: LDAP bind. */
  checker?: CredentialChecker;
  private trustedFor?: { policy: Policy; topology: Topology; trusted: Map<string, Set<number>> };
  /** DHCPACK seen → lease recorded → flows confirmed on every switch (ms), for the benchmark and metrics. */
  readonly bindLatencies: number[] = [];

  constructor(private readonly ctl: ControllerForFirstContact) {
    this.leases = new LeaseTable();
    this.snooper = new DhcpSnooper(this.leases);
    relayAlerts(this.snooper, (type, data) => ctl.relay(type, data));
    this.ipv6 = new Ipv6Learning(ctl);
    this.allLeases = new JoinedLeases(this.leases, this.ipv6.leases);
    this.allLeases.on('change', (c: LeaseChange) => {
      const l = c.lease;
      ctl.event(c.kind === 'removed' ? 'lease-ended' : c.kind === 'renewed' ? 'lease-renewed' : 'lease-bound', {
        mac: l.mac,
        ip: l.ip,
        switch: l.switch,
        port: l.port,
        expires: l.expires,
        reason: c.reason,
        source: l.source,
        ...(c.previous ? { from: { ip: c.previous.ip, switch: c.previous.switch, port: c.previous.port } } : {}),
      });
    });
    ctl.edge.attachLeases(this.allLeases);
  }

  private get policy(): Policy | undefined {
    return this.ctl.compiled?.input.policy;
  }

  /** The trusted DHCP server ports of the compiled plan; applies the policy's snooper settings when the plan changes. */
  private trusted(): Map<string, Set<number>> {
    const policy = this.ctl.compiled.input.policy,
      topology = this.ctl.compiled.input.topology;
    if (this.trustedFor && this.trustedFor.policy === policy && this.trustedFor.topology === topology) return this.trustedFor.trusted;
    const trusted = new Map<string, Set<number>>();
    for (const [sw, l] of trustedDhcpPorts(policy.firstContact, topology)) trusted.set(sw, new Set(l));
    this.trustedFor = { policy, topology, trusted };
    const rate = policy.firstContact?.dhcp?.clientRate;
    if (rate !== undefined) this.snooper.rate = rate;
    // the policy's roaming.conflict (deny-both | newest) decides what a MAC on two ports at once gets
    this.snooper.conflict = policy.firstContact?.roaming.conflict ?? 'deny-both';
    return trusted;
  }

  /**
   * Returns true when the packet was first contact's business (DHCP, or any frame of a MAC that holds a lease):
   * the controller's discovery learning must not look at it.
   */
  onPacketIn(s: SwitchSession, switchName: string, inPort: number, m: MessageOf<'packet_in'>): boolean {
    if (this.policy?.firstContact?.ipv6 && this.ipv6.onPacketIn(s, switchName, inPort, m, (sw, p) => this.dhcpv6Trusted(sw, p)))
      return true;
    if (!this.policy?.firstContact?.dhcp) return false;
    const d = m.data;
    const eth = etherType(d);
    if (!eth || eth.type === 0x888e) return false; // EAPOL: 802.1X's
    const trusted = this.trusted();
    if (isLinkPort(this.ctl.compiled.input.topology, switchName, inPort)) return false;
    const at = { switch: switchName, port: inPort };
    if (isDhcp(d, eth.type, eth.payload)) {
      const t0 = performance.now();
      const v = this.snooper.onDhcp(at, d, trusted.get(switchName)?.has(inPort) ?? false);
      // the checked client message goes on as the switch would have sent it (L2 from its own port)
      if (v.forward) forwardChecked(s, inPort, d);
      else if (v.reason === 'lease') {
        void this.ctl.edge.settled().then(() => {
          this.bindLatencies.push(performance.now() - t0);
          if (this.bindLatencies.length > 10_000) this.bindLatencies.splice(0, 5_000);
        });
      }
      return true;
    }
    const src = macOf(d);
    const leased = !!this.leases.byMac(src) || this.snooper.inConflict(src);
    if (leased || d.readUInt16BE(12) === 0x0806) {
      const v = this.snooper.onUnadmitted(at, d, src);
      return leased || v.reason === 'arp-spoof' || v.reason === 'mac-conflict' || v.reason === 'arp-malformed';
    }
    return false;
  }

  /** Starts the sign-in page when the policy has one. */
  async start(): Promise<{ host: string; port: number } | undefined> {
    const sp = this.policy?.firstContact?.signin;
    if (!sp) return undefined;
    const base = dirname(this.ctl.loaded.paths.policy);
    let checker = this.checker;
    if (!checker && sp.check === 'radius') {
      if (!this.ctl.edge.radius())
        throw new Error('signin.check radius: the policy has no authentication.radius servers (or their secrets cannot be read)');
      checker = new RadiusPapChecker(() => this.ctl.edge.radius());
    }
    if (!checker) {
      const raw = sp.ldap ?? (this.ctl.loaded.policy.directory.kind === 'ldap' ? this.ctl.loaded.policy.directory.raw : undefined);
      const r = readLdapConfig(raw, () => undefined);
      if (!r.config) throw new Error(`signin.ldap: ${r.diagnostics.map((x) => x.message).join('; ')}`);
      checker = new LdapBindChecker(r.config, base);
    }
    const tls =
      sp.certificate && sp.key
        ? { cert: readFileSync(resolve(base, sp.certificate)), key: readFileSync(resolve(base, sp.key)) }
        : undefined;
    this.signin = new SigninServer(
      {
        host: sp.host,
        port: sp.port,
        tls,
        sessionMs: sp.sessionMs,
        maxFailures: sp.maxFailures,
        lockoutMs: sp.lockoutMs,
        requestsPerMinute: sp.requestsPerMinute,
        title: sp.title,
      },
      {
        leases: this.leases,
        sessions: this.ctl.edge.sessions,
        settled: () => this.ctl.edge.settled(),
        checker,
        event: (type, data) => this.ctl.relay(type, data),
        ...(sp.vouchers ? { vouchers: this.ctl.edge.vouchers, vouchersChanged: () => void this.ctl.saveState() } : {}),
      },
    );
    return this.signin.listen();
  }

  private dhcpv6Trusted(sw: string, port: number): boolean {
    return !!this.ctl.compiled.input.topology.dhcpv6?.some((r) => r.switch === sw && r.port === port);
  }

  async stop(): Promise<void> {
    this.leases.stop();
    this.ipv6.leases.stop();
    await this.signin?.close();
  }

  /** Leases as the API shows them. */
  view(): AddressLease[] {
    return this.allLeases.list();
  }
}

/** IPv4 UDP with port 67 or 68 on either side (`type`/`ip`: the EtherType and where the IP header starts): the snooper decides the rest. */
function isDhcp(d: Buffer, type: number, ip: number): boolean {
  if (type !== 0x0800) return false;
  if (d.length < ip + 20 || d[ip + 9] !== 17) return false;
  const udp = ip + (d[ip] & 15) * 4;
  if (d.length < udp + 4) return false;
  const sp = d.readUInt16BE(udp),
    dp = d.readUInt16BE(udp + 2);
  return sp === 67 || sp === 68 || dp === 67 || dp === 68;
}

function macOf(d: Buffer): string {
  const h = (i: number) => d[i].toString(16).padStart(2, '0');
  return `${h(6)}:${h(7)}:${h(8)}:${h(9)}:${h(10)}:${h(11)}`;
}
