/**
 * What the network did, tied back to the policy (pure; the controller feeds it counters and samples):
 * the attribution of a flow (by cookie) to rules, classes and resources, for traffic counters.
 */
import type { Match } from '../openflow/types.js';
import type { PlannedFlow, SwitchPlan } from './model.js';
import type { Compiled } from './compiled.js';
import { METADATA, TABLE } from './pipeline.js';
import type { Service } from './addr.js';

// ---------- attribution of flows to rules, classes, resources ----------

export type FlowRole = 'allow' | 'deny' | 'reply' | 'default-deny' | 'classify' | 'monitor' | 'other';

export interface FlowAttribution {
  readonly role: FlowRole;
  /** Policy rules whose decision this flow carries (several rules may grant the same class the same service). */
  readonly rules: readonly string[];
  /** Resources of the flow's destination class. */
  readonly resources: readonly string[];
  /**
   * Monitored deny rules (mode: monitor) that would deny what this flow lets through (table 2's monitored flows,
   * role `allow`): their traffic counters show what they would have cut.
   */
  readonly monitored?: readonly string[];
  /** Source class (allow/deny/reply flows: for replies the class the answer goes to). */
  readonly classId?: number;
  /** The subject (user id or server name) of a classification flow: the traffic it sends. */
  readonly subject?: string;
}

const NONE: FlowAttribution = { role: 'other', rules: [], resources: [] };

function metadataOf(m: Match): { value: bigint; mask: bigint } | undefined {
  const e = m.find((x) => x.field === 'metadata');
  if (!e) return undefined;
  return { value: BigInt(e.value), mask: e.mask === undefined ? 0xffff_ffff_ffff_ffffn : BigInt(e.mask) };
}

/** The port range a tcp/udp match covers (value/mask block), or the whole protocol. */
function flowService(m: Match): { proto: number; from: number; to: number } | undefined {
  const p = m.find((x) => x.field === 'ip_proto');
  if (!p) return undefined;
  const proto = Number(p.value);
  const port = m.find((x) => x.field === 'tcp_dst' || x.field === 'udp_dst' || x.field === 'tcp_src' || x.field === 'udp_src');
  if (!port) return { proto, from: 0, to: 65535 };
  const v = Number(port.value),
    mask = port.mask === undefined ? 0xffff : Number(port.mask);
  return { proto, from: v & mask, to: (v & mask) | (~mask & 0xffff) };
}

function covers(svcs: readonly Service[], fs: { proto: number; from: number; to: number } | undefined): boolean {
  if (!fs) return true;
  return svcs.some(
    (s) =>
      s.proto === 'any' ||
      (s.proto === 'icmp' && fs.proto === 1) ||
      (((s.proto === 'tcp' && fs.proto === 6) || (s.proto === 'udp' && fs.proto === 17)) &&
        (s.from ?? 0) <= fs.to &&
        fs.from <= (s.to ?? 65535)),
  );
}

