/**
 * Where each MAC last logged in, to tell a device that moved from one on two ports at once (#14, roaming).
 *
 * A device that moves goes A → B once. A MAC admitted at A, then at B, then back at A within `windowMs` of
 * arriving at B is on two ports at once (a cloned MAC, or one laptop plugged in twice: each side logs in again
 * as soon as it finds itself locked out): a conflict. A person who walks back to the first desk takes longer. Under the policy's
 * `roaming: { conflict: deny-both }` (the default) the MAC is then held for `holdMs`: admitted on neither port,
 * its session ends, new logins anywhere are refused until the hold ends. Under `newest` the conflict is only
 * reported and the newest login wins, as a move would. Bounded: at most `max` MACs are remembered (oldest first out).
 */

export type ConflictMode = 'deny-both' | 'newest';

export interface Sighting {
  /** 'new': first time; 'same': same port as before; 'moved': another port; 'conflict': back where it was before (A → B → A in the window). */
  readonly kind: 'new' | 'same' | 'moved' | 'conflict';
  /** For 'moved' and 'conflict': the port it was at just before ("switch:port"). */
  readonly from?: string;
}

export class MacSightings {
  /** Per MAC: where it is admitted, since when, and where it was before. */
  private readonly seen = new Map<string, { port: string; since: number; prevPort?: string }>();
  private readonly holds = new Map<string, number>();
  private readonly now: () => number;
  readonly windowMs: number;
  readonly holdMs: number;
  private readonly max: number;

  constructor(opts: { now?: () => number; windowMs?: number; holdMs?: number; max?: number } = {}) {
    this.now = opts.now ?? Date.now;
    this.windowMs = opts.windowMs ?? 30_000;
    this.holdMs = opts.holdMs ?? 60_000;
    this.max = opts.max ?? 100_000;
  }

  /** A MAC admitted at `port` ("switch:port"): how that relates to where it was admitted before. */
  note(mac: string, port: string): Sighting {
    const t = this.now();
    const s = this.seen.get(mac);
    if (!s) {
      if (this.seen.size >= this.max) this.seen.delete(this.seen.keys().next().value!);
      this.seen.set(mac, { port, since: t });
      return { kind: 'new' };
    }
    this.seen.delete(mac); // re-inserted: most recent last
    if (s.port === port) {
      this.seen.set(mac, s);
      return { kind: 'same' };
    }
    this.seen.set(mac, { port, since: t, prevPort: s.port });
    const back = s.prevPort === port && t - s.since <= this.windowMs;
    return { kind: back ? 'conflict' : 'moved', from: s.port };
  }

  /** Refuses the MAC everywhere for `holdMs`. */
  hold(mac: string): void {
    if (this.holds.size >= this.max) this.holds.delete(this.holds.keys().next().value!);
    this.holds.set(mac, this.now() + this.holdMs);
  }

  /** Is the MAC held after a conflict? */
  held(mac: string): boolean {
    const until = this.holds.get(mac);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.holds.delete(mac);
    this.seen.delete(mac); // a fresh start after the hold: its next login is 'new'
    return false;
  }

  /** Ends a hold early (an admin resolved it). */
  release(mac: string): boolean {
    this.seen.delete(mac);
    return this.holds.delete(mac);
  }

  /** MACs held now, with when the hold ends (ms since epoch). */
  heldList(): Array<{ mac: string; until: number }> {
    return [...this.holds].filter(([m]) => this.held(m)).map(([mac, until]) => ({ mac, until }));
  }

  /**
   * Before a login at sw:port is admitted: A → B is a move (the session follows); A → B → A within the window is a
   * conflict: alerted (`mac-conflict`), and under deny-both the MAC is held. Returns true when the login must be
   * refused (held now, or just found on two ports under deny-both). A re-authentication on the same port is neither.
   */
  admit(mac: string, sw: string, port: number, mode: ConflictMode, event: (type: string, data: Record<string, unknown>) => void): boolean {
    if (mode === 'deny-both' && this.held(mac)) return true;
    const here = `${sw}:${port}`;
    const v = this.note(mac, here);
    if (v.kind !== 'conflict') return false;
    const secs = this.holdMs / 1000;
    event('mac-conflict', {
      mac,
      switch: sw,
      port,
      alsoAt: v.from,
      action: mode,
      holdSeconds: mode === 'deny-both' ? secs : 0,
      message: `${mac} logs in on ${here} and ${v.from} at once: ${mode === 'deny-both' ? `admitted on neither for ${secs} s` : 'the newest login wins'}`,
    });
    if (mode !== 'deny-both') return false;
    this.hold(mac);
    return true;
  }
}
