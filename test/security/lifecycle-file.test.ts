/** A damaged or forged lifecycle file (controller/lifecycle-store.ts) is read defensively: bad entries are dropped and counted, nothing throws. */
import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readLifecycle } from '../../controller/lifecycle-store.js';
import { tempDir } from '../helpers/tmp.js';

const good = {
  version: 1,
  at: '2026-12-02T08:00:00.000Z',
  by: 'alice',
  reason: 'load',
  planHash: 'a'.repeat(64),
  text: 'version: 1\n',
  ids: { classIds: [['x', 1]], dstClassIds: [] },
};
const pend = {
  id: 'abc_DEF-1',
  kind: 'policy',
  by: 'alice',
  at: 'now',
  expiresAt: 'later',
  baseVersion: 1,
  text: 't',
  baseText: 'b',
  textSha256: 'f'.repeat(64),
  expires: 2_000,
  access: [],
  flows: [],
  summary: 's',
};

describe('lifecycle file: hostile content', () => {
  const cases: Array<[string, string, { versions: number; pending: number }]> = [
    ['not JSON', '{"versions": [', { versions: 0, pending: 0 }],
    ['an array', '[1,2]', { versions: 0, pending: 0 }],
    [
      'wrong types everywhere',
      JSON.stringify({
        versions: [{ ...good, version: -1 }, { ...good, text: 5 }, { ...good, ids: { classIds: [['x', 1e9]], dstClassIds: [] } }, 'v'],
        pending: [
          { ...pend, id: '../x' },
          { ...pend, kind: 'admin' },
          { ...pend, baseText: undefined },
        ],
      }),
      { versions: 0, pending: 0 },
    ],
    ['an expired pending change', JSON.stringify({ versions: [good], pending: [{ ...pend, expires: 500 }] }), { versions: 1, pending: 0 }],
    ['valid entries', JSON.stringify({ versions: [good], pending: [pend] }), { versions: 1, pending: 1 }],
    ['a prototype key', '{"__proto__": {"polluted": 1}, "versions": [], "pending": []}', { versions: 0, pending: 0 }],
  ];
  for (const [name, text, want] of cases)
    it(name, () => {
      const f = join(tempDir('ol-lcf-'), 'state.lifecycle.json');
      writeFileSync(f, text);
      const r = readLifecycle(f, 1_000);
      expect({ versions: r.versions.length, pending: r.pending.length }).toEqual(want);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
  it('a huge list is capped', () => {
    const f = join(tempDir('ol-lcf-'), 'state.lifecycle.json');
    writeFileSync(f, JSON.stringify({ versions: Array.from({ length: 5000 }, (_, i) => ({ ...good, version: i })), pending: [] }));
    expect(readLifecycle(f, 1_000).versions.length).toBeLessThanOrEqual(300);
  });
});

describe('lifecycle file: the monitored version', () => {
  const mon = { text: 'version: 1\n', by: 'alice', since: '2026-12-02T08:00:00.000Z', baseVersion: 3 };
  const read = (monitor: unknown) => {
    const f = join(tempDir('ol-lcf-'), 'state.lifecycle.json');
    writeFileSync(f, JSON.stringify({ versions: [], pending: [], monitor }));
    return readLifecycle(f, 1_000);
  };
  it('a well-formed one is kept as it was', () => {
    expect(read({ ...mon, approvedBy: 'bob' }).monitor).toEqual({ ...mon, approvedBy: 'bob' });
  });
  it('a malformed one is dropped and counted, never half-read', () => {
    for (const bad of [
      'x',
      [mon],
      { ...mon, text: 5 },
      { ...mon, text: 'x'.repeat(9 << 20) },
      { ...mon, by: { name: 'alice' } },
      { ...mon, since: 'yesterday' },
      { ...mon, baseVersion: '3' },
      { ...mon, baseVersion: 1.5 },
      { ...mon, approvedBy: 7 },
    ]) {
      const r = read(bad);
      expect(r.monitor, JSON.stringify(bad).slice(0, 80)).toBeUndefined();
      expect(r.dropped).toBe(1);
    }
  });
});