/** Per compile: class → rule indices, destination class → resources. */
interface Index {
  readonly rulesOfClass: Map<number, Set<number>>;
  readonly resourcesOfDst: Map<number, readonly string[]>;
  readonly resourcesOfPrefix: Map<string, readonly string[]>;
  readonly resourceByName: Map<string, Compiled['input']['policy']['resources'][number]>;
  readonly memo: Map<string, FlowAttribution>;
}
const dotted = (a: number) => `${(a >>> 24) & 255}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
const maskLen = (m: string) => m.split('.').reduce((n, o) => n + (Number(o) >>> 0).toString(2).replace(/0/g, '').length, 0);
const indexes = new WeakMap<Compiled, Index>();
function indexOf(c: Compiled): Index {
  let x = indexes.get(c);
  if (x) return x;
  const rulesOfClass = new Map<number, Set<number>>();
  for (const s of c.subjects) {
    let set = rulesOfClass.get(s.classId);
    if (!set) rulesOfClass.set(s.classId, (set = new Set()));
    for (const r of s.rules) set.add(r);
  }
  const resourcesOfDst = new Map<number, readonly string[]>();
  const resourcesOfPrefix = new Map<string, readonly string[]>();
  for (const d of c.dest)
    if (d.dstClass) {
      resourcesOfDst.set(d.dstClass, d.resources);
      resourcesOfPrefix.set(`${dotted(d.prefix.addr)}/${d.prefix.len}`, d.resources);
    }
  indexes.set(
    c,
    (x = {
      rulesOfClass,
      resourcesOfDst,
      resourcesOfPrefix,
      resourceByName: new Map(c.input.policy.resources.map((r) => [r.name, r])),
      memo: new Map(),
    }),
  );
  return x;
}

/** Which rules, class and resources a planned flow stands for. */
export function attributeFlow(c: Compiled, f: PlannedFlow): FlowAttribution {
  if (f.tableId === TABLE.classify) {
    const m = /^classify:(user|server):(.+)$/.exec(f.origin);
    return m ? { role: 'classify', rules: [], resources: [], subject: m[2] } : NONE;
  }
  if (f.tableId === TABLE.monitor) return { role: 'monitor', rules: [], resources: [] };
  if (f.tableId !== TABLE.policy) return NONE;
  const md = metadataOf(f.match);
  if (!md) return f.priority === 0 ? { role: 'default-deny', rules: ['default'], resources: [] } : NONE;
  const ix = indexOf(c);
  const isReply = (md.mask & METADATA.ownerMask) !== 0n;
  const cls = Number(isReply ? (md.value & METADATA.ownerMask) >> METADATA.ownerShift : md.value & METADATA.srcMask);
  const fs = flowService(f.match);
  const src = isReply ? f.match.find((x) => x.field === 'ipv4_src') : undefined;
  const srcKey = src ? `${String(src.value)}/${src.mask === undefined ? 32 : maskLen(String(src.mask))}` : '';
  const key = `${f.priority}|${cls}|${isReply ? srcKey : Number((md.value & METADATA.dstMask) >> METADATA.dstShift)}|${fs ? `${fs.proto}/${fs.from}-${fs.to}` : '*'}`;
  const hit = ix.memo.get(key);
  if (hit) return hit;
  const deny = !isReply && f.instructions.every((i) => i.type !== 'goto_table');
  let resources: readonly string[];
  if (isReply) {
    // a reply flow names the resource's addresses as ipv4_src: the resources of that prefix
    resources = ix.resourcesOfPrefix.get(srcKey) ?? [];
  } else resources = ix.resourcesOfDst.get(Number((md.value & METADATA.dstMask) >> METADATA.dstShift)) ?? [];
  // a monitored flow (table 2 marks it, then forwards it like an allow): what monitored deny rules would cut
  const marks = !isReply && f.instructions.some((i) => i.type === 'write_metadata' && (i.metadata & METADATA.monitor) !== 0n);
  const rules: string[] = [],
    monitored: string[] = [];
  const resourceByName = ix.resourceByName;
  for (const ri of ix.rulesOfClass.get(cls) ?? []) {
    const r = c.input.policy.rules[ri];
    const isMonitor = r.mode === 'monitor';
    if (isMonitor ? !marks : (r.action === 'deny') !== deny) continue;
    const to = r.to.filter((t) => resources.includes(t));
    if (!to.length) continue;
    const svcs =
      r.services ?? (r.action === 'deny' ? [{ proto: 'any', text: 'any' }] : to.flatMap((t) => resourceByName.get(t)?.services ?? []));
    if (covers(svcs, fs)) (isMonitor ? monitored : rules).push(r.name);
  }
  const out: FlowAttribution = {
    role: isReply ? 'reply' : deny ? 'deny' : 'allow',
    rules: rules.sort(),
    resources,
    classId: cls,
    ...(monitored.length ? { monitored: monitored.sort() } : {}),
  };
  ix.memo.set(key, out);
  return out;
}

/** Cookie → attribution for every flow of one switch's plan. */
export function attributePlan(c: Compiled, sp: SwitchPlan): Map<bigint, FlowAttribution> {
  const out = new Map<bigint, FlowAttribution>();
  for (const f of sp.flows) out.set(f.cookie, attributeFlow(c, f));
  return out;
}
