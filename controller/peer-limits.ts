/**
 * Limits on what an OpenFlow peer can make the controller hold. A switch (or anything that reaches the OpenFlow
 * port) can only have multipart reply parts buffered for requests we sent and are still waiting for; the bytes held
 * are capped per request, per session and across all sessions together. A peer over a limit is disconnected
 * (the caller raises an alert) and everything it held is released.
 */

export interface MultipartLimits {
  /** Bytes (wire size) of unfinished multipart replies one session may hold. */
  readonly perSessionBytes: number;
  /** Bytes of unfinished multipart replies all sessions together may hold. */
  readonly globalBytes: number;
}

export const DEFAULT_MULTIPART_LIMITS: MultipartLimits = { perSessionBytes: 32 * 1024 * 1024, globalBytes: 128 * 1024 * 1024 };

/** Bytes held across every session of one controller (or of the process, for sessions made without a controller). */
export class GlobalBudget {
  held = 0;
  /** Sessions disconnected for exceeding a limit, by reason kind. */
  readonly violations = new Map<string, number>();
  constructor(readonly limits: MultipartLimits = DEFAULT_MULTIPART_LIMITS) {}

  count(kind: string): void {
    this.violations.set(kind, (this.violations.get(kind) ?? 0) + 1);
  }
}

export const processBudget = new GlobalBudget();

export type Violation = {
  readonly kind: 'unsolicited-multipart' | 'multipart-session-cap' | 'multipart-request-cap' | 'multipart-global-cap';
  readonly message: string;
};

/** One session's account: held bytes per outstanding xid, charged against the session and the global budget. */
export class SessionBudget {
  private readonly byXid = new Map<number, number>();
  private held = 0;
  constructor(
    private readonly global: GlobalBudget,
    private readonly perSession = global.limits.perSessionBytes,
  ) {}

  /**
   * Charges `bytes` of a "more" part for `xid`; returns the violation when it does not fit (nothing is charged then).
   * `requestCap` is the cap for that one reply (e.g. a port list is small).
   */
  charge(xid: number, bytes: number, requestCap = Infinity): Violation | undefined {
    const mine = this.byXid.get(xid) ?? 0;
    if (mine + bytes > requestCap) return { kind: 'multipart-request-cap', message: `multipart reply ${xid} over ${requestCap} bytes` };
    if (this.held + bytes > this.perSession)
      return { kind: 'multipart-session-cap', message: `multipart replies over the per-session cap of ${this.perSession} bytes` };
    if (this.global.held + bytes > this.global.limits.globalBytes)
      return {
        kind: 'multipart-global-cap',
        message: `multipart replies of all switches over the global cap of ${this.global.limits.globalBytes} bytes`,
      };
    this.byXid.set(xid, mine + bytes);
    this.held += bytes;
    this.global.held += bytes;
    return undefined;
  }

  /** Releases what one reply held (complete, failed or timed out). */
  release(xid: number): void {
    const b = this.byXid.get(xid);
    if (b === undefined) return;
    this.byXid.delete(xid);
    this.held -= b;
    this.global.held -= b;
  }

  releaseAll(): void {
    for (const x of [...this.byXid.keys()]) this.release(x);
  }

  get bytes(): number {
    return this.held;
  }
}
