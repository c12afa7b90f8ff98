/** Reads a complete Directory snapshot from an LDAP server (paged searches; nested groups). */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Client, type Entry } from 'ldapts';
import { LdapEntryBuilder, newestTimestamp, normDn, values, type State } from './ldap-entries.js';
import type { Directory, DirectorySource, User } from '../compiler/model.js';
import { escapeFilterValue, type LdapConfig } from './ldap-config.js';
import type { PushHandlers, PushSession } from './sync.js';
import { SyncConnection, SYNC_REQUEST_OID, type SyncMessage } from './syncrepl.js';

class BindRefused extends Error {}
class Unreachable extends Error {} // connect, TLS, or a socket error before the bind answered

export class LdapDirectorySource implements DirectorySource {
  readonly kind = 'ldap' as const;
  readonly description: string;
  constructor(
    readonly config: LdapConfig,
    private readonly baseDir: string,
  ) {
    this.description = `${config.url}/${config.baseDn}`;
    this.entries = new LdapEntryBuilder(config, this.description);
    this.fullReadIntervalMs = Math.max(60_000, 12 * config.pollIntervalMs);
  }

  private readonly entries: LdapEntryBuilder;

  /** A directory from raw entries, all at once (`loadChanges` does the same piece by piece). */
  build(people: Entry[], groups: Entry[], ous: Entry[]): Directory {
    return this.entries.build(people, groups, ous);
  }

  private stateFrom(people: Entry[], groups: Entry[], ous: Entry[], prev: State | undefined, t1: number): State {
    const st = this.entries.stateFrom(people, groups, ous, prev, t1);
    this.lastTimings.buildMs += performance.now() - t1;
    return st;
  }

  private apply(
    st: State,
    people: Map<string, Entry | undefined>,
    groups: Map<string, Entry | undefined>,
    ous: Map<string, Entry | undefined>,
  ): void {
    this.entries.apply(st, people, groups, ous);
  }

  private password(): string | undefined {
    const c = this.config;
    if (c.passwordEnv) {
      const v = process.env[c.passwordEnv];
      if (v === undefined) throw new Error(`LDAP password: environment variable ${c.passwordEnv} is not set`);
      return v;
    }
    if (c.passwordFile) {
      try {
        return readFileSync(resolve(this.baseDir, c.passwordFile), 'utf8').trim();
      } catch (e) {
        throw new Error(`LDAP password file ${c.passwordFile}: ${(e as Error).message}`, { cause: e });
      }
    }
    return undefined;
  }

  private async connect(): Promise<Client> {
    const c = this.config;
    const ca = c.caFile ? readFileSync(resolve(this.baseDir, c.caFile)) : undefined;
    // tlsOptions only for ldaps:// (with them ldapts would speak TLS at once, even on an ldap:// port meant for StartTLS)
    const client = new Client({
      url: c.url,
      timeout: c.timeoutMs,
      connectTimeout: c.timeoutMs,
      tlsOptions: ca && c.url.startsWith('ldaps:') ? { ca } : undefined,
    });
    try {
      if (c.startTls) await client.startTLS(ca ? { ca } : {});
      if (c.bindDn) {
        try {
          await client.bind(c.bindDn, this.password() ?? '');
        } catch (e) {
          const code = (e as { code?: number }).code;
          if (typeof code !== 'number') throw e; // not an LDAP answer: network trouble
          throw new BindRefused(
            `LDAP bind as ${c.bindDn} to ${c.url} refused: ${code === 49 ? 'invalid credentials (49)' : `${(e as Error).message} (${code})`}`,
            { cause: e },
          );
        }
      }
      return client;
    } catch (e) {
      await client.unbind().catch(() => undefined);
      const m = (e as Error).message;
      if (e instanceof BindRefused) throw e;
      throw new Unreachable(`cannot reach LDAP server ${c.url}: ${m}`, { cause: e });
    }
  }

