/**
 * Switch profiles: what a switch can do, and the flows the compiler may therefore put on it. Pure.
 *
 *  - `ovs`           Open vSwitch: NXM extensions and connection tracking. Replies are stateful: every IP packet
 *                    goes through conntrack (one zone per switch), allowed new connections are committed, and a
 *                    reply passes only as `+trk+est+rpl` of a committed connection; `+inv` is dropped.
 *  - `ovs-stateless` Open vSwitch without conntrack (the pipeline before profiles): stateless replies that must carry
 *                    TCP ACK (`tcp_flags`, NXM).
 *  - `openflow13`    Standard OpenFlow 1.3 OXM only (hardware switches): no NXM, no `ct`, no `tcp_flags`, no masked
 *                    transport ports (a port range is expanded to exact ports). Replies are stateless; see `limits`.
 *
 * The compiler builds one plan shape (the stateless OVS pipeline of compile.ts) and `applyProfile` turns each
 * switch's plan into its profile's: reply flows gain `ct_state` (ovs) or lose `tcp_flags` (openflow13), the
 * conntrack flows are added in tables 2 and 3, masked ports are expanded. Flows a profile does not change stay
 * the same objects (the incremental fast path relies on that).
 */
import type { Action, Instruction, OxmEntry } from '../openflow/types.js';
import { OFPP } from '../openflow/types.js';
import { CT } from '../openflow/constants.js';
import type { PlannedFlow, SwitchDef, SwitchPlan } from './model.js';
import { PRIORITY, TABLE, tableFlow } from './pipeline.js';
import { CompiledFlow } from './cookie.js';

export const PROFILE_NAMES = ['ovs', 'ovs-stateless', 'openflow13'] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

export interface Profile {
  readonly name: ProfileName;
  /** Open vSwitch connection tracking (NXAST_CT, ct_state). */
  readonly conntrack: boolean;
  /** Nicira extension match fields (tcp_flags, ct_*). */
  readonly nxm: boolean;
  /** Bit-masked tcp/udp ports (OpenFlow 1.3 lists them as not maskable; OVS accepts masks). */
  readonly maskablePorts: boolean;
  /** What this profile cannot enforce, for `acl status` and the console. */
  readonly limits: readonly string[];
}

const STATELESS_LIMITS = [
  'replies are stateless: a server may send UDP datagrams from an allowed service port to a client allowed to reach it, unasked',
  "a deny covering part of a pair's services turns stateless replies for that protocol off for the pair",
];

export const PROFILES: Readonly<Record<ProfileName, Profile>> = {
  ovs: { name: 'ovs', conntrack: true, nxm: true, maskablePorts: true, limits: [] },
  'ovs-stateless': {
    name: 'ovs-stateless',
    conntrack: false,
    nxm: true,
    maskablePorts: true,
    limits: [
      ...STATELESS_LIMITS,
      'TCP replies need ACK (tcp_flags): a server cannot open a connection from its service port, but can send ACK segments to an allowed client unasked',
    ],
  },
  openflow13: {
    name: 'openflow13',
    conntrack: false,
    nxm: false,
    maskablePorts: false,
    limits: [
      ...STATELESS_LIMITS,
      'no tcp_flags match (an Open vSwitch extension): a server can also open TCP connections from its service port to a client allowed to reach it',
      'port ranges are expanded to one flow per port (standard OpenFlow 1.3 cannot mask transport ports)',
    ],
  },
};

export function isProfileName(s: unknown): s is ProfileName {
  return typeof s === 'string' && (PROFILE_NAMES as readonly string[]).includes(s);
}

/** The profile a switch announces in its DESC reply: Open vSwitch (Nicira) → ovs, anything else → openflow13 (vendor profiles go here). */
export function profileFromDesc(desc: { readonly mfrDesc: string; readonly hwDesc: string }): ProfileName {
  if (/nicira/i.test(desc.mfrDesc) || /open ?vswitch/i.test(desc.hwDesc)) return 'ovs';
  return 'openflow13';
}

