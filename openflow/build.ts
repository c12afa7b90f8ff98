import type { FlowMod, MessageOf } from './types.js';
import { OFP_DEFAULT_PRIORITY, OFPG_ANY, OFPP, OFP_NO_BUFFER } from './constants.js';
import { errorName } from './errors.js';

/** A FLOW_MOD with OpenFlow's usual defaults filled in. */
export function flowMod(fields: Partial<FlowMod> & { xid?: number }): MessageOf<'flow_mod'> {
  return {
    type: 'flow_mod',
    xid: fields.xid ?? 0,
    cookie: fields.cookie ?? 0n,
    cookieMask: fields.cookieMask ?? 0n,
    tableId: fields.tableId ?? 0,
    command: fields.command ?? 'add',
    idleTimeout: fields.idleTimeout ?? 0,
    hardTimeout: fields.hardTimeout ?? 0,
    priority: fields.priority ?? OFP_DEFAULT_PRIORITY,
    bufferId: fields.bufferId ?? OFP_NO_BUFFER,
    outPort: fields.outPort ?? OFPP.ANY,
    outGroup: fields.outGroup ?? OFPG_ANY,
    flags: fields.flags ?? {},
    match: fields.match ?? [],
    instructions: fields.instructions ?? [],
  };
}

/** The table entry a flow table holds (what a plan says to install): the fields an "add" FLOW_MOD carries. */
export type FlowEntry = Pick<FlowMod, 'tableId' | 'priority' | 'cookie' | 'match' | 'instructions'> & {
  readonly idleTimeout?: number;
  readonly hardTimeout?: number;
};

/** The "add" FLOW_MOD that installs one flow entry (only its own fields: extra properties such as a plan's origin are ignored). */
export function addFlowMod(f: FlowEntry, xid = 0): MessageOf<'flow_mod'> {
  return flowMod({
    xid,
    cookie: f.cookie,
    tableId: f.tableId,
    priority: f.priority,
    match: f.match,
    instructions: f.instructions,
    idleTimeout: f.idleTimeout ?? 0,
    hardTimeout: f.hardTimeout ?? 0,
  });
}

/** One human line for an ERROR message, e.g. "OFPET_BAD_MATCH/OFPBMC_BAD_PREREQ" or "OFPET_EXPERIMENTER/OFPBFC_MSG_FAILED". */
export function formatError(msg: MessageOf<'error'>): string {
  const n = errorName(msg.errType, msg.code, msg.experimenter);
  return `${n.type}/${n.code}`;
}
