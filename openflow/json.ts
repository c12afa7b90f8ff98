/**
 * JSON form of messages, for the CLI and debugging: 64-bit values as "0x…" hex strings, byte payloads as hex
 * strings, everything else as in OfpMessage. `messageFromJson` checks its input by encoding it and decoding the
 * bytes again: any field that does not survive (missing, wrong type, out of range) is reported with its path.
 */
import type { OfpMessage, OxmEntry } from './types.js';
import { OXM_BY_NAME } from './oxm.js';
import { decode, encode } from './codec.js';

/** Keys whose values are 64-bit (bigint in OfpMessage). `mask` is 64-bit only inside write_metadata. */
const U64_KEYS = new Set([
  'cookie',
  'cookieMask',
  'metadata',
  'datapathId',
  'generationId',
  'packetCount',
  'byteCount',
  'lookupCount',
  'matchedCount',
  'rxPackets',
  'txPackets',
  'rxBytes',
  'txBytes',
  'rxDropped',
  'txDropped',
  'rxErrors',
  'txErrors',
  'rxFrameErr',
  'rxOverErr',
  'rxCrcErr',
  'collisions',
]);
const BYTES_KEYS = new Set(['data']);

/** A JSON-safe copy: bigint -> "0x…", Buffer -> hex string. */
export function messageToJson(m: OfpMessage): unknown {
  return toJson(m);
}

function toJson(v: unknown): unknown {
  if (typeof v === 'bigint') return '0x' + v.toString(16);
  if (Buffer.isBuffer(v)) return v.toString('hex');
  if (Array.isArray(v)) return v.map(toJson);
  if (v && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) o[k] = toJson(x);
    return o;
  }
  return v;
}

export type FromJsonResult = { readonly ok: true; readonly message: OfpMessage } | { readonly ok: false; readonly error: string };

function toBig(v: unknown): unknown {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === 'string' && /^(0x[0-9a-f]+|\d+)$/i.test(v)) return BigInt(v);
  return v;
}

function toBytes(v: unknown): unknown {
  if (typeof v === 'string' && /^([0-9a-f]{2})*$/i.test(v)) return Buffer.from(v, 'hex');
  return v;
}

function oxmFromJson(e: Record<string, unknown>): OxmEntry {
  const def = OXM_BY_NAME[e.field as keyof typeof OXM_BY_NAME];
  if (def?.kind !== 'u64') return e as unknown as OxmEntry;
  const out: Record<string, unknown> = { ...e, value: toBig(e.value) };
  if (e.mask !== undefined) out.mask = toBig(e.mask);
  return out as unknown as OxmEntry;
}

function fromJson(v: unknown, key: string, parent: Record<string, unknown> | undefined): unknown {
  if (U64_KEYS.has(key) || (key === 'mask' && parent?.type === 'write_metadata')) return toBig(v);
  if (BYTES_KEYS.has(key)) return toBytes(v);
  if (Array.isArray(v)) {
    const arr = v.map((x) => fromJson(x, '', undefined));
    return key === 'match' ? arr.map((x) => (x && typeof x === 'object' ? oxmFromJson(x as Record<string, unknown>) : x)) : arr;
  }
  if (v && typeof v === 'object') {
    const src = v as Record<string, unknown>;
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(src)) o[k] = fromJson(x, k, src);
    if (o.type === 'set_field' && typeof o.field === 'string' && OXM_BY_NAME[o.field as keyof typeof OXM_BY_NAME]?.kind === 'u64')
      o.value = toBig(o.value);
    return o;
  }
  return v;
}

/** Decode adds names that the encoder does not need. */
const DERIVED = new Set(['errTypeName', 'codeName']);

