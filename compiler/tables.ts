/**
 * Stage 4, per-switch tables: the flows of each switch, assembled from segments that are built once and shared
 * between switches (policy flows per class pair, destination flows, link classification per port). Every flow is
 * made through its table's builder (pipeline.ts), which checks it against the table's declaration.
 */
import type { Instruction, OxmEntry } from '../openflow/types.js';
import { OFPP } from '../openflow/types.js';
import { OFPCML_NO_BUFFER } from '../openflow/constants.js';
import { applyProfile, profileOf } from './profile.js';
import type { PlannedFlow, SwitchDef, SwitchPlan, Topology } from './model.js';
import { parseIpv4, parseIpv6, type Prefix, type Prefix6, type Service } from './addr.js';
import { ARP, GOTO, IP, IPV6, prefixMatch, prefixMatch6, serviceMatches, TO_FORWARD } from './matches.js';
import { deviceFlows6, switchFlows6 } from './tables6.js';

import { METADATA, PRIORITY, TABLE, TABLES, tableFlow } from './pipeline.js';
import { firstContactFlows, trustedDhcpPorts, type FirstContactPolicy } from './first-contact.js';
import { EAPOL_METER_ID, eapolEntries, type AuthPolicy } from './auth.js';
import { CompiledFlow } from './cookie.js';
import { compareText } from './order.js';
import { DENY_SAMPLE } from './deny-sample.js';
import { MONITOR_MARK, monitoredServices, monitoring, withMonitorTables } from './monitor.js';
import type { Endpoint, Subject } from './stage-values.js';
import type { Destinations, PairAccess } from './destinations.js';

export { ND, serviceMatches } from './matches.js';

/** The rules behind a flow, for people: all names when few, else the first ones and a count. */
function originOf(names: ReadonlySet<string>): string {
  const l = [...names].sort();
  return l.length <= 4 ? l.join('+') : `${l.slice(0, 3).join('+')}+${l.length - 3}-more`;
}

const allowsAny = (a: PairAccess | undefined): a is PairAccess => !!a && a.allow.length > 0 && !a.deny.some((d) => d.proto === 'any');

export interface EndpointAt {
  readonly s: Subject;
  readonly e: Endpoint;
}
export interface SubjectIp {
  readonly ip: string;
  readonly cls: number;
}
/** A switch's flows in the segments they are assembled from (the incremental path replaces flows by position). */
export interface Segments {
  readonly eapol: readonly PlannedFlow[];
  readonly local: readonly PlannedFlow[];
  readonly linkMisc: readonly PlannedFlow[];
  readonly links: readonly number[];
  readonly policy: readonly PlannedFlow[];
  readonly owner: boolean;
}

/** Flows and lookups shared by every switch of one compile (immutable once built; the caches memoize pure functions). */
class Shared {
  readonly linkPorts = new Map<string, number[]>();
  readonly trustedDhcp: ReadonlyMap<string, readonly number[]>;
  readonly destPlain: PlannedFlow[] = [];
  readonly destWithOwner: PlannedFlow[] = [];
  readonly discovery = TABLES.classify.flow(
    PRIORITY.discovery,
    [],
    [
      { type: 'meter', meterId: 1 },
      { type: 'apply_actions', actions: [{ type: 'output', port: OFPP.CONTROLLER, maxLen: 128 }] },
    ],
    'discovery',
  );
  readonly destOther = TABLES.dest.flow(0, [], [GOTO(TABLE.policy)], 'dest:other');
  readonly defaultDeny = TABLES.policy.flow(PRIORITY.defaultDeny, [], DENY_SAMPLE as Instruction[], 'default-deny');
  readonly forwardNormal = TABLES.forward.flow(
    0,
    [],
    [{ type: 'apply_actions', actions: [{ type: 'output', port: OFPP.NORMAL }] }],
    'forward:normal',
  );
  private readonly pairCache = new Map<number, PlannedFlow[]>();
  private readonly classifyInsCache = new Map<number, Instruction[]>();
  /** Whether destination flows tag owners (hypervisors, or a bound endpoint's address in a resource). */
  readonly ownerFlowsNeeded: boolean;
  /** IPv6 is in play (an IPv6 address, prefix, router or DHCPv6 server): without it the plan has no IPv6 flow. */
  readonly v6: boolean;

