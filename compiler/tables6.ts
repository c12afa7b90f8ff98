/**
 * Table 0 IPv6 flows (stage 4, see tables.ts): anti-spoofing and Neighbor Discovery of one bound device, and the
 * switch-wide RA guard and DHCPv6 trust. Pure. docs/ipv6.md explains what they allow and why.
 */
import type { Instruction, OxmEntry } from '../openflow/types.js';
import type { PlannedFlow, SwitchDef, Topology } from './model.js';
import type { Endpoint } from './stage-values.js';
import { PRIORITY, TABLE, TABLES } from './pipeline.js';
import { dhcpv6Instructions, type FirstContactPolicy } from './first-contact.js';
import { GOTO, ICMP6, icmp6Type, IPV6, ND, UDP, UNSPECIFIED6 } from './matches.js';

/**
 * Table 0 IPv6 flows of one bound device: its global addresses classify it (like ipv4_src); Neighbor Discovery
 * passes only for its own addresses — NS from a bound source (any target), DAD NS from :: for its own targets,
 * NA from one of its own addresses announcing only its own addresses (nd_target). Link-local addresses take part in ND only.
 */
export function deviceFlows6(inPort: OxmEntry, src: OxmEntry, e: Endpoint, classify: Instruction[], origin: string): PlannedFlow[] {
  const out: PlannedFlow[] = [];
  const fwd = [GOTO(TABLE.forward)];
  for (const a of e.ipv6 ?? [])
    out.push(
      TABLES.classify.flow(PRIORITY.classifyDevice, [inPort, src, IPV6, { field: 'ipv6_src', value: a }], classify, `classify:${origin}`),
    );
  for (const a of [...(e.ll6 ?? []), ...(e.ipv6 ?? [])]) {
    out.push(
      TABLES.classify.flow(PRIORITY.nd, [inPort, src, IPV6, { field: 'ipv6_src', value: a }, ICMP6, icmp6Type(ND.ns)], fwd, `nd:${origin}`),
    );
    out.push(
      TABLES.classify.flow(
        PRIORITY.nd,
        [inPort, src, IPV6, { field: 'ipv6_src', value: UNSPECIFIED6 }, ICMP6, icmp6Type(ND.ns), { field: 'ipv6_nd_target', value: a }],
        fwd,
        `nd-dad:${origin}`,
      ),
    );
    // a NA comes from one of the device's own addresses (RFC 4861 7.2.4, a DAD defence included) and announces one
    for (const from of [...(e.ll6 ?? []), ...(e.ipv6 ?? [])])
      out.push(
        TABLES.classify.flow(
          PRIORITY.nd,
          [inPort, src, IPV6, { field: 'ipv6_src', value: from }, ICMP6, icmp6Type(ND.na), { field: 'ipv6_nd_target', value: a }],
          fwd,
          `nd:${origin}`,
        ),
      );
  }
  return out;
}

/**
 * Table 0 IPv6 flows of a switch: RA guard (router advertisements and redirects only from `routers:` ports and
 * links), DHCPv6 server replies only from `dhcpv6:` ports and links, router solicitations and DHCPv6 client
 * messages pass; on a hypervisor, ND arriving over a link passes (like ARP).
 */
export function switchFlows6(topology: Topology, sw: SwitchDef, links: readonly number[], fc?: FirstContactPolicy): PlannedFlow[] {
  const out: PlannedFlow[] = [];
  const fwd = [GOTO(TABLE.forward)];
  const ra = (t: number): OxmEntry[] => [IPV6, ICMP6, icmp6Type(t)];
  const dhcpReply: OxmEntry[] = [IPV6, UDP, { field: 'udp_src', value: 547 }, { field: 'udp_dst', value: 546 }];
  const routerPorts = (topology.routers ?? []).filter((r) => r.switch === sw.name).map((r) => r.port);
  const dhcpPorts = (topology.dhcpv6 ?? []).filter((r) => r.switch === sw.name).map((r) => r.port);
  for (const port of [...new Set([...routerPorts, ...links])]) {
    const inPort: OxmEntry = { field: 'in_port', value: port };
    out.push(TABLES.classify.flow(PRIORITY.v6TrustedPort, [inPort, ...ra(ND.ra)], fwd, links.includes(port) ? 'ra:link' : 'ra:router'));
    out.push(
      TABLES.classify.flow(PRIORITY.v6TrustedPort, [inPort, ...ra(ND.redirect)], fwd, links.includes(port) ? 'ra:link' : 'ra:router'),
    );
  }
  for (const port of [...new Set([...dhcpPorts, ...links])]) {
    out.push(
      TABLES.classify.flow(
        PRIORITY.v6TrustedPort,
        [{ field: 'in_port', value: port }, ...dhcpReply],
        links.includes(port) ? fwd : dhcpv6Instructions(fc, 'server', fwd),
        links.includes(port) ? 'dhcpv6:link' : 'dhcpv6:trusted-server',
      ),
    );
  }
  out.push(TABLES.classify.flow(PRIORITY.v6Guard, ra(ND.ra), [], 'ra-guard'));
  out.push(TABLES.classify.flow(PRIORITY.v6Guard, ra(ND.redirect), [], 'ra-guard'));
  out.push(TABLES.classify.flow(PRIORITY.v6Guard, [IPV6, UDP, { field: 'udp_src', value: 547 }], [], 'dhcpv6:untrusted-server'));
  out.push(TABLES.classify.flow(PRIORITY.v6Client, ra(ND.rs), fwd, 'ra:solicit'));
  if (topology.dhcpv6?.length)
    out.push(
      TABLES.classify.flow(
        PRIORITY.v6Client,
        [IPV6, UDP, { field: 'udp_src', value: 546 }, { field: 'udp_dst', value: 547 }],
        dhcpv6Instructions(fc, 'client', fwd),
        'dhcpv6:client',
      ),
    );
  if (sw.kind === 'hypervisor')
    for (const lp of links)
      for (const t of [ND.ns, ND.na]) {
        out.push(TABLES.classify.flow(PRIORITY.linkNd, [{ field: 'in_port', value: lp }, ...ra(t)], fwd, 'nd:link'));
      }
  return out;
}
