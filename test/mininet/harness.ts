/**
 * Node side of the Mininet harness: turns an example (topology + directory + lab placement) into the driver's
 * network description, runs test/mininet/driver.py with Debian's /usr/bin/python3, and talks JSON lines to it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { tempDir } from '../helpers/tmp.js';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { parse } from 'yaml';
import type { LoadedPolicy } from '../../loader/index.js';

export const haveMininet = () => process.getuid?.() === 0 && spawnSync('/usr/bin/python3', ['-c', 'import mininet.net']).status === 0;

export interface LabHost {
  name: string;
  kind: 'user' | 'server';
  id: string;
  mac: string;
  ip: string;
  switch: string;
  port: number;
  ipv6?: string[];
}
export interface Probe {
  from: string;
  to: string;
  service: string;
  /** source address to send from (spoofing tests) */ src?: string;
  /** source port of a `tcpsyn/PORT` probe (one bare SYN) */ sport?: number;
}

/** Mininet interface names must stay under 16 characters: servers get short host names. */
export function hostName(kind: 'user' | 'server', id: string): string {
  return kind === 'user' ? id.slice(0, 10) : id.split('-')[0].slice(0, 10);
}

export function labHosts(loaded: LoadedPolicy): LabHost[] {
  const labFile = join(dirname(loaded.paths.policy), 'lab.yaml');
  let unlisted: Array<{ user: string; switch: string; port: number }> = [];
  try {
    unlisted = (parse(readFileSync(labFile, 'utf8')) ?? {}).unlisted ?? [];
  } catch {
    /* no lab file */
  }
  const out: LabHost[] = [];
  for (const u of loaded.directory.users)
    for (const d of u.devices) {
      if (!d.ip) continue;
      const b = loaded.topology.hosts.find((h) => h.mac === d.mac) ?? unlisted.find((x) => x.user === u.id);
      if (b) out.push({ name: hostName('user', u.id), kind: 'user', id: u.id, mac: d.mac, ip: d.ip, switch: b.switch, port: b.port });
    }
  for (const s of loaded.topology.servers)
    out.push({ name: hostName('server', s.name), kind: 'server', id: s.name, mac: s.mac, ip: s.ip, switch: s.switch, port: s.port });
  return out;
}

export class MininetLab {
  private child?: ChildProcess;
  private lines: string[] = [];
  private waiters: Array<(l: string) => void> = [];
  stderr = '';
  hosts: LabHost[] = [];

  async start(loaded: LoadedPolicy, controllerPort: number, opts: { failMode?: 'secure' | 'standalone' } = {}): Promise<void> {
    this.hosts = labHosts(loaded);
    const tcp = new Set<number>([22, 80]);
    const udp = new Set<number>([53]);
    for (const r of loaded.policy.resources)
      for (const s of r.services) {
        if (s.proto === 'tcp' && s.from !== undefined && s.to === s.from) tcp.add(s.from);
        if (s.proto === 'udp' && s.from !== undefined && s.to === s.from) udp.add(s.from);
      }
    const spec = {
      controller: { ip: '127.0.0.1', port: controllerPort },
      failMode: opts.failMode ?? 'secure',
      switches: loaded.topology.switches.map((s) => ({ name: s.name, dpid: s.dpid.toString(16).padStart(16, '0') })),
      links: loaded.topology.links.map((l) => ({ a: l.a.switch, aPort: l.a.port, b: l.b.switch, bPort: l.b.port })),
      hosts: this.hosts.map(({ name, mac, ip, switch: sw, port }) => ({ name, mac, ip, switch: sw, port })),
      listen: { tcp: [...tcp].sort((a, b) => a - b), udp: [...udp] },
    };
    await this.startSpec(spec);
  }

