/** Frames built by hand for deny-log tests and benchmarks. */
/** Ethernet + IPv4 + TCP/UDP/ICMP frame. */
export function frame(o: {
  src: string;
  dst?: string;
  ipSrc: string;
  ipDst: string;
  proto: 'tcp' | 'udp' | 'icmp';
  dport?: number;
  sport?: number;
  flags?: number;
}): Buffer {
  const mac = (m: string) => Buffer.from(m.replace(/:/g, ''), 'hex');
  const ip = (a: string) => Buffer.from(a.split('.').map(Number));
  const l4 = o.proto === 'tcp' ? Buffer.alloc(20) : o.proto === 'udp' ? Buffer.alloc(8) : Buffer.alloc(8);
  if (o.proto !== 'icmp') {
    l4.writeUInt16BE(o.sport ?? 40000, 0);
    l4.writeUInt16BE(o.dport ?? 0, 2);
  } else l4[0] = 8;
  if (o.proto === 'tcp') {
    l4[12] = 5 << 4;
    l4[13] = o.flags ?? 0x02;
  }
  const iph = Buffer.alloc(20);
  iph[0] = 0x45;
  iph.writeUInt16BE(20 + l4.length, 2);
  iph[8] = 64;
  iph[9] = o.proto === 'tcp' ? 6 : o.proto === 'udp' ? 17 : 1;
  ip(o.ipSrc).copy(iph, 12);
  ip(o.ipDst).copy(iph, 16);
  return Buffer.concat([mac(o.dst ?? '02:00:00:00:10:01'), mac(o.src), Buffer.from([0x08, 0x00]), iph, l4]);
}
