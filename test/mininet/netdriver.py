#!/usr/bin/python3
"""
A general Mininet driver for scenario tests (run with Debian's /usr/bin/python3, as root).

  /usr/bin/python3 test/mininet/netdriver.py NETWORK.json

NETWORK.json:
  {"controller": {"ip": "127.0.0.1", "port": 6653},
   "switches": [{"name": "dhe1", "dpid": "00000000000000d1"},
                {"name": "dxhub", "dpid": "00000000000021ff", "hub": true}],
   "links": [{"a": "dhe1", "aPort": 10, "b": "dhe2", "bPort": 10}],
   "hosts": [{"name": "dhsrv", "mac": "02:..", "ip": "10.185.0.2/24" | null, "root": false,
              "links": [{"switch": "dhe1", "port": 9, "up": true}]}]}
   A host with "root": true stays in the root namespace (the controller's own leg on the access network).
   A host with several links gets one interface per link (NAME-eth0, -eth1 …), all with the host's MAC.
   A switch with "hub": true has no controller: a standalone learning switch (OVS NORMAL) that also forwards
   frames to reserved addresses such as 802.1X's 01:80:c2:00:00:03 (forward-bpdu), like a small unmanaged
   switch or a phone's PC port behind an access port.

Commands: those of mnbase.py (sh/cmd, bg, kill, pid, stop).
It stops the same way on EOF or SIGTERM and removes only what it created.
"""
import json
import sys

sys.dont_write_bytecode = True  # nothing written next to the tests

from mininet.net import Mininet
from mininet.node import OVSSwitch, RemoteController

from mnbase import DriverBase, serve


class HubSwitch(OVSSwitch):
    """An OVS bridge with no controller at all, in standalone mode, forwarding 802.1X/BPDU group frames."""

    def start(self, controllers):
        OVSSwitch.start(self, [])
        self.vsctl("set bridge %s other_config:forward-bpdu=true" % self)


class Driver(DriverBase):
    def start(self):
        spec = self.spec
        net = Mininet(controller=None, switch=OVSSwitch, build=False, autoSetMacs=False, autoStaticArp=False)
        c = spec["controller"]
        net.addController("c0", controller=RemoteController, ip=c["ip"], port=c["port"])
        for s in spec["switches"]:
            if s.get("hub"):
                net.addSwitch(s["name"], cls=HubSwitch, dpid=s["dpid"], datapath="user", failMode="standalone")
            else:
                net.addSwitch(s["name"], dpid=s["dpid"], datapath="user", protocols="OpenFlow13", failMode="secure")
        self.net = net
        for h in spec["hosts"]:
            net.addHost(h["name"], inNamespace=not h.get("root", False))
        for h in spec["hosts"]:
            for i, l in enumerate(h["links"]):
                net.addLink(h["name"], l["switch"], port2=l["port"], intfName1="%s-eth%d" % (h["name"], i))
        for l in spec["links"]:
            net.addLink(l["a"], l["b"], port1=l["aPort"], port2=l["bPort"])
        net.build()
        net.start()
        for h in spec["hosts"]:
            node = net.get(h["name"])
            for i, l in enumerate(h["links"]):
                intf = "%s-eth%d" % (h["name"], i)
                node.cmd("ip addr flush dev %s" % intf)
                node.cmd("ip link set dev %s address %s" % (intf, h["mac"]))
                node.cmd("ethtool -K %s tx off >/dev/null 2>&1" % intf)
                if not h.get("root", False):
                    node.cmd("sysctl -qw net.ipv6.conf.%s.disable_ipv6=1" % intf)
                if i == 0 and h.get("ip"):
                    node.cmd("ip addr add %s dev %s" % (h["ip"], intf))
                node.cmd("ip link set dev %s %s" % (intf, "up" if l.get("up", True) else "down"))


if __name__ == "__main__":
    serve(Driver(json.load(open(sys.argv[1]))))
