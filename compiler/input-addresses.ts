/** Addresses of devices, hosts and servers in the directory and topology files: IPv4 under `ip:`, IPv6 under `ipv6:` (or `ip:`). */
import { parseIpv4 } from './addr.js';
import { checkIpv6, ipv6Canonical } from './ipv6.js';
import type { YamlSource, Path } from './yaml-source.js';

/**
 * `ipv6:` of a device, host or server: one address or a list, each checked with the reference parser; canonical
 * texts. An IPv6 address written under `ip:` is taken as one of them.
 */
export function ipv6List(src: YamlSource, path: Path, v: unknown, fromIp?: string): string[] | undefined {
  if (v === undefined && fromIp === undefined) return undefined; // the usual IPv4-only entry, at once
  const out: string[] = [];
  if (fromIp !== undefined) {
    const r = checkIpv6(fromIp);
    if (!('error' in r)) out.push(ipv6Canonical(r.addr));
  }
  if (v === undefined) return out.length ? out : undefined;
  const list = Array.isArray(v) ? v : [v];
  if (!list.length) {
    src.error(path, 'bad-address', 'ipv6 needs at least one address (or leave it out)');
    return undefined;
  }
  if (list.length > 16) {
    src.error(path, 'bad-address', `at most 16 IPv6 addresses per device (found ${list.length})`);
    return undefined;
  }
  let ok = true;
  list.forEach((x, i) => {
    const at: Path = Array.isArray(v) ? [...path, i] : path;
    if (typeof x !== 'string') {
      src.error(at, 'bad-address', `'${String(x)}' is not an IPv6 address`, 'write it as 2001:db8::10');
      ok = false;
      return;
    }
    const r = checkIpv6(x);
    if ('error' in r) {
      src.error(at, 'bad-address', r.error, 'write it as 2001:db8::10');
      ok = false;
      return;
    }
    if (r.addr === 0n || r.addr >> 120n === 0xffn) {
      src.error(at, 'bad-address', `'${x}' cannot be a device's own address (unspecified or multicast)`);
      ok = false;
      return;
    }
    const c = ipv6Canonical(r.addr);
    if (!out.includes(c)) out.push(c);
  });
  return ok ? out : undefined;
}

/** An IPv4 address under `ip:`, or an IPv6 one (which joins `ipv6:`); undefined + error otherwise. */
export function ipField(v: unknown): { v4?: string; v6?: string; bad?: true } {
  const t = String(v).trim();
  if (parseIpv4(t) !== undefined) return { v4: t };
  if (t.includes(':') && !('error' in checkIpv6(t))) return { v6: t };
  return { bad: true };
}

/** A topology host's `ip:` (IPv4, or IPv6 joining `ipv6:`) and `ipv6:`; undefined after an error. */
export function hostAddresses(src: YamlSource, p: Path, o: Record<string, unknown>): { v4?: string; ipv6?: string[] } | undefined {
  const hf = o.ip === undefined ? {} : ipField(o.ip);
  if (hf.bad) {
    src.error([...p, 'ip'], 'bad-address', `'${String(o.ip)}' is not an IPv4 address`);
    return undefined;
  }
  const ipv6 = o.ipv6 === undefined && hf.v6 === undefined ? undefined : ipv6List(src, [...p, 'ipv6'], o.ipv6, hf.v6);
  if (o.ipv6 !== undefined && !ipv6) return undefined;
  return ipv6 ? { v4: hf.v4, ipv6 } : { v4: hf.v4 };
}
