import { createHash } from 'node:crypto';
import type { FlowPlan } from '../../compiler/model.js';

/** A digest of a whole plan (every switch, every flow, in order), for "byte-identical plan" assertions. */
export function planHash(plan: FlowPlan): string {
  const h = createHash('sha256');
  h.update(
    JSON.stringify(plan, (_k, v: unknown) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : Buffer.isBuffer(v) ? v.toString('hex') : v)),
  );
  return h.digest('hex');
}
