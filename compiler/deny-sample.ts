/**
 * The deny-sample instructions that default-deny and explicit deny flows carry: a copy of the dropped packet to
 * the controller under its own meter, so a flood is capped on the switch and the drop still happens.
 */
import type { Instruction } from '../openflow/types.js';
import { OFPP } from '../openflow/types.js';

/** Meter 1 rate-limits discovery; meter 2 rate-limits deny samples (each switch has both). */
export const DENY_SAMPLE_METER_ID = 2;
/** Bytes of a denied packet sent to the controller (headers up to TCP/UDP over IPv6 with an extension or two). */
export const DENY_SAMPLE_BYTES = 128;

/** The instructions of a flow that drops and sends a metered sample of what it drops to the controller. */
export const DENY_SAMPLE: readonly Instruction[] = Object.freeze([
  { type: 'meter', meterId: DENY_SAMPLE_METER_ID },
  { type: 'apply_actions', actions: [{ type: 'output', port: OFPP.CONTROLLER, maxLen: DENY_SAMPLE_BYTES }] },
] as Instruction[]);

/** A flow that forwards nothing: no instructions, or only a deny sample to the controller. */
export function isDropFlow(f: { instructions: readonly Instruction[] }): boolean {
  const ins = f.instructions;
  if (ins.length === 0) return true;
  return isDenySample(ins);
}

export function isDenySample(ins: readonly Instruction[]): boolean {
  let sampled = false;
  for (const i of ins) {
    if (i.type === 'meter') {
      if (i.meterId !== DENY_SAMPLE_METER_ID) return false;
      sampled = true;
      continue;
    }
    if (i.type === 'apply_actions' && i.actions.every((a) => a.type === 'output' && a.port === OFPP.CONTROLLER)) continue;
    return false;
  }
  return sampled;
}
