/** Parsing and validation of topology.yaml: switches, links, hosts, servers, and the ports trusted for RA and DHCPv6. */
import type { Binding, Link, Server, SwitchDef, Topology } from './model.js';
import { YamlSource, suggest, type Path } from './yaml-source.js';
import { PROFILE_NAMES, isProfileName } from './profile.js';
import { normalizeMac, parseIpv4 } from './addr.js';
import { hostAddresses, ipv6List } from './input-addresses.js';
import { TOPOLOGY_KEYS } from './input-keys.js';
import { fail, finish, type Parsed } from './input-result.js';

export function parseTopologyText(text: string, file: string): Parsed<Topology> {
  const src = new YamlSource(file, text);
  if (src.value === undefined) return fail(src);
  const top = src.object([], src.value, TOPOLOGY_KEYS.top, 'the topology');
  if (!top) return fail(src);
  const switches: SwitchDef[] = [];
  const byName = new Set<string>();
  const dpids = new Map<bigint, string>();
  src.list(['switches'], top.switches, 'switches').forEach((sv, i) => {
    const sw = parseSwitch(src, ['switches', i], sv, byName, dpids);
    if (sw) switches.push(sw);
  });
  const ports = new Ports(src, byName);
  const links: Link[] = [];
  src.list(['links'], top.links, 'links').forEach((lv, i) => {
    const l = parseLink(ports, ['links', i], lv, i);
    if (l) links.push(l);
  });
  const hosts: Binding[] = [];
  src.list(['hosts'], top.hosts, 'hosts').forEach((hv, i) => {
    const h = parseHost(ports, ['hosts', i], hv);
    if (h) hosts.push(h);
  });
  const servers: Server[] = [];
  const serverNames = new Set<string>();
  src.list(['servers'], top.servers, 'servers').forEach((sv, i) => {
    const s = parseServer(ports, ['servers', i], sv, serverNames);
    if (s) servers.push(s);
  });
  return finish(src, { switches, links, hosts, servers, ...trustedPortBlocks(src, top, servers, ports) });
}

/** One entry of `switches:`; undefined (with errors) when it has no usable name or dpid. */
function parseSwitch(src: YamlSource, p: Path, sv: unknown, byName: Set<string>, dpids: Map<bigint, string>): SwitchDef | undefined {
  const o = src.object(p, sv, TOPOLOGY_KEYS.switch, 'a switch');
  if (!o) return;
  const name = src.string([...p, 'name'], o.name, 'switch name');
  if (!name) return;
  if (byName.has(name)) src.error([...p, 'name'], 'duplicate-name', `switch '${name}' is defined twice`);
  byName.add(name);
  let dpid: bigint | undefined;
  try {
    if (typeof o.dpid === 'number' && Number.isInteger(o.dpid) && o.dpid >= 0) dpid = BigInt(o.dpid);
    else if (typeof o.dpid === 'string' && /^(0x[0-9a-f]{1,16}|\d+|([0-9a-f]{2}:){7}[0-9a-f]{2})$/i.test(o.dpid))
      dpid = BigInt(o.dpid.includes(':') ? '0x' + o.dpid.replace(/:/g, '') : o.dpid);
  } catch {
    /* reported below */
  }
  if (dpid === undefined || dpid > 0xffffffffffffffffn) {
    src.error([...p, 'dpid'], 'bad-dpid', `switch '${name}' needs a dpid (a number, or hex like 0x10)`);
    return;
  }
  if (dpids.has(dpid)) src.error([...p, 'dpid'], 'duplicate-dpid', `dpid ${dpid} is also used by switch '${dpids.get(dpid)}'`);
  dpids.set(dpid, name);
  const kind = o.kind ?? 'edge';
  if (kind !== 'edge' && kind !== 'core' && kind !== 'hypervisor')
    src.error([...p, 'kind'], 'bad-kind', `kind must be edge, core or hypervisor (found '${String(kind)}')`);
  if (o.exclusive !== undefined && typeof o.exclusive !== 'boolean')
    src.error([...p, 'exclusive'], 'type', `exclusive must be true or false (found '${String(o.exclusive)}')`);
  if (o.profile !== undefined && !isProfileName(o.profile))
    src.error(
      [...p, 'profile'],
      'bad-profile',
      `profile must be one of ${PROFILE_NAMES.join(', ')} (found '${String(o.profile)}')`,
      suggest(String(o.profile), PROFILE_NAMES),
    );
  const tables = o.tables === undefined ? undefined : parseTables(src, [...p, 'tables'], o.tables);
  const zone = o.conntrack_zone;
  if (zone !== undefined && (typeof zone !== 'number' || !Number.isInteger(zone) || zone < 1 || zone > 65535))
    src.error([...p, 'conntrack_zone'], 'bad-zone', `conntrack_zone must be a whole number in 1..65535 (found '${String(zone)}')`);
  return {
    name,
    dpid,
    kind: kind as SwitchDef['kind'],
    ...(o.exclusive === true ? { exclusive: true } : {}),
    ...(isProfileName(o.profile) ? { profile: o.profile } : {}),
    ...(tables ? { tables } : {}),
    ...(typeof zone === 'number' ? { ctZone: zone } : {}),
    location: src.where(p),
  };
}