/** First path where `want` (the input) and `got` (after encode + decode) differ, or undefined. */
function firstDifference(want: unknown, got: unknown, path: string): string | undefined {
  if (typeof want === 'bigint' || typeof got === 'bigint') return want === got ? undefined : path;
  if (Buffer.isBuffer(want) || Buffer.isBuffer(got))
    return Buffer.isBuffer(want) && Buffer.isBuffer(got) && want.equals(got) ? undefined : path;
  if (Array.isArray(want)) {
    if (!Array.isArray(got)) return path;
    for (let i = 0; i < Math.max(want.length, got.length); i++) {
      const d = firstDifference(want[i], got[i], `${path}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  if (want && typeof want === 'object') {
    if (!got || typeof got !== 'object') return path;
    const w = want as Record<string, unknown>;
    const g = got as Record<string, unknown>;
    for (const k of new Set([...Object.keys(w), ...Object.keys(g)])) {
      if (DERIVED.has(k)) continue;
      // flags objects: false and absent mean the same
      if ((w[k] === false && g[k] === undefined) || (w[k] === undefined && g[k] === false)) continue;
      const d = firstDifference(w[k], g[k], path ? `${path}.${k}` : k);
      if (d) return d;
    }
    return undefined;
  }
  return Object.is(want, got) ? undefined : path;
}

/** Keys each message type must have (besides type and xid), so that a missing one is named, not a TypeError. */
const REQUIRED: Readonly<Record<string, readonly string[]>> = {
  hello: ['versions'],
  error: ['errType', 'code', 'data'],
  echo_request: ['data'],
  echo_reply: ['data'],
  experimenter: ['experimenter', 'expType', 'data'],
  features_request: [],
  features_reply: ['datapathId', 'nBuffers', 'nTables', 'auxiliaryId', 'capabilities'],
  get_config_request: [],
  get_config_reply: ['flags', 'missSendLen'],
  set_config: ['flags', 'missSendLen'],
  packet_in: ['bufferId', 'totalLen', 'reason', 'tableId', 'cookie', 'match', 'data'],
  flow_removed: [
    'cookie',
    'priority',
    'reason',
    'tableId',
    'durationSec',
    'durationNsec',
    'idleTimeout',
    'hardTimeout',
    'packetCount',
    'byteCount',
    'match',
  ],
  port_status: ['reason', 'desc'],
  packet_out: ['bufferId', 'inPort', 'actions', 'data'],
  flow_mod: [
    'cookie',
    'cookieMask',
    'tableId',
    'command',
    'idleTimeout',
    'hardTimeout',
    'priority',
    'bufferId',
    'outPort',
    'outGroup',
    'flags',
    'match',
    'instructions',
  ],
  group_mod: ['command', 'groupType', 'groupId', 'buckets'],
  meter_mod: ['command', 'flags', 'meterId', 'bands'],
  multipart_request: ['flags', 'body'],
  multipart_reply: ['flags', 'body'],
  barrier_request: [],
  barrier_reply: [],
  role_request: ['role', 'generationId'],
  role_reply: ['role', 'generationId'],
  bundle_control: ['bundleId', 'ctrlType', 'flags'],
  bundle_add: ['bundleId', 'flags', 'message'],
};

/** Parses the JSON form of one message; never throws. */
export function messageFromJson(v: unknown): FromJsonResult {
  if (!v || typeof v !== 'object' || Array.isArray(v) || typeof (v as { type?: unknown }).type !== 'string') {
    return { ok: false, error: 'a message must be an object with a "type"' };
  }
  const type = (v as { type: string }).type;
  const required = REQUIRED[type];
  if (!required) return { ok: false, error: `unknown message type '${type}' (known: ${Object.keys(REQUIRED).join(', ')})` };
  for (const k of ['xid', ...required]) {
    if ((v as Record<string, unknown>)[k] === undefined) return { ok: false, error: `${type}: field ${k} is missing` };
  }
  if (type === 'bundle_add') {
    const inner = messageFromJson({ xid: (v as { xid: unknown }).xid, ...(v as { message: object }).message });
    if (!inner.ok) return { ok: false, error: `bundle_add message: ${inner.error}` };
  }
  const m = fromJson(v, '', undefined) as OfpMessage;
  let bytes: Buffer;
  try {
    bytes = encode(m);
  } catch (e) {
    return { ok: false, error: `cannot encode ${m.type}: ${(e as Error).message}` };
  }
  const r = decode(bytes);
  if (!r.ok) return { ok: false, error: `${m.type} encodes to bytes that do not decode: ${r.error.message}` };
  const d = firstDifference(m, r.message, '');
  if (d !== undefined) {
    const at = d
      .split(/\.|\[/)
      .reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k.replace(/\]$/, '')] : undefined), v);
    return {
      ok: false,
      error: `${m.type}: field ${d || '(message)'} is missing or invalid (${at === undefined ? 'missing' : JSON.stringify(at)})`,
    };
  }
  return { ok: true, message: m };
}
