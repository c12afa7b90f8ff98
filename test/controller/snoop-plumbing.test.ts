import { describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import type { Topology } from '../../compiler/model.js';
import { etherType, forwardChecked, isLinkPort, relayAlerts } from '../../controller/snoop-plumbing.js';
import type { SwitchSession } from '../../controller/session.js';
import type { OfpMessage } from '../../openflow/index.js';

const frame = (hex: string): Buffer => Buffer.from(hex.replace(/\s/g, ''), 'hex');
const MACS = '0200000000010200000000 02';

describe('snoop plumbing shared by DHCP and IPv6 learning', () => {
  it('isLinkPort: both ends of every link, per topology value; access ports are not links', () => {
    const topo = {
      switches: [],
      links: [{ a: { switch: 's1', port: 1 }, b: { switch: 's2', port: 7 } }],
    } as unknown as Topology;
    expect(isLinkPort(topo, 's1', 1)).toBe(true);
    expect(isLinkPort(topo, 's2', 7)).toBe(true);
    expect(isLinkPort(topo, 's1', 7)).toBe(false);
    expect(isLinkPort(topo, 's2', 1)).toBe(false);
    const other = { ...topo, links: [] } as unknown as Topology;
    expect(isLinkPort(other, 's1', 1)).toBe(false);
  });

  it('etherType: untagged, one 802.1Q tag, and frames too short for either', () => {
    expect(etherType(frame(`${MACS} 0800 45`))).toEqual({ type: 0x0800, payload: 14 });
    expect(etherType(frame(`${MACS} 8100 0064 86dd 60`))).toEqual({ type: 0x86dd, payload: 18 });
    // a tag with no room for the inner type is read as the tag itself
    expect(etherType(frame(`${MACS} 8100 00`))).toEqual({ type: 0x8100, payload: 14 });
    expect(etherType(frame('02000000000102'))).toBeUndefined();
    expect(etherType(Buffer.alloc(0))).toBeUndefined();
  });

  it('forwardChecked sends a copy of the frame out NORMAL from its in-port; relayAlerts turns alerts into events', () => {
    const sent: OfpMessage[] = [];
    const s = { xid: () => 42, sendTracked: (m: readonly OfpMessage[]) => (sent.push(...m), true) } as unknown as SwitchSession;
    const d = frame(`${MACS} 0800 4500`);
    forwardChecked(s, 5, d);
    expect(sent).toEqual([
      { type: 'packet_out', xid: 42, bufferId: 0xffffffff, inPort: 5, actions: [{ type: 'output', port: 0xfffffffa }], data: d },
    ]);
    expect((sent[0] as { data: Buffer }).data).not.toBe(d);
    const em = new EventEmitter();
    const got: Array<[string, Record<string, unknown>]> = [];
    relayAlerts(em, (type, data) => got.push([type, data]));
    em.emit('alert', { type: 'dhcp-rogue-server', switch: 's1', port: 3, mac: 'x' });
    expect(got).toEqual([['dhcp-rogue-server', { switch: 's1', port: 3, mac: 'x' }]]);
  });
});