  /**
   * One switch (fail-mode secure) wired to a controller at 127.0.0.1:`controllerPort`, with `hosts` on it (each
   * `user` or `server` by its role in `users`); `extra` adds per-host driver options (IPv6 addresses, DAD, RA).
   */
  async startOneSwitch(opts: {
    controllerPort: number;
    switch: string;
    dpid: bigint;
    hosts: Record<string, { name: string; mac: string; ip: string; port: number }>;
    users: readonly string[];
    listen: { tcp: number[]; udp: number[] };
    extra?: (h: LabHost) => Record<string, unknown>;
  }): Promise<void> {
    const hosts: LabHost[] = Object.entries(opts.hosts).map(([id, h]) => ({
      name: h.name,
      kind: opts.users.includes(id) ? 'user' : 'server',
      id,
      mac: h.mac,
      ip: h.ip,
      switch: opts.switch,
      port: h.port,
    }));
    await this.startSpec(
      {
        controller: { ip: '127.0.0.1', port: opts.controllerPort },
        failMode: 'secure',
        switches: [{ name: opts.switch, dpid: opts.dpid.toString(16).padStart(16, '0') }],
        links: [],
        hosts: hosts.map((h) => ({ ...h, ...opts.extra?.(h) })),
        listen: opts.listen,
      },
      hosts,
    );
  }

  /**
   * Starts the driver on a network description written by the caller (tests that load flows themselves, IPv6
   * hosts: `ipv6` addresses and `acceptRa` per host). `hosts` become this lab's hosts for probes.
   */
  async startSpec(spec: Record<string, unknown>, hosts?: LabHost[]): Promise<void> {
    if (hosts) this.hosts = hosts;
    const file = join(tempDir('acl-mn-'), 'network.json');
    writeFileSync(file, JSON.stringify(spec, null, 2));
    this.child = spawn('/usr/bin/python3', [new URL('./driver.py', import.meta.url).pathname, file], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr!.on('data', (d) => {
      this.stderr = (this.stderr + d).slice(-20_000);
    });
    createInterface({ input: this.child.stdout! }).on('line', (l) => {
      const w = this.waiters.shift();
      if (w) w(l);
      else this.lines.push(l);
    });
    const ready = JSON.parse(await this.next(120_000));
    if (!ready.ready) throw new Error(`mininet driver failed: ${JSON.stringify(ready)} ${this.stderr}`);
  }

  private next(timeoutMs: number): Promise<string> {
    const l = this.lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    if (this.child!.exitCode !== null)
      return Promise.reject(new Error(`mininet driver exited ${this.child!.exitCode}: ${this.stderr.slice(-2000)}`));
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => {
        clearTimeout(t);
        reject(new Error(`mininet driver exited ${code}: ${this.stderr.slice(-2000)}`));
      };
      const t = setTimeout(() => {
        this.child!.off('exit', onExit);
        reject(new Error(`mininet driver did not answer in ${timeoutMs} ms: ${this.stderr.slice(-2000)}`));
      }, timeoutMs);
      this.child!.once('exit', onExit);
      this.waiters.push((line) => {
        clearTimeout(t);
        this.child!.off('exit', onExit);
        resolve(line);
      });
    });
  }

  async call(cmd: Record<string, unknown>, timeoutMs = 120_000): Promise<any> {
    this.child!.stdin!.write(JSON.stringify(cmd) + '\n');
    const r = JSON.parse(await this.next(timeoutMs));
    if (!r.ok) throw new Error(`mininet driver: ${r.error}`);
    return r;
  }

  host(kindOrId: string): LabHost {
    const h = this.hosts.find((x) => x.id === kindOrId || x.name === kindOrId);
    if (!h) throw new Error(`no lab host ${kindOrId}`);
    return h;
  }

  /** Runs the probes in parallel; `from` is a user id or server name, `to` a user id, server name or IP. */
  async probe(probes: Probe[], timeout = 1.5): Promise<boolean[]> {
    const list = probes.map((p) => ({
      from: this.host(p.from).name,
      to: /^\d|:/.test(p.to) ? p.to : this.host(p.to).ip,
      service: p.service,
      src: p.src,
      sport: p.sport,
    }));
    const out: boolean[] = [];
    for (let i = 0; i < list.length; i += 60)
      out.push(...(await this.call({ op: 'probes', probes: list.slice(i, i + 60), timeout })).results);
    return out;
  }

  async stop(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null) return;
    c.stdin!.write(JSON.stringify({ op: 'stop' }) + '\n');
    c.stdin!.end();
    await new Promise<void>((res) => {
      const t = setTimeout(() => {
        c.kill('SIGTERM');
      }, 30_000);
      c.once('exit', () => {
        clearTimeout(t);
        res();
      });
    });
  }
}

