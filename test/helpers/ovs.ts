/**
 * Open vSwitch for tests: make sure ovsdb-server and ovs-vswitchd run (start them with ovs-ctl if not),
 * and create/delete bridges by name. Tests own the bridges they create and delete them by name.
 */
import { execFileSync, spawnSync } from 'node:child_process';

export function haveOvs(): boolean {
  return spawnSync('which', ['ovs-vsctl']).status === 0;
}

/** Idempotent: starts OVS (no systemd here) when its daemons are not running. */
export function ensureOvs(): void {
  const status = spawnSync('/usr/share/openvswitch/scripts/ovs-ctl', ['status'], { encoding: 'utf8' });
  if (status.status === 0 && /ovs-vswitchd is running/.test(status.stdout)) return;
  execFileSync('/usr/share/openvswitch/scripts/ovs-ctl', ['start', '--system-id=random'], { stdio: 'pipe' });
}

export function vsctl(...args: string[]): string {
  return execFileSync('ovs-vsctl', ['--timeout=10', ...args], { encoding: 'utf8' });
}

export function ofctl(...args: string[]): string {
  return execFileSync('ovs-ofctl', ['-O', 'OpenFlow13', ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
}

export interface BridgeOptions {
  /** e.g. "tcp:127.0.0.1:6653"; omitted = no controller. */
  controller?: string;
  /** OpenFlow datapath id as 16 hex digits. */
  dpid?: string;
  failMode?: 'secure' | 'standalone';
}

/** Creates a userspace-datapath OF1.3 bridge. Deletes any stale bridge of the same name first. */
export function createBridge(name: string, opts: BridgeOptions = {}): void {
  const args = [
    '--',
    '--if-exists',
    'del-br',
    name,
    '--',
    'add-br',
    name,
    '--',
    'set',
    'bridge',
    name,
    'datapath_type=netdev',
    'protocols=OpenFlow13',
    `fail-mode=${opts.failMode ?? 'secure'}`,
  ];
  if (opts.dpid) args.push(`other-config:datapath-id=${opts.dpid}`);
  vsctl(...args);
  if (opts.controller) vsctl('set-controller', name, opts.controller);
}

export function deleteBridge(name: string): void {
  spawnSync('ovs-vsctl', ['--timeout=10', '--if-exists', 'del-br', name]);
}

/** `dump-flows` without the volatile counters, one flow a line, sorted. */
export function dumpFlows(bridge: string, opts: { keepDuration?: boolean } = {}): string[] {
  const out = ofctl('dump-flows', bridge);
  return out
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('OFPST_FLOW') && !l.startsWith('NXST_FLOW'))
    .map((l) =>
      l
        .trim()
        .replace(opts.keepDuration ? /$^/ : /duration=[^,]+, /, '')
        .replace(/n_packets=\d+, /, '')
        .replace(/n_bytes=\d+, /, '')
        .replace(/idle_age=\d+, /, '')
        .replace(/hard_age=\d+, /, ''),
    )
    .sort();
}
