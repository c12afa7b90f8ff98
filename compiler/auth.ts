/**
 * The policy's `authentication:` block: RADIUS servers (secrets by file or environment variable, never inline),
 * timeouts, which switch ports authenticate and how (dot1x | mab | dot1x-then-mab | none), device groups usable
 * in selectors like roles. Validated with file:line like the rest of the policy. Pure: secrets are only named
 * here; the controller reads them (edge/auth-config.ts).
 */
import type { Topology } from './model.js';
import type { YamlSource, Path } from './yaml-source.js';
import { suggest } from './yaml-source.js';

export type PortAuth = 'dot1x' | 'mab' | 'dot1x-then-mab' | 'none';
export const PORT_AUTH: readonly PortAuth[] = ['dot1x', 'mab', 'dot1x-then-mab', 'none'];

export interface RadiusServerRef {
  readonly host: string;
  readonly port: number;
  readonly secretFile?: string;
  readonly secretEnv?: string;
  readonly path: Path;
}

export interface PortAuthRule {
  readonly switch: string;
  /** Absent: every access port of the switch (not a link, not a server). */
  readonly ports?: readonly number[];
  readonly auth: PortAuth;
  readonly maxDevices?: number;
  readonly path: Path;
}

export interface AuthPolicy {
  readonly servers: readonly RadiusServerRef[];
  readonly timeoutMs: number;
  readonly retries: number;
  readonly deadTimeMs: number;
  readonly ports: readonly PortAuthRule[];
  /** RADIUS attribute naming the user on Access-Accept (default User-Name). */
  readonly userAttribute: string;
  readonly mab: {
    readonly quietMs: number;
    readonly source: 'radius' | 'directory';
    readonly groupAttribute: string;
    readonly password?: string;
  };
  readonly deviceGroups: readonly string[];
  /** Re-authentication period when RADIUS sends no Session-Timeout (s); 0 = none. */
  readonly reauthSeconds: number;
  /** EAPOL frames per second accepted per port (more are dropped and counted). */
  readonly eapolPerSecond: number;
  /** Rejects from one port within `windowSeconds` that raise an alert. */
  readonly failureAlert: { readonly count: number; readonly windowSeconds: number };
  /** Seconds an unanswered conversation is kept. */
  readonly conversationSeconds: number;
}

const KEYS = [
  'radius',
  'ports',
  'userAttribute',
  'mab',
  'deviceGroups',
  'reauthPeriod',
  'eapolRate',
  'failureAlert',
  'conversationTimeout',
];

function num(src: YamlSource, path: Path, v: unknown, def: number, min: number, max: number, what: string): number {
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    src.error(path, 'bad-value', `${what} must be a number from ${min} to ${max} (found ${JSON.stringify(v)})`);
    return def;
  }
  return v;
}

function parseRadiusServers(src: YamlSource, p: Path, raw: unknown): RadiusServerRef[] {
  const servers: RadiusServerRef[] = [];
  src.list([...p, 'radius', 'servers'], raw, 'servers').forEach((sv, i) => {
    const sp: Path = [...p, 'radius', 'servers', i];
    const so = src.object(sp, sv, ['host', 'port', 'secretFile', 'secretEnv', 'secret'], 'a RADIUS server');
    if (!so) return;
    const host = src.string([...sp, 'host'], so.host, 'host');
    const port =
      so.port === undefined
        ? 1812
        : typeof so.port === 'number' && Number.isInteger(so.port) && so.port > 0 && so.port < 65536
          ? so.port
          : (src.error([...sp, 'port'], 'bad-port', 'port must be a UDP port number'), 1812);
    if (so.secret !== undefined)
      src.error(
        [...sp, 'secret'],
        'inline-secret',
        'a RADIUS secret is never written in the policy',
        'secretFile: radius.secret, or secretEnv: RADIUS_SECRET',
      );
    const secretFile = so.secretFile === undefined ? undefined : src.string([...sp, 'secretFile'], so.secretFile, 'secretFile');
    const secretEnv = so.secretEnv === undefined ? undefined : src.string([...sp, 'secretEnv'], so.secretEnv, 'secretEnv');
    if (secretEnv !== undefined && !/^[A-Z_][A-Z0-9_]*$/.test(secretEnv))
      src.error([...sp, 'secretEnv'], 'bad-value', `'${secretEnv}' is not an environment variable name`);
    if ((secretFile === undefined) === (secretEnv === undefined))
      src.error(sp, 'missing-field', 'a RADIUS server needs exactly one of secretFile or secretEnv');
    if (host) servers.push({ host, port, ...(secretFile ? { secretFile } : {}), ...(secretEnv ? { secretEnv } : {}), path: sp });
  });
  return servers;
}

