/**
 * Needs root and Open vSwitch (userspace datapath, conntrack). Real packets through the ovs profile's stateful
 * pipeline: a client and a server in network namespaces (st-c, st-s) on bridge st-ct, the compiled plan loaded with
 * ovs-ofctl. Proves: an allowed TCP connection and its replies pass; a server's unsolicited ACK and UDP datagram
 * from its service port to the client are dropped; a connection survives a policy change that does not concern it
 * (only changed flows are replaced); a change that denies it cuts it at once (its next segment is dropped in both
 * directions — the conntrack entry is left to expire, no flush); and the openflow13 profile's flow mods carry no
 * NXM field (bytes). Everything created is removed by name.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile, formatOvsFlows, parseDirectoryText, parsePolicyText, parseTopologyText, type Compiled } from '../../compiler/index.js';
import { encode, flowMod } from '../../openflow/index.js';
import { createBridge, deleteBridge, ensureOvs, haveOvs, ofctl, vsctl } from '../helpers/ovs.js';
import { describeWith } from '../helpers/needs.js';

const BR = 'st-ct';
const NS = { c: 'st-c', s: 'st-s' } as const;
const IP = { c: '10.77.0.1', s: '10.77.0.2' } as const;
const MAC = { c: '02:77:00:00:00:01', s: '02:77:00:00:00:02' } as const;
const canRun = haveOvs() && process.getuid?.() === 0;
let dir = '';
const procs: ChildProcess[] = [];

function policyText(extraRule = '', allowTcp = true): string {
  return `version: 1
directory: d.yaml
topology: t.yaml
resources:
  svc: { hosts: [srv], services: [${allowTcp ? 'tcp/8080, ' : ''}udp/5353, icmp] }
  other: { hosts: [10.77.9.9], services: [tcp/443] }
rules:
  - { name: alice-svc, from: { users: [alice] }, to: svc }
${extraRule}`;
}
const DIRECTORY = `users:\n  - { id: alice, name: Alice, devices: [{ mac: "${MAC.c}", ip: ${IP.c} }] }\n`;
const topologyText = (profile = 'ovs') =>
  `switches:\n  - { name: stct, dpid: 0x5ac1, profile: ${profile} }\nhosts:\n  - { mac: "${MAC.c}", switch: stct, port: 1 }\nservers:\n  - { name: srv, switch: stct, port: 2, mac: "${MAC.s}", ip: ${IP.s} }\n`;

function build(policy: string, profile = 'ovs'): Compiled {
  const p = parsePolicyText(policy, 'p.yaml'),
    d = parseDirectoryText(DIRECTORY, 'd.yaml'),
    t = parseTopologyText(topologyText(profile), 't.yaml');
  if (!p.ok || !d.ok || !t.ok) throw new Error(JSON.stringify([p, d, t].filter((x) => !x.ok)));
  return compile({ policy: p.value, directory: d.value, topology: t.value });
}

/** Loads a plan: `replace-flows` changes only flows that differ (as the reconciler does), so untouched flows stay. */
function load(c: Compiled): void {
  const file = join(dir, 'flows.txt');
  writeFileSync(file, formatOvsFlows(c.plan.switches[0]) + '\n');
  ofctl('replace-flows', BR, file);
}

const ns = (n: string, ...cmd: string[]) => execFileSync('ip', ['netns', 'exec', n, ...cmd], { encoding: 'utf8', timeout: 20_000 });
const py = (n: string, code: string, ...args: string[]) => ns(n, 'python3', '-c', code, ...args).trim();

/** Raw TCP segment (flags) from the server's service port to the client; prints what the client saw. */
const RAW_TCP = String.raw`
import socket, struct, sys, time
src, dst, sport, dport, flags = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
def csum(b):
    if len(b) % 2: b += b"\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b)); t = (t >> 16) + (t & 0xffff); t += t >> 16
    return ~t & 0xffff
hdr = struct.pack("!HHIIBBHHH", sport, dport, 0x5ac10001, 0x5ac10002, 5 << 4, flags, 64240, 0, 0)
pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(hdr))
hdr = hdr[:16] + struct.pack("!H", csum(pseudo + hdr)) + hdr[18:]
w = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
for i in range(3):
    w.sendto(hdr, (dst, 0)); time.sleep(0.2)
print("SENT")
`;
/** On the client: a raw TCP socket that reports a segment from the server's port within the timeout. */
const SNIFF_TCP = String.raw`
import socket, struct, sys, time
peer, sport, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP); r.settimeout(0.3)
print("READY", flush=True)
end = time.time() + timeout; seen = False
while not seen and time.time() < end:
    try: d, a = r.recvfrom(65535)
    except socket.timeout: continue
    ihl = (d[0] & 15) * 4
    sp = struct.unpack("!H", d[ihl:ihl + 2])[0]
    seen = a[0] == peer and sp == sport
print("SEEN" if seen else "NONE", flush=True)
`;

