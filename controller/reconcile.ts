/**
 * Reconciliation: make a switch's flows in our cookie space equal to its plan.
 * Read (multipart FLOW filtered by our cookie tag) → diff → send only the difference (in an ONF bundle, atomically,
 * when the switch supports it) → BARRIER → read back and compare.
 */
import type { FlowStats, Instruction, Match, MessageOf, OfpMessage } from '../openflow/index.js';
import { OFPBRC, OFPET, OFPG_ANY, OFPP, OFPTT_ALL, addFlowMod, flowMod } from '../openflow/index.js';
import { flowKey, instructionsKey } from '../openflow/identity.js';

export { flowKey } from '../openflow/identity.js';
import { COOKIE_TAG, COOKIE_TAG_MASK, type PlannedFlow, type SwitchPlan } from '../compiler/model.js';
import { DENY_SAMPLE_METER_ID, isDropFlow } from '../compiler/deny-sample.js';
import type { SwitchSession } from './session.js';
import { OfpRequestError } from './session.js';
import { expiryDiffers, isLive, onWire, type InstalledTiming } from './flow-expiry.js';

export const DISCOVERY_METER_ID = 1;

/** A flow a switch holds: read from it (FlowStats), or assumed from the plan it was last brought to. */
export type FlowLike = InstalledTiming & {
  readonly tableId: number;
  readonly priority: number;
  readonly match: Match;
  readonly instructions: readonly Instruction[];
  readonly cookie: bigint;
  readonly rawMatch?: Buffer;
  readonly undecoded?: string;
};

// Plans are immutable: the keys of a planned flow are computed once, however often the switch is re-read.
const plannedKeys = new WeakMap<PlannedFlow, string>();
const plannedActions = new WeakMap<PlannedFlow, string>();
function plannedKey(f: PlannedFlow): string {
  let k = plannedKeys.get(f);
  if (k === undefined) plannedKeys.set(f, (k = flowKey(f)));
  return k;
}
function plannedActionsKey(f: PlannedFlow): string {
  let k = plannedActions.get(f);
  if (k === undefined) plannedActions.set(f, (k = instructionsKey(f.instructions)));
  return k;
}

export interface FlowDiff {
  readonly add: readonly PlannedFlow[];
  /** Installed flows that differ only in actions or cookie: re-added (OFPFC_ADD replaces them). */
  readonly change: readonly PlannedFlow[];
  readonly remove: readonly FlowLike[];
  readonly unchanged: number;
}

/**
 * What to send to bring `installed` (read at the instant `now`) to the plan: a planned flow whose end has passed is
 * not desired (not installed, and removed if the switch still holds it); a time-bound flow that the switch would
 * drop at another instant than planned is re-added (expiry compared as absolute time: controller/flow-expiry.ts).
 */
export function diffFlows(all: readonly PlannedFlow[], installed: readonly FlowLike[], now = Date.now()): FlowDiff {
  const desired = all.some((f) => !isLive(f, now)) ? all.filter((f) => isLive(f, now)) : all;
  if (installed.length === 0) return { add: [...desired], change: [], remove: [], unchanged: 0 };
  const have = new Map<string, FlowLike>();
  // a flow we could not decode never counts as one of ours: it is listed for removal (exclusive mode only reads it)
  for (const f of installed) have.set(f.rawMatch ? `raw:${f.tableId}/${f.priority}/${f.rawMatch.toString('hex')}` : flowKey(f), f);
  const add: PlannedFlow[] = [];
  const change: PlannedFlow[] = [];
  let unchanged = 0;
  for (const f of desired) {
    const k = plannedKey(f);
    const h = have.get(k);
    if (!h) {
      add.push(f);
      continue;
    }
    have.delete(k);
    // a time-bound flow the switch would drop at another instant than planned is re-added (OFPFC_ADD re-arms it)
    if (
      h.cookie !== f.cookie ||
      h.undecoded !== undefined ||
      instructionsKey(h.instructions) !== plannedActionsKey(f) ||
      expiryDiffers(f, h, now)
    )
      change.push(f);
    else unchanged++;
  }
  return { add, change, remove: [...have.values()], unchanged };
}

export async function readFlows(s: SwitchSession, exclusive = false): Promise<FlowStats[]> {
  const reply = await s.request<MessageOf<'multipart_reply'>>(
    {
      type: 'multipart_request',
      xid: s.xid(),
      flags: 0,
      body: {
        kind: 'flow',
        tableId: OFPTT_ALL,
        outPort: OFPP.ANY,
        outGroup: OFPG_ANY,
        cookie: exclusive ? 0n : COOKIE_TAG,
        cookieMask: exclusive ? 0n : COOKIE_TAG_MASK,
        match: [],
      },
    },
    120_000,
  );
  return reply.body.kind === 'flow' ? [...reply.body.flows] : [];
}