  constructor(
    readonly topology: Topology,
    readonly edge: EdgePolicy,
    readonly dests: Destinations,
    subjects: readonly Subject[],
    /** A policy version is monitored (CompileInput.sampleAllowed): every allowed connection is marked for the monitor path. */
    readonly sampleAllowed = false,
  ) {
    this.v6 =
      dests.dest6.length > 0 ||
      !!topology.routers?.length ||
      !!topology.dhcpv6?.length ||
      subjects.some((s) => s.endpoints.some((e) => e.ll6?.length));
    this.trustedDhcp = trustedDhcpPorts(edge.firstContact, topology);
    for (const l of topology.links)
      for (const p of [l.a, l.b]) this.linkPorts.set(p.switch, [...(this.linkPorts.get(p.switch) ?? []), p.port]);
    // Owner-tagging destination flows are needed only on hypervisors and on switches where a bound endpoint's own
    // address lies in a resource (see buildSwitch: `owner`). Endpoints never move in the fast path, so this holds for patches too.
    const ownerFlowsNeeded = (this.ownerFlowsNeeded =
      topology.switches.some((sw) => sw.kind === 'hypervisor') ||
      subjects.some((s) =>
        s.endpoints.some(
          (e) => e.switch !== undefined && e.port !== undefined && e.ip !== undefined && dests.dstOfAddr(parseIpv4(e.ip)!) !== undefined,
        ),
      ) ||
      subjects.some((s) =>
        s.endpoints.some(
          (e) => e.switch !== undefined && e.port !== undefined && e.ipv6?.some((a) => dests.dstOfAddr6(parseIpv6(a)!) !== undefined),
        ),
      ));
    for (const d of dests.dest)
      for (const needOwner of ownerFlowsNeeded ? [true, false] : [false]) {
        const owner = needOwner ? d.ownerClass : 0;
        if (!d.dstClass && !owner) continue;
        (needOwner ? this.destWithOwner : this.destPlain).push(
          this.destFlow(d.prefix, d.dstClass, owner, d.resources.length ? `dest:${d.resources.join('+')}` : 'dest:owner'),
        );
      }
    for (const d of dests.dest6)
      for (const needOwner of ownerFlowsNeeded ? [true, false] : [false]) {
        const owner = needOwner ? d.ownerClass : 0;
        if (!d.dstClass && !owner) continue;
        (needOwner ? this.destWithOwner : this.destPlain).push(
          this.destFlow6(d.prefix6, d.dstClass, owner, d.resources.length ? `dest:${d.resources.join('+')}` : 'dest:owner'),
        );
      }
    CompiledFlow.sortByPrioCookie(this.destWithOwner);
    CompiledFlow.sortByPrioCookie(this.destPlain);
  }

  destFlow(p: Prefix, dstClass: number, owner: number, origin: string): PlannedFlow {
    return TABLES.dest.flow(
      PRIORITY.destBase + p.len,
      [IP, prefixMatch('ipv4_dst', p)],
      [
        {
          type: 'write_metadata',
          metadata: (BigInt(dstClass) << METADATA.dstShift) | (BigInt(owner) << METADATA.ownerShift),
          mask: METADATA.dstMask | METADATA.ownerMask,
        },
        GOTO(TABLE.policy),
      ],
      origin,
    );
  }

  destFlow6(p: Prefix6, dstClass: number, owner: number, origin: string): PlannedFlow {
    return TABLES.dest.flow(
      PRIORITY.destBase + p.len,
      [IPV6, prefixMatch6('ipv6_dst', p)],
      [
        {
          type: 'write_metadata',
          metadata: (BigInt(dstClass) << METADATA.dstShift) | (BigInt(owner) << METADATA.ownerShift),
          mask: METADATA.dstMask | METADATA.ownerMask,
        },
        GOTO(TABLE.policy),
      ],
      origin,
    );
  }

