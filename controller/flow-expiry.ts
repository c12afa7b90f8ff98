/**
 * Time-bound flows on the wire and on the switch. A plan says when a flow must leave the switch as an absolute
 * instant (PlannedFlow.expiresAt); this module turns it into the hard_timeout remaining at send time, and tells
 * whether a flow a switch holds leaves at the planned instant.
 *
 * A switch reports a flow's hard_timeout as it was sent (it does not count down) and the time since it was added
 * (duration_sec + duration_nsec; OFPFC_ADD of an existing entry starts both anew, and Open vSwitch counts the
 * hard_timeout from that same instant). So the switch drops it at `read - duration + hard_timeout` (`read`: when the
 * flows were asked for), which is compared with the planned instant as absolute time, within small tolerances.
 */
import type { PlannedFlow } from '../compiler/model.js';
import { MAX_HARD_TIMEOUT, flowAt } from '../compiler/schedule.js';
import type { FlowEntry } from '../openflow/index.js';

/** A flow as installed: read from the switch, or assumed from the plan it was last brought to. */
export interface InstalledTiming {
  /** As sent (0: none); undefined when unknown (not compared). */
  readonly hardTimeout?: number;
  /** Seconds (and the nanoseconds beyond) since the switch added the flow. */
  readonly durationSec?: number;
  readonly durationNsec?: number;
  /** An assumed flow (not read): the instant it leaves the switch, null for never. Wins over the fields above. */
  readonly leavesAt?: number | null;
}

/**
 * How much later (ms) than planned a switch may drop a flow it holds before it is sent again: the wire's whole
 * seconds (rounded up) and clock noise. Kept small: a later end is a grant outliving its rule if the controller dies.
 */
export const LATE_TOLERANCE_MS = 5000;
/**
 * How much earlier: the read's own duration, or a test's clock that stands still while the switch's runs. An end
 * moved later by less is still sent again by an apply (plans are compared exactly), else the flow leaves early and
 * the next read-back adds it again.
 */
export const EARLY_TOLERANCE_MS = 30_000;
/** A flow capped at 65,535 s (its end is further away) is re-armed once less than half of that is left on the switch. */
export const REARM_BELOW_MS = (MAX_HARD_TIMEOUT * 1000) / 2;

/** The entry to send for a planned flow at `now`: with the hard_timeout remaining to its end; undefined once that has passed. */
export const onWire: (f: PlannedFlow, now: number) => FlowEntry | undefined = flowAt;

/** Whether a planned flow is still to be installed at `now` (a flow whose end has passed is not). */
export const isLive = (f: PlannedFlow, now: number): boolean => f.expiresAt === undefined || f.expiresAt > now;

/** The instant (epoch ms) the switch drops a flow read at `readAt` (FlowStats): null for never, undefined when unknown. */
export function leavesAt(h: InstalledTiming, readAt: number): number | null | undefined {
  if (h.leavesAt !== undefined) return h.leavesAt;
  if (h.hardTimeout === undefined) return undefined;
  if (h.hardTimeout === 0) return null;
  return readAt - (h.durationSec ?? 0) * 1000 - Math.floor((h.durationNsec ?? 0) / 1e6) + h.hardTimeout * 1000;
}

/**
 * Whether an installed flow must be sent again for its expiry: it has no timeout that the plan wants (or the other
 * way round), it would outlive the planned end (a grant extended while the controller is away), or it would leave
 * the switch too early (the end moved later, or it was capped at 65,535 s and runs low). An assumed flow is
 * compared exactly (both ends come from plans); one read at `readAt` within the tolerances.
 */
export function expiryDiffers(f: PlannedFlow, h: InstalledTiming, readAt: number): boolean {
  const at = leavesAt(h, readAt);
  if (at === undefined) return false;
  if (f.expiresAt === undefined) return at !== null;
  if (at === null) return true;
  if (h.leavesAt !== undefined) return at !== f.expiresAt;
  return at > f.expiresAt + LATE_TOLERANCE_MS || at < Math.min(f.expiresAt - EARLY_TOLERANCE_MS, readAt + REARM_BELOW_MS);
}

/** An assumed installed flow (the plan a switch was last brought to), with the instant it leaves the switch. */
export const assumedInstalled = (f: PlannedFlow): PlannedFlow & InstalledTiming => ({ ...f, leavesAt: f.expiresAt ?? null });
