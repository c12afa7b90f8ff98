/**
 * Sign-in credentials checked by a real LDAP bind as the user: find the user's entry (as the directory's service
 * account, with the directory connection's TLS rules: ldaps:// with its CA, or StartTLS), then bind as that DN with
 * the password on a fresh connection under the same TLS rules. The password is passed to the bind only; it is never
 * logged, kept or put in an error message.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Client } from 'ldapts';
import type { LdapConfig } from '../directory/ldap-config.js';
import { escapeFilterValue } from '../directory/ldap-config.js';
import type { CheckResult, CredentialChecker } from './signin.js';

export class LdapBindChecker implements CredentialChecker {
  constructor(
    private readonly config: LdapConfig,
    private readonly baseDir: string,
  ) {}

  private client(): Client {
    const c = this.config;
    const ca = c.caFile ? readFileSync(resolve(this.baseDir, c.caFile)) : undefined;
    return new Client({
      url: c.url,
      timeout: c.timeoutMs,
      connectTimeout: c.timeoutMs,
      tlsOptions: ca && c.url.startsWith('ldaps:') ? { ca } : undefined,
    });
  }

  private async secure(client: Client): Promise<void> {
    const c = this.config;
    if (!c.startTls) return;
    const ca = c.caFile ? readFileSync(resolve(this.baseDir, c.caFile)) : undefined;
    await client.startTLS(ca ? { ca } : {});
  }

  private servicePassword(): string {
    const c = this.config;
    if (c.passwordEnv) return process.env[c.passwordEnv] ?? '';
    if (c.passwordFile) return readFileSync(resolve(this.baseDir, c.passwordFile), 'utf8').trim();
    return '';
  }

  /** The DN of the entry whose id attribute is `user` (exactly one), or undefined. */
  private async findDn(user: string): Promise<string | undefined> {
    const c = this.config;
    const client = this.client();
    try {
      await this.secure(client);
      if (c.bindDn) await client.bind(c.bindDn, this.servicePassword());
      const filter = `(&${c.users.filter.startsWith('(') ? c.users.filter : `(${c.users.filter})`}(${c.users.id}=${escapeFilterValue(user)}))`;
      const r = await client.search(c.users.base, { scope: 'sub', filter, attributes: ['dn'], sizeLimit: 2 });
      return r.searchEntries.length === 1 ? r.searchEntries[0].dn : undefined;
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }

  async check(user: string, password: string): Promise<CheckResult> {
    // an empty password would be an anonymous ("unauthenticated") bind that many servers accept: never
    if (!password) return { ok: false, code: 'invalid', message: 'empty password' };
    let dn: string | undefined;
    try {
      dn = await this.findDn(user);
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      return { ok: false, code: 'unavailable', message: `directory lookup failed${typeof code === 'number' ? ` (${code})` : ''}` };
    }
    if (!dn) return { ok: false, code: 'invalid', message: 'no such user' };
    const client = this.client();
    try {
      await this.secure(client);
      await client.bind(dn, password);
      return { ok: true, user };
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (code === 49) return { ok: false, code: 'invalid', message: 'invalid credentials' };
      return { ok: false, code: 'unavailable', message: `bind failed${typeof code === 'number' ? ` (${code})` : ''}` };
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }
}
