/**
 * First contact: what a device may do before it has an address and an identity, as policy and as table-0 flows.
 *
 *   dhcp:
 *     servers: [dhcp1, "edge2:9"]     # topology servers or switch:port — the only trusted sources of DHCP replies
 *     clientRate: 10                  # DHCP client messages per second accepted from one port (the controller's limit)
 *   unauthenticated:
 *     to: [signin, dns]               # resources a device with an address but no login may reach (default: none)
 *   signin: { … }                     # the web sign-in page (edge/signin.ts validates the details)
 *   roaming:
 *     conflict: deny-both             # a MAC seen on two ports at once: admitted on neither (default) | newest
 *
 * Pure: values in, values out. Without a `dhcp:` block no flow changes (today's plans stay identical).
 */
import type { Instruction, OxmEntry } from '../openflow/types.js';
import { OFPP } from '../openflow/types.js';
import { OFPCML_NO_BUFFER } from '../openflow/constants.js';
import type { Diagnostic, PlannedFlow, SourceLocation, SwitchDef, Topology } from './model.js';
import type { YamlSource, Path } from './yaml-source.js';
import { suggest } from './yaml-source.js';
import { TABLE } from './pipeline.js';

/** The built-in role of a device that holds an address but has not logged in. */
export const UNAUTHENTICATED_ROLE = 'unauthenticated';
/** The built-in role of a guest admitted by a voucher. */
export const GUEST_ROLE = 'guest';
export const BUILTIN_ROLES: readonly string[] = [UNAUTHENTICATED_ROLE, GUEST_ROLE];

export interface DhcpServerRef {
  readonly text: string;
  readonly server?: string;
  readonly switch?: string;
  readonly port?: number;
  readonly location: SourceLocation;
}

export interface DhcpPolicy {
  readonly servers: readonly DhcpServerRef[];
  /** DHCP client messages per second per port the controller forwards (more are dropped and counted). */
  readonly clientRate: number;
  readonly location: SourceLocation;
}

/** IPv6 address learning (`ipv6:` in policy.yaml): ND/DAD and DHCPv6 snooping. */
export interface Ipv6LearningPolicy {
  readonly nd: boolean;
  readonly dhcpv6: boolean;
  /** Most IPv6 addresses one device holds on its port (pending DAD probes count). */
  readonly maxAddresses: number;
  /** An ND-learned address ends this long after it was learned (s), unless probed for again. */
  readonly lifetimeSeconds: number;
  /** ND and DHCPv6 messages per port and second the controller looks at. */
  readonly rate: number;
  readonly location: SourceLocation;
}

export interface FirstContactPolicy {
  readonly dhcp?: DhcpPolicy;
  readonly ipv6?: Ipv6LearningPolicy;
  readonly unauthenticated?: { readonly to: readonly string[]; readonly location: SourceLocation };
  /** The web sign-in page. */
  readonly signin?: SigninPolicy;
  readonly roaming: { readonly conflict: 'deny-both' | 'newest' };
}

export interface SigninPolicy {
  readonly host: string;
  readonly port: number;
  /** PEM files (relative to the policy) for HTTPS; both or neither. */
  readonly certificate?: string;
  readonly key?: string;
  /** An `ldap:` block of its own (same shape as directory.ldap); absent = the directory's LDAP connection. */
  readonly ldap?: unknown;
  /** How passwords are checked: an LDAP bind as the user (default) or RADIUS PAP against `authentication.radius`. */
  readonly check: 'ldap' | 'radius';
  /** Guest vouchers (role `guest`) are accepted on the page. */
  readonly vouchers: boolean;
  readonly sessionMs: number;
  readonly maxFailures: number;
  readonly lockoutMs: number;
  readonly requestsPerMinute: number;
  readonly title?: string;
  readonly location: SourceLocation;
}

const SIGNIN_KEYS = [
  'listen',
  'certificate',
  'key',
  'ldap',
  'check',
  'vouchers',
  'sessionTime',
  'maxFailures',
  'lockout',
  'requestsPerMinute',
  'title',
  'description',
];