  /** The bound connection kept between polls (see `session`); closed by `close()`. */
  private conn?: { client: Client; socket: unknown };
  /** Raw entries and what was built from them, so that later polls fetch and rebuild only what changed. */
  private state?: State;
  /** A complete re-read at most this often (a safety net: the names-only search already catches deletions). */
  fullReadIntervalMs: number;
  /**
   * How long after a timestamp's second is over a write stamped with it may still be committing. Only after a
   * read that began that much later do polls stop asking again for entries stamped in that second (which, after a
   * bulk import, can be all of them).
   */
  settleMs = 5000;
  /** The last first stage read everything: its second stage has nothing to add. */
  private freshFull = false;
  /** Where the last stages spent their time (for the benchmark and diagnostics). */
  lastTimings: { connectMs: number; searchMs: number; buildMs: number; entries: number; full: boolean; restMs?: number } = {
    connectMs: 0,
    searchMs: 0,
    buildMs: 0,
    entries: 0,
    full: true,
  };

  private attrs() {
    const c = this.config;
    return {
      users: [
        c.users.id,
        c.users.name,
        c.users.mac,
        c.users.ip,
        'modifyTimestamp',
        ...c.users.roleAttributes,
        ...(c.users.deviceAttribute ? [c.users.deviceAttribute] : []),
        ...(c.users.organization !== 'dn' ? [c.users.organization] : []),
      ],
      groups: [c.groups.name, 'member', 'uniqueMember', 'memberUid', 'objectClass', 'modifyTimestamp'],
    };
  }

  /** The connection is still the one we opened, bound and (for StartTLS) upgraded: ldapts would otherwise reconnect silently, unbound and in clear text. */
  private usable(k: { client: Client; socket: unknown }): boolean {
    return (
      k.client.isConnected && (k.client as unknown as { socket?: unknown }).socket === k.socket && (!this.config.bindDn || k.client.isBound)
    );
  }

