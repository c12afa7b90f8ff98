/**
 * Learned IPv6 addresses (ND/DAD, DHCPv6 snooping) in the compile: they join the binding of their MAC on their
 * port, anti-spoofing then admits them (checked with the flow-table interpreter), and they never admit a device by
 * themselves nor take an address the directory gives another device. The `ipv6:` policy block and its flows.
 */
import { describe, expect, it } from 'vitest';
import { compile, FlowTables, parseDirectoryText, parsePolicyText, parseTopologyText, type Packet } from '../../compiler/index.js';
import { withLearnedIpv6 } from '../../compiler/edge.js';
import type { AddressLease, Binding } from '../../compiler/model.js';
import { DIRECTORY, MAC, POLICY, topology, V6 } from './ipv6-fixture.js';

const LEARNED = '2001:db8:1::77';
const lease = (mac: string, ip: string, port: number, source: AddressLease['source'] = 'nd'): AddressLease => ({
  mac,
  ip,
  switch: 'e1',
  port,
  source,
});

function inputs(policy = POLICY) {
  const p = parsePolicyText(policy, 'p.yaml'),
    // alice has no IPv6 address in the directory: she gets hers by learning
    d = parseDirectoryText(DIRECTORY.replace(/, ipv6: \["2001:db8:1::a"\]/, ''), 'd.yaml'),
    t = parseTopologyText(topology(), 't.yaml');
  if (!p.ok || !d.ok || !t.ok) throw new Error('fixture');
  return { policy: p.value, directory: d.value, topology: t.value };
}
const pkt6 = (inPort: number, ethSrc: string, ipSrc: string, ipDst: string): Packet => ({
  inPort,
  ethSrc,
  ethType: 0x86dd,
  ipSrc,
  ipDst,
  ipProto: 6,
  tpSrc: 40000,
  tpDst: 443,
  tcpFlags: 0x002,
});

describe('learned IPv6 addresses in the compile', () => {
  it('join the binding of their MAC on the same port only; never admit by themselves; never take a directory address', () => {
    const { directory, topology: t } = inputs();
    const bindings: Binding[] = [{ mac: MAC.alice, switch: 'e1', port: 1, learned: true }];
    const out = withLearnedIpv6(
      bindings,
      [
        lease(MAC.alice, LEARNED, 1),
        lease(MAC.alice, '2001:db8:1::78', 2),
        lease(MAC.alice, V6.bob, 1),
        lease('02:00:00:00:06:99', '2001:db8:1::99', 1),
      ],
      directory,
      { hosts: [], servers: t.servers },
    );
    expect(out).toEqual([{ mac: MAC.alice, switch: 'e1', port: 1, learned: true, ipv6: [LEARNED] }]);
    // nothing learned applies: the very same array comes back (the compiler's fast path relies on it)
    expect(withLearnedIpv6(bindings, [lease(MAC.alice, '10.0.0.9', 1, 'dhcp')], directory, t)).toBe(bindings);
  });

  it('anti-spoofing admits the learned address (and the EUI-64 link-local for ND); any other source stays unclassified', () => {
    const i = inputs();
    const bindings = withLearnedIpv6([], [lease(MAC.alice, LEARNED, 1)], i.directory, i.topology);
    expect(bindings).toEqual([{ mac: MAC.alice, switch: 'e1', port: 1, learned: true, ipv6: [LEARNED] }]);
    const c = compile({ ...i, bindings: [...bindings] });
    const e1 = new FlowTables(c.plan.switches.find((s) => s.name === 'e1')!.flows);
    expect(e1.apply(pkt6(1, MAC.alice, LEARNED, V6.web)).verdict).toBe('forward');
    for (const p of [pkt6(1, MAC.alice, '2001:db8:1::78', V6.web), pkt6(2, MAC.alice, LEARNED, V6.web), pkt6(1, MAC.bob, LEARNED, V6.web)])
      expect(e1.apply(p).hits[0].flow.origin, JSON.stringify(p)).toBe('discovery');
    const before = compile(i);
    const b1 = new FlowTables(before.plan.switches.find((s) => s.name === 'e1')!.flows);
    expect(b1.apply(pkt6(1, MAC.alice, LEARNED, V6.web)).hits[0].flow.origin).toBe('discovery');
  });

  it('policy ipv6: block: DHCPv6 learning copies trusted replies to the controller and sends client messages there (metered)', () => {
    const p = inputs(`${POLICY}ipv6: { learn: [nd, dhcpv6], maxAddresses: 4, lifetime: 2h }\n`);
    expect(p.policy.firstContact?.ipv6).toMatchObject({ nd: true, dhcpv6: true, maxAddresses: 4, lifetimeSeconds: 7200, rate: 10 });
    const c = compile(p);
    const flows = c.plan.switches.find((s) => s.name === 'e1')!.flows;
    const trusted = flows.find((f) => f.origin === 'dhcpv6:trusted-server')!;
    expect(JSON.stringify(trusted.instructions)).toContain('"port":4294967293'); // CONTROLLER
    expect(trusted.instructions.some((x) => x.type === 'goto_table')).toBe(true);
    const client = flows.find((f) => f.origin === 'dhcpv6:client')!;
    expect(client.instructions[0]).toEqual({ type: 'meter', meterId: 1 });
    expect(client.instructions.some((x) => x.type === 'goto_table')).toBe(false);
    const plain = compile(inputs()).plan.switches.find((s) => s.name === 'e1')!.flows;
    expect(plain.find((f) => f.origin === 'dhcpv6:client')!.instructions).toEqual([{ type: 'goto_table', tableId: 3 }]);
  });

  it('refuses a bad ipv6: block with file:line', () => {
    const r = parsePolicyText(`${POLICY}ipv6:\n  learn: [slaac]\n  maxAddresses: 0\n`, 'p.yaml');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.diagnostics.map((d) => `${d.location?.line}:${d.code}`)).toEqual(expect.arrayContaining(['13:bad-value', '14:bad-value']));
  });
});
