/**
 * The compiler's stages and tables: every flow is made through its table's builder, which refuses flows that do
 * not fit the table's declaration (as Faucet's valve_table does); the incremental state is an explicit value, so
 * any earlier result can be patched (not only the latest) and patching never changes an earlier result.
 */
import { describe, expect, it } from 'vitest';
import { compile, formatOvsFlows, recompile, PIPELINE, type Compiled, type Directory } from '../../compiler/index.js';
import { PipelineTable, TABLES, assertFits } from '../../compiler/pipeline.js';
import { METADATA, TABLE } from '../../compiler/pipeline.js';
import { selectSubjects } from '../../compiler/select.js';
import { assignClasses } from '../../compiler/classes.js';
import { resolveDestinations } from '../../compiler/destinations.js';
import { loadPolicy } from '../../loader/index.js';

const CAMPUS = new URL('../../examples/campus/policy.yaml', import.meta.url).pathname;
const text = (c: Compiled) => c.plan.switches.map((s) => formatOvsFlows(s)).join('');

describe('table builders', () => {
  it('make flows that fit and refuse ones that do not', () => {
    const ok = TABLES.policy.flow(
      200,
      [
        { field: 'metadata', value: 1n, mask: METADATA.srcMask },
        { field: 'eth_type', value: 0x0800 },
      ],
      [{ type: 'goto_table', tableId: TABLE.forward }],
      't',
    );
    expect(ok.tableId).toBe(TABLE.policy);
    expect(() => TABLES.dest.flow(100, [{ field: 'in_port', value: 1 }], [], 'bad-field')).toThrow(/does not match on in_port/);
    expect(() => TABLES.policy.flow(100, [], [{ type: 'goto_table', tableId: TABLE.classify }], 'backwards')).toThrow(
      /goto_table 0 from table 2/,
    );
    expect(() => TABLES.classify.flow(100, [], [{ type: 'goto_table', tableId: TABLE.policy }], 'skips dest')).toThrow(
      /goto_table 2 from table 0/,
    );
    expect(() =>
      TABLES.classify.flow(100, [], [{ type: 'write_metadata', metadata: 1n << 20n, mask: METADATA.dstMask }], 'not its bits'),
    ).toThrow(/metadata bits/);
    expect(() => TABLES.policy.flow(70000, [], [], 'priority')).toThrow(/priority 70000/);
    expect(() => new PipelineTable(PIPELINE[1]).check({ ...ok, origin: 'wrong table' })).toThrow(/checked against table dest/);
  });

  it('every flow of a compiled plan fits its table', async () => {
    const r = await loadPolicy(CAMPUS);
    if (!r.ok) throw new Error('campus');
    const c = compile(r.value);
    let n = 0;
    for (const sw of c.plan.switches)
      for (const f of sw.flows) {
        assertFits(f);
        n++;
      }
    expect(n).toBe(c.stats.flows);
  });
});

describe('named stages', () => {
  it('selectors → classes → destinations give what compile uses', async () => {
    const r = await loadPolicy(CAMPUS);
    if (!r.ok) throw new Error('campus');
    const sel = selectSubjects(r.value);
    const classes = assignClasses(r.value.policy, sel, undefined);
    const dests = resolveDestinations(r.value.policy, sel, classes, undefined);
    const c = compile(r.value);
    expect(classes.subjects).toEqual(c.subjects);
    expect([...classes.classIds]).toEqual([...c.classIds]);
    expect(dests.dest).toEqual(c.dest);
    expect(sel.drafts.length).toBe(c.subjects.length);
  });
});

describe('incremental state is an explicit value', () => {
  it('any earlier result can be patched, and patching leaves it unchanged', async () => {
    const r = await loadPolicy(CAMPUS);
    if (!r.ok) throw new Error('campus');
    const c0 = compile(r.value);
    expect(Object.keys(c0)).not.toContain('incremental');
    expect(c0.incremental).toBeDefined();
    const users = c0.input.directory.users;
    // move a user onto another user's roles and organization: an existing rule set, so the fast path applies
    const moveTo = (c: Compiled, who: string, like: string): Directory => {
      const d = users.find((u) => u.id === like)!;
      return {
        ...c.input.directory,
        users: c.input.directory.users.map((u) => (u.id === who ? { ...u, roles: d.roles, organization: d.organization } : u)),
      };
    };
    const before = text(c0);
    let patched = 0;
    for (let i = 0; i < users.length; i++)
      for (const j of [1, 3]) {
        const a = users[i].id,
          b = users[(i + j) % users.length].id;
        const d1 = moveTo(c0, a, b);
        const c1 = recompile(c0, { directory: d1 });
        const d2 = moveTo(c0, b, a);
        const c2 = recompile(c0, { directory: d2 }); // c0 again, after c1 exists
        if (c2.plan.switches.some((s, k) => s === c0.plan.switches[k])) patched++;
        expect(text(c1)).toBe(text(compile({ ...c0.input, directory: d1 }, { previous: c0 })));
        expect(text(c2)).toBe(text(compile({ ...c0.input, directory: d2 }, { previous: c0 })));
        // and a patch of the patch
        const c3 = recompile(c1, { directory: moveTo(c1, b, a) });
        expect(text(c3)).toBe(text(compile({ ...c1.input, directory: moveTo(c1, b, a) }, { previous: c1 })));
      }
    expect(text(c0)).toBe(before);
    expect(patched).toBeGreaterThan(3);
  });
});
