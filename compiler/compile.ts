/**
 * Compilation: (policy, directory, topology, bindings) → per-switch flow plan. Pure and deterministic, in named
 * stages over readonly values:
 *
 *   selectSubjects (select.ts)        which rules select each user and server, and where their devices are bound
 *   assignClasses (classes.ts)        subjects with the same effective access share a source class
 *   resolveDestinations (destinations.ts)  addresses in the same set of resources share a destination class;
 *                                     per (class, destination class): the services allowed and denied
 *   SwitchTables (tables.ts)          each switch's tables, every flow checked against its table (pipeline.ts)
 *
 * Policy flows then grow with classes × destinations, not users × resources. `recompile` patches a previous
 * result for small directory changes (incremental.ts) and otherwise compiles in full, keeping class ids.
 */
import type { Resource, Rule } from './inputs.js';
import type { SwitchDef, SwitchPlan } from './model.js';
import type { CompileInput, Compiled } from './compiled.js';
import { selectSubjects } from './select.js';
import { assignClasses } from './classes.js';
import { resolveDestinations } from './destinations.js';
import { SwitchTables, switchOrder } from './tables.js';
import { patchDirectory, withIncremental } from './incremental.js';
import { patchEdge, type EdgeHint } from './edge-patch.js';
import { fullPolicy, policyAt, withExpiries } from './schedule.js';

export type { Endpoint, Subject, DestEntry, CompileInput, Compiled, CompileStats } from './compiled.js';
export { CompileError, compileDiagnostic } from './compiled.js';
export { fnv1a, matchHash, matchKey } from './cookie.js';
export { PrefixIndex } from './destinations.js';
export { resolveResourcePrefixes } from './select.js';
export { serviceMatches } from './tables.js';

export interface CompileOptions {
  /** Class ids from a previous compile, so that unchanged classes keep their ids (and flows). */
  readonly previous?: Pick<Compiled, 'classIds' | 'dstClassIds'>;
}

/**
 * The class model alone: the first three stages (subjects, source classes, destination classes), without any
 * switch's tables. What lint reads; a fraction of a whole compile on a large directory with many switches.
 */
export type ClassModel = Pick<Compiled, 'input' | 'subjects' | 'dest'>;
export function classModel(input: CompileInput): ClassModel {
  if (fullPolicy(input.policy).rules.some((r) => r.time)) input = { ...input, policy: policyAt(input.policy, input.at) };
  const selection = selectSubjects(input);
  const classes = assignClasses(input.policy, selection, undefined);
  const dests = resolveDestinations(input.policy, selection, classes, undefined);
  return { input, subjects: classes.subjects, dest: dests.dest };
}

export function compile(input: CompileInput, opts: CompileOptions = {}): Compiled {
  if (fullPolicy(input.policy).rules.some((r) => r.time)) input = { ...input, policy: policyAt(input.policy, input.at) }; // time windows (schedule.ts)
  const { policy, topology } = input;
  const selection = selectSubjects(input);
  const classes = assignClasses(policy, selection, opts.previous?.classIds);
  const dests = resolveDestinations(policy, selection, classes, opts.previous?.dstClassIds);
  const tables = SwitchTables.create(topology, policy, classes.subjects, dests, !!input.sampleAllowed);
  // a switch without a profile in the topology gets the one the controller detected from its DESC, if any
  const order = switchOrder(topology).map((sw) =>
    !sw.profile && input.detected?.get(sw.name) ? { ...sw, profile: input.detected.get(sw.name) } : sw,
  );
  const switches = order.map((sw) => tables.buildSwitch(sw));

  const users = classes.subjects.filter((x) => x.kind === 'user').length;
  const stats = {
    users,
    servers: classes.subjects.length - users,
    classes: classes.classIds.size,
    dstClasses: dests.dstClassIds.size,
    flows: switches.reduce((n, x) => n + x.flows.length, 0),
    naive: users * policy.resources.length * Math.max(1, topology.switches.length),
  };
  return timed(
    withIncremental(
      {
        input,
        plan: { switches },
        subjects: classes.subjects,
        subjectById: classes.subjectById,
        classIds: classes.classIds,
        dstClassIds: dests.dstClassIds,
        dest: dests.dest,
        resourcePrefixes: selection.resourcePrefixes,
        ...(selection.v6 ? { resourcePrefixes6: selection.resourcePrefixes6, dest6: dests.dest6 } : {}),
        stats,
      },
      { selection, classOfSet: classes.classOfSet, setCount: classes.setCount, switchOrder: order, tables, positions: { link: new Map() } },
    ),
  );
}

/** Policy flows of classes holding a time-bound rule expire on the switch at its next change (schedule.ts). */
function timed(c: Compiled): Compiled {
  const switches = withExpiries(c.plan.switches as SwitchPlan[], c.subjects, c.input.policy.rules, c.input.at, [c.dest, c.dest6 ?? []]);
  if (switches === c.plan.switches || !c.incremental) return switches === c.plan.switches ? c : { ...c, plan: { switches } };
  return withIncremental({ ...c, plan: { switches } }, c.incremental);
}

/**
 * Recompiles after a directory or binding change, keeping class ids so that unchanged flows keep their cookies.
 * `hint`: which MACs' bindings changed (edge-patch.ts), when the caller knows; the result is the same without it.
 */
export function recompile(previous: Compiled, change: Partial<CompileInput>, hint?: EdgeHint): Compiled {
  // the edge (logins, leases: devices of users and their bindings) patches only the flows of what moved (edge-patch.ts)
  const onlyEdge =
    (change.directory || change.bindings) &&
    Object.keys(change).every(
      (k) =>
        k === 'directory' ||
        k === 'bindings' ||
        (change as Record<string, unknown>)[k] === (previous.input as unknown as Record<string, unknown>)[k],
    );
  if (onlyEdge) {
    const fast = patchEdge(
      previous,
      change.directory ?? previous.input.directory,
      'bindings' in change ? change.bindings : previous.input.bindings,
      hint,
    );
    if (fast) return timed(fast);
  }
  const onlyDirectory =
    change.directory &&
    Object.keys(change).every(
      (k) => k === 'directory' || (change as Record<string, unknown>)[k] === (previous.input as unknown as Record<string, unknown>)[k],
    );
  if (onlyDirectory) {
    const fast = patchDirectory(previous, change.directory);
    if (fast) return timed(fast);
  }
  return compile({ ...previous.input, ...change }, { previous });
}

export type { Resource, Rule, SwitchDef };
