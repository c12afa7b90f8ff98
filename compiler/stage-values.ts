/**
 * The values the compile stages hand each other (below the Compiled result, so every stage can import them):
 * the input, subjects with their endpoints, destination entries, counts, and the error a policy that cannot be
 * compiled raises.
 */
import type { Binding, Diagnostic, Directory, Topology } from './model.js';
import type { Policy } from './inputs.js';
import type { Prefix, Prefix6 } from './addr.js';

export interface Endpoint {
  readonly mac: string;
  readonly ip?: string;
  /** Bound IPv6 addresses (canonical): global ones first use; link-local ones for Neighbor Discovery only. */
  readonly ipv6?: readonly string[];
  readonly ll6?: readonly string[];
  readonly switch?: string;
  readonly port?: number;
}

export interface Subject {
  readonly kind: 'user' | 'server';
  readonly id: string;
  readonly name: string;
  readonly organization?: string;
  readonly roles: readonly string[];
  readonly endpoints: readonly Endpoint[];
  /** Indices of the rules whose `from` matches this subject. */
  readonly rules: readonly number[];
  readonly classId: number;
}

export interface DestEntry {
  readonly prefix: Prefix;
  /** Resource names whose hosts cover this prefix. */
  readonly resources: readonly string[];
  readonly dstClass: number;
  /** Class of the device or server that owns this exact address (for replies), else 0. */
  readonly ownerClass: number;
}

/** An IPv6 destination entry (same destination class ids as IPv4: a class is a set of resources). */
export interface DestEntry6 {
  readonly prefix6: Prefix6;
  readonly resources: readonly string[];
  readonly dstClass: number;
  readonly ownerClass: number;
}

export interface CompileInput {
  readonly policy: Policy;
  readonly directory: Directory;
  readonly topology: Topology;
  readonly bindings?: readonly Binding[];
  /** The instant (epoch ms) the policy is evaluated at: rules with `when:`/`until:`/`start:` apply only while active then. */
  readonly at?: number;
  /** Profiles the controller detected (switch DESC) for switches whose topology entry names none. */
  readonly detected?: ReadonlyMap<string, 'ovs' | 'ovs-stateless' | 'openflow13'>;
  /**
   * A candidate policy version is being monitored (docs/observability.md): every allow flow of table 2 also marks
   * its packets for the monitor path (tables 3 and 4), so the controller receives a metered copy of each allowed new
   * connection and asks the candidate whether it would deny it. What is forwarded or dropped does not change.
   */
  readonly sampleAllowed?: boolean;
}

export interface CompileStats {
  readonly users: number;
  readonly servers: number;
  readonly classes: number;
  readonly dstClasses: number;
  readonly flows: number;
  readonly naive: number;
}

/** The policy cannot be compiled as written (not a bug: e.g. more groups of users than the pipeline can tell apart). */
export class CompileError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'CompileError';
  }
}

/** A CompileError as a diagnostic on the policy file. */
export function compileDiagnostic(e: CompileError, policyFile: string): Diagnostic {
  return { severity: 'error', code: 'compile', message: e.message, hint: e.hint, location: { file: policyFile, line: 1, column: 1 } };
}
