/** Python scripts the IPv6 Mininet tests run inside hosts (driver op `run`): RA senders, address waits, probes. */

/** A router advertisement (ICMPv6 134, hop limit 255, from the link-local address) with one /64 prefix for SLAAC. */
export const SEND_RA = String.raw`
import socket, struct, sys, time
ifname, prefix = sys.argv[1], sys.argv[2]
idx = socket.if_nametoindex(ifname)
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, idx)
ra = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, 1800, 0, 0)
pio = struct.pack("!BBBBIII", 3, 4, 64, 0xc0, 86400, 14400, 0) + socket.inet_pton(socket.AF_INET6, prefix)
for _ in range(3):
    s.sendto(ra + pio, ("ff02::1", 0, 0, idx)); time.sleep(0.2)
print("SENT")
`;

/** Waits up to N seconds for an IPv6 address in a prefix on this host; prints it or NONE. */
export const WAIT_ADDR = String.raw`
import subprocess, sys, time
prefix, secs = sys.argv[1], float(sys.argv[2])
end = time.time() + secs
found = ""
while time.time() < end and not found:
    out = subprocess.run(["ip", "-6", "-o", "addr", "show"], capture_output=True, text=True).stdout
    found = next((l.split()[3] for l in out.splitlines() if l.split()[3].startswith(prefix)), "")
    time.sleep(0.2)
print(found or "NONE")
`;

export const NEIGH = String.raw`
import subprocess, sys
print(subprocess.run(["ip", "-6", "neigh", "show", sys.argv[1]], capture_output=True, text=True).stdout.strip())
`;

/**
 * A TCP connect over IPv6 with a hop-by-hop options header (one PadN option) on every packet it sends; a packet
 * socket on the same interface checks that the SYN really left with next header 0 in front of TCP and prints that
 * frame in hex (for ofproto/trace). Prints "HBH-SENT|HBH-NOT-SEEN CONNECTED|FAILED" and "FRAME <hex>".
 */
export const HBH_CONNECT = String.raw`
import socket, struct, sys, threading, time
ifname, dst, port, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
seen = []
sniff = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))  # ETH_P_ALL: outgoing frames too
sniff.bind((ifname, 3))
sniff.settimeout(0.2)
def watch():
    end = time.time() + timeout + 1
    while time.time() < end:
        try:
            f = sniff.recv(2048)
        except socket.timeout:
            continue
        if len(f) > 66 and f[20] == 0 and f[54] == 6 and struct.unpack("!H", f[64:66])[0] == port:
            seen.append(f.hex())
threading.Thread(target=watch, daemon=True).start()
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_HOPOPTS, bytes([0, 0, 1, 4, 0, 0, 0, 0]))
s.settimeout(timeout)
try:
    s.connect((dst, port)); ok = True
except Exception:
    ok = False
time.sleep(0.3)
print("HBH-SENT" if seen else "HBH-NOT-SEEN", "CONNECTED" if ok else "FAILED")
if seen: print("FRAME", seen[0])
`;
