/**
 * The TABLE_FEATURES reply body: per table its limits and, from the OFPTFPT_MATCH property, the fields it matches
 * (other properties are skipped); write and read side by side.
 */
import type { OxmFieldName, TableFeatures } from '../types.js';
import { OFP_TABLE_FEATURES_SIZE, OFPTFPT_MATCH, OFPXMC } from '../constants.js';
import { DecodeFail, type Reader, type Writer } from '../buffer.js';
import { OXM_BY_NAME, oxmByCode } from '../oxm.js';

export function writeTableFeatures(w: Writer, tables: readonly TableFeatures[]): void {
  for (const t of tables) {
    const s = w.pos;
    w.u16(0);
    w.u8(t.tableId);
    w.zeros(5);
    w.str(t.name, 32);
    w.u64(t.metadataMatch);
    w.u64(t.metadataWrite);
    w.u32(t.config);
    w.u32(t.maxEntries);
    if (t.matchFields) writeMatchProperty(w, t.matchFields);
    w.patchU16(s, w.pos - s);
  }
}

/** OFPTFPT_MATCH: the OXM headers (class, field, length) of the fields a table matches. */
function writeMatchProperty(w: Writer, fields: readonly OxmFieldName[]): void {
  const ps = w.pos;
  w.u16(OFPTFPT_MATCH);
  w.u16(0);
  for (const f of fields) {
    const d = OXM_BY_NAME[f];
    w.u16(d.oxmClass);
    w.u8(d.oxmField << 1);
    w.u8(d.bytes);
  }
  w.patchU16(ps + 2, w.pos - ps);
  w.pad8(ps);
}

/** The fields of an OFPTFPT_MATCH property that this codec models, by name (experimenter headers skipped). */
function readMatchProperty(body: Reader): OxmFieldName[] {
  const fields: OxmFieldName[] = [];
  while (body.remaining >= 4) {
    const cls = body.u16();
    const fh = body.u8();
    body.u8();
    if (cls === OFPXMC.EXPERIMENTER) {
      if (body.remaining < 4) break;
      body.skip(4);
      continue;
    }
    const d = oxmByCode(cls, fh >> 1);
    if (d && !fields.includes(d.name)) fields.push(d.name);
  }
  return fields;
}

function readTable(b: Reader): TableFeatures {
  const tableId = b.u8();
  b.skip(5);
  const name = b.bytes(32).toString('latin1').replace(/\0.*$/s, '');
  const metadataMatch = b.u64();
  const metadataWrite = b.u64();
  const config = b.u32();
  const maxEntries = b.u32();
  let matchFields: OxmFieldName[] | undefined;
  while (b.remaining > 0) {
    const pat = b.pos;
    const ptype = b.u16();
    const plen = b.u16();
    if (plen < 4) throw new DecodeFail('bad_length', `table feature property length ${plen}`, pat);
    const body = b.sub(plen - 4);
    b.skip(Math.min(b.remaining, ((plen + 7) & ~7) - plen));
    if (ptype === OFPTFPT_MATCH) matchFields = readMatchProperty(body);
  }
  return { tableId, name, metadataMatch, metadataWrite, config, maxEntries, ...(matchFields ? { matchFields } : {}) };
}

export function readTableFeatures(r: Reader): TableFeatures[] {
  const tables: TableFeatures[] = [];
  while (r.remaining > 0) {
    const at = r.pos;
    const len = r.u16();
    if (len < OFP_TABLE_FEATURES_SIZE) throw new DecodeFail('bad_length', `table features length ${len}`, at);
    tables.push(readTable(r.sub(len - 2)));
  }
  return tables;
}
