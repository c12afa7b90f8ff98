#!/usr/bin/python3
"""
Mininet driver for sdn-acl end-to-end tests (run with Debian's /usr/bin/python3, as root).

  /usr/bin/python3 test/mininet/driver.py NETWORK.json

NETWORK.json (written by the Node side from the example's topology and directory):
  {"controller": {"ip": "127.0.0.1", "port": 6653}, "failMode": "secure",
   "switches": [{"name": "edge1", "dpid": "0000000000000001"}],
   "links": [{"a": "edge1", "aPort": 10, "b": "core", "bPort": 1}],
   "hosts": [{"name": "alice", "mac": "02:..", "ip": "10.0.1.1", "switch": "edge1", "port": 1,
              "ipv6": ["2001:db8::1/48"], "acceptRa": false, "dad": false}],
              (optional: static addresses, /64 unless given; "ipv6": [] enables IPv6 with no static address;
               "dad": true keeps duplicate address detection on, so addresses added later are probed for)
   "listen": {"tcp": [22, 80], "udp": [53]}}

Then reads one JSON command per line on stdin and answers one JSON line on stdout:
  {"op": "probes", "probes": [{"from": "alice", "to": "10.0.2.10", "service": "tcp/5432"}, ...]}
      -> {"ok": true, "results": [true, false, ...]}     (all probes run in parallel, each bounded by a timeout)
  {"op": "warmup"}                                   -> every host sends ARP/ping once (host discovery)
  {"op": "spoof", "host": "carl", "mac": "..", "ip": ".."}   -> change a host's MAC and/or add an IP
  {"op": "unspoof", "host": "carl"}                 -> restore
  {"op": "run", "host": "alice", "script": "PYTHON", "args": [..], "timeout": 30}  -> {"ok": true, "output": stdout}
  and those of mnbase.py: sh/cmd (shell text on a host), bg/kill (background processes, stopped by pid at the
  end), pid, stop (net.stop(), then exit).
It stops the same way on EOF or SIGTERM, and removes only what it created (net.stop()).
"""
import json
import os
import select
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # nothing written next to the tests

from mininet.net import Mininet
from mininet.node import OVSSwitch, RemoteController

from mnbase import DriverBase, serve

PROBE = r'''
import socket, sys
proto, ip, port, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
src = sys.argv[5] if len(sys.argv) > 5 and sys.argv[5] else None
ok = False
try:
    if proto == "tcp":
        s = socket.create_connection((ip, port), timeout=timeout, source_address=(src, 0) if src else None)
        s.sendall(b"hi\n"); s.settimeout(timeout); ok = s.recv(16).startswith(b"hi"); s.close()
    elif proto == "udp":
        s = socket.socket(socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(timeout)
        if src: s.bind((src, 0))
        s.sendto(b"hi", (ip, port)); data, _ = s.recvfrom(16); ok = data == b"hi"
    elif proto == "tcpsyn":
        # one bare SYN from a chosen source port (as a server opening a connection from its service port would
        # send); OK when the target answers at all (SYN+ACK or RST), i.e. the SYN got through
        import struct, time
        sport = int(sys.argv[6])
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.connect((ip, 9)); me = u.getsockname()[0]; u.close()
        def csum(b):
            if len(b) % 2: b += b"\0"
            t = sum(struct.unpack("!%dH" % (len(b) // 2), b)); t = (t >> 16) + (t & 0xffff); t += t >> 16
            return ~t & 0xffff
        hdr = struct.pack("!HHIIBBHHH", sport, port, 0x5ac10001, 0, 5 << 4, 0x02, 64240, 0, 0)
        pseudo = socket.inet_aton(me) + socket.inet_aton(ip) + struct.pack("!BBH", 0, 6, len(hdr))
        hdr = hdr[:16] + struct.pack("!H", csum(pseudo + hdr)) + hdr[18:]
        r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP); r.settimeout(timeout)
        w = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
        w.sendto(hdr, (ip, 0))
        end = time.time() + timeout
        while not ok and time.time() < end:
            try:
                d, a = r.recvfrom(65535)
            except socket.timeout:
                break
            ihl = (d[0] & 15) * 4
            sp, dp = struct.unpack("!HH", d[ihl:ihl + 4])
            ok = a[0] == ip and sp == port and dp == sport
except Exception:
    ok = False
print("OK" if ok else "FAIL")
'''