/** A switch's `tables:`: table number (0..254) to the most flows it holds. */
function parseTables(src: YamlSource, p: Path, v: unknown): Record<number, number> | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) {
    src.error(p, 'type', 'tables is a map of table number to the most flows it holds, e.g. { 0: 2000, 2: 4000 }');
    return undefined;
  }
  const tables: Record<number, number> = {};
  for (const [k, n] of Object.entries(v as Record<string, unknown>)) {
    if (!/^\d{1,3}$/.test(k) || Number(k) > 254) {
      src.error([...p, k], 'bad-table', `'${k}' is not a table number (0..254)`);
      continue;
    }
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 0xffffffff) {
      src.error([...p, k], 'bad-budget', `table ${k}: the budget must be a whole number of flows (0..4294967295), found '${String(n)}'`);
      continue;
    }
    tables[Number(k)] = n;
  }
  return tables;
}

/** switch:port references of a topology, and which ports links, hosts and servers already use. */
class Ports {
  readonly used = new Map<string, string>();
  constructor(
    readonly src: YamlSource,
    readonly byName: ReadonlySet<string>,
  ) {}

  /** `edge1:3` to a known switch and a port in range; undefined (with an error) otherwise. */
  ref(path: Path, v: unknown): { switch: string; port: number } | undefined {
    const { src, byName } = this;
    const m = typeof v === 'string' ? v.match(/^([^:\s]+):(\d+)$/) : null;
    if (!m) {
      src.error(path, 'bad-port', `'${String(v)}' is not switch:port`, 'write it as edge1:3');
      return undefined;
    }
    if (!byName.has(m[1])) {
      src.error(path, 'unknown-switch', `unknown switch '${m[1]}'`, suggest(m[1], byName));
      return undefined;
    }
    const port = Number(m[2]);
    if (port < 1 || port > 0xffffff00) {
      src.error(path, 'bad-port', `port ${port} is out of range`);
      return undefined;
    }
    return { switch: m[1], port };
  }

  /** Marks sw:port as used by `what`; a port used by something else is an error. */
  claim(path: Path, sw: string, port: number, what: string): void {
    const k = `${sw}:${port}`;
    if (this.used.has(k) && this.used.get(k) !== what) this.src.error(path, 'port-conflict', `${k} is already used by ${this.used.get(k)}`);
    this.used.set(k, what);
  }
}

function parseLink(ports: Ports, p: Path, lv: unknown, i: number): Link | undefined {
  const src = ports.src;
  if (!Array.isArray(lv) || lv.length !== 2) {
    src.error(p, 'bad-link', 'a link is a pair [switch:port, switch:port]');
    return;
  }
  const a = ports.ref([...p, 0], lv[0]);
  const b = ports.ref([...p, 1], lv[1]);
  if (a && b) {
    ports.claim([...p, 0], a.switch, a.port, `link ${i}`);
    ports.claim([...p, 1], b.switch, b.port, `link ${i}`);
    return { a, b };
  }
  return undefined;
}

