/**
 * Sign-in credentials checked against RADIUS with PAP (RFC 2865): an Access-Request with User-Name and
 * User-Password (hidden with the shared secret by the encoder) and a Message-Authenticator, sent through the same
 * RadiusClient as 802.1X (retransmission, timeouts, failover, answers checked against the request). Access-Accept
 * signs the person in as the User-Name the server answers with (else the name typed); anything else refuses, and a
 * server that does not answer is "unavailable" (fail closed, never a grant). The password is never logged or kept.
 */
import type { RadiusClient } from './radius.js';
import type { CheckResult, CredentialChecker } from './signin.js';

export class RadiusPapChecker implements CredentialChecker {
  /** `client` is asked each time: the policy's RADIUS servers may change while the controller runs. */
  constructor(
    private readonly client: () => RadiusClient | undefined,
    private readonly nasIdentifier = 'sdn-acl-signin',
  ) {}

  async check(user: string, password: string): Promise<CheckResult> {
    const c = this.client();
    if (!c) return { ok: false, code: 'unavailable', message: 'no RADIUS server is configured' };
    const a = await c.request({
      userName: user,
      password,
      attributes: [
        ['Service-Type', 'Login-User'],
        ['NAS-Identifier', this.nasIdentifier],
      ],
    });
    if (!a.ok) return { ok: false, code: 'unavailable', message: `RADIUS: ${a.code}` };
    if (a.code !== 'Access-Accept')
      return { ok: false, code: 'invalid', message: a.code === 'Access-Reject' ? 'rejected' : 'PAP does not take a challenge' };
    const named = a.attributes['User-Name'];
    // the server may canonicalise the name; it must still be a plain directory id
    const id = typeof named === 'string' && /^[A-Za-z0-9._@-]{1,64}$/.test(named) ? named : user;
    return { ok: true, user: id };
  }
}
