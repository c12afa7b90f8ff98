/** A recording proxy between an OpenFlow client (ovs-ofctl) and a bridge's management socket, for OVS tests. */
import { createConnection, createServer, type Server } from 'node:net';
import { spawn } from 'node:child_process';
import { Framer } from '../../openflow/index.js';

export interface Recorded {
  readonly from: 'client' | 'switch';
  readonly hex: string;
}

export class RecordingProxy {
  readonly seen: Recorded[] = [];
  private server: Server | undefined;
  constructor(
    readonly listenPath: string,
    readonly switchPath: string,
  ) {}

  async start(): Promise<void> {
    this.server = createServer((down) => {
      const up = createConnection(this.switchPath);
      const fd = new Framer();
      const fu = new Framer();
      down.on('data', (d) => {
        for (const f of fd.push(d)) this.seen.push({ from: 'client', hex: f.toString('hex') });
        up.write(d);
      });
      up.on('data', (d) => {
        for (const f of fu.push(d)) this.seen.push({ from: 'switch', hex: f.toString('hex') });
        down.write(d);
      });
      down.on('close', () => up.destroy());
      up.on('close', () => down.destroy());
      down.on('error', () => up.destroy());
      up.on('error', () => down.destroy());
    });
    await new Promise<void>((r) => this.server!.listen(this.listenPath, () => r()));
  }

  async stop(): Promise<void> {
    if (this.server) await new Promise<void>((r) => this.server!.close(() => r()));
  }

  /** Runs `ovs-ofctl -O OpenFlow13 ARGS` against the proxy (the target is `unix:<listenPath>`, put where TARGET is). */
  ofctl(args: string[], stdin?: string): Promise<{ code: number | null; err: string; out: string }> {
    return new Promise((resolve) => {
      const p = spawn('ovs-ofctl', ['-O', 'OpenFlow13', ...args.map((a) => (a === 'TARGET' ? `unix:${this.listenPath}` : a))], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let err = '';
      let out = '';
      p.stderr.on('data', (d) => {
        err += d;
      });
      p.stdout.on('data', (d) => {
        out += d;
      });
      const t = setTimeout(() => p.kill(), 10_000);
      p.on('exit', (code) => {
        clearTimeout(t);
        resolve({ code, err, out });
      });
      p.stdin.end(stdin ?? '');
    });
  }
}