function parseHost(ports: Ports, p: Path, hv: unknown): Binding | undefined {
  const { src, byName } = ports;
  const o = src.object(p, hv, TOPOLOGY_KEYS.host, 'a host');
  if (!o) return;
  const mac = typeof o.mac === 'string' ? normalizeMac(o.mac) : undefined;
  if (!mac) {
    src.error([...p, 'mac'], 'bad-mac', `'${String(o.mac ?? '')}' is not a MAC address`);
    return;
  }
  const sw = src.string([...p, 'switch'], o.switch, 'switch');
  if (sw && !byName.has(sw)) {
    src.error([...p, 'switch'], 'unknown-switch', `unknown switch '${sw}'`, suggest(sw, byName));
    return;
  }
  const port = typeof o.port === 'number' && Number.isInteger(o.port) && o.port > 0 ? o.port : undefined;
  if (!port) {
    src.error([...p, 'port'], 'bad-port', 'port must be a positive whole number');
    return;
  }
  const addrs = hostAddresses(src, p, o);
  if (!addrs) return;
  // several hosts may share a port (a phone with a PC behind it, an access point); a link or server may not
  if (sw) {
    ports.claim(p, sw, port, 'hosts');
    return addrs.ipv6 ? { mac, ip: addrs.v4, ipv6: addrs.ipv6, switch: sw, port } : { mac, ip: addrs.v4, switch: sw, port };
  }
  return undefined;
}

function parseServer(ports: Ports, p: Path, sv: unknown, serverNames: Set<string>): Server | undefined {
  const { src, byName } = ports;
  const o = src.object(p, sv, TOPOLOGY_KEYS.server, 'a server');
  if (!o) return;
  const name = src.string([...p, 'name'], o.name, 'server name');
  const mac = typeof o.mac === 'string' ? normalizeMac(o.mac) : undefined;
  if (!mac) src.error([...p, 'mac'], 'bad-mac', `'${String(o.mac ?? '')}' is not a MAC address`);
  const ip = o.ip === undefined ? undefined : String(o.ip),
    sipv6 = ipv6List(src, [...p, 'ipv6'], o.ipv6);
  if (!ip || parseIpv4(ip) === undefined) src.error([...p, 'ip'], 'bad-address', `'${String(o.ip ?? '')}' is not an IPv4 address`);
  const sw = src.string([...p, 'switch'], o.switch, 'switch');
  if (sw && !byName.has(sw)) src.error([...p, 'switch'], 'unknown-switch', `unknown switch '${sw}'`, suggest(sw, byName));
  const port = typeof o.port === 'number' && Number.isInteger(o.port) && o.port > 0 ? o.port : undefined;
  if (!port) src.error([...p, 'port'], 'bad-port', 'port must be a positive whole number');
  if (!name || !mac || !ip || parseIpv4(ip) === undefined || !sw || !byName.has(sw) || !port || (o.ipv6 !== undefined && !sipv6)) return;
  if (serverNames.has(name)) src.error([...p, 'name'], 'duplicate-name', `server '${name}' is defined twice`);
  serverNames.add(name);
  ports.claim(p, sw, port, `server ${name}`);
  return { name, mac, ip, ...(sipv6 ? { ipv6: sipv6 } : {}), switch: sw, port, location: src.where(p) };
}

/** `routers:` / `dhcpv6:` of a topology: server names or switch:port, never an inter-switch link. */
function trustedPorts(
  src: YamlSource,
  top: Record<string, unknown>,
  key: 'routers' | 'dhcpv6',
  servers: readonly Server[],
  ports: Ports,
): Array<{ switch: string; port: number }> | undefined {
  if (top[key] === undefined) return undefined;
  const out: { switch: string; port: number }[] = [];
  src.strings([key], top[key], key).forEach((t, i) => {
    const server = servers.find((x) => x.name === t);
    if (server) {
      out.push({ switch: server.switch, port: server.port });
      return;
    }
    const r = ports.ref([key, i], t);
    if (!r) return;
    if (ports.used.get(`${r.switch}:${r.port}`)?.startsWith('link')) {
      src.error([key, i], 'link-port', `${t} is an inter-switch link: name the router's or server's own port`);
      return;
    }
    out.push(r);
  });
  return out;
}

/** `routers:` and `dhcpv6:` (IPv6 RA guard, DHCPv6 trust), present only when written. */
function trustedPortBlocks(
  src: YamlSource,
  top: Record<string, unknown>,
  servers: readonly Server[],
  ports: Ports,
): Pick<Topology, 'routers' | 'dhcpv6'> {
  const routers = trustedPorts(src, top, 'routers', servers, ports),
    dhcpv6 = trustedPorts(src, top, 'dhcpv6', servers, ports);
  return { ...(routers ? { routers } : {}), ...(dhcpv6 ? { dhcpv6 } : {}) };
}