SERVE = r'''
import socket, sys, threading
tcp = [int(p) for p in sys.argv[1].split(",") if p]
udp = [int(p) for p in sys.argv[2].split(",") if p]
def listener(kind):
    # dual-stack (IPv4 and IPv6) where the host has IPv6, else IPv4 only
    try:
        s = socket.socket(socket.AF_INET6, kind); s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0); return s, "::"
    except OSError:
        return socket.socket(socket.AF_INET, kind), "0.0.0.0"
def tcp_loop(s):
    while True:
        c, _ = s.accept()
        def echo(c):
            try:
                c.settimeout(5); d = c.recv(64); c.sendall(d); c.close()
            except Exception: pass
        threading.Thread(target=echo, args=(c,), daemon=True).start()
def udp_loop(s):
    while True:
        d, a = s.recvfrom(64); s.sendto(d, a)
# every socket bound and listening before SERVING is printed: the driver waits for that line, so no probe meets a
# closed port (a RST) because the server had not started yet
socks = []
for p in tcp:
    s, any_addr = listener(socket.SOCK_STREAM); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((any_addr, p)); s.listen(64)
    socks.append((tcp_loop, s))
for p in udp:
    s, any_addr = listener(socket.SOCK_DGRAM); s.bind((any_addr, p))
    socks.append((udp_loop, s))
for loop, s in socks: threading.Thread(target=loop, args=(s,), daemon=True).start()
print("SERVING", flush=True)
threading.Event().wait()
'''


