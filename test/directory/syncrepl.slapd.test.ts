/**
 * Push (RFC 4533 refreshAndPersist) against a private slapd with the syncprov overlay: chosen when the server
 * offers it and polling when not; each kind of change arrives without a poll (the poll interval is 60 s); TLS;
 * falling back to polling when slapd dies and pushing again after it restarts; results equal a fresh full read.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Attribute, Change } from 'ldapts';
import { Slapd, haveSlapd } from '../helpers/slapd.js';
import { BASE, CAMPUS, ldapSource, memberChange, stripDirectory } from '../helpers/ldap.js';
import { DirectorySync, LdapDirectorySource } from '../../directory/ldap.js';
import type { DirectoryDiff } from '../../compiler/directory-diff.js';
import { describeWith } from '../helpers/needs.js';

const campusLdif = readFileSync(join(CAMPUS, 'campus.ldif'), 'utf8');
const P = `ou=people,${BASE}`,
  G = `ou=groups,${BASE}`;

const source = (s: Slapd, extra: Record<string, unknown> = {}) => ldapSource(s, { timeout: '2s', pollInterval: '60s', ...extra });
const strip = stripDirectory;
const member = memberChange;
const replace = (type: string, values: string[]) => new Change({ operation: 'replace', modification: new Attribute({ type, values }) });

async function until(what: string, cond: () => boolean, ms = 5000): Promise<number> {
  const t = performance.now();
  while (!cond()) {
    if (performance.now() - t > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return performance.now() - t;
}

/** A started sync on a 60 s poll interval with every snapshot recorded; `polls` counts the polls it ran. */
async function pushSync(src: LdapDirectorySource, opts: ConstructorParameters<typeof DirectorySync>[1] = {}) {
  const diffs: DirectoryDiff[] = [];
  let polls = 0;
  const loadChanges = src.loadChanges.bind(src);
  src.loadChanges = () => {
    polls++;
    return loadChanges();
  };
  const sync = new DirectorySync(src, {
    intervalMs: 60_000,
    maxShrink: 1,
    ...opts,
    onSnapshot: (_d, diff) => {
      diffs.push(diff);
    },
  });
  await sync.syncOnce(); // the controller's first read
  const first = polls;
  sync.start();
  return { sync, diffs, polls: () => polls - first };
}

const syncs: DirectorySync[] = [];
afterEach(() => {
  for (const s of syncs.splice(0)) s.stop();
});