/** "8h", "15m", "30s", "500ms" or a number of seconds → ms. */
export function parseDurationMs(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v * 1000;
  if (typeof v !== 'string') return undefined;
  const m = v.trim().match(/^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/);
  if (!m) return undefined;
  const n = Number(m[1]);
  return n * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const)[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h' | 'd'];
}

function parseSignin(src: YamlSource, raw: unknown, directoryIsLdap: boolean): SigninPolicy | undefined {
  const o = src.object(['signin'], raw, SIGNIN_KEYS, 'signin');
  if (!o) return undefined;
  const at = (k: string): Path => ['signin', k];
  let host = '',
    port = 0;
  const l =
    typeof o.listen === 'string' ? o.listen.trim().match(/^(\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/) : null;
  if (!l || Number(l[2]) > 65535)
    src.error(
      at('listen'),
      o.listen === undefined ? 'missing-field' : 'bad-value',
      'listen must be host:port, the address the page is served on (reachable from the access network)',
      'listen: 10.0.9.1:8443',
    );
  else {
    host = l[1].replace(/^\[|\]$/g, '');
    port = Number(l[2]);
  }
  const file = (k: 'certificate' | 'key') => {
    if (o[k] === undefined) return undefined;
    if (typeof o[k] !== 'string' || !o[k].trim()) {
      src.error(at(k), 'type', `${k} must be a file name (PEM)`);
      return undefined;
    }
    return o[k].trim();
  };
  const certificate = file('certificate'),
    key = file('key');
  if ((certificate === undefined) !== (key === undefined))
    src.error(['signin'], 'missing-field', 'HTTPS needs both certificate and key', undefined, true);
  let check: 'ldap' | 'radius' = 'ldap';
  if (o.check !== undefined) {
    if (o.check === 'ldap' || o.check === 'radius') check = o.check;
    else
      src.error(
        at('check'),
        'bad-value',
        'check must be ldap (a bind as the user) or radius (PAP against authentication.radius)',
        'check: radius',
      );
  }
  if (o.vouchers !== undefined && typeof o.vouchers !== 'boolean') src.error(at('vouchers'), 'type', 'vouchers must be true or false');
  if (check === 'ldap' && o.ldap === undefined && !directoryIsLdap)
    src.error(
      ['signin'],
      'missing-field',
      'sign-in checks passwords by an LDAP bind: give signin an ldap: block (url, baseDn, …) or use an LDAP directory',
      undefined,
      true,
    );
  const dur = (k: string, d: number, min: number) => {
    if (o[k] === undefined) return d;
    const ms = parseDurationMs(o[k]);
    if (ms === undefined || ms < min) {
      src.error(at(k), 'bad-value', `${k} must be a duration such as 8h, 15m or 30s (at least ${min / 1000} s)`);
      return d;
    }
    return ms;
  };
  const int = (k: string, d: number, lo: number, hi: number) => {
    if (o[k] === undefined) return d;
    if (typeof o[k] !== 'number' || !Number.isInteger(o[k]) || o[k] < lo || o[k] > hi) {
      src.error(at(k), 'bad-value', `${k} must be a whole number, ${lo}..${hi}`);
      return d;
    }
    return o[k];
  };
  return {
    host,
    port,
    certificate,
    key,
    ldap: o.ldap,
    check,
    vouchers: o.vouchers === true,
    sessionMs: dur('sessionTime', 8 * 3_600_000, 60_000),
    maxFailures: int('maxFailures', 5, 1, 100),
    lockoutMs: dur('lockout', 15 * 60_000, 1000),
    requestsPerMinute: int('requestsPerMinute', 60, 5, 100_000),
    title: typeof o.title === 'string' ? o.title.slice(0, 100) : undefined,
    location: src.where(['signin'], true),
  };
}

export const FIRST_CONTACT_KEYS = ['dhcp', 'unauthenticated', 'signin', 'roaming', 'ipv6'];

/** `ipv6: { learn: [nd, dhcpv6], maxAddresses, lifetime, rate }`: how devices' IPv6 addresses are learned. */
function parseIpv6Learning(src: YamlSource, raw: unknown): Ipv6LearningPolicy | undefined {
  const o = src.object(['ipv6'], raw, ['learn', 'maxAddresses', 'lifetime', 'rate', 'description'], 'ipv6');
  if (!o) return undefined;
  const learn = src.strings(['ipv6', 'learn'], o.learn, 'learn');
  learn.forEach((l, i) => {
    if (l !== 'nd' && l !== 'dhcpv6')
      src.error(
        Array.isArray(o.learn) ? ['ipv6', 'learn', i] : ['ipv6', 'learn'],
        'bad-value',
        `'${l}': learn takes nd and dhcpv6`,
        'learn: [nd, dhcpv6]',
      );
  });
  const int = (k: string, d: number, lo: number, hi: number) => {
    if (o[k] === undefined) return d;
    if (typeof o[k] !== 'number' || !Number.isInteger(o[k]) || o[k] < lo || o[k] > hi) {
      src.error(['ipv6', k], 'bad-value', `${k} must be a whole number, ${lo}..${hi}`);
      return d;
    }
    return o[k];
  };
  let lifetimeSeconds = 86_400;
  if (o.lifetime !== undefined) {
    const ms = parseDurationMs(o.lifetime);
    if (ms === undefined || ms < 60_000 || ms > 7 * 86_400_000)
      src.error(['ipv6', 'lifetime'], 'bad-value', 'lifetime must be a duration from 1m to 7d, such as 24h');
    else lifetimeSeconds = Math.round(ms / 1000);
  }
  return {
    nd: learn.includes('nd'),
    dhcpv6: learn.includes('dhcpv6'),
    maxAddresses: int('maxAddresses', 8, 1, 64),
    lifetimeSeconds,
    rate: int('rate', 10, 1, 1000),
    location: src.where(['ipv6'], true),
  };
}

/**
 * Table-0 instructions of DHCPv6 from a trusted server port ('server') or a client ('client'): with DHCPv6
 * learning, a server's reply goes on and a full copy goes to the controller; a client's message goes to the
 * controller only (metered), which checks and forwards it. Without it, `fwd`.
 */
export function dhcpv6Instructions(fc: FirstContactPolicy | undefined, from: 'server' | 'client', fwd: Instruction[]): Instruction[] {
  if (!fc?.ipv6?.dhcpv6) return fwd;
  return from === 'server'
    ? [toController(OFPCML_NO_BUFFER), ...fwd]
    : [{ type: 'meter', meterId: PUNT_METER }, toController(OFPCML_NO_BUFFER)];
}

/** Reads the first-contact blocks of a policy's top level; errors go to `src` with their locations. */
export function parseFirstContact(src: YamlSource, top: Record<string, unknown>, resourceNames: ReadonlySet<string>): FirstContactPolicy {
  let dhcp: DhcpPolicy | undefined;
  if (top.dhcp !== undefined) {
    const o = src.object(['dhcp'], top.dhcp, ['servers', 'clientRate', 'description'], 'dhcp');
    if (o) {
      const servers: DhcpServerRef[] = src.strings(['dhcp', 'servers'], o.servers, 'dhcp servers').map((t, i) => {
        const location = src.where(['dhcp', 'servers', i]);
        const m = t.match(/^([^:\s]+):(\d+)$/);
        if (m) {
          const port = Number(m[2]);
          if (!Number.isInteger(port) || port < 1 || port > 0xffffff00)
            src.error(['dhcp', 'servers', i], 'bad-port', `'${t}': port must be 1..4294967040`);
          return { text: t, switch: m[1], port, location };
        }
        return { text: t, server: t, location };
      });
      if (!servers.length)
        src.error(
          ['dhcp'],
          'missing-field',
          'dhcp needs at least one trusted server',
          'servers: [dhcp1] (a topology server) or ["edge1:9"] (switch:port)',
        );
      let clientRate = 10;
      if (o.clientRate !== undefined) {
        if (typeof o.clientRate !== 'number' || !Number.isInteger(o.clientRate) || o.clientRate < 1 || o.clientRate > 1000)
          src.error(['dhcp', 'clientRate'], 'bad-value', 'clientRate must be a whole number of messages per second, 1..1000');
        else clientRate = o.clientRate;
      }
      dhcp = { servers, clientRate, location: src.where(['dhcp'], true) };
    }
  }
  let unauthenticated: FirstContactPolicy['unauthenticated'];
  if (top.unauthenticated !== undefined) {
    const o = src.object(['unauthenticated'], top.unauthenticated, ['to', 'description'], 'unauthenticated');
    if (o) {
      const to = src.strings(['unauthenticated', 'to'], o.to, 'to');
      to.forEach((r, k) => {
        if (!resourceNames.has(r))
          src.error(
            Array.isArray(o.to) ? ['unauthenticated', 'to', k] : ['unauthenticated', 'to'],
            'unknown-resource',
            `unknown resource '${r}'`,
            suggest(r, resourceNames),
          );
      });
      if (!dhcp)
        src.error(
          ['unauthenticated'],
          'needs-dhcp',
          'an unauthenticated state needs DHCP snooping: declare the trusted servers under dhcp:',
          undefined,
          true,
        );
      unauthenticated = { to, location: src.where(['unauthenticated'], true) };
    }
  }
  let roaming: FirstContactPolicy['roaming'] = { conflict: 'deny-both' };
  if (top.roaming !== undefined) {
    const o = src.object(['roaming'], top.roaming, ['conflict'], 'roaming');
    if (o && o.conflict !== undefined) {
      if (o.conflict !== 'deny-both' && o.conflict !== 'newest')
        src.error(
          ['roaming', 'conflict'],
          'bad-value',
          "conflict must be 'deny-both' (a MAC on two ports at once is admitted on neither) or 'newest'",
        );
      else roaming = { conflict: o.conflict };
    }
  }
  const directoryIsLdap = !!top.directory && typeof top.directory === 'object' && 'ldap' in top.directory;
  const signin = top.signin !== undefined ? parseSignin(src, top.signin, directoryIsLdap) : undefined;
  const ipv6 = top.ipv6 !== undefined ? parseIpv6Learning(src, top.ipv6) : undefined;
  return { dhcp, unauthenticated, signin, roaming, ...(ipv6 ? { ipv6 } : {}) };
}

/** Cross-file check: trusted DHCP servers must name topology servers or switches. */
export function checkFirstContact(fc: FirstContactPolicy | undefined, topology: Topology, src: YamlSource): Diagnostic[] {
  const before = src.diagnostics.length;
  if (fc?.dhcp) {
    const servers = new Set(topology.servers.map((s) => s.name));
    const switches = new Set(topology.switches.map((s) => s.name));
    const links = new Set(topology.links.flatMap((l) => [`${l.a.switch}:${l.a.port}`, `${l.b.switch}:${l.b.port}`]));
    fc.dhcp.servers.forEach((r, i) => {
      const p: Path = ['dhcp', 'servers', i];
      if (r.server !== undefined && !servers.has(r.server))
        src.error(
          p,
          'unknown-server',
          `'${r.server}' is not a server in the topology`,
          suggest(r.server, servers) ?? 'or write switch:port',
        );
      if (r.switch !== undefined && !switches.has(r.switch))
        src.error(p, 'unknown-switch', `unknown switch '${r.switch}'`, suggest(r.switch, switches));
      if (r.switch !== undefined && links.has(`${r.switch}:${r.port}`))
        src.error(p, 'link-port', `${r.text} is an inter-switch link: trust the server's own port instead`);
    });
  }
  return src.diagnostics.slice(before);
}

/** Trusted DHCP server ports per switch. */
export function trustedDhcpPorts(fc: FirstContactPolicy | undefined, topology: Topology): Map<string, number[]> {
  const out = new Map<string, number[]>();
  if (!fc?.dhcp) return out;
  const add = (sw: string, port: number) => {
    const l = out.get(sw) ?? [];
    if (!l.includes(port)) l.push(port);
    out.set(sw, l);
  };
  for (const r of fc.dhcp.servers) {
    if (r.server !== undefined) {
      const s = topology.servers.find((x) => x.name === r.server);
      if (s) add(s.switch, s.port);
    } else if (r.switch !== undefined && r.port !== undefined) add(r.switch, r.port);
  }
  for (const l of out.values()) l.sort((a, b) => a - b);
  return out;
}

export const FIRST_CONTACT_PRIORITY = { serverReply: 160, linkDhcp: 160, untrustedReply: 150, client: 150, arpProbe: 140 } as const;

/** The meter every packet sent to the controller goes through (the discovery meter). */
export const PUNT_METER = 1;
const IP: OxmEntry = { field: 'eth_type', value: 0x0800 };
const UDP: OxmEntry = { field: 'ip_proto', value: 17 };
const ARP: OxmEntry = { field: 'eth_type', value: 0x0806 };
const toController = (maxLen: number): Instruction => ({
  type: 'apply_actions',
  actions: [{ type: 'output', port: OFPP.CONTROLLER, maxLen }],
});
const GOTO_FORWARD: Instruction = { type: 'goto_table', tableId: TABLE.forward };

/**
 * Table-0 flows of one switch for DHCP snooping and first contact (none without a `dhcp:` block):
 * - trusted server ports: replies (udp 67→68) go on and a full copy goes to the controller (it learns the lease);
 * - inter-switch links: DHCP in both directions passes (each edge switch has already checked it);
 * - any other port: replies are sent to the controller (metered) only — dropped there, counted and alerted;
 *   client messages (udp 68→67) go to the controller (metered) only: it checks them (chaddr = source MAC, rate
 *   per port) and forwards the good ones itself;
 * - ARP probes (sender 0.0.0.0) for an offered address pass (metered).
 */
export function firstContactFlows(
  fc: FirstContactPolicy | undefined,
  sw: SwitchDef,
  trusted: ReadonlyMap<string, readonly number[]>,
  linkPorts: readonly number[],
  make: (tableId: number, priority: number, match: OxmEntry[], instructions: Instruction[], origin: string) => PlannedFlow,
): PlannedFlow[] {
  if (!fc?.dhcp) return [];
  const P = FIRST_CONTACT_PRIORITY;
  const out: PlannedFlow[] = [];
  const reply: OxmEntry[] = [IP, UDP, { field: 'udp_src', value: 67 }, { field: 'udp_dst', value: 68 }];
  const request: OxmEntry[] = [IP, UDP, { field: 'udp_src', value: 68 }, { field: 'udp_dst', value: 67 }];
  for (const port of trusted.get(sw.name) ?? []) {
    out.push(
      make(
        TABLE.classify,
        P.serverReply,
        [{ field: 'in_port', value: port }, ...reply],
        [toController(OFPCML_NO_BUFFER), GOTO_FORWARD],
        'dhcp:trusted-server',
      ),
    );
  }
  for (const port of linkPorts) {
    out.push(make(TABLE.classify, P.linkDhcp, [{ field: 'in_port', value: port }, ...reply], [GOTO_FORWARD], 'dhcp:link'));
    out.push(make(TABLE.classify, P.linkDhcp, [{ field: 'in_port', value: port }, ...request], [GOTO_FORWARD], 'dhcp:link'));
  }
  out.push(
    make(
      TABLE.classify,
      P.untrustedReply,
      [IP, UDP, { field: 'udp_src', value: 67 }],
      [{ type: 'meter', meterId: PUNT_METER }, toController(128)],
      'dhcp:untrusted-server',
    ),
  );
  out.push(
    make(TABLE.classify, P.client, request, [{ type: 'meter', meterId: PUNT_METER }, toController(OFPCML_NO_BUFFER)], 'dhcp:client'),
  );
  out.push(
    make(
      TABLE.classify,
      P.arpProbe,
      [ARP, { field: 'arp_spa', value: '0.0.0.0' }],
      [{ type: 'meter', meterId: PUNT_METER }, GOTO_FORWARD],
      'arp:probe',
    ),
  );
  return out;
}