class Harness(DriverBase):
    def __init__(self, spec):
        DriverBase.__init__(self, spec)
        self.servers = []
        self.saved = {}

    def ready(self):
        return {"ok": True, "ready": True, "hosts": [h.name for h in self.net.hosts]}

    def ops(self):
        def done(f):
            return lambda c: (f(c), {"ok": True})[1]

        return {
            "probes": lambda c: {"ok": True, "results": self.probes(c["probes"], float(c.get("timeout", 1.5)))},
            "warmup": done(lambda c: self.warmup()),
            "spoof": done(lambda c: self.spoof(c["host"], c.get("mac"), c.get("ip"))),
            "unspoof": done(lambda c: self.unspoof(c["host"])),
            "run": lambda c: {"ok": True, "output": self.run(c["host"], c["script"], [str(a) for a in c.get("args", [])], float(c.get("timeout", 30)))},
        }

    def start(self):
        spec = self.spec
        net = Mininet(controller=None, switch=OVSSwitch, build=False, autoSetMacs=False, autoStaticArp=False)
        c = spec["controller"]
        net.addController("c0", controller=RemoteController, ip=c["ip"], port=c["port"])
        for s in spec["switches"]:
            net.addSwitch(s["name"], dpid=s["dpid"], datapath="user", protocols="OpenFlow13", failMode=spec.get("failMode", "secure"))
        for h in spec["hosts"]:
            net.addHost(h["name"], ip=h["ip"] + "/16", mac=h["mac"])
        for h in spec["hosts"]:
            net.addLink(h["name"], h["switch"], port2=h["port"])
        for l in spec["links"]:
            net.addLink(l["a"], l["b"], port1=l["aPort"], port2=l["bPort"])
        self.net = net
        net.build()
        net.start()
        for h in net.hosts:
            for intf in h.intfList():
                h.cmd("ethtool -K %s tx off >/dev/null 2>&1" % intf.name)
        # IPv6 hosts: static addresses without DAD delays; router advertisements only where a test asks (acceptRa)
        v6hosts = [x for x in spec["hosts"] if "ipv6" in x]
        for x in v6hosts:
            h = net.get(x["name"])
            intf = h.defaultIntf().name
            ra = "1" if x.get("acceptRa") else "0"
            dad = "1" if x.get("dad") else "0"
            for k in ("all", "default", intf):
                h.cmd("sysctl -qw net.ipv6.conf.%s.accept_dad=%s net.ipv6.conf.%s.accept_ra=%s net.ipv6.conf.%s.disable_ipv6=0" % (k, dad, k, ra, k))
            # a fresh link-local address without DAD: flip the link once now that accept_dad is 0
            h.cmd("ip link set %s down; ip link set %s up" % (intf, intf))
            for a in x["ipv6"]:
                h.cmd("ip -6 addr add %s dev %s nodad" % (a if "/" in a else a + "/64", intf))
        deadline = time.time() + 10
        while v6hosts and time.time() < deadline and any(net.get(x["name"]).cmd("ip -6 addr show tentative").strip() for x in v6hosts):
            time.sleep(0.2)
        tcp = ",".join(str(p) for p in spec["listen"].get("tcp", []))
        udp = ",".join(str(p) for p in spec["listen"].get("udp", []))
        for h in net.hosts:
            p = h.popen(["/usr/bin/python3", "-c", SERVE, tcp, udp], stdout=subprocess.PIPE, stderr=open(os.devnull, "w"))
            self.servers.append((h.name, p))
        # start() returns only once every host's services listen (a probe sent earlier met a RST and read as denied)
        deadline = time.time() + 30
        for name, p in self.servers:
            ready, _, _ = select.select([p.stdout], [], [], max(0.0, deadline - time.time()))
            line = p.stdout.readline().decode("utf8", "replace").strip() if ready else ""
            if line != "SERVING":
                raise RuntimeError("the test services on %s did not start (%s)" % (name, line or "no answer in 30 s"))

    def probes(self, probes, timeout):
        procs = []
        for p in probes:
            h = self.host(p["from"])
            svc = p["service"]
            if svc == "icmp":
                cmd = ["ping", "-c", "1", "-W", str(max(1, int(round(timeout))))] + (["-I", p["src"]] if p.get("src") else []) + [p["to"]]
            else:
                proto, port = svc.split("/")
                cmd = ["/usr/bin/python3", "-c", PROBE, proto, p["to"], port, str(timeout), p.get("src") or "", str(p.get("sport") or 0)]
            procs.append((svc, h.popen(cmd, stdout=-1, stderr=-1)))
        results = []
        for svc, pr in procs:
            try:
                out, _ = pr.communicate(timeout=timeout + 5)
            except Exception:
                pr.kill()
                out = b""
            out = out.decode("utf8", "replace")
            results.append(pr.returncode == 0 if svc == "icmp" else out.strip().endswith("OK"))
        return results

    def run(self, name, script, args, timeout):
        # a Python script run on one host (traffic generators: scans, floods); its stdout is returned
        p = self.host(name).popen(["/usr/bin/python3", "-c", script] + args, stdout=-1, stderr=-1)
        try:
            out, err = p.communicate(timeout=timeout)
        except Exception:
            p.kill()
            out, err = p.communicate()
        return out.decode("utf8", "replace") + err.decode("utf8", "replace")[-2000:]

    def warmup(self):
        procs = []
        for h in self.net.hosts:
            # a gratuitous ARP / ping to a non-existent neighbour makes every host send a first packet
            procs.append(h.popen(["ping", "-c", "1", "-W", "1", "10.0.255.254"], stdout=-1, stderr=-1))
        for p in procs:
            p.communicate()

    def spoof(self, name, mac=None, ip=None):
        h = self.host(name)
        intf = h.defaultIntf()
        self.saved.setdefault(name, {"mac": intf.MAC(), "ips": []})
        if mac:
            h.cmd("ip link set dev %s address %s" % (intf.name, mac))
        if ip:
            h.cmd(("ip -6 addr add %s/48 dev %s nodad" if ":" in ip else "ip addr add %s/16 dev %s") % (ip, intf.name))
            self.saved[name]["ips"].append(ip)

    def unspoof(self, name):
        s = self.saved.pop(name, None)
        if not s:
            return
        h = self.host(name)
        intf = h.defaultIntf()
        h.cmd("ip link set dev %s address %s" % (intf.name, s["mac"]))
        for ip in s["ips"]:
            h.cmd(("ip -6 addr del %s/48 dev %s" if ":" in ip else "ip addr del %s/16 dev %s") % (ip, intf.name))

    def stop(self):
        for i in list(self.procs):
            self.kill(i)
        for _, p in self.servers:
            try:
                p.kill()
                p.wait()
            except Exception:
                pass
        self.servers = []
        DriverBase.stop(self)


if __name__ == "__main__":
    serve(Harness(json.load(open(sys.argv[1]))))