/** The profile compiled for a switch: the topology's, else what the controller detected, else ovs. */
export function profileOf(sw: SwitchDef): Profile {
  return PROFILES[sw.profile ?? 'ovs'];
}

/** The conntrack zone of a switch: `conntrack_zone` from the topology, else derived from the dpid (1..65535). */
export function ctZoneOf(sw: SwitchDef): number {
  return sw.ctZone ?? Number(sw.dpid % 65535n) + 1;
}

// ---------- the transformation ----------

const TRK = CT.trk;
/** A reply of a committed connection: +trk+est+rpl-inv. */
export const CT_REPLY: OxmEntry = { field: 'ct_state', value: TRK | CT.est | CT.rpl, mask: TRK | CT.est | CT.rpl | CT.inv };
const CT_UNTRACKED: OxmEntry = { field: 'ct_state', value: 0, mask: TRK };
const CT_INVALID: OxmEntry = { field: 'ct_state', value: TRK | CT.inv, mask: TRK | CT.inv };
const CT_NEW: OxmEntry = { field: 'ct_state', value: TRK | CT.new, mask: TRK | CT.new | CT.inv };
const CT_RELATED: OxmEntry = { field: 'ct_state', value: TRK | CT.rel, mask: TRK | CT.rel | CT.inv };
const IP: OxmEntry = { field: 'eth_type', value: 0x0800 };
const IPV6: OxmEntry = { field: 'eth_type', value: 0x86dd };

/** Conntrack priorities: above every policy flow in table 2, above NORMAL in table 3. */
export const CT_PRIORITY = {
  untracked: 400,
  invalid: 390,
  related: 250,
  fwdNd: 35,
  fwdUntracked: 30,
  fwdInvalid: 20,
  fwdCommit: 10,
} as const;

/** Made through the table's builder: checked against the table's fields and goto targets, cookie as compile.ts makes them. */
function plain(tableId: number, priority: number, match: OxmEntry[], instructions: Instruction[], origin: string): PlannedFlow {
  return tableFlow(tableId, priority, match, instructions, origin);
}

const ctAct = (a: Action): Instruction[] => [{ type: 'apply_actions', actions: [a] }];

/** The conntrack flows of one switch (zone): table 2 tracks, drops invalid and passes related; table 3 tracks what arrives untracked (transit, ARP-free IP) and commits new connections. */
export function conntrackFlows(zone: number, v6 = false): { policy: PlannedFlow[]; forward: PlannedFlow[] } {
  const flows = conntrackFlows4(zone);
  if (!v6) return flows;
  // IPv6: the same tracking; Neighbor Discovery and router messages (ICMPv6 133..137, already checked in table 0)
  // skip conntrack, which would call them invalid
  const nd = [133, 134, 135, 136, 137].map((t) =>
    plain(
      TABLE.forward,
      CT_PRIORITY.fwdNd,
      [IPV6, { field: 'ip_proto', value: 58 }, { field: 'icmpv6_type', value: t }],
      [{ type: 'apply_actions', actions: [{ type: 'output', port: OFPP.NORMAL }] }],
      'conntrack:nd-untracked',
    ),
  );
  return {
    policy: [
      ...flows.policy,
      plain(TABLE.policy, CT_PRIORITY.untracked, [IPV6, CT_UNTRACKED], ctAct({ type: 'ct', zone, table: TABLE.policy }), 'conntrack:track'),
      plain(TABLE.policy, CT_PRIORITY.related, [IPV6, CT_RELATED], [{ type: 'goto_table', tableId: TABLE.forward }], 'conntrack:related'),
    ],
    forward: [
      ...nd,
      ...flows.forward,
      plain(
        TABLE.forward,
        CT_PRIORITY.fwdUntracked,
        [IPV6, CT_UNTRACKED],
        ctAct({ type: 'ct', zone, table: TABLE.forward }),
        'conntrack:track-transit',
      ),
      plain(
        TABLE.forward,
        CT_PRIORITY.fwdCommit,
        [IPV6, CT_NEW],
        [
          {
            type: 'apply_actions',
            actions: [
              { type: 'ct', commit: true, zone },
              { type: 'output', port: OFPP.NORMAL },
            ],
          },
        ],
        'conntrack:commit',
      ),
    ],
  };
}

