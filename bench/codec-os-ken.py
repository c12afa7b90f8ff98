"""Peer for bench/codec.bench.ts: os-ken (Ryu's successor, Debian python3-os-ken) encoding and decoding the same
OpenFlow 1.3 FLOW_MOD with ofproto_v1_3_parser. Prints one JSON line: the bytes (so the caller can check they are
identical) and rates per CPU second and per wall second."""
import json
import sys
import time

from os_ken.ofproto import ofproto_parser
from os_ken.ofproto import ofproto_v1_3 as ofp
from os_ken.ofproto import ofproto_v1_3_parser as p
from os_ken.ofproto.ofproto_protocol import ProtocolDesc

dp = ProtocolDesc(version=ofp.OFP_VERSION)


def flow_mod():
    m = p.OFPMatch(metadata=(0x20001, 0xffffffff), eth_type=0x0800, ip_proto=6, ipv4_dst='10.0.2.10', tcp_dst=5432)
    fm = p.OFPFlowMod(dp, cookie=0x5ac1000000000007, table_id=2, priority=200, match=m,
                      buffer_id=ofp.OFP_NO_BUFFER, out_port=ofp.OFPP_ANY, out_group=ofp.OFPG_ANY,
                      instructions=[p.OFPInstructionGotoTable(3)])
    fm.set_xid(7)
    return fm


def encode():
    fm = flow_mod()
    fm.serialize()
    return fm.buf


def rate(fn, n):
    for _ in range(min(n, 2000)):
        fn()
    c0, w0 = time.process_time(), time.perf_counter()
    for _ in range(n):
        fn()
    return n / (time.process_time() - c0), n / (time.perf_counter() - w0)


n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
buf = bytes(encode())
enc_cpu, enc_wall = rate(encode, n)
dec_cpu, dec_wall = rate(lambda: ofproto_parser.msg(dp, ofp.OFP_VERSION, ofp.OFPT_FLOW_MOD, len(buf), 7, buf), n)
print(json.dumps({'hex': buf.hex(), 'encode': {'cpu': enc_cpu, 'wall': enc_wall}, 'decode': {'cpu': dec_cpu, 'wall': dec_wall}}))