  /** 802.1X: EAPOL from authenticating ports to the controller (whole frames), under its own meter. */
  eapolFlows(sw: string): PlannedFlow[] {
    const toCtl: Instruction[] = [
      { type: 'meter', meterId: EAPOL_METER_ID },
      { type: 'apply_actions', actions: [{ type: 'output', port: OFPP.CONTROLLER, maxLen: OFPCML_NO_BUFFER }] },
    ];
    const l = eapolEntries(this.edge.authentication, sw).map((e) =>
      e.port === undefined
        ? TABLES.classify.flow(PRIORITY.eapolAll, [{ field: 'eth_type', value: 0x888e }], toCtl, 'eapol')
        : TABLES.classify.flow(
            PRIORITY.eapolPort,
            [
              { field: 'in_port', value: e.port },
              { field: 'eth_type', value: 0x888e },
            ],
            e.toController ? toCtl : [],
            e.toController ? 'eapol' : 'eapol:none',
          ),
    );
    CompiledFlow.sortByPrioCookie(l);
    return l;
  }

  /** Instruction lists are immutable values: one per class, shared by all its classification flows. */
  classifyIns(cls: number): Instruction[] {
    let l = this.classifyInsCache.get(cls);
    if (!l)
      this.classifyInsCache.set(cls, (l = [{ type: 'write_metadata', metadata: BigInt(cls), mask: METADATA.srcMask }, GOTO(TABLE.dest)]));
    return l;
  }

  linkClassifyFlow(port: number, ip: string, cls: number): PlannedFlow {
    if (ip.includes(':'))
      return TABLES.classify.flow(
        PRIORITY.linkClassify,
        [{ field: 'in_port', value: port }, IPV6, { field: 'ipv6_src', value: ip }],
        this.classifyIns(cls),
        'classify:link',
      );
    return TABLES.classify.flow(
      PRIORITY.linkClassify,
      [{ field: 'in_port', value: port }, IP, { field: 'ipv4_src', value: ip }],
      this.classifyIns(cls),
      'classify:link',
    );
  }

  deviceFlows6(inPort: OxmEntry, src: OxmEntry, e: Endpoint, cls: number, origin: string): PlannedFlow[] {
    return deviceFlows6(inPort, src, e, this.classifyIns(cls), origin);
  }

  switchFlows6(sw: SwitchDef, links: readonly number[]): PlannedFlow[] {
    return this.v6 ? switchFlows6(this.topology, sw, links, this.edge.firstContact) : [];
  }

  /** Policy flows of one (source class, destination class) pair. */
  pairFlows(cls: number, dc: number): PlannedFlow[] {
    const key = cls * 0x10000 + dc; // both < 2^16
    const hit = this.pairCache.get(key);
    if (hit) return hit;
    const a = this.dests.access.get(cls)?.get(dc);
    const out: PlannedFlow[] = [];
    if (allowsAny(a)) {
      const meta: OxmEntry = {
        field: 'metadata',
        value: BigInt(cls) | (BigInt(dc) << METADATA.dstShift),
        mask: METADATA.srcMask | METADATA.dstMask,
      };
      const origin = originOf(a.rules);
      const seen = new Set<bigint>();
      const add = (f: PlannedFlow) => {
        if (!seen.has(f.cookie)) {
          seen.add(f.cookie);
          out.push(f);
        }
      };
      const kinds: Array<[readonly Service[], number, Instruction[]]> = [
        [monitoredServices(a), PRIORITY.monitor, MONITOR_MARK],
        [a.deny, PRIORITY.deny, DENY_SAMPLE as Instruction[]],
        [a.allow, PRIORITY.allow, this.sampleAllowed ? MONITOR_MARK : TO_FORWARD],
      ];
      for (const [v6, eth] of [
        [false, IP],
        [true, IPV6],
      ] as const) {
        if (!(v6 ? this.dests.dstPrefixes6 : this.dests.dstPrefixes).has(dc)) continue;
        for (const [svcs, prio, ins] of kinds)
          for (const s of svcs) for (const m of serviceMatches(s, false, v6)) add(TABLES.policy.flow(prio, [meta, eth, ...m], ins, origin));
      }
    }
    this.pairCache.set(key, out);
    return out;
  }