/** A process started in a namespace, stopped by pid afterwards; resolves with its whole stdout. */
function bg(n: string, code: string, ...args: string[]): { ready: Promise<void>; done: Promise<string>; p: ChildProcess } {
  const p = spawn('ip', ['netns', 'exec', n, 'python3', '-u', '-c', code, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  procs.push(p);
  let out = '';
  let readyFn: () => void = () => undefined;
  const ready = new Promise<void>((r) => {
    readyFn = r;
  });
  p.stdout.on('data', (b) => {
    out += b;
    if (out.includes('READY')) readyFn();
  });
  const done = new Promise<string>((r) =>
    p.on('close', () => {
      readyFn();
      r(out);
    }),
  );
  return { ready, done, p };
}

const SERVER = String.raw`
import socket, threading
def tcp():
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", 8080)); s.listen(8)
    while True:
        c, _ = s.accept()
        def echo(c=c):
            while True:
                d = c.recv(64)
                if not d: break
                c.sendall(d)
        threading.Thread(target=echo, daemon=True).start()
def udp():
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1); u.bind(("0.0.0.0", 5353))
    while True:
        d, a = u.recvfrom(64); u.sendto(d, a)
threading.Thread(target=tcp, daemon=True).start()
threading.Thread(target=udp, daemon=True).start()
print("READY", flush=True)
threading.Event().wait()
`;

/** A client holding one TCP connection open: each line on stdin is sent, the echo (or TIMEOUT) printed. */
const CLIENT = String.raw`
import socket, sys
s = socket.create_connection(("10.77.0.2", 8080), timeout=3)
print("READY %d" % s.getsockname()[1], flush=True)
for line in sys.stdin:
    try:
        s.sendall(line.encode()); s.settimeout(2); d = s.recv(64)
        print("ECHO " + d.decode().strip() if d else "CLOSED", flush=True)
    except Exception as e:
        print("TIMEOUT", flush=True)
`;

describeWith(
  { 'Open vSwitch (root)': !!canRun, python3: spawnSync('which', ['python3']).status === 0 },
  'stateful replies with conntrack on a real Open vSwitch (ovs profile)',
  () => {
    beforeAll(() => {
      ensureOvs();
      dir = mkdtempSync(join(tmpdir(), 'st-ct-'));
      createBridge(BR);
      for (const [k, port] of [
        ['c', 1],
        ['s', 2],
      ] as const) {
        spawnSync('ip', ['netns', 'del', NS[k]]);
        execFileSync('ip', ['netns', 'add', NS[k]]);
        execFileSync('ip', ['link', 'add', `${NS[k]}0`, 'type', 'veth', 'peer', 'name', `${NS[k]}1`]);
        execFileSync('ip', ['link', 'set', `${NS[k]}1`, 'netns', NS[k]]);
        execFileSync('ip', ['link', 'set', `${NS[k]}0`, 'up']);
        vsctl('add-port', BR, `${NS[k]}0`, '--', 'set', 'interface', `${NS[k]}0`, `ofport_request=${port}`);
        ns(NS[k], 'ip', 'link', 'set', `${NS[k]}1`, 'address', MAC[k]);
        ns(NS[k], 'ip', 'addr', 'add', `${IP[k]}/24`, 'dev', `${NS[k]}1`);
        ns(NS[k], 'ip', 'link', 'set', `${NS[k]}1`, 'up');
        ns(NS[k], 'ip', 'link', 'set', 'lo', 'up');
        // the userspace datapath does not fill in checksums a veth leaves to offload
        ns(NS[k], 'ethtool', '-K', `${NS[k]}1`, 'tx', 'off');
      }
      ofctl('add-meter', BR, 'meter=1,pktps,band=type=drop,rate=100');
      ofctl('add-meter', BR, 'meter=2,pktps,band=type=drop,rate=50');
      load(build(policyText()));
    }, 60_000);

    afterAll(() => {
      for (const p of procs)
        if (p.exitCode === null && p.pid) {
          try {
            process.kill(p.pid, 'SIGKILL');
          } catch {
            /* gone */
          }
        }
      deleteBridge(BR);
      for (const n of Object.values(NS)) {
        spawnSync('ip', ['link', 'del', `${n}0`]);
        spawnSync('ip', ['netns', 'del', n]);
      }
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('an allowed TCP connection and UDP exchange pass with their replies; unsolicited ACK and UDP from the service port are dropped; a connection survives an unrelated change and is cut by one that denies it', async () => {
      const server = bg(NS.s, SERVER);
      await server.ready;
      // allowed: TCP echo and UDP echo (replies of committed connections)
      const client = bg(NS.c, CLIENT);
      await client.ready;
      const lines: string[] = [];
      client.p.stdout!.on('data', (b) => lines.push(...String(b).split('\n').filter(Boolean)));
      const say = async (text: string) => {
        const n = lines.length;
        client.p.stdin!.write(text + '\n');
        for (let i = 0; i < 60 && lines.length <= n; i++) await new Promise((r) => setTimeout(r, 100));
        return lines[lines.length - 1];
      };
      expect(await say('one')).toBe('ECHO one');
      const udp = py(
        NS.c,
        'import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.settimeout(2);s.bind(("0.0.0.0",40001));s.sendto(b"u1",("10.77.0.2",5353))\ntry: print(s.recv(16).decode())\nexcept Exception: print("TIMEOUT")',
      );
      expect(udp).toBe('u1');
      // the kernel's conntrack-free view: OVS committed both in the switch's zone
      const zone = Number(0x5ac1n % 65535n) + 1;
      const conns = execFileSync('ovs-appctl', ['dpctl/dump-conntrack', `zone=${zone}`], { encoding: 'utf8' });
      expect(conns).toMatch(/tcp,orig=\(src=10\.77\.0\.1,dst=10\.77\.0\.2,.*dport=8080\).*ESTABLISHED/);
      expect(conns).toMatch(/udp,orig=\(src=10\.77\.0\.1,dst=10\.77\.0\.2,sport=40001,dport=5353\)/);

      // unsolicited: an ACK from the service port to a client port with no connection; UDP from 5353 to a fresh port
      const sniff = bg(NS.c, SNIFF_TCP, IP.s, '8080', '2.5');
      await sniff.ready;
      py(NS.s, RAW_TCP, IP.s, IP.c, '8080', '45678', String(0x10));
      expect((await sniff.done).trim().split('\n').pop()).toBe('NONE');
      // control: the same sniffer sees the echo segments of the real connection
      const sniff2 = bg(NS.c, SNIFF_TCP, IP.s, '8080', '3');
      await sniff2.ready;
      expect(await say('two')).toBe('ECHO two');
      expect((await sniff2.done).trim().split('\n').pop()).toBe('SEEN');
      const udpListen = bg(
        NS.c,
        'import socket\nu=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);u.bind(("0.0.0.0",40077));u.settimeout(2.5)\nprint("READY",flush=True)\ntry: print("GOT "+u.recv(16).decode())\nexcept Exception: print("NONE")',
      );
      await udpListen.ready;
      py(
        NS.s,
        'import socket, time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEPORT,1);s.bind(("0.0.0.0",5353))\nfor i in range(3): s.sendto(b"push",("10.77.0.1",40077)); time.sleep(0.2)\nprint("SENT")',
      );
      expect((await udpListen.done).trim().split('\n').pop()).toBe('NONE');

      // an unrelated change (a rule for another resource): the connection keeps working
      const flowsNow = () =>
        ofctl('dump-flows', BR)
          .split('\n')
          .filter((l) => l.includes('cookie=0x5ac1')).length;
      const before = flowsNow();
      load(build(policyText('  - { name: alice-other, from: { users: [alice] }, to: other }')));
      expect(flowsNow()).toBeGreaterThan(before); // the new rule's flows are there; the connection's are untouched
      expect(await say('three')).toBe('ECHO three');

      // a change that denies tcp/8080: the next segment of the established connection goes nowhere
      load(build(policyText('', false)));
      expect(await say('four')).toBe('TIMEOUT');
      // the entry is still in conntrack (it expires); it is the policy flows, checked on every packet, that cut it
      expect(execFileSync('ovs-appctl', ['dpctl/dump-conntrack', `zone=${zone}`], { encoding: 'utf8' })).toMatch(/dport=8080/);
      client.p.stdin!.end();
    }, 90_000);

    it('the openflow13 profile puts no NXM field and no experimenter action in any flow mod (checked on the bytes), and OVS accepts the plan', () => {
      const c = build(policyText(), 'openflow13');
      const sp = c.plan.switches[0];
      expect(sp.profile).toBe('openflow13');
      for (const f of sp.flows) {
        const b = encode(
          flowMod({ cookie: f.cookie, tableId: f.tableId, priority: f.priority, match: f.match, instructions: f.instructions }),
        );
        // OXM TLVs start after the 48-byte header and the 4-byte match header: every class must be 0x8000
        const mlen = b.readUInt16BE(50);
        for (let p = 52; p < 48 + mlen;) {
          expect(b.readUInt16BE(p), `${f.origin}: OXM class at ${p}`).toBe(0x8000);
          p += 4 + b[p + 3];
        }
        expect(b.includes(Buffer.from([0x00, 0x00, 0x23, 0x20])), `${f.origin}: Nicira experimenter id`).toBe(false);
      }
      const file = join(dir, 'of13.txt');
      writeFileSync(file, formatOvsFlows(sp) + '\n');
      createBridge('st-of13');
      try {
        ofctl('add-meter', 'st-of13', 'meter=1,pktps,band=type=drop,rate=100');
        ofctl('add-meter', 'st-of13', 'meter=2,pktps,band=type=drop,rate=50');
        ofctl('add-flows', 'st-of13', file);
        expect(ofctl('dump-flows', 'st-of13')).not.toMatch(/ct_state|tcp_flags|ct\(/);
      } finally {
        deleteBridge('st-of13');
      }
    }, 30_000);
  },
);
