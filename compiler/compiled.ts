/** The values compilation produces (and `recompile` takes back): subjects, destination entries and the plan. */
import type { FlowPlan } from './model.js';
import type { Prefix, Prefix6 } from './addr.js';
import type { IncrementalState } from './incremental-state.js';
import type { CompileInput, CompileStats, DestEntry, DestEntry6, Subject } from './stage-values.js';

export type { CompileInput, CompileStats, DestEntry, DestEntry6, Endpoint, Subject } from './stage-values.js';
export { CompileError, compileDiagnostic } from './stage-values.js';

export interface Compiled {
  readonly input: CompileInput;
  readonly plan: FlowPlan;
  readonly subjects: readonly Subject[];
  readonly subjectById: ReadonlyMap<string, Subject>;
  /** Effective-access signature → class id; kept across incremental recompiles so ids stay stable. */
  readonly classIds: ReadonlyMap<string, number>;
  readonly dstClassIds: ReadonlyMap<string, number>;
  readonly dest: readonly DestEntry[];
  readonly resourcePrefixes: ReadonlyMap<string, readonly Prefix[]>;
  /** IPv6 prefixes of each resource (absent or empty when the policy has none). */
  readonly resourcePrefixes6?: ReadonlyMap<string, readonly Prefix6[]>;
  readonly dest6?: readonly DestEntry6[];
  readonly stats: CompileStats;
  /**
   * What `recompile` needs to patch this result for a small directory change without compiling in full (an
   * explicit value, not enumerable so that JSON and deep equality ignore it). Any Compiled can be patched: a patch
   * copies what it changes and never mutates this state.
   */
  readonly incremental?: IncrementalState;
}