/**
 * The general scenario driver (test/mininet/netdriver.py): hosts with several links, hub switches without a
 * controller, shell commands and background processes inside a host's namespace (stopped by pid at the end).
 */
export class NetLab {
  private child?: ChildProcess;
  private lines: string[] = [];
  private waiters: Array<(l: string) => void> = [];
  stderr = '';

  async start(spec: unknown, dir: string): Promise<void> {
    const f = join(dir, 'net.json');
    writeFileSync(f, JSON.stringify(spec));
    this.child = spawn('/usr/bin/python3', [new URL('./netdriver.py', import.meta.url).pathname, f], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr!.on('data', (d) => {
      this.stderr = (this.stderr + d).slice(-10_000);
    });
    createInterface({ input: this.child.stdout! }).on('line', (l) => {
      const w = this.waiters.shift();
      if (w) w(l);
      else this.lines.push(l);
    });
    const r = JSON.parse(await this.next(180_000));
    if (!r.ready) throw new Error(`netdriver: ${JSON.stringify(r)} ${this.stderr}`);
  }

  private next(ms: number): Promise<string> {
    const l = this.lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    if (this.child!.exitCode !== null)
      return Promise.reject(new Error(`netdriver exited ${this.child!.exitCode}: ${this.stderr.slice(-2000)}`));
    return new Promise((res, rej) => {
      const onExit = (code: number | null) => {
        clearTimeout(t);
        rej(new Error(`netdriver exited ${code}: ${this.stderr.slice(-2000)}`));
      };
      const t = setTimeout(() => {
        this.child!.off('exit', onExit);
        rej(new Error(`netdriver silent for ${ms} ms: ${this.stderr.slice(-2000)}`));
      }, ms);
      this.child!.once('exit', onExit);
      this.waiters.push((x) => {
        clearTimeout(t);
        this.child!.off('exit', onExit);
        res(x);
      });
    });
  }

  async call(c: Record<string, unknown>, ms = 60_000): Promise<any> {
    this.child!.stdin!.write(JSON.stringify(c) + '\n');
    const r = JSON.parse(await this.next(ms));
    if (!r.ok) throw new Error(`netdriver: ${r.error}`);
    return r;
  }

  /** A shell command inside a host's namespace. */
  cmd(host: string, cmd: string, timeout = 10): Promise<{ out: string; rc: number }> {
    return this.call({ op: 'cmd', host, cmd, timeout }, (timeout + 30) * 1000);
  }

  /** A background process inside a host's namespace; the driver stops it by pid at the end (or `kill`). */
  async bg(host: string, argv: string[]): Promise<{ id: number; pid: number }> {
    const r = await this.call({ op: 'bg', host, argv });
    return { id: r.id, pid: r.pid };
  }

  async kill(id: number): Promise<void> {
    await this.call({ op: 'kill', id });
  }

  async stop(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null) return;
    c.stdin!.write('{"op":"stop"}\n');
    c.stdin!.end();
    await new Promise<void>((res) => {
      const t = setTimeout(() => {
        c.kill('SIGTERM');
      }, 60_000);
      c.once('exit', () => {
        clearTimeout(t);
        res();
      });
    });
  }
}
