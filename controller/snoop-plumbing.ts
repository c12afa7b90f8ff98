/**
 * The plumbing the controller's address learners share (DHCP snooping in first-contact.ts, ND/DHCPv6 snooping in
 * ipv6-learning.ts, and the discovery path in observe.ts): which ports are inter-switch links (never snooped), the
 * EtherType behind at most one VLAN tag, sending a checked frame on as the switch would have (NORMAL from its
 * port), and relaying a snooper's alerts as controller events.
 */
import type { EventEmitter } from 'node:events';
import { OFPP } from '../openflow/types.js';
import type { Topology } from '../compiler/model.js';
import type { SwitchSession } from './session.js';

const linkSets = new WeakMap<Topology, ReadonlySet<string>>();

/** Whether `switch:port` is one end of a topology link (built once per topology value). */
export function isLinkPort(topology: Topology, sw: string, port: number): boolean {
  let s = linkSets.get(topology);
  if (!s) linkSets.set(topology, (s = new Set(topology.links.flatMap((l) => [`${l.a.switch}:${l.a.port}`, `${l.b.switch}:${l.b.port}`]))));
  return s.has(`${sw}:${port}`);
}

/** The EtherType of an Ethernet frame and where its payload starts, behind at most one 802.1Q tag; undefined when too short. */
export function etherType(d: Buffer): { type: number; payload: number } | undefined {
  if (d.length < 14) return undefined;
  const t = d.readUInt16BE(12);
  if (t === 0x8100 && d.length >= 18) return { type: d.readUInt16BE(16), payload: 18 };
  return { type: t, payload: 14 };
}

/** Sends a checked frame on from the port it came in on, as the switch's own L2 forwarding would have (PACKET_OUT NORMAL). */
export function forwardChecked(s: SwitchSession, inPort: number, data: Buffer): void {
  s.sendTracked([
    {
      type: 'packet_out',
      xid: s.xid(),
      bufferId: 0xffffffff,
      inPort,
      actions: [{ type: 'output', port: OFPP.NORMAL }],
      data: Buffer.from(data),
    },
  ]);
}

/** A snooper's alerts (`{ type, ...data }`) become controller events of that type. */
export function relayAlerts(snooper: EventEmitter, relay: (type: string, data: Record<string, unknown>) => void): void {
  snooper.on('alert', (a: Record<string, unknown> & { type: string }) => {
    const { type, ...rest } = a;
    relay(type, rest);
  });
}