function parsePortRules(src: YamlSource, p: Path, raw: unknown): PortAuthRule[] {
  const ports: PortAuthRule[] = [];
  src.list([...p, 'ports'], raw, 'ports').forEach((pv, i) => {
    const pp: Path = [...p, 'ports', i];
    const po = src.object(pp, pv, ['switch', 'ports', 'auth', 'maxDevices'], 'a port rule');
    if (!po) return;
    const sw = src.string([...pp, 'switch'], po.switch, 'switch');
    const auth = po.auth ?? 'dot1x';
    if (!PORT_AUTH.includes(auth as PortAuth))
      src.error(
        [...pp, 'auth'],
        'bad-value',
        `auth must be ${PORT_AUTH.join(', ')} (found '${String(auth)}')`,
        suggest(String(auth), PORT_AUTH),
      );
    let list: number[] | undefined;
    if (po.ports !== undefined && po.ports !== 'all') {
      const raw2 = Array.isArray(po.ports) ? po.ports : [po.ports];
      list = [];
      raw2.forEach((x, k) => {
        const m = typeof x === 'string' ? x.match(/^(\d+)-(\d+)$/) : null;
        if (m && Number(m[1]) <= Number(m[2]) && Number(m[2]) - Number(m[1]) < 4096)
          for (let n = Number(m[1]); n <= Number(m[2]); n++) list!.push(n);
        else if (typeof x === 'number' && Number.isInteger(x) && x > 0 && x < 0xffffff00) list!.push(x);
        else
          src.error(
            Array.isArray(po.ports) ? [...pp, 'ports', k] : [...pp, 'ports'],
            'bad-port',
            `'${String(x)}' is not a port number or range like 1-24`,
          );
      });
    }
    const maxDevices = po.maxDevices === undefined ? undefined : num(src, [...pp, 'maxDevices'], po.maxDevices, 1, 1, 4096, 'maxDevices');
    if (sw && PORT_AUTH.includes(auth as PortAuth))
      ports.push({
        switch: sw,
        ...(list ? { ports: list } : {}),
        auth: auth as PortAuth,
        ...(maxDevices !== undefined ? { maxDevices } : {}),
        path: pp,
      });
  });
  return ports;
}

export function parseAuthentication(src: YamlSource, raw: unknown): AuthPolicy | undefined {
  const p: Path = ['authentication'];
  const o = src.object(p, raw, KEYS, 'authentication');
  if (!o) return undefined;
  const r =
    o.radius === undefined ? undefined : src.object([...p, 'radius'], o.radius, ['servers', 'timeout', 'retries', 'deadTime'], 'radius');
  const servers = parseRadiusServers(src, p, r?.servers);
  const ports = parsePortRules(src, p, o.ports);
  const needsRadius = ports.some((x) => x.auth !== 'none');
  const mo =
    o.mab === undefined ? {} : (src.object([...p, 'mab'], o.mab, ['quietPeriod', 'source', 'groupAttribute', 'password'], 'mab') ?? {});
  const source = mo.source ?? 'radius';
  if (source !== 'radius' && source !== 'directory')
    src.error([...p, 'mab', 'source'], 'bad-value', "mab source must be 'radius' or 'directory'");
  if (needsRadius && !servers.length && (ports.some((x) => x.auth === 'dot1x' || x.auth === 'dot1x-then-mab') || source === 'radius'))
    src.error(
      [...p, 'radius'],
      'missing-field',
      'ports authenticate but no RADIUS server is listed',
      'radius: { servers: [{ host: 127.0.0.1, secretFile: radius.secret }] }',
    );
  const deviceGroups = o.deviceGroups === undefined ? [] : src.strings([...p, 'deviceGroups'], o.deviceGroups, 'deviceGroups');
  const fa =
    o.failureAlert === undefined ? {} : (src.object([...p, 'failureAlert'], o.failureAlert, ['count', 'within'], 'failureAlert') ?? {});
  const userAttribute =
    o.userAttribute === undefined ? 'User-Name' : (src.string([...p, 'userAttribute'], o.userAttribute, 'userAttribute') ?? 'User-Name');
  return {
    servers,
    timeoutMs: num(src, [...p, 'radius', 'timeout'], r?.timeout, 1000, 50, 60_000, 'timeout (ms)'),
    retries: num(src, [...p, 'radius', 'retries'], r?.retries, 2, 0, 10, 'retries'),
    deadTimeMs: num(src, [...p, 'radius', 'deadTime'], r?.deadTime, 10_000, 0, 3_600_000, 'deadTime (ms)'),
    ports,
    userAttribute,
    mab: {
      quietMs: num(src, [...p, 'mab', 'quietPeriod'], mo.quietPeriod, 3000, 0, 3_600_000, 'quietPeriod (ms)'),
      source: source === 'directory' ? 'directory' : 'radius',
      groupAttribute:
        mo.groupAttribute === undefined
          ? 'Filter-Id'
          : (src.string([...p, 'mab', 'groupAttribute'], mo.groupAttribute, 'groupAttribute') ?? 'Filter-Id'),
      ...(typeof mo.password === 'string' ? { password: mo.password } : {}),
    },
    deviceGroups,
    reauthSeconds: num(src, [...p, 'reauthPeriod'], o.reauthPeriod, 0, 0, 7 * 86400, 'reauthPeriod (s)'),
    eapolPerSecond: num(src, [...p, 'eapolRate'], o.eapolRate, 20, 1, 10_000, 'eapolRate (frames/s per port)'),
    failureAlert: {
      count: num(src, [...p, 'failureAlert', 'count'], fa.count, 5, 1, 10_000, 'count'),
      windowSeconds: num(src, [...p, 'failureAlert', 'within'], fa.within, 60, 1, 86_400, 'within (s)'),
    },
    conversationSeconds: num(src, [...p, 'conversationTimeout'], o.conversationTimeout, 30, 1, 600, 'conversationTimeout (s)'),
  };
}