export interface ReconcileResult {
  readonly switch: string;
  readonly added: number;
  readonly changed: number;
  readonly removed: number;
  readonly unchanged: number;
  readonly installed: number;
  readonly desired: number;
  readonly atomic: boolean;
  readonly errors: readonly string[];
  readonly ms: number;
}

/**
 * Makes sure the discovery meter (1) exists (errors other than "exists" are reported, not fatal); with
 * `denyPps`, also the deny-sample meter (2), so that a flood of denied packets cannot crowd out discovery.
 */
export async function installMeter(s: SwitchSession, pps = 100, denyPps?: number): Promise<string | undefined> {
  if (denyPps !== undefined) {
    const e = await installOneMeter(s, DENY_SAMPLE_METER_ID, denyPps);
    if (e) return `deny-sample meter: ${e}`;
  }
  return installOneMeter(s, DISCOVERY_METER_ID, pps);
}

export async function installOneMeter(s: SwitchSession, meterId: number, pps: number): Promise<string | undefined> {
  const add: OfpMessage = {
    type: 'meter_mod',
    xid: s.xid(),
    command: 'add',
    flags: { pktps: true },
    meterId,
    bands: [{ type: 'drop', rate: pps, burstSize: 0 }],
  };
  const errs: string[] = [];
  const onErr = (e: { error: string; request?: OfpMessage }) => {
    if (e.request?.xid === add.xid) errs.push(e.error);
  };
  s.on('switch_error', onErr);
  s.sendTracked([add]);
  await s.barrier();
  s.off('switch_error', onErr);
  if (errs.length && !errs[0].includes('METER_EXISTS')) return errs[0];
  return undefined;
}

export interface ReconcileOptions {
  readonly useBundle?: boolean;
  readonly exclusive?: boolean;
  readonly installed?: readonly FlowLike[];
  /** Read the flows back after the barrier and compare (default true). */
  readonly verify?: boolean;
  /** With `installed`: the difference already known (the edge path's plan delta), so nothing is diffed here. */
  readonly delta?: { readonly add: readonly PlannedFlow[]; readonly remove: readonly PlannedFlow[] };
  /** The controller's clock (epoch ms): time-bound flows are sent with the hard_timeout left until their end. */
  readonly now?: () => number;
  /** With `installed` read from the switch: the instant (by `now`) they were asked for. */
  readonly readAt?: number;
}

/**
 * The flow mods of a diff, ordered for non-atomic application so that no packet meets a state that allows more
 * than the old or the new policy: (1) add the new drops, (2) delete the old permits, (3) add the new permits,
 * (4) delete the old drops. Within a step, higher priority first. In a bundle the order does not matter.
 */
function orderedFlowMods(s: SwitchSession, d: FlowDiff, exclusive: boolean, now: number): Array<MessageOf<'flow_mod'>> {
  const msgs: Array<MessageOf<'flow_mod'>> = [];
  const isDrop = isDropFlow;
  const byPrio = (a: { priority: number }, b: { priority: number }) => b.priority - a.priority;
  // each with the hard_timeout left until its end now; a flow whose end has passed is not sent (the edge path's delta)
  const upserts = [...d.add, ...d.change].flatMap((f) => onWire(f, now) ?? []);
  const del = (f: FlowLike) => ({
    ...flowMod({
      xid: s.xid(),
      command: 'delete_strict',
      tableId: f.tableId,
      priority: f.priority,
      match: f.match,
      cookie: f.cookie,
      cookieMask: exclusive ? 0n : 0xffffffffffffffffn,
    }),
    ...(f.rawMatch ? { rawMatch: f.rawMatch } : {}),
  });
  for (const f of upserts.filter(isDrop).sort(byPrio)) msgs.push(addFlowMod(f, s.xid()));
  for (const f of d.remove.filter((x) => !isDrop(x)).sort(byPrio)) msgs.push(del(f));
  for (const f of upserts.filter((x) => !isDrop(x)).sort(byPrio)) msgs.push(addFlowMod(f, s.xid()));
  for (const f of d.remove.filter(isDrop).sort(byPrio)) msgs.push(del(f));
  return msgs;
}

/**
 * Sends the flow mods in one atomic ONF bundle. Refusals are collected into `errors` (the bundle is then
 * discarded, so nothing is half-applied); a switch without bundles is reported as bundleUnsupported.
 */