  /**
   * Reply flows towards a class from the addresses of a destination class it may reach. A deny covering part of
   * a protocol turns that protocol's replies off on a stateless switch (a reply matched by source port alone could
   * answer a denied connection); with conntrack (`stateful`) a reply passes only for a connection that was
   * committed, i.e. allowed, so the allowed services keep their replies.
   */
  replyFlows(cls: number, dc: number, stateful = false): PlannedFlow[] {
    const a = this.dests.access.get(cls)?.get(dc);
    if (!allowsAny(a)) return [];
    const meta: OxmEntry = { field: 'metadata', value: BigInt(cls) << METADATA.ownerShift, mask: METADATA.ownerMask };
    const out: PlannedFlow[] = [];
    const origin = `reply:${originOf(a.rules)}`;
    // a monitored policy version marks replies too: on a conntrack switch they are never copied (only new connections
    // are), elsewhere the controller skips what the enforced policy does not allow as a request; an allow flow and a
    // reply flow of one priority that can match one packet must act alike (verify's overlap check)
    const fwd = this.sampleAllowed ? MONITOR_MARK : [GOTO(TABLE.forward)];
    for (const p of this.dests.dstPrefixes.get(dc) ?? []) {
      const src = prefixMatch('ipv4_src', p);
      for (const s of a.allow) {
        if (!stateful && a.deny.some((d) => d.proto === s.proto || d.proto === 'any')) continue; // partial denies: no stateless reply
        for (const m of serviceMatches(s, true)) out.push(TABLES.policy.flow(PRIORITY.reply, [meta, IP, src, ...m], fwd, origin));
      }
    }
    for (const p of this.dests.dstPrefixes6.get(dc) ?? []) {
      const src = prefixMatch6('ipv6_src', p);
      for (const s of a.allow) {
        if (!stateful && a.deny.some((d) => d.proto === s.proto || d.proto === 'any')) continue;
        for (const m of serviceMatches(s, true, true)) out.push(TABLES.policy.flow(PRIORITY.reply, [meta, IPV6, src, ...m], fwd, origin));
      }
    }
    return out;
  }
}

/** The policy's edge blocks that add table-0 flows: 802.1X authentication and DHCP first contact. */
export interface EdgePolicy {
  readonly authentication?: AuthPolicy;
  readonly firstContact?: FirstContactPolicy;
}

/** What a patch may replace in a SwitchTables value (everything else is shared). */
export interface TablesChange {
  readonly endpointsBySwitch?: ReadonlyMap<string, readonly EndpointAt[]>;
  readonly subjectIps?: readonly SubjectIp[];
  readonly destWithOwner?: readonly PlannedFlow[];
  readonly linkCache?: ReadonlyMap<number, readonly PlannedFlow[]>;
  /** Segments of switches a patch re-assembled (edge-patch.ts); the others keep theirs. */
  readonly segments?: ReadonlyMap<string, Segments>;
}

/**
 * The per-switch table builder of one compile. Its two maps (link classification per port, segments per switch)
 * memoize what it has built; a patch never changes them but makes a new SwitchTables (`with`) that copies them.
 */
export class SwitchTables {
  private constructor(
    private readonly shared: Shared,
    readonly endpointsBySwitch: ReadonlyMap<string, readonly EndpointAt[]>,
    readonly subjectIps: readonly SubjectIp[],
    readonly destWithOwner: readonly PlannedFlow[],
    private readonly linkCache: Map<number, readonly PlannedFlow[]>,
    private readonly segments: Map<string, Segments>,
  ) {}

