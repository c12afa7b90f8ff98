/**
 * What `recompile` needs to patch a Compiled for a small directory change without compiling in full: an explicit
 * value on each result (incremental.ts makes and uses it; compiled.ts only names its type).
 */
import type { SwitchDef } from './model.js';
import type { Selection } from './select.js';
import type { SwitchTables } from './tables.js';

/** Where a flow sits in its array, by a stable key (same cookies and order in every patch of one full compile). */
export interface Positions {
  readonly link: Map<number, ReadonlyMap<string, number>>;
  dest?: ReadonlyMap<number, number>;
  owner?: ReadonlyMap<string, number>;
}

export interface IncrementalState {
  /** Rule selection of the full compile (rules, organizations and resources are unchanged under a patch). */
  readonly selection: Selection;
  /** Rule-set signature → class id, and how many subjects have each rule set. */
  readonly classOfSet: ReadonlyMap<string, number>;
  readonly setCount: ReadonlyMap<string, number>;
  readonly switchOrder: readonly SwitchDef[];
  readonly tables: SwitchTables;
  /** A memo of array positions shared by every patch of one full compile (their order never changes). */
  readonly positions: Positions;
}