/** Cross-file checks: switches and ports named exist; an authenticating port is not a link or a server port. */
export function checkAuthentication(src: YamlSource, a: AuthPolicy, topology: Topology): void {
  const switches = new Set(topology.switches.map((s) => s.name));
  const fixed = new Set([...topology.links.flatMap((l) => [l.a, l.b]), ...topology.servers].map((x) => `${x.switch}:${x.port}`));
  for (const r of a.ports) {
    if (!switches.has(r.switch)) {
      src.error([...r.path, 'switch'], 'unknown-switch', `unknown switch '${r.switch}'`, suggest(r.switch, switches));
      continue;
    }
    r.ports?.forEach((n, k) => {
      if (fixed.has(`${r.switch}:${n}`) && r.auth !== 'none')
        src.error(
          [...r.path, 'ports', k],
          'port-conflict',
          `${r.switch}:${n} is an inter-switch link or a server port; it cannot authenticate devices`,
        );
    });
  }
}

/** How one port authenticates (the last matching rule wins), or undefined when no rule names it. */
export function portAuth(a: AuthPolicy | undefined, topology: Topology, sw: string, port: number): PortAuthRule | undefined {
  if (!a) return undefined;
  let hit: PortAuthRule | undefined;
  for (const r of a.ports) {
    if (r.switch !== sw) continue;
    if (r.ports ? r.ports.includes(port) : !isFixedPort(topology, sw, port)) hit = r;
  }
  return hit && hit.auth !== 'none' ? hit : undefined;
}

export function isFixedPort(topology: Topology, sw: string, port: number): boolean {
  return (
    topology.links.some((l) => (l.a.switch === sw && l.a.port === port) || (l.b.switch === sw && l.b.port === port)) ||
    topology.servers.some((s) => s.switch === sw && s.port === port)
  );
}

/** The EAPOL meter (packets per second per switch); meter 1 is discovery, 2 deny samples. */
export const EAPOL_METER_ID = 3;

/**
 * Table-0 entries that send EAPOL from a switch's authenticating ports to the controller: one per listed port,
 * one without in_port for a rule covering all access ports, and a drop for a listed `none` port on such a switch.
 */
export function eapolEntries(a: AuthPolicy | undefined, sw: string): Array<{ port?: number; toController: boolean }> {
  if (!a) return [];
  const out = new Map<string, { port?: number; toController: boolean }>();
  let all = false;
  for (const r of a.ports) {
    if (r.switch !== sw) continue;
    if (!r.ports) {
      all = r.auth !== 'none';
      continue;
    }
    for (const n of r.ports) out.set(String(n), { port: n, toController: r.auth !== 'none' });
  }
  const list = [...out.values()].filter((e) => e.toController || all).sort((x, y) => x.port! - y.port!);
  return all ? [{ toController: true }, ...list] : list;
}