  static create(
    topology: Topology,
    edge: EdgePolicy,
    subjects: readonly Subject[],
    dests: Destinations,
    sampleAllowed = false,
  ): SwitchTables {
    const shared = new Shared(topology, edge, dests, subjects, sampleAllowed);
    const endpointsBySwitch = new Map<string, EndpointAt[]>();
    const subjectIps: SubjectIp[] = [];
    for (const s of subjects)
      for (const e of s.endpoints) {
        if (e.ip) subjectIps.push({ ip: e.ip, cls: s.classId });
        for (const a of e.ipv6 ?? []) subjectIps.push({ ip: a, cls: s.classId });
        if (e.switch === undefined || e.port === undefined) continue;
        (endpointsBySwitch.get(e.switch) ?? endpointsBySwitch.set(e.switch, []).get(e.switch)!).push({ s, e });
      }
    return new SwitchTables(shared, endpointsBySwitch, subjectIps, shared.destWithOwner, new Map(), new Map());
  }

  with(change: TablesChange): SwitchTables {
    return new SwitchTables(
      this.shared,
      change.endpointsBySwitch ?? this.endpointsBySwitch,
      change.subjectIps ?? this.subjectIps,
      change.destWithOwner ?? this.destWithOwner,
      new Map(change.linkCache ?? this.linkCache),
      new Map([...this.segments, ...(change.segments ?? [])]),
    );
  }

  get shares(): Shared {
    return this.shared;
  }
  /** Link classification flows built so far, by port. */
  get linkFlows(): ReadonlyMap<number, readonly PlannedFlow[]> {
    return this.linkCache;
  }
  segmentsOf(sw: string): Segments | undefined {
    return this.segments.get(sw);
  }

  linkClassify(port: number): readonly PlannedFlow[] {
    let l = this.linkCache.get(port);
    if (!l) {
      const flows = this.subjectIps.map(({ ip, cls }) => this.shared.linkClassifyFlow(port, ip, cls));
      CompiledFlow.sortByCookie(flows);
      this.linkCache.set(port, (l = flows));
    }
    return l;
  }

  private assemble(sw: SwitchDef, g: Segments): SwitchPlan {
    let linkFlows: readonly PlannedFlow[] = [];
    if (sw.kind === 'hypervisor') {
      if (g.links.length === 1) linkFlows = this.linkClassify(g.links[0]);
      else {
        const all = g.links.flatMap((lp) => this.linkClassify(lp));
        if (g.links.length > 1) CompiledFlow.sortByCookie(all);
        linkFlows = all;
      }
    }
    const sh = this.shared;
    const dests = g.owner ? this.destWithOwner : sh.destPlain;
    // the switch's profile (profile.ts) adds conntrack or drops what the switch cannot do; tables 0 and 1 keep their positions
    const planned = applyProfile(
      {
        name: sw.name,
        dpid: sw.dpid,
        kind: sw.kind,
        flows: [
          ...g.eapol,
          ...g.local,
          ...linkFlows,
          ...g.linkMisc,
          sh.discovery,
          ...dests,
          sh.destOther,
          ...g.policy,
          sh.defaultDeny,
          sh.forwardNormal,
        ],
      },
      sw,
      { v6: sh.v6 },
    );
    return sh.sampleAllowed || monitoring(sh.dests) ? withMonitorTables(planned, sh.sampleAllowed) : planned;
  }

  /** Table 0 for bound endpoints on this switch (priority 100), and the classes and destination classes they bring. */
  private localFlows(sw: SwitchDef) {
    const localClasses = new Set<number>();
    const localDsts = new Set<number>();
    const local: PlannedFlow[] = [];
    for (const { s, e } of this.endpointsBySwitch.get(sw.name) ?? []) {
      localClasses.add(s.classId);
      const inPort: OxmEntry = { field: 'in_port', value: e.port! };
      const src: OxmEntry = { field: 'eth_src', value: e.mac };
      if (e.ip) {
        local.push(
          TABLES.classify.flow(
            PRIORITY.classifyDevice,
            [inPort, src, IP, { field: 'ipv4_src', value: e.ip }],
            this.shared.classifyIns(s.classId),
            `classify:${s.kind}:${s.id}`,
          ),
        );
        local.push(
          TABLES.classify.flow(
            PRIORITY.classifyDevice,
            [inPort, src, ARP, { field: 'arp_spa', value: e.ip }, { field: 'arp_sha', value: e.mac }],
            TO_FORWARD,
            `arp:${s.kind}:${s.id}`,
          ),
        );
        const d = this.shared.dests.dstOfAddr(parseIpv4(e.ip)!);
        if (d) localDsts.add(d.dstClass);
      }
      if (e.ll6?.length) {
        local.push(...this.shared.deviceFlows6(inPort, src, e, s.classId, `${s.kind}:${s.id}`));
        for (const a of e.ipv6 ?? []) {
          const d = this.shared.dests.dstOfAddr6(parseIpv6(a)!);
          if (d) localDsts.add(d.dstClass);
        }
      }
    }
    CompiledFlow.sortByCookie(local);
    return { local, localClasses, localDsts };
  }

