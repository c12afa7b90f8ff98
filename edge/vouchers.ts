/**
 * Guest vouchers: an admin (API or `acl vouchers create`) makes a time-limited code; a guest types it on the
 * sign-in page and their device joins the built-in role `guest` (whatever the policy grants that role; nothing
 * else) for the voucher's session time.
 *
 * Against guessing and replay:
 *  - a code is 16 characters from a 32-letter alphabet without look-alikes (80 bits, from crypto.randomBytes),
 *    shown once at creation; only its SHA-256 is kept (the state file and the API never hold a usable code);
 *  - a code works until it expires, for at most `uses` devices (default 1); a used-up, expired or revoked code is
 *    refused the same way as an unknown one, so a guesser learns nothing;
 *  - redemption is rate-limited by the sign-in page (per address, and a global failure budget: many wrong codes
 *    from many addresses suspend voucher sign-in for a while — see SigninServer);
 *  - the same device redeeming again keeps its one session (no extra use is counted).
 * Pure state + crypto; no I/O (the controller persists `snapshot()` in its state file).
 */
import { createHash, randomBytes } from 'node:crypto';

const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'; // no I, O, 0, 1
export const VOUCHER_LENGTH = 16;

export interface Voucher {
  readonly id: string;
  /** SHA-256 of the normalised code, hex. */
  readonly hash: string;
  readonly created: string;
  readonly createdBy: string;
  /** ISO 8601: the code cannot be redeemed after this. */
  readonly expires: string;
  /** Devices the code admits at most. */
  readonly uses: number;
  /** MACs that redeemed it. */
  readonly usedBy: readonly string[];
  /** How long a device admitted by it stays (ms). */
  readonly sessionMs: number;
  readonly note?: string;
  readonly revoked?: boolean;
}

export type VoucherView = Omit<Voucher, 'hash'> & { readonly state: 'valid' | 'used-up' | 'expired' | 'revoked' };

export interface CreateVoucher {
  readonly validMs: number;
  readonly uses?: number;
  readonly sessionMs?: number;
  readonly note?: string;
  readonly by: string;
}

export type RedeemResult = { ok: true; voucher: Voucher; sessionMs: number; again: boolean } | { ok: false; code: 'invalid' };

/** Upper case, spaces and dashes dropped (people type codes as they are printed: XXXX-XXXX-XXXX-XXXX). */
export function normaliseCode(s: string): string | undefined {
  if (typeof s !== 'string' || s.length > 64) return undefined;
  const c = s.toUpperCase().replace(/[\s-]/g, '');
  if (c.length !== VOUCHER_LENGTH) return undefined;
  for (const ch of c) if (!ALPHABET.includes(ch)) return undefined;
  return c;
}

const hashOf = (code: string) => createHash('sha256').update(`sdn-acl-voucher:${code}`).digest('hex');

export class VoucherStore {
  private readonly byHash = new Map<string, Voucher>();
  private readonly byId = new Map<string, Voucher>();
  /** Increments on every change (the state file is written when it moved). */
  version = 0;
  /** At most this many vouchers are kept (expired ones are dropped first). */
  readonly max: number;

  constructor(
    private readonly now: () => number = Date.now,
    opts: { max?: number } = {},
  ) {
    this.max = opts.max ?? 10_000;
  }

  /** A new voucher and its code (the only time the code exists outside the guest's hands). */
  create(req: CreateVoucher): { ok: true; voucher: VoucherView; code: string } | { ok: false; message: string } {
    if (!(req.validMs >= 60_000 && req.validMs <= 366 * 86_400_000))
      return { ok: false, message: 'validity must be between 1 minute and 366 days' };
    const uses = req.uses ?? 1;
    if (!Number.isInteger(uses) || uses < 1 || uses > 10_000) return { ok: false, message: 'uses must be a whole number, 1..10000' };
    const sessionMs = req.sessionMs ?? Math.min(req.validMs, 86_400_000);
    if (!(sessionMs >= 60_000 && sessionMs <= 31 * 86_400_000))
      return { ok: false, message: 'session time must be between 1 minute and 31 days' };
    if (req.note !== undefined && (typeof req.note !== 'string' || req.note.length > 200))
      return { ok: false, message: 'note must be text of at most 200 characters' };
    this.sweep();
    if (this.byId.size >= this.max) return { ok: false, message: `too many vouchers (${this.max}); revoke some first` };
    const bytes = randomBytes(VOUCHER_LENGTH);
    let code = '';
    for (const b of bytes) code += ALPHABET[b & 31];
    const t = this.now();
    const v: Voucher = {
      id: `v-${randomBytes(6).toString('hex')}`,
      hash: hashOf(code),
      created: new Date(t).toISOString(),
      createdBy: req.by,
      expires: new Date(t + req.validMs).toISOString(),
      uses,
      usedBy: [],
      sessionMs,
      ...(req.note ? { note: req.note } : {}),
    };
    this.put(v);
    return { ok: true, voucher: this.view(v), code: code.match(/.{4}/g)!.join('-') };
  }