function conntrackFlows4(zone: number): { policy: PlannedFlow[]; forward: PlannedFlow[] } {
  return {
    policy: [
      plain(TABLE.policy, CT_PRIORITY.untracked, [IP, CT_UNTRACKED], ctAct({ type: 'ct', zone, table: TABLE.policy }), 'conntrack:track'),
      plain(TABLE.policy, CT_PRIORITY.invalid, [CT_INVALID], [], 'conntrack:invalid-drop'),
      plain(TABLE.policy, CT_PRIORITY.related, [IP, CT_RELATED], [{ type: 'goto_table', tableId: TABLE.forward }], 'conntrack:related'),
    ],
    forward: [
      plain(
        TABLE.forward,
        CT_PRIORITY.fwdUntracked,
        [IP, CT_UNTRACKED],
        ctAct({ type: 'ct', zone, table: TABLE.forward }),
        'conntrack:track-transit',
      ),
      plain(TABLE.forward, CT_PRIORITY.fwdInvalid, [CT_INVALID], [], 'conntrack:invalid-drop'),
      plain(
        TABLE.forward,
        CT_PRIORITY.fwdCommit,
        [IP, CT_NEW],
        [
          {
            type: 'apply_actions',
            actions: [
              { type: 'ct', commit: true, zone },
              { type: 'output', port: OFPP.NORMAL },
            ],
          },
        ],
        'conntrack:commit',
      ),
    ],
  };
}

const isReply = (f: PlannedFlow) => f.tableId === TABLE.policy && f.origin.startsWith('reply:');
const PORT_FIELDS = new Set(['tcp_src', 'tcp_dst', 'udp_src', 'udp_dst']);

/** Transformed flows are shared by every switch that carries the same flow (policy flows are shared objects). */
const statefulReply = new WeakMap<PlannedFlow, PlannedFlow>();
const plainReply = new WeakMap<PlannedFlow, PlannedFlow>();
const expanded = new WeakMap<PlannedFlow, PlannedFlow[]>();

function withMatch(f: PlannedFlow, match: OxmEntry[]): PlannedFlow {
  return plain(f.tableId, f.priority, match, f.instructions as Instruction[], f.origin);
}

/** A masked port match as the exact ports it covers. */
function expandPorts(f: PlannedFlow): PlannedFlow[] {
  let out = expanded.get(f);
  if (out) return out;
  const i = f.match.findIndex((e) => PORT_FIELDS.has(e.field) && e.mask !== undefined);
  if (i < 0) out = [f];
  else {
    const e = f.match[i];
    const mask = e.mask as number,
      base = (e.value as number) & mask;
    out = [];
    for (let v = base; v <= (base | (~mask & 0xffff)); v++) {
      const m = f.match.slice();
      m[i] = { field: e.field, value: v };
      out.push(withMatch(f, m));
    }
  }
  expanded.set(f, out);
  return out;
}