  /** Table 0 for inter-switch links (priorities 20, 15, 10) and first contact (DHCP snooping, first-contact.ts). */
  private linkMiscFlows(sw: SwitchDef, links: readonly number[]): PlannedFlow[] {
    const linkMisc: PlannedFlow[] = [];
    for (const lp of links) {
      const inPort: OxmEntry = { field: 'in_port', value: lp };
      if (sw.kind === 'hypervisor') {
        linkMisc.push(TABLES.classify.flow(PRIORITY.linkArp, [inPort, ARP], [GOTO(TABLE.forward)], 'arp:link'));
        linkMisc.push(TABLES.classify.flow(PRIORITY.linkPass, [inPort], [], 'link:unclassified-drop'));
      } else {
        linkMisc.push(TABLES.classify.flow(PRIORITY.linkPass, [inPort], [GOTO(TABLE.forward)], 'link:transit'));
      }
    }
    linkMisc.push(...firstContactFlows(this.shared.edge.firstContact, sw, this.shared.trustedDhcp, links, tableFlow));
    linkMisc.push(...this.shared.switchFlows6(sw, links));
    CompiledFlow.sortByPrioCookie(linkMisc);
    return linkMisc;
  }

  /** Table 2: pairs for local sources; on hypervisors also for local destinations; replies from local destinations. */
  private policyFlows(sw: SwitchDef, localClasses: ReadonlySet<number>, localDsts: ReadonlySet<number>): PlannedFlow[] {
    const { dests } = this.shared;
    const stateful = profileOf(sw).conntrack;
    const out: PlannedFlow[] = [];
    const seen = new Set<number | bigint>();
    const addOnce = (f: PlannedFlow) => {
      const k = CompiledFlow.key(f);
      if (!seen.has(k)) {
        seen.add(k);
        out.push(f);
      }
    };
    for (const cls of localClasses)
      for (const dc of dests.dcsOfClass.get(cls) ?? []) for (const f of this.shared.pairFlows(cls, dc)) addOnce(f);
    for (const dc of localDsts)
      for (const cls of dests.classesOfDc.get(dc) ?? []) {
        if (sw.kind === 'hypervisor') for (const f of this.shared.pairFlows(cls, dc)) addOnce(f);
        for (const f of this.shared.replyFlows(cls, dc, stateful)) addOnce(f);
      }
    CompiledFlow.sortByPrioCookie(out);
    return out;
  }

  buildSwitch(sw: SwitchDef): SwitchPlan {
    const { local, localClasses, localDsts } = this.localFlows(sw);
    const links = [...new Set(this.shared.linkPorts.get(sw.name) ?? [])].sort((x, y) => x - y);
    const linkMisc = this.linkMiscFlows(sw, links);
    const policy = this.policyFlows(sw, localClasses, localDsts);
    const g: Segments = {
      eapol: this.shared.eapolFlows(sw.name),
      local,
      linkMisc,
      links,
      policy,
      owner: sw.kind === 'hypervisor' || localDsts.size > 0,
    };
    this.segments.set(sw.name, g);
    return this.assemble(sw, g);
  }
}

/** Switches in plan order: by name, compared by code unit (the same in every locale). */
export function switchOrder(topology: Topology): readonly SwitchDef[] {
  return [...topology.switches].sort((x, y) => compareText(x.name, y.name));
}