  /** A guest's device redeems a code. Every refusal looks the same. */
  redeem(code: string, mac: string): RedeemResult {
    const c = normaliseCode(code);
    if (!c) return { ok: false, code: 'invalid' };
    const v = this.byHash.get(hashOf(c));
    if (!v || v.revoked || Date.parse(v.expires) <= this.now()) return { ok: false, code: 'invalid' };
    if (v.usedBy.includes(mac)) return { ok: true, voucher: v, sessionMs: this.sessionFor(v), again: true };
    if (v.usedBy.length >= v.uses) return { ok: false, code: 'invalid' };
    const next = { ...v, usedBy: [...v.usedBy, mac] };
    this.put(next);
    return { ok: true, voucher: next, sessionMs: this.sessionFor(next), again: false };
  }

  /** The session never outlives the voucher's own validity by more than its session time. */
  private sessionFor(v: Voucher): number {
    return v.sessionMs;
  }

  revoke(id: string): Voucher | undefined {
    const v = this.byId.get(id);
    if (!v) return undefined;
    const next = { ...v, revoked: true };
    this.put(next);
    return next;
  }

  get(id: string): Voucher | undefined {
    return this.byId.get(id);
  }

  list(): VoucherView[] {
    return [...this.byId.values()].map((v) => this.view(v));
  }

  view(v: Voucher): VoucherView {
    const { hash: _h, ...rest } = v;
    const state = v.revoked ? 'revoked' : Date.parse(v.expires) <= this.now() ? 'expired' : v.usedBy.length >= v.uses ? 'used-up' : 'valid';
    return { ...rest, state };
  }

  /** For the state file: hashes only, never codes. */
  snapshot(): Voucher[] {
    return [...this.byId.values()];
  }

  /** From the state file; malformed entries are dropped (fail closed: a voucher we cannot read admits nobody). */
  restore(values: unknown): number {
    if (!Array.isArray(values)) return 0;
    let n = 0;
    for (const x of values.slice(0, this.max)) {
      const v = x as Partial<Voucher>;
      if (!v || typeof v.id !== 'string' || !/^v-[0-9a-f]{12}$/.test(v.id) || typeof v.hash !== 'string' || !/^[0-9a-f]{64}$/.test(v.hash))
        continue;
      if (
        typeof v.expires !== 'string' ||
        !Number.isFinite(Date.parse(v.expires)) ||
        typeof v.created !== 'string' ||
        typeof v.createdBy !== 'string'
      )
        continue;
      if (!Number.isInteger(v.uses) || (v.uses as number) < 1 || !Array.isArray(v.usedBy) || !v.usedBy.every((m) => typeof m === 'string'))
        continue;
      if (typeof v.sessionMs !== 'number' || !(v.sessionMs >= 60_000)) continue;
      this.put({
        id: v.id,
        hash: v.hash,
        created: v.created,
        createdBy: v.createdBy,
        expires: v.expires,
        uses: v.uses as number,
        usedBy: v.usedBy,
        sessionMs: v.sessionMs,
        ...(typeof v.note === 'string' ? { note: v.note.slice(0, 200) } : {}),
        ...(v.revoked === true ? { revoked: true } : {}),
      });
      n++;
    }
    return n;
  }

  /** Drops vouchers expired more than a day ago. */
  sweep(): void {
    const limit = this.now() - 86_400_000;
    for (const v of [...this.byId.values()])
      if (Date.parse(v.expires) < limit) {
        this.byId.delete(v.id);
        this.byHash.delete(v.hash);
        this.version++;
      }
  }

  private put(v: Voucher): void {
    this.byId.set(v.id, v);
    this.byHash.set(v.hash, v);
    this.version++;
  }
}