/** One switch's plan in its profile. The stateless OVS plan of compile.ts is returned as it is for `ovs-stateless`. */
export function applyProfile(plan: SwitchPlan, sw: SwitchDef, opts: { readonly v6?: boolean } = {}): SwitchPlan {
  const profile = profileOf(sw);
  if (profile.name === 'ovs-stateless') return plan;
  const flows: PlannedFlow[] = [];
  if (profile.conntrack) {
    const ct = conntrackFlows(ctZoneOf(sw), opts.v6);
    // The compiled plan has one flow per cookie (tables.ts dedupes its segments); only the stateful replies can
    // collide (two reply flows that differed by tcp_flags alone), so only they are deduped. They are appended after
    // the other flows: the tail is then one long sorted run plus the replies, which the (adaptive) sort merges
    // cheaply; the result is the same as sorting them where they were (no two flows compare equal).
    const replies: PlannedFlow[] = [];
    const replyKeys = new Set<number | bigint>();
    let policyDone = false;
    for (const f of plan.flows) {
      if (f.tableId >= TABLE.policy && !policyDone) {
        flows.push(...ct.policy);
        policyDone = true;
      }
      if (f.tableId === TABLE.forward && f.priority === 0) flows.push(...ct.forward);
      if (!isReply(f)) {
        flows.push(f);
        continue;
      }
      let r = statefulReply.get(f);
      if (!r) statefulReply.set(f, (r = withMatch(f, [...f.match.filter((e) => e.field !== 'tcp_flags'), CT_REPLY])));
      const k = CompiledFlow.key(r);
      if (replyKeys.has(k)) continue;
      replyKeys.add(k);
      replies.push(r);
    }
    for (const r of replies) flows.push(r);
    sortPolicyAndForward(flows);
  } else {
    for (const f of plan.flows) {
      let g = f;
      if (isReply(f) && f.match.some((e) => e.field === 'tcp_flags')) {
        let r = plainReply.get(f);
        if (!r)
          plainReply.set(
            f,
            (r = withMatch(
              f,
              f.match.filter((e) => e.field !== 'tcp_flags'),
            )),
          );
        g = r;
      }
      if (!profile.maskablePorts && g.match.some((e) => PORT_FIELDS.has(e.field) && e.mask !== undefined)) flows.push(...expandPorts(g));
      else flows.push(g);
    }
    dedupe(flows);
    sortPolicyAndForward(flows);
  }
  return { ...plan, profile: profile.name, flows };
}

/** Tables 2 and 3 (the tail of a plan) by priority, high first, then cookie: as compile.ts orders them. */
function sortPolicyAndForward(flows: PlannedFlow[]): void {
  const at = flows.findIndex((f) => f.tableId >= TABLE.policy);
  if (at < 0) return;
  // CompiledFlow.byCookie orders compiled flows by a plain number (no BigInt comparisons): the same order as by cookie
  const tail = flows.slice(at).sort((x, y) => x.tableId - y.tableId || y.priority - x.priority || CompiledFlow.byCookie(x, y));
  for (let i = 0; i < tail.length; i++) flows[at + i] = tail[i];
}

/**
 * Drops later flows with the cookie of an earlier one (dropping tcp_flags can make two reply flows equal). This runs
 * over every flow of every switch, so compiled flows (all share the cookie tag) are compared by their cookie's
 * 48-bit hash in an open-addressing table of plain numbers: about ten times cheaper than a Set of BigInt cookies.
 */
function dedupe(flows: PlannedFlow[]): void {
  for (const f of flows) if (!(f instanceof CompiledFlow)) return dedupeByCookie(flows);
  let cap = 16;
  while (cap < flows.length * 2) cap *= 2;
  const mask = cap - 1;
  const slots = new Float64Array(cap); // key + 1 (keys are < 2^48, exact); 0: empty
  let n = 0;
  for (const f of flows) {
    const k = (CompiledFlow.key(f) as number) + 1;
    let j = k & mask; // the low bits of the hash's first FNV-1a half
    let dup = false;
    for (let v = slots[j]; v !== 0; j = (j + 1) & mask, v = slots[j])
      if (v === k) {
        dup = true;
        break;
      }
    if (dup) continue;
    slots[j] = k;
    flows[n++] = f;
  }
  flows.length = n;
}

function dedupeByCookie(flows: PlannedFlow[]): void {
  const seen = new Set<bigint>();
  let n = 0;
  for (const f of flows)
    if (!seen.has(f.cookie)) {
      seen.add(f.cookie);
      flows[n++] = f;
    }
  flows.length = n;
}

/** Fields each profile may put in a flow mod (the `openflow13` check: no NXM field in any flow). */
export function fieldAllowed(profile: Profile, field: OxmEntry['field']): boolean {
  if (field === 'tcp_flags') return profile.nxm;
  if (field === 'ct_state' || field === 'ct_zone' || field === 'ct_mark') return profile.conntrack;
  return true;
}

export { PRIORITY };
