/**
 * What a flow is, in one place: its identity in a flow table (table, priority and the match as a set, a full mask
 * spelled or not), the identity of its instructions (in the order a switch applies them), both together for plan
 * diffs, and a readable match text for people (explain, verify). The reconciler, explain/verify and plan diffs all
 * use these; the cookie's hash input is `matchKey` in compiler/cookie.ts, which must never change (it would change
 * every cookie). Pure values in, strings out.
 */
import type { Instruction, Match, OxmEntry } from './types.js';
import { OFPCML_NO_BUFFER, OFPP } from './constants.js';
import { OXM_BY_NAME } from './oxm.js';

/** A match value as text: bigints in hex, strings (addresses) in lower case, numbers in decimal. */
export function valueText(x: unknown): string {
  return typeof x === 'bigint' ? '0x' + x.toString(16) : typeof x === 'string' ? x.toLowerCase() : String(x);
}

/** Whether a mask has every bit of the field set (the same as no mask). */
export function isFullMask(field: OxmEntry['field'], mask: OxmEntry['mask']): boolean {
  if (mask === undefined) return false;
  const def = OXM_BY_NAME[field];
  if (!def) return false;
  const bits = def.bytes * 8;
  if (typeof mask === 'bigint') return mask === (1n << BigInt(bits)) - 1n;
  if (typeof mask === 'number') return mask === (def.max ?? 2 ** bits - 1);
  if (typeof mask === 'string') {
    if (def.kind === 'ipv4') return mask === '255.255.255.255';
    const hex = mask.toLowerCase().replace(/[:.]/g, '');
    return def.kind === 'mac' || (def.kind === 'ipv6' && !mask.includes('::'))
      ? hex === 'f'.repeat(def.bytes * 2)
      : mask.toLowerCase() === 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff';
  }
  return false;
}

/** One match field as `field=value[/mask]`, without a full mask. */
export function fieldText(e: OxmEntry): string {
  return `${e.field}=${valueText(e.value)}${e.mask === undefined || isFullMask(e.field, e.mask) ? '' : '/' + valueText(e.mask)}`;
}

/** A match as people read it, in its own field order ('*' for the empty match). */
export function matchText(m: Match): string {
  return m.map(fieldText).join(',') || '*';
}

/** A match's identity: its fields as a set (order does not matter), full masks dropped. */
export function matchIdentity(m: Match): string {
  if (m.length === 0) return '';
  if (m.length === 1) return fieldText(m[0]);
  const a: string[] = new Array(m.length);
  for (let i = 0; i < m.length; i++) a[i] = fieldText(m[i]);
  return a.sort().join(',');
}

/** A flow entry's identity in a switch: two entries with the same key replace each other (OFPFC_ADD). */
export function flowKey(f: { tableId: number; priority: number; match: Match }): string {
  return `${f.tableId}|${f.priority}|${matchIdentity(f.match)}`;
}

/** The order a switch applies instructions in (OpenFlow 1.3 §5.9), whatever order a message lists them in. */
const INS_ORDER: Record<Instruction['type'], number> = {
  meter: 0,
  apply_actions: 1,
  clear_actions: 2,
  write_actions: 3,
  write_metadata: 4,
  goto_table: 5,
};

/** Instructions' identity: in application order; an output to the controller with its max_len (default OFPCML_NO_BUFFER). */
export function instructionsKey(ins: readonly Instruction[]): string {
  return [...ins]
    .sort((a, b) => INS_ORDER[a.type] - INS_ORDER[b.type])
    .map((i) => {
      switch (i.type) {
        case 'apply_actions':
        case 'write_actions':
          return `${i.type}(${i.actions.map((a) => (a.type === 'output' ? `output:${a.port}${a.port === OFPP.CONTROLLER ? ':' + (a.maxLen ?? OFPCML_NO_BUFFER) : ''}` : JSON.stringify(a, (_, x) => (typeof x === 'bigint' ? x.toString(16) : x)))).join(',')})`;
        case 'write_metadata':
          return `md:${i.metadata.toString(16)}/${i.mask.toString(16)}`;
        case 'goto_table':
          return `goto:${i.tableId}`;
        case 'meter':
          return `meter:${i.meterId}`;
        case 'clear_actions':
          return 'clear';
      }
    })
    .join(';');
}

/** A whole flow's identity (entry, instructions and cookie): equal exactly when nothing about the flow changed. */
export function flowIdentity(f: {
  tableId: number;
  priority: number;
  match: Match;
  instructions: readonly Instruction[];
  cookie: bigint;
}): string {
  return `${flowKey(f)}|${instructionsKey(f.instructions)}|${f.cookie.toString(16)}`;
}
