/**
 * Who may speak for a datapath id. A second connection claiming the dpid of a connected switch does not displace
 * it: the live session is asked first (an echo); only a session that does not answer is replaced, otherwise the
 * newcomer is refused. Optionally (TLS), the peer certificate must name the switch: its CN or a DNS SAN equal to
 * the switch's name, or its dpid (as 0x + 16 hex digits, 16 hex digits, or decimal).
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { SwitchSession } from './session.js';

/** Asks the live session for an echo; resolves 'keep' when it answers within `timeoutMs`, else 'replace'. */
export async function contest(live: SwitchSession, timeoutMs: number): Promise<'keep' | 'replace'> {
  if (live.state !== 'ready') return 'replace';
  try {
    await live.request({ type: 'echo_request', xid: live.xid(), data: Buffer.from('acl-liveness') }, timeoutMs);
    return live.state === 'ready' ? 'keep' : 'replace';
  } catch {
    return 'replace';
  }
}

/** Names in a peer certificate: subject CN and DNS/IP subjectAltNames. */
export function certificateNames(sock: Socket): string[] {
  const t = sock as TLSSocket;
  if (typeof t.getPeerCertificate !== 'function') return [];
  const c = t.getPeerCertificate();
  if (!c || !Object.keys(c).length) return [];
  const names: string[] = [];
  const cn = (c.subject as Record<string, string | string[]> | undefined)?.CN;
  if (cn) names.push(...[cn].flat());
  for (const part of (c.subjectaltname ?? '').split(/,\s*/)) {
    const m = part.match(/^(?:DNS|IP Address):(.+)$/);
    if (m) names.push(m[1]);
  }
  return names;
}

/** Undefined when the certificate names this switch; otherwise why not. */
export function certificateMismatch(sock: Socket, dpid: bigint, switchName: string | undefined): string | undefined {
  const names = certificateNames(sock);
  const hex = dpid.toString(16).padStart(16, '0');
  const ok = new Set([`0x${hex}`, hex, dpid.toString(), ...(switchName ? [switchName.toLowerCase()] : [])]);
  if (names.some((n) => ok.has(n.toLowerCase()))) return undefined;
  return names.length
    ? `certificate names ${names.join(', ')}, not switch ${switchName ?? '(unknown)'} / dpid 0x${hex}`
    : `no peer certificate names switch ${switchName ?? '(unknown)'} / dpid 0x${hex}`;
}