async function applyInBundle(
  s: SwitchSession,
  msgs: ReadonlyArray<MessageOf<'flow_mod'>>,
  errors: string[],
): Promise<{ atomic: boolean; bundleUnsupported: boolean }> {
  let atomic = false;
  let bundleUnsupported = false;
  const bundleId = (s.xid() & 0x7fffffff) >>> 0;
  try {
    await s.request({ type: 'bundle_control', xid: s.xid(), bundleId, ctrlType: 'open_request', flags: { atomic: true } }, 10_000);
    const adds: OfpMessage[] = msgs.map((m) => ({ type: 'bundle_add', xid: m.xid, bundleId, flags: { atomic: true }, message: m }));
    for (let i = 0; i < adds.length; i += 2000) {
      s.sendTracked(adds.slice(i, i + 2000));
      await s.drained();
    }
    // OVS checks each bundle_add on arrival and leaves refused ones out of the commit: wait for those
    // errors, and discard the whole bundle if there is any, so that nothing is half-applied.
    await s.barrier();
    if (errors.length) {
      await s
        .request({ type: 'bundle_control', xid: s.xid(), bundleId, ctrlType: 'discard_request', flags: { atomic: true } }, 10_000)
        .catch(() => undefined);
      throw new Error(`${errors.length} flow mods refused; bundle discarded`);
    }
    await s.request({ type: 'bundle_control', xid: s.xid(), bundleId, ctrlType: 'commit_request', flags: { atomic: true } }, 120_000);
    atomic = true;
  } catch (e) {
    if (e instanceof OfpRequestError && e.request?.type === 'bundle_control' && noBundles(e.reply) && errors.length === 0) {
      bundleUnsupported = true;
    } else {
      errors.push(`bundle failed, nothing applied: ${(e as Error).message}`);
    }
  }
  return { atomic, bundleUnsupported };
}

/** Brings one switch to its plan. Safe to call repeatedly: a switch already in sync gets no flow mods. */
export async function reconcile(
  s: SwitchSession,
  plan: SwitchPlan,
  opts: ReconcileOptions = {},
): Promise<ReconcileResult & { bundleUnsupported?: boolean }> {
  const t0 = performance.now();
  const now = opts.now ?? Date.now;
  // the instant the flows were asked for: a switch reports each flow's age as of its reply
  const readAt = opts.readAt ?? now();
  const installed = opts.installed ?? (await readFlows(s, opts.exclusive));
  const d: FlowDiff =
    opts.delta && opts.installed
      ? { add: opts.delta.add, change: [], remove: opts.delta.remove, unchanged: plan.flows.length - opts.delta.add.length }
      : diffFlows(plan.flows, installed, readAt);
  const msgs = orderedFlowMods(s, d, opts.exclusive === true, now());
  const errors: string[] = [];
  let atomic = false;
  let bundleUnsupported = false;
  if (msgs.length) {
    const onErr = (e: { error: string; request?: OfpMessage }) => {
      const fm = e.request?.type === 'flow_mod' ? e.request : e.request?.type === 'bundle_add' ? e.request.message : undefined;
      if (!fm || fm.type !== 'flow_mod') {
        errors.push(e.error);
        return;
      }
      const origin =
        fm.command === 'add'
          ? plan.flows.find((p) => p.cookie === fm.cookie && p.tableId === fm.tableId && p.priority === fm.priority)?.origin
          : undefined;
      errors.push(
        `${e.error} for ${fm.command} table=${fm.tableId} priority=${fm.priority} cookie=0x${fm.cookie.toString(16)}${origin ? ` (${origin})` : ''}`,
      );
    };
    s.on('switch_error', onErr);
    try {
      if (opts.useBundle !== false) ({ atomic, bundleUnsupported } = await applyInBundle(s, msgs, errors));
      if (!atomic && (opts.useBundle === false || bundleUnsupported)) {
        for (let i = 0; i < msgs.length; i += 2000) {
          s.sendTracked(msgs.slice(i, i + 2000));
          await s.drained();
        }
      }
      await s.barrier();
    } finally {
      s.off('switch_error', onErr);
    }
  }
  // Read back to confirm.
  const verify = opts.verify !== false;
  const readBack = msgs.length && verify ? now() : readAt;
  const after = msgs.length && verify ? await readFlows(s, opts.exclusive) : installed;
  const check = verify ? diffFlows(plan.flows, after, readBack) : { add: [], change: [], remove: [] };
  if (check.add.length || check.change.length || check.remove.length) {
    errors.push(`after apply, ${check.add.length} flows missing, ${check.change.length} differ, ${check.remove.length} extra`);
  }
  return {
    switch: plan.name,
    added: d.add.length,
    changed: d.change.length,
    removed: d.remove.length,
    unchanged: d.unchanged,
    installed: verify ? after.length : plan.flows.length,
    desired: plan.flows.length,
    atomic,
    errors,
    ms: performance.now() - t0,
    bundleUnsupported,
  };
}

/** A switch without ONF bundles refuses BUNDLE_CONTROL as a bad request (type, experimenter or experimenter type). */
function noBundles(reply: { readonly errType: number; readonly code: number }): boolean {
  return (
    reply.errType === OFPET.BAD_REQUEST &&
    (reply.code === OFPBRC.BAD_TYPE || reply.code === OFPBRC.BAD_EXPERIMENTER || reply.code === OFPBRC.BAD_EXP_TYPE)
  );
}
