import type { FlowMod, MessageOf } from './types.js';
import { OFPG_ANY, OFPP, OFP_NO_BUFFER } from './types.js';
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
    priority: fields.priority ?? 0x8000,
    bufferId: fields.bufferId ?? OFP_NO_BUFFER,
    outPort: fields.outPort ?? OFPP.ANY,
    outGroup: fields.outGroup ?? OFPG_ANY,
    flags: fields.flags ?? {},
    match: fields.match ?? [],
    instructions: fields.instructions ?? [],
  };
}

/** One human line for an ERROR message, e.g. "OFPET_BAD_MATCH/OFPBMC_BAD_PREREQ" or "OFPET_EXPERIMENTER/OFPBFC_MSG_FAILED". */
export function formatError(msg: MessageOf<'error'>): string {
  const n = errorName(msg.errType, msg.code, msg.experimenter);
  return `${n.type}/${n.code}`;
}
