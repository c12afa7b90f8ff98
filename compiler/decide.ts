/**
 * The policy's own answer for a subject and a destination (no flows involved): deny rules first, then allow, then
 * the default deny; a monitored deny rule (mode: monitor) only adds "would deny".
 */
import { parseIpv4, parseIpv6, prefix6Has, prefixHas, serviceCovers, type Service } from './addr.js';
import type { Compiled, Subject } from './compiled.js';
import { firstDeny } from './monitor.js';

export interface Decision {
  readonly decision: 'allow' | 'deny';
  /** The rule that decided, or 'default' for default deny. */
  readonly rule: string;
  readonly reason: string;
  /** Allowed, but a monitored deny rule (mode: monitor) would deny it: logged as "would deny", not enforced. */
  readonly wouldDeny?: { readonly rule: string; readonly reason: string };
}

/** Is this an IPv6 address text? */
const isV6 = (ip: string) => ip.includes(':');

export const ECHO6: Service = { proto: 'icmpv6', icmpType: 128, text: 'icmpv6/128' };

/** `icmp` is ICMPv4 and `icmpv6` ICMPv6: a service of the other family allows nothing (compiler/tables.ts emits no flow). */
function coversIn(s: Service, svc: Service, v6: boolean): boolean {
  if ((v6 && s.proto === 'icmp') || (!v6 && s.proto === 'icmpv6')) return false;
  return serviceCovers(s, svc);
}

/** The policy's own answer (no flows involved). */
export function decideFor(c: Compiled, subject: Subject, ip: string, service: Service): Decision {
  const v6 = isV6(ip);
  // a question about "icmpv6" is about the packet a probe sends: an echo request (as "icmp" is for IPv4)
  if (service.proto === 'icmpv6' && service.icmpType === undefined) service = ECHO6;
  let inRes: Set<string>;
  if (v6) {
    const a6 = parseIpv6(ip)!;
    inRes = new Set([...(c.resourcePrefixes6 ?? [])].filter(([, ps]) => ps.some((p) => prefix6Has(p, a6))).map(([n]) => n));
  } else {
    const addr = parseIpv4(ip)!;
    inRes = new Set([...c.resourcePrefixes].filter(([, ps]) => ps.some((p) => prefixHas(p, addr))).map(([n]) => n));
  }
  return decideOn(c, subject, inRes, service, v6, `${ip} is in no resource`);
}

/**
 * The policy's answer for a destination given by the set of resources it lies in (what a destination class is):
 * deny rules first, then allow; `none` is the reason when the set is empty.
 */
export function decideOn(
  c: Compiled,
  subject: Subject,
  inRes: ReadonlySet<string>,
  service: Service,
  v6 = false,
  none = 'in no resource',
): Decision {
  const rules = subject.rules.map((i) => c.input.policy.rules[i]);
  const resources = new Map(c.input.policy.resources.map((r) => [r.name, r]));
  const hits = (s: Service) => s.proto === 'any' || coversIn(s, service, v6) || servicesOverlap(s, service, v6);
  const denied = firstDeny(rules, inRes, hits, false);
  if (denied)
    return {
      decision: 'deny',
      rule: denied.rule.name,
      reason: `rule '${denied.rule.name}' denies ${subject.id} access to ${denied.resource}`,
    };
  for (const r of rules) {
    if (r.action !== 'allow') continue;
    for (const t of r.to) {
      if (!inRes.has(t)) continue;
      const svcs = r.services ?? resources.get(t)!.services;
      if (svcs.some((s) => coversIn(s, service, v6))) {
        const reason = `rule '${r.name}' allows ${subject.id} to reach ${t} on ${service.text}`;
        const w = firstDeny(rules, inRes, hits, true);
        if (!w) return { decision: 'allow', rule: r.name, reason };
        const wouldDeny = { rule: w.rule.name, reason: `rule '${w.rule.name}' would deny ${subject.id} access to ${w.resource} (monitor)` };
        return { decision: 'allow', rule: r.name, reason, wouldDeny };
      }
    }
  }
  return {
    decision: 'deny',
    rule: 'default',
    reason: inRes.size ? `no rule allows ${subject.id} to reach ${[...inRes].join(', ')} on ${service.text}` : none,
  };
}

function servicesOverlap(a: Service, b: Service, v6 = false): boolean {
  if (a.proto === 'any' || b.proto === 'any') return true;
  if (a.proto !== b.proto) return false;
  if ((v6 && a.proto === 'icmp') || (!v6 && a.proto === 'icmpv6')) return false;
  if (a.proto === 'icmp') return true;
  if (a.proto === 'icmpv6') return a.icmpType === undefined || b.icmpType === undefined || a.icmpType === b.icmpType;
  return (a.from ?? 0) <= (b.to ?? 65535) && (b.from ?? 0) <= (a.to ?? 65535);
}
