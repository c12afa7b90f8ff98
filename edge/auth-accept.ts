/**
 * What an Access-Accept means (edge/authenticator.ts): who logged in, and the session it makes. Pure functions of
 * the Accept, the policy's `authentication:` block and the conversation that led to it.
 */
import type { AuthPolicy } from '../compiler/auth.js';
import { EAP_TYPE } from './eapol.js';
import type { RadiusAnswer } from './radius.js';
import type { LiveSession } from './sessions.js';

/**
 * Methods whose inner credential is checked against the EAP identity itself: after an Accept for one of them the
 * identity is the account that was proven. In tunneled methods (PEAP, TTLS, FAST, TEAP) and EAP-TLS the outer
 * identity is whatever the supplicant chose to say ("anonymous", or someone else's name); only RADIUS knows who
 * authenticated, so the Accept must name the user (User-Name, or the configured attribute).
 */
const IDENTITY_IS_PROVEN: ReadonlySet<number> = new Set([EAP_TYPE.md5, EAP_TYPE.otp, EAP_TYPE.gtc, EAP_TYPE.mschapv2]);

export type Accepted = Extract<RadiusAnswer, { ok: true }>;

/** The conversation an Accept ends (the parts of it that matter here). */
export interface AcceptedConversation {
  readonly sw: string;
  readonly port: number;
  readonly mac: string;
  readonly method: 'dot1x' | 'mab';
  readonly identity?: string;
  readonly eapTypes?: ReadonlySet<number>;
  readonly reauth: boolean;
}

export type Who = { ok: true; user?: string; deviceGroup?: string } | { ok: false; reason: string; user?: string };

/** An attribute of the Accept as text (undefined when absent). */
export function attrText(ans: Accepted, name: string): string | undefined {
  const v = ans.attributes[name];
  if (v === undefined || v === null) return undefined;
  return Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
}

/**
 * Who an Accept admits: a directory user, or (MAB) a device group. Refused ({ok:false}) when that is not certain:
 * two User-Names, a tunnel's outer identity only, a user not in the directory.
 */
export function whoLoggedIn(
  c: AcceptedConversation,
  ans: Accepted,
  cfg: AuthPolicy | undefined,
  dir: { knownUser(id: string): boolean; deviceOwner(mac: string): string | undefined },
): Who {
  let user: string | undefined;
  let deviceGroup: string | undefined;
  if (c.method === 'mab') {
    const g = attrText(ans, cfg?.mab.groupAttribute ?? 'Filter-Id');
    if (g && cfg?.deviceGroups.includes(g)) deviceGroup = g;
    else user = dir.deviceOwner(c.mac) ?? (cfg?.userAttribute !== 'User-Name' ? attrText(ans, cfg!.userAttribute) : undefined);
  } else {
    user = attrText(ans, cfg?.userAttribute ?? 'User-Name');
    // two different User-Names (a tunnel's outer identity added next to the inner one): which one logged in is
    // not certain, so nobody did
    if ((cfg?.userAttribute ?? 'User-Name') === 'User-Name' && new Set(ans.userNames ?? []).size > 1)
      return { ok: false, reason: 'ambiguous-user' };
    if (user === undefined) {
      // no name in the Accept: the EAP identity only when the method proved it (EAP-MD5 …), never a tunnel's outer one
      const types = [...(c.eapTypes ?? [])];
      if (types.length > 0 && types.every((t) => IDENTITY_IS_PROVEN.has(t))) user = c.identity;
      else return { ok: false, reason: 'no-identity' };
    }
  }
  if (user !== undefined && !dir.knownUser(user)) return { ok: false, reason: 'unknown-user', user };
  if (user === undefined && deviceGroup === undefined) return { ok: false, reason: 'no-identity' };
  return { ok: true, user, deviceGroup };
}

export type NewSession = Omit<LiveSession, 'id' | 'since'> & { id?: string; since?: string };

/**
 * The session an Accept makes. A re-authentication on the same port keeps the session's id and start (it renews,
 * it does not interrupt); Session-Timeout (or the policy's reauthSeconds) sets when it ends and when re-authentication starts (80%).
 */
export function sessionFrom(
  c: AcceptedConversation,
  ans: Accepted,
  cfg: AuthPolicy | undefined,
  who: { user?: string; deviceGroup?: string },
  prev: LiveSession | undefined,
  now: number,
): NewSession {
  const timeout = Number(ans.attributes['Session-Timeout'] ?? 0) || (cfg?.reauthSeconds ?? 0);
  const ip = attrText(ans, 'Framed-IP-Address');
  const cls = attrText(ans, 'Class');
  return {
    ...(prev && prev.switch === c.sw && prev.port === c.port && c.reauth ? { id: prev.id, since: prev.since } : {}),
    mac: c.mac,
    switch: c.sw,
    port: c.port,
    method: c.method,
    ...(who.user !== undefined ? { user: who.user } : {}),
    ...(who.deviceGroup !== undefined ? { deviceGroup: who.deviceGroup } : {}),
    ...(ip && /^\d+\.\d+\.\d+\.\d+$/.test(ip) ? { ip } : {}),
    ...(timeout > 0
      ? { expires: new Date(now + timeout * 1000).toISOString(), reauthAt: new Date(now + timeout * 800).toISOString() }
      : {}),
    ...(cls ? { attributes: { Class: cls } } : {}),
  };
}