describeWith({ slapd: !!haveSlapd() }, 'LDAP push (syncrepl) against a private slapd', () => {
  let s: Slapd, plain: Slapd;
  beforeAll(async () => {
    s = new Slapd({ ldif: campusLdif, requireBind: true, syncprov: true, tls: true });
    plain = new Slapd({ ldif: campusLdif, requireBind: true });
    await Promise.all([s.start(), plain.start()]);
  }, 30_000);
  afterAll(async () => {
    await s?.destroy();
    await plain?.destroy();
  });

  it('pushes when the server offers content synchronization, polls when it does not or when told to', async () => {
    const pushed = await pushSync(source(s));
    syncs.push(pushed.sync);
    await until('push mode', () => pushed.sync.status().mode === 'push');
    const polled = await pushSync(source(plain));
    syncs.push(polled.sync);
    const told = await pushSync(source(s, { sync: 'poll' }));
    syncs.push(told.sync);
    await new Promise((r) => setTimeout(r, 500));
    expect(polled.sync.status()).toMatchObject({ mode: 'poll', consecutiveErrors: 0 });
    expect(polled.sync.status().pushError).toBeUndefined(); // not a failure: the server simply does not offer it
    expect(told.sync.status().mode).toBe('poll');
    // sync: push on a server without syncprov: tried, fails, polling continues
    const forced = await pushSync(source(plain, { sync: 'push' }));
    syncs.push(forced.sync);
    await until('push error', () => !!forced.sync.status().pushError);
    expect(forced.sync.status().mode).toBe('poll');
  });

  it('a modify, an add, a delete and a group membership change each arrive without a poll', async () => {
    const { sync, diffs, polls } = await pushSync(source(s));
    syncs.push(sync);
    await until('push mode', () => sync.status().mode === 'push');
    await until('refresh published', () => !!sync.snapshot);
    const c = await s.client();
    try {
      const step = async (what: string, fn: () => Promise<unknown>, check: (d: DirectoryDiff) => boolean) => {
        const n = diffs.length;
        await fn();
        const ms = await until(what, () => diffs.slice(n).some(check), 1000);
        return ms;
      };
      await step(
        'modify',
        () => c.modify(`uid=sam,ou=sales,${P}`, replace('cn', ['Samuel'])),
        (d) => d.usersChanged.some((x) => x.id === 'sam' && x.fields.includes('name')),
      );
      expect(sync.snapshot!.users.find((u) => u.id === 'sam')!.name).toBe('Samuel');
      await step(
        'add',
        () =>
          c.add(`uid=nina,ou=platform,ou=engineering,${P}`, {
            objectClass: ['inetOrgPerson', 'ieee802Device', 'ipHost'],
            uid: 'nina',
            cn: 'Nina',
            sn: 'N',
            macAddress: '02:aa:00:00:00:01',
            ipHostNumber: '10.0.9.1',
          }),
        (d) => d.usersAdded.includes('nina'),
      );
      await step(
        'membership',
        () => c.modify(`cn=manager,${G}`, member('add', [`uid=nina,ou=platform,ou=engineering,${P}`])),
        (d) => d.usersChanged.some((x) => x.id === 'nina' && x.fields.includes('roles')),
      );
      expect(sync.snapshot!.users.find((u) => u.id === 'nina')!.roles).toContain('manager');
      await step(
        'delete',
        () => c.del(`uid=frank,ou=finance,${P}`),
        (d) => d.usersRemoved.includes('frank'),
      );
      await step(
        'rename',
        () => c.modifyDN(`uid=sara,ou=sales,${P}`, `uid=sara,ou=finance,${P}`),
        (d) => d.usersChanged.some((x) => x.id === 'sara' && x.fields.includes('organization')),
      );
      await step(
        'group delete',
        () => c.del(`cn=contractor,${G}`),
        (d) => d.usersChanged.some((x) => x.fields.includes('roles')),
      );
      expect(polls()).toBe(0);
      expect(sync.status().mode).toBe('push');
      expect(strip(sync.snapshot!)).toEqual(strip(await source(s).load()));
    } finally {
      await c.unbind();
    }
  });

  it('a burst of changes is published in a few snapshots, not one per change', async () => {
    const { sync, diffs } = await pushSync(source(s));
    syncs.push(sync);
    await until('push mode', () => sync.status().mode === 'push');
    await until('refresh taken in', () => sync.status().entries > 0);
    const c = await s.client();
    const n = diffs.length;
    try {
      await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          c.add(`uid=burst${i},ou=sales,${P}`, { objectClass: ['inetOrgPerson'], uid: `burst${i}`, cn: `Burst ${i}`, sn: 'B' }),
        ),
      );
      await until('all 40 added', () => diffs.slice(n).flatMap((d) => d.usersAdded).length === 40, 2000);
      expect(diffs.length - n).toBeLessThan(20);
      await Promise.all(Array.from({ length: 40 }, (_, i) => c.del(`uid=burst${i},ou=sales,${P}`)));
      await until('all 40 removed', () => diffs.slice(n).flatMap((d) => d.usersRemoved).length === 40, 2000);
    } finally {
      await c.unbind();
    }
  });

  it('pushes over StartTLS and over ldaps with the CA file', async () => {
    for (const extra of [
      { startTls: true, caFile: s.caFile },
      { url: s.ldapsUrl, caFile: s.caFile },
    ]) {
      const { sync, diffs, polls } = await pushSync(source(s, extra));
      syncs.push(sync);
      await until(`push mode over ${JSON.stringify(extra)}`, () => sync.status().mode === 'push');
      const c = await s.client();
      const n = diffs.length;
      await c.modify(`uid=tom,ou=sales,${P}`, replace('cn', [`Tom ${extra.url ? 'ldaps' : 'starttls'}`]));
      await c.unbind();
      await until('pushed over TLS', () => diffs.slice(n).some((d) => d.usersChanged.some((x) => x.id === 'tom')), 1000);
      expect(polls()).toBe(0);
      sync.stop();
    }
    // a CA that did not sign the server's certificate: push refused, polling fails too (the same CA) — no clear-text fallback
    const bad = await pushSync(source(s, { startTls: true, caFile: join(CAMPUS, 'campus.ldif') }), { pushRetryMs: 60_000 });
    syncs.push(bad.sync);
    await until('push refused', () => !!bad.sync.status().pushError);
    expect(bad.sync.status().mode).toBe('poll');
  });
});

describeWith({ slapd: !!haveSlapd() }, 'LDAP push when slapd dies', () => {
  let s: Slapd;
  beforeAll(async () => {
    s = new Slapd({ ldif: campusLdif, requireBind: true, syncprov: true });
    await s.start();
  }, 30_000);
  afterAll(async () => {
    await s?.destroy();
  });

  it('falls back to polling at once, and pushes again after a restart; changes made meanwhile are taken in', async () => {
    const modes: string[] = [];
    const { sync, diffs, polls } = await pushSync(source(s, { timeout: '1s' }), {
      pushRetryMs: 200,
      maxPushRetryMs: 500,
      maxBackoffMs: 500,
      onMode: (m) => modes.push(m),
    });
    syncs.push(sync);
    await until('push mode', () => sync.status().mode === 'push');
    const before = polls();
    await s.stop();
    await until('fallback to polling', () => sync.status().mode === 'poll', 2000);
    await until('a poll right away', () => polls() > before, 1000);
    expect(sync.status().pushError).toMatch(/closed|ended|ECONNRESET/);
    // while it is down: the last good snapshot stays
    expect(sync.snapshot!.users.length).toBeGreaterThan(0);
    s.slapadd(`dn: uid=late,ou=sales,${P}\nobjectClass: inetOrgPerson\nuid: late\ncn: Late\nsn: L\n`);
    await s.start();
    await until('push again', () => sync.status().mode === 'push', 10_000);
    await until('offline addition seen', () => diffs.some((d) => d.usersAdded.includes('late')), 3000);
    expect(modes).toEqual(['push', 'poll', 'push']);
    const c = await s.client();
    const n = diffs.length;
    const p = polls();
    await c.del(`uid=late,ou=sales,${P}`);
    await c.unbind();
    await until('delete pushed after the restart', () => diffs.slice(n).some((d) => d.usersRemoved.includes('late')), 1000);
    expect(polls()).toBe(p);
    expect(strip(sync.snapshot!)).toEqual(strip(await source(s).load()));
  }, 30_000);
});
