/**
 * Incremental polling against a private slapd: changed entries published before the deletion check, deletions
 * still seen in the same poll, one kept connection (recovered when it drops), the settled timestamp watermark,
 * and incremental snapshots equal to a fresh full read.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { Attribute, Change } from 'ldapts';
import { Slapd, haveSlapd } from '../helpers/slapd.js';
import { BASE, CAMPUS, ldapSource, memberChange, stripDirectory } from '../helpers/ldap.js';
import { DirectorySync } from '../../directory/ldap.js';
import type { DirectoryDiff } from '../../compiler/directory-diff.js';
import { describeWith } from '../helpers/needs.js';

const campusLdif = readFileSync(join(CAMPUS, 'campus.ldif'), 'utf8');
const P = `ou=people,${BASE}`,
  G = `ou=groups,${BASE}`;

const source = (s: Slapd, extra: Record<string, unknown> = {}) => ldapSource(s, { timeout: '2s', ...extra });
const strip = stripDirectory;
const member = memberChange;

describeWith({ slapd: !!haveSlapd() }, 'LDAP incremental polling against a private slapd', () => {
  let s: Slapd;
  beforeAll(async () => {
    s = new Slapd({ ldif: campusLdif, requireBind: true });
    await s.start();
  });
  afterAll(async () => {
    await s?.destroy();
  });

  it('publishes a changed membership before the deletion check, and still sees the deletion in the same poll', async () => {
    const src = source(s);
    const snaps: DirectoryDiff[] = [];
    const sync = new DirectorySync(src, {
      intervalMs: 100_000,
      onSnapshot: (_d, diff) => {
        snaps.push(diff);
      },
    });
    expect(await sync.syncOnce()).toBe(true);
    snaps.length = 0;
    const c = await s.client();
    await c.modify(`cn=manager,${G}`, member('add', [`uid=dave,ou=engineering,${P}`]));
    await c.del(`uid=irene,ou=it,${P}`);
    await c.unbind();
    expect(await sync.syncOnce()).toBe(true);
    expect(snaps).toHaveLength(2);
    expect(snaps[0]).toMatchObject({ usersAdded: [], usersRemoved: [], usersChanged: [{ id: 'dave', fields: ['roles'] }] });
    expect(snaps[1]).toMatchObject({ usersAdded: [], usersRemoved: ['irene'], usersChanged: [] });
    expect(sync.snapshot!.users.map((u) => u.id)).not.toContain('irene');
    expect(sync.snapshot!.users.find((u) => u.id === 'dave')!.roles).toContain('manager');
    // nothing changed: nothing published, and no second stage result
    expect(await sync.syncOnce()).toBe(true);
    expect(snaps).toHaveLength(2);
    sync.stop();
  });

  it('incremental polls give the same directory as a fresh full read, and keep unchanged users as the same objects', async () => {
    const src = source(s);
    const sync = new DirectorySync(src, { intervalMs: 100_000, maxShrink: 1 });
    await sync.syncOnce();
    const c = await s.client();
    const steps: Array<() => Promise<unknown>> = [
      () =>
        c.add(`uid=nina,ou=platform,ou=engineering,${P}`, {
          objectClass: ['inetOrgPerson', 'ieee802Device', 'ipHost'],
          uid: 'nina',
          cn: 'Nina',
          sn: 'N',
          macAddress: '02:aa:00:00:00:01',
          ipHostNumber: '10.0.9.1',
        }),
      () =>
        c.add(`cn=staff,${G}`, {
          objectClass: 'groupOfNames',
          cn: 'staff',
          member: [`cn=manager,${G}`, `uid=nina,ou=platform,ou=engineering,${P}`],
        }),
      () => c.modify(`cn=manager,${G}`, member('add', [`uid=tom,ou=sales,${P}`])), // tom gains manager and, through staff, staff
      () => c.modify(`cn=staff,${G}`, member('delete', [`cn=manager,${G}`])), // managers lose staff
      () =>
        c.modify(
          `uid=sam,ou=sales,${P}`,
          new Change({ operation: 'replace', modification: new Attribute({ type: 'cn', values: ['Samuel'] }) }),
        ),
      () => c.modifyDN(`uid=sara,ou=sales,${P}`, `uid=sara,ou=finance,${P}`), // moves organization
      () => c.add(`ou=research,${P}`, { objectClass: 'organizationalUnit', ou: 'research' }),
      () => c.del(`cn=contractor,${G}`), // carl, cathy, tom lose contractor
      () => c.del(`uid=frank,ou=finance,${P}`),
    ];
    for (const step of steps) {
      const before = sync.snapshot!;
      await step();
      expect(await sync.syncOnce()).toBe(true);
      const fresh = await source(s).load();
      expect(strip(sync.snapshot!)).toEqual(strip(fresh));
      const changed = new Set(sync.snapshot!.users.filter((u) => !before.users.includes(u)).map((u) => u.id));
      expect(changed.size).toBeLessThan(5); // only the users this step touched are new objects
    }
    await c.unbind();
    const by = (id: string) => sync.snapshot!.users.find((u) => u.id === id);
    expect(by('tom')!.roles).toEqual(['manager']);
    expect(by('nina')!.roles).toEqual(['staff']);
    expect(by('sara')!.organization).toBe('finance');
    expect(by('sam')!.name).toBe('Samuel');
    expect(by('frank')).toBeUndefined();
    expect(sync.snapshot!.organizations.map((o) => o.name)).toContain('research');
    sync.stop();
  });

  it('once the newest timestamp second has settled, polls stop fetching the entries stamped in it', async () => {
    const src = source(s);
    src.settleMs = 0;
    await src.loadChanges(); // full read
    await src.loadChanges();
    expect(src.lastTimings.entries).toBeGreaterThan(0); // the newest second's entries come again
    await new Promise((r) => setTimeout(r, 1100));
    await src.loadChanges(); // begun a second after: that second is settled
    await src.loadChanges();
    expect(src.lastTimings.entries).toBe(0);
    const c = await s.client();
    await c.modify(`cn=admin,${G}`, member('add', [`uid=dave,ou=engineering,${P}`]));
    await c.unbind();
    const d = await src.loadChanges();
    expect(src.lastTimings.entries).toBe(1);
    expect(d.users.find((u) => u.id === 'dave')!.roles).toContain('admin');
    await src.close();
  });

  it('keeps one bound connection across polls and replaces a dropped one within the poll (never unbound)', async () => {
    const src = source(s);
    const errors: string[] = [];
    const sync = new DirectorySync(src, { intervalMs: 100_000, onError: (e) => errors.push(e.message) });
    expect(await sync.syncOnce()).toBe(true);
    expect(await sync.syncOnce()).toBe(true);
    expect(src.lastTimings.connectMs).toBe(0); // the kept connection
    const n = sync.snapshot!.users.length;
    await s.stop();
    await s.start(); // same port: the kept connection is dead
    const c = await s.client();
    await c.modify(`cn=admin,${G}`, member('add', [`uid=sam,ou=sales,${P}`]));
    await c.unbind();
    expect(await sync.syncOnce()).toBe(true);
    expect(errors).toEqual([]);
    expect(src.lastTimings.connectMs).toBeGreaterThan(0);
    // an anonymous (silently reconnected) search would see nothing here: the snapshot would shrink or stay stale
    expect(sync.snapshot!.users).toHaveLength(n);
    expect(sync.snapshot!.users.find((u) => u.id === 'sam')!.roles).toContain('admin');
    // server down: the poll fails, the last snapshot stays; back up: recovered
    const good = sync.snapshot;
    await s.stop();
    expect(await sync.syncOnce()).toBe(false);
    expect(sync.snapshot).toBe(good);
    expect(errors[0]).toMatch(/cannot reach LDAP server/);
    await s.start();
    expect(await sync.syncOnce()).toBe(true);
    expect(sync.status().consecutiveErrors).toBe(0);
    sync.stop();
  });

  it('replaces a kept connection that stopped answering (half-open) within the same poll', async () => {
    // a TCP relay to slapd whose existing connections can be made to swallow everything, like a dead NAT entry
    const conns: Array<{ down: Socket; up: Socket; dead: boolean }> = [];
    const relay = createServer((down) => {
      const k = { down, up: createConnection(s.port, '127.0.0.1'), dead: false };
      conns.push(k);
      down.on('data', (d) => {
        if (!k.dead) k.up.write(d);
      });
      k.up.on('data', (d) => {
        if (!k.dead) down.write(d);
      });
      down.on('error', () => undefined);
      k.up.on('error', () => undefined);
      down.on('close', () => k.up.destroy());
      k.up.on('close', () => down.destroy());
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (relay.address() as { port: number }).port;
      const src = source(s, { url: `ldap://127.0.0.1:${port}`, timeout: '1s' });
      const errors: string[] = [];
      const sync = new DirectorySync(src, { intervalMs: 100_000, onError: (e) => errors.push(e.message) });
      expect(await sync.syncOnce()).toBe(true);
      // from now on the existing connection forwards nothing either way; new connections work
      for (const k of conns) k.dead = true;
      const c = await s.client();
      await c.modify(`cn=admin,${G}`, member('add', [`uid=alice,ou=finance,${P}`]));
      await c.unbind();
      expect(await sync.syncOnce()).toBe(true);
      expect(errors).toEqual([]);
      expect(src.lastTimings.connectMs).toBeGreaterThan(0);
      expect(sync.snapshot!.users.find((u) => u.id === 'alice')!.roles).toContain('admin');
      sync.stop();
    } finally {
      for (const k of conns) {
        k.down.destroy();
        k.up.destroy();
      }
      await new Promise((r) => relay.close(r));
    }
  });
});
