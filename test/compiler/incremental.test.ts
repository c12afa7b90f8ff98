/**
 * The incremental recompile (the controller's fast path when the directory changes) must give exactly what a
 * full compile of the new directory gives (with the same previous class ids): random sequences of role and
 * organization changes on the campus example, including ones that create or empty a class (full compile
 * fallback) and ones that move users between existing classes (patched in place).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compile, diffAccess, recompile, verify, decide, formatOvsFlows, type Compiled, type Directory } from '../../compiler/index.js';
import { loadPolicy } from '../../loader/index.js';

const CAMPUS = new URL('../../examples/campus/policy.yaml', import.meta.url).pathname;

describe('incremental recompile, property', () => {
  it('any sequence of role/organization changes: recompile == full compile, verified, and diffAccess names exactly the changed user', async () => {
    const r = await loadPolicy(CAMPUS);
    if (!r.ok) throw new Error('campus');
    const base = compile(r.value);
    const users = base.input.directory.users.map((u) => u.id);
    const roles = [...new Set(base.input.directory.users.flatMap((u) => u.roles))].sort();
    const orgs = base.input.directory.organizations.map((o) => o.name);
    const change = fc.record({
      user: fc.constantFrom(...users),
      roles: fc.subarray(roles, { maxLength: 3 }),
      org: fc.option(fc.constantFrom(...orgs), { nil: undefined, freq: 3 }),
    });
    const resources = base.input.policy.resources.map((x) => x.name);
    let patched = 0,
      rebuilt = 0;
    fc.assert(
      fc.property(fc.array(change, { minLength: 1, maxLength: 5 }), (steps) => {
        let c: Compiled = base;
        for (const s of steps) {
          const dir: Directory = {
            ...c.input.directory,
            users: c.input.directory.users.map((u) =>
              u.id === s.user ? { ...u, roles: s.roles, organization: s.org ?? u.organization } : u,
            ),
          };
          const next = recompile(c, { directory: dir });
          const full = compile({ ...c.input, directory: dir }, { previous: c });
          // the fast path keeps untouched switches as the same objects; a full compile builds all of them anew
          if (next.plan.switches.some((x, i) => x === c.plan.switches[i])) patched++;
          else rebuilt++;
          expect(next.plan.switches.map((x) => formatOvsFlows(x))).toEqual(full.plan.switches.map((x) => formatOvsFlows(x)));
          expect(next.subjects.map((x) => [x.id, x.classId])).toEqual(full.subjects.map((x) => [x.id, x.classId]));
          // only the changed user can gain or lose access
          for (const a of diffAccess(c, next)) expect(a.subject).toBe(s.user);
          // and the changed user's decisions follow the new directory
          for (const res of resources) {
            const svc = next.input.policy.resources.find((x) => x.name === res)!.services[0]?.text ?? 'any';
            expect(decide(next, s.user, res, svc).decision).toBe(decide(full, s.user, res, svc).decision);
          }
          c = next;
        }
        expect(verify(c).problems).toEqual([]);
      }),
      { numRuns: 40 },
    );
    // both paths were exercised
    expect(patched).toBeGreaterThan(5);
    expect(rebuilt).toBeGreaterThan(5);
  }, 120_000);
});