  /**
   * Runs `fn` on the kept connection (connecting and binding first when there is none). A connection that was
   * reused and turns out to be dead (network error, not an LDAP result) is replaced once, within the same call.
   */
  private async session<T>(fn: (search: Search) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const reused = !!this.conn && this.usable(this.conn);
      if (!reused) {
        await this.close();
        const t = performance.now();
        const client = await this.connect();
        this.conn = { client, socket: (client as unknown as { socket?: unknown }).socket };
        this.lastTimings.connectMs += performance.now() - t;
      }
      const k = this.conn!;
      const search: Search = async (base, opts) => {
        if (!this.usable(k)) throw new ConnectionLost('connection to the LDAP server lost');
        return (await k.client.search(base, opts)).searchEntries;
      };
      try {
        return await fn(search);
      } catch (e) {
        await this.close();
        const lost = e instanceof ConnectionLost || typeof (e as { code?: unknown }).code !== 'number';
        if (reused && lost && attempt === 0) continue;
        throw e;
      }
    }
  }

  /** Closes the kept connection (the next load opens a new one). */
  async close(): Promise<void> {
    const k = this.conn;
    this.conn = undefined;
    if (k) await k.client.unbind().catch(() => undefined);
  }

  /** A complete snapshot: the changed entries, then the deletion check (or the periodic full re-read). Closes the connection. */
  async load(): Promise<Directory> {
    try {
      const first = await this.loadChanges();
      return (await this.loadRest()) ?? first;
    } finally {
      await this.close();
    }
  }

  /**
   * First stage of a poll: a complete snapshot built from the entries created or modified since the newest
   * `modifyTimestamp` seen (everything on the first call). Deleted entries are still in it: `loadRest()` finds them.
   * Users whose entry and roles did not change are the same objects as in the previous snapshot.
   */
  async loadChanges(): Promise<Directory> {
    const c = this.config;
    this.lastTimings = { connectMs: 0, searchMs: 0, buildMs: 0, entries: 0, full: !this.state };
    this.drainPushed();
    this.freshFull = !this.state;
    try {
      const st = this.state;
      if (!st) return (this.state = await this.readAll()).dir;
      const a = this.attrs();
      const paged = { pageSize: c.pageSize };
      // Only entries created or modified since the newest timestamp seen (escaped: it is a value in a filter).
      // Timestamps have one-second resolution, so entries stamped in that second come again each poll, until that
      // second is settled: then only strictly newer ones (see `settleMs`).
      const ts = escapeFilterValue(st.since);
      const since = (f: string) =>
        st.settled ? `(&${f}(modifyTimestamp>=${ts})(!(modifyTimestamp=${ts})))` : `(&${f}(modifyTimestamp>=${ts}))`;
      const t = performance.now();
      // One paged search at a time: a connection carries one paging cookie per search.
      const [people, groups, ous] = await this.session(async (search) => [
        await search(c.users.base, { scope: 'sub', filter: since(c.users.filter), attributes: a.users, paged }),
        await search(c.groups.base, { scope: 'sub', filter: since(c.groups.filter), attributes: a.groups, paged }),
        c.users.organization === 'dn'
          ? await search(c.users.base, {
              scope: 'sub',
              filter: since('(objectClass=organizationalUnit)'),
              attributes: ['ou', 'modifyTimestamp'],
              paged,
            })
          : [],
      ]);
      const t1 = performance.now();
      this.lastTimings.searchMs = t1 - t - this.lastTimings.connectMs;
      this.lastTimings.entries = people.length + groups.length + ous.length;
      const byDn = (l: Entry[]) => new Map(l.map((e) => [normDn(e.dn), e as Entry | undefined]));
      const newest = newestTimestamp([people, groups, ous], st.since);
      if (newest !== st.since) Object.assign(st, { since: newest, sinceSeenAt: t1, settled: false });
      else if (!st.settled && t >= st.sinceSeenAt + 1000 + this.settleMs) st.settled = true; // this read began after that second was over and settled
      this.apply(st, byDn(people), byDn(groups), byDn(ous));
      this.lastTimings.buildMs = performance.now() - t1;
      return st.dir;
    } catch (e) {
      throw this.failed(e);
    }
  }

  /**
   * Second stage of a poll: what timestamps cannot show. Deleted users, groups and OUs (a names-only search), or,
   * at most every `fullReadIntervalMs`, a complete re-read. Resolves with a new snapshot when that changed
   * anything, undefined otherwise (also right after a first stage that read everything).
   */
  async loadRest(): Promise<Directory | undefined> {
    const c = this.config;
    const st = this.state;
    if (!st || this.freshFull) {
      this.freshFull = false;
      return undefined;
    }
    const t = performance.now();
    try {
      if (Date.now() - st.fullAt >= this.fullReadIntervalMs) {
        const next = await this.readAll(st);
        this.state = next;
        return next.dir === st.dir ? undefined : next.dir;
      }
      const paged = { pageSize: c.pageSize };
      const lists: Array<[Map<string, Entry>, string, string]> = [
        [st.people, c.users.base, c.users.filter],
        [st.groups, c.groups.base, c.groups.filter],
      ];
      if (c.users.organization === 'dn') lists.push([st.ous, c.users.base, '(objectClass=organizationalUnit)']);
      const present = await this.session(async (search) => {
        const out: Array<Set<string>> = [];
        for (const [, base, filter] of lists)
          out.push(new Set((await search(base, { scope: 'sub', filter, attributes: ['1.1'], paged })).map((e) => normDn(e.dn))));
        return out;
      });
      const gone = lists.map(
        ([map], i) => new Map([...map.keys()].filter((dn) => !present[i].has(dn)).map((dn) => [dn, undefined as Entry | undefined])),
      );
      const before = st.dir;
      if (gone.some((g) => g.size)) this.apply(st, gone[0], gone[1], gone[2] ?? new Map());
      return st.dir === before ? undefined : st.dir;
    } catch (e) {
      throw this.failed(e);
    } finally {
      this.lastTimings.restMs = performance.now() - t;
    }
  }

  private failed(e: unknown): Error {
    this.state = undefined; // next time, read everything again
    void this.close();
    if (e instanceof BindRefused || e instanceof Unreachable) return e;
    return new Error(`LDAP search on ${this.config.url} failed: ${(e as Error).message}`);
  }

  /** Reads every entry; with `prev`, users that did not change keep their objects (and an unchanged result is `prev.dir`). */
  private async readAll(prev?: State): Promise<State> {
    const c = this.config;
    const a = this.attrs();
    const paged = { pageSize: c.pageSize };
    const t = performance.now();
    const connectBefore = this.lastTimings.connectMs;
    const [people, groups, ous] = await this.session(async (search) => [
      await search(c.users.base, { scope: 'sub', filter: c.users.filter, attributes: a.users, paged }),
      await search(c.groups.base, { scope: 'sub', filter: c.groups.filter, attributes: a.groups, paged }),
      c.users.organization === 'dn'
        ? await search(c.users.base, {
            scope: 'sub',
            filter: '(objectClass=organizationalUnit)',
            attributes: ['ou', 'modifyTimestamp'],
            paged,
          })
        : [],
    ]);
    const t1 = performance.now();
    this.lastTimings.searchMs += t1 - t - (this.lastTimings.connectMs - connectBefore);
    this.lastTimings.entries += people.length + groups.length + ous.length;
    return this.stateFrom(people, groups, ous, prev, t1);
  }

  /** A state from every entry; with `prev`, users that did not change keep their objects (and an unchanged result is `prev.dir`). */
  // ---- push (RFC 4533 refreshAndPersist) ----

  /** Whether the server advertises the Sync Request control (root DSE, read once); undefined until asked. */
  private pushSupported?: boolean;
  /** Content of a push session's refresh phase, not yet taken into the state. */
  private pushFull?: [Entry[], Entry[], Entry[]];
  /** Pushed changes not yet taken into the state, by normalized DN (undefined: deleted). */
  private pushPending: [Map<string, Entry | undefined>, Map<string, Entry | undefined>, Map<string, Entry | undefined>] = [
    new Map(),
    new Map(),
    new Map(),
  ];

  /** The searches a push session runs: the same bases, filters and attributes as the polls (users, groups, OUs). */
  private pushSearches(): Array<{ base: string; filter: string; attributes: string[] }> {
    const c = this.config;
    const a = this.attrs();
    return [
      { base: c.users.base, filter: c.users.filter, attributes: a.users },
      { base: c.groups.base, filter: c.groups.filter, attributes: a.groups },
      ...(c.users.organization === 'dn'
        ? [{ base: c.users.base, filter: '(objectClass=organizationalUnit)', attributes: ['ou', 'modifyTimestamp'] }]
        : []),
    ];
  }

  /** Root DSE: does the server offer content synchronization? */
  private async serverPushes(): Promise<boolean> {
    const client = await this.connect();
    try {
      const r = await client.search('', { scope: 'base', filter: '(objectClass=*)', attributes: ['supportedControl'] });
      return r.searchEntries.some((e) => values(e, 'supportedControl').includes(SYNC_REQUEST_OID));
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }

  /**
   * Opens a push session: persistent sync searches (refreshAndPersist, no cookie) for users, groups and OUs on
   * one connection of its own. Resolves once every search finished its refresh phase (the complete content,
   * taken into the state by the next `loadPushed()`); later changes are buffered and announced through
   * `onPending`. Resolves undefined when this source does not push (`sync: poll`, or with `sync: auto` a server
   * without content synchronization). After it resolved, any failure ends the session through `onEnd` once.
   */
  async openPush(h: PushHandlers): Promise<PushSession | undefined> {
    const c = this.config;
    if (c.sync === 'poll') return undefined;
    if (c.sync === 'auto') {
      this.pushSupported ??= await this.serverPushes();
      if (!this.pushSupported) return undefined;
    }
    const conn = await this.openSyncConnection();
    const specs = this.pushSearches();
    const list = new Map<number, number>(); // message id -> 0 users, 1 groups, 2 OUs
    const content = specs.map(() => new Map<string, Entry>()); // by entryUUID, during the refresh phase
    const uuidDn = specs.map(() => new Map<string, string>()); // entryUUID -> normalized DN (deletes may carry only the UUID)
    const refreshed = new Set<number>();
    let ready = false;
    let ended = false;
    const session: PushSession = {
      close: () => {
        ended = true;
        conn.close();
      },
    };
    const pend = (i: number, dn: string, e: Entry | undefined) => {
      // a delete of an entry the state never had still goes through: apply() ignores unknown DNs
      this.pushPending[i].set(dn, e);
    };
    const handle = (m: SyncMessage) => {
      const i = list.get(m.id);
      if (i === undefined) throw new Error(`push: answer to unknown request ${m.id}`);
      const refreshing = !refreshed.has(i);
      if (m.kind === 'entry') {
        if (pushedEntry(m, refreshing ? content[i] : undefined, uuidDn[i], (dn, e) => pend(i, dn, e))) h.onPending();
      } else if (m.kind === 'info') {
        const info = m.info;
        if (info.type === 'newcookie') return;
        if (info.type === 'syncIdSet') {
          if (!info.refreshDeletes) return; // a set of present entries: only in refreshes with a cookie
          for (const u of info.uuids) {
            if (refreshing) content[i].delete(u);
            else {
              const dn = uuidDn[i].get(u);
              if (dn) {
                pend(i, dn, undefined);
                uuidDn[i].delete(u);
              }
            }
          }
          if (!refreshing) h.onPending();
          return;
        }
        if (!refreshing) throw new Error(`push: ${info.type} after the refresh phase`);
        if (!info.refreshDone) return;
        refreshed.add(i);
        for (const [u, e] of content[i]) uuidDn[i].set(u, normDn(e.dn));
        if (refreshed.size < specs.length) return;
        const lists = specs.map((_, k) => [...content[k].values()]);
        this.pushFull = [lists[0], lists[1], lists[2] ?? []];
        for (const p of this.pushPending) p.clear(); // the refresh supersedes anything an earlier session left
        content.length = 0;
        ready = true;
        h.onPending();
        resolveReady(session);
      } else if (m.kind === 'done') {
        throw new Error(
          `push: the server ended the sync search (${m.result.code}${m.result.message ? ` ${m.result.message}` : ''}${m.result.code === 4096 ? ': refresh required' : ''})`,
        );
      } else if (m.kind !== 'reference') {
        throw new Error(`push: unexpected LDAP message (protocol op 0x${(m.kind === 'other' ? m.op : 0).toString(16)}, ${m.kind})`);
      }
    };
    let resolveReady!: (s: PushSession) => void;
    return new Promise<PushSession>((res, rej) => {
      resolveReady = res;
      const timer = setTimeout(
        () => end(new Error(`push: the refresh phase took longer than ${(6 * c.timeoutMs) / 1000} s`)),
        6 * c.timeoutMs,
      );
      timer.unref();
      const end = (e: Error) => {
        clearTimeout(timer);
        if (ended) return;
        ended = true;
        conn.close();
        if (ready) h.onEnd(e);
        else rej(e);
      };
      conn.onClose = (e) => end(e);
      conn.onMessage = (m) => {
        try {
          handle(m);
          if (ready) clearTimeout(timer);
        } catch (e) {
          end(e as Error);
        }
      };
      for (const [k, spec] of specs.entries()) list.set(conn.search(spec), k);
    });
  }

  /** The push session's own connection, with the same server, TLS and bind as the polls. */
  private openSyncConnection(): Promise<SyncConnection> {
    const c = this.config;
    return SyncConnection.open({
      url: c.url,
      startTls: c.startTls,
      ca: c.caFile ? readFileSync(resolve(this.baseDir, c.caFile)) : undefined,
      bindDn: c.bindDn,
      password: c.bindDn ? this.password() : undefined,
      timeoutMs: c.timeoutMs,
    });
  }

  /** Takes pushed changes into the state (the refresh content first). */
  private drainPushed(): void {
    if (this.pushFull) {
      const [people, groups, ous] = this.pushFull;
      this.pushFull = undefined;
      const t1 = performance.now();
      this.state = this.stateFrom(people, groups, ous, this.state, t1);
    }
    const st = this.state;
    const [people, groups, ous] = this.pushPending;
    if (!people.size && !groups.size && !ous.size) return;
    this.pushPending = [new Map(), new Map(), new Map()];
    if (!st) return; // the next load reads everything anyway
    const changed = [...people.values(), ...groups.values(), ...ous.values()].filter((e): e is Entry => !!e);
    const newest = newestTimestamp([changed], st.since);
    if (newest !== st.since) Object.assign(st, { since: newest, sinceSeenAt: performance.now(), settled: false });
    this.apply(st, people, groups, ous);
  }

  /** The snapshot with every pushed change taken in (a complete read first if there is no state). */
  async loadPushed(): Promise<Directory> {
    const t = performance.now();
    this.drainPushed();
    if (!this.state) return this.loadChanges();
    this.lastTimings = { connectMs: 0, searchMs: 0, buildMs: performance.now() - t, entries: 0, full: false };
    return this.state.dir;
  }

  /** A complete re-read (the safety net while changes are pushed). */
  async loadFull(): Promise<Directory> {
    this.drainPushed();
    this.lastTimings = { connectMs: 0, searchMs: 0, buildMs: 0, entries: 0, full: true };
    try {
      this.state = await this.readAll(this.state);
      return this.state.dir;
    } catch (e) {
      throw this.failed(e);
    }
  }

  /** One user by id, with the id escaped into the filter (RFC 4515). */
  async lookup(id: string): Promise<User | undefined> {
    const c = this.config;
    const client = await this.connect();
    try {
      const r = await client.search(c.users.base, {
        scope: 'sub',
        filter: `(&${c.users.filter}(${c.users.id}=${escapeFilterValue(id)}))`,
        attributes: [c.users.id, c.users.name, c.users.mac, c.users.ip],
      });
      const d = this.build(r.searchEntries, [], []);
      return d.users.find((u) => u.id === id);
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }
}

type Search = (base: string, opts: { scope: 'sub'; filter: string; attributes: string[]; paged: { pageSize: number } }) => Promise<Entry[]>;

class ConnectionLost extends Error {}

/**
 * One pushed entry: during the refresh phase (`content` given) it goes into the content by entryUUID; after it,
 * the change is handed to `pend` by normalized DN (a rename also deletes the old DN). True when something is pending.
 */
function pushedEntry(
  m: Extract<SyncMessage, { kind: 'entry' }>,
  content: Map<string, Entry> | undefined,
  uuidDn: Map<string, string>,
  pend: (dn: string, e: Entry | undefined) => void,
): boolean {
  if (!m.uuid || !m.state) throw new Error(`push: entry ${m.dn} without a Sync State control`);
  if (m.state === 'present') return false; // only in refreshes with a cookie (never sent): nothing to change
  if (content) {
    if (m.state === 'delete') content.delete(m.uuid);
    else content.set(m.uuid, entryOf(m.dn, m.attrs));
    return false;
  }
  const dn = normDn(m.dn);
  const before = uuidDn.get(m.uuid);
  if (m.state === 'delete') {
    pend(before ?? dn, undefined);
    uuidDn.delete(m.uuid);
  } else {
    if (before && before !== dn) pend(before, undefined);
    pend(dn, entryOf(m.dn, m.attrs));
    uuidDn.set(m.uuid, dn);
  }
  return true;
}

/** An entry as ldapts gives it (attribute name -> values), from a pushed SearchResultEntry. */
function entryOf(dn: string, attrs: Map<string, string[]>): Entry {
  const e: Entry = { dn };
  for (const [k, v] of attrs) if (k.toLowerCase() !== 'dn') e[k] = v;
  return e;
}
