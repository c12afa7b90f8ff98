/**
 * The shapes of the API replies and events the console reads (a narrow view of controller/*-api.ts: only the
 * fields the console uses). Type-only: nothing here exists at run time.
 */

import type { Denial } from './types-network.js';

export interface ApiError {
  readonly error?: string;
  readonly code?: string;
  readonly errors?: readonly string[];
  readonly diagnostics?: readonly Diagnostic[];
}

export interface SourceLocation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}
export interface Diagnostic {
  readonly severity: 'error' | 'warning';
  readonly code: string;
  readonly message: string;
  readonly location?: SourceLocation;
  readonly hint?: string;
}

// ---------- overview ----------
export interface StatusReply {
  readonly version: number;
  readonly policy: string;
  readonly canMutate: boolean;
  readonly stats: { readonly users: number; readonly classes: number; readonly flows: number };
  readonly directory: {
    readonly source: string;
    readonly entries: number;
    readonly lastSuccessAt?: string;
    readonly lastError?: string;
    readonly heldShrink?: { readonly before: number; readonly after: number };
  };
  readonly lastChange: { readonly at: string; readonly by: string; readonly summary: string } | null;
  readonly alerts: readonly Alert[];
}

export interface Alert {
  readonly type: string;
  readonly at: string;
  readonly dpid?: string;
  readonly remote?: string;
  readonly mac?: string;
  readonly owner?: string;
  readonly seenAt?: { readonly switch: string; readonly port: number };
  readonly expected?: { readonly switch: string; readonly port: number };
  readonly reason?: string;
  readonly error?: string;
  readonly switch?: string;
  readonly report?: {
    readonly tables: ReadonlyArray<{ readonly table: number; readonly flows: number; readonly budget: number; readonly over: boolean }>;
  };
}

export interface SwitchRow {
  readonly name?: string;
  readonly dpid: string;
  readonly connected: boolean;
  readonly known: boolean;
  readonly flowsDesired: number;
  readonly flowsInstalled?: number;
  readonly lastSync?: string;
  readonly errors: readonly string[];
  readonly profile?: string;
  readonly limits?: readonly string[];
}

export interface ClusterReply {
  readonly node: string;
  readonly healthy: boolean;
  readonly lastError?: string;
  readonly nodes: ReadonlyArray<{ readonly name: string }>;
  readonly switches: ReadonlyArray<{
    readonly dpid: string;
    readonly master?: string;
    readonly generationId?: string | number;
    readonly localRole?: string;
  }>;
}

// ---------- matrix, explain, why ----------
export interface MatrixCell {
  readonly subject: string;
  readonly resource: string;
  readonly service: string;
  readonly decision: 'allow' | 'deny';
  readonly rule: string;
  /** 6: the cell is for the resource's IPv6 addresses (absent: IPv4). */
  readonly family?: 6;
  readonly inUse?: boolean;
  readonly lastHit?: string | null;
}
export interface MatrixReply {
  readonly subjects: ReadonlyArray<{
    readonly id: string;
    readonly name: string;
    readonly kind: 'user' | 'server';
    readonly organization?: string;
    readonly roles: readonly string[];
  }>;
  readonly resources: ReadonlyArray<{
    readonly name: string;
    readonly services: readonly string[];
    readonly addresses?: readonly string[];
  }>;
  readonly organizations?: ReadonlyArray<{ readonly name: string; readonly parent?: string }>;
  readonly cells: readonly MatrixCell[];
}

export interface Explanation {
  readonly decision: 'allow' | 'deny';
  readonly rule: string;
  readonly reason: string;
  readonly from: string;
  readonly to: string;
  readonly ip: string;
  readonly service: string;
  readonly path: ReadonlyArray<{
    readonly switch: string;
    readonly inPort: number;
    readonly verdict: string;
    readonly flows: ReadonlyArray<{ readonly table: number; readonly priority: number; readonly origin: string; readonly match: string }>;
  }>;
}

export interface Suggestion {
  readonly size: number;
  readonly kind: string;
  readonly rule?: string;
  readonly role?: string;
  readonly organization?: string;
  readonly text: string;
  readonly alsoAffects?: string;
}
export interface WhyReply extends Explanation {
  readonly suggestions: readonly Suggestion[];
  readonly denials: readonly Denial[];
}

// ---------- policy, lint, history, approval ----------
export interface PolicyReply {
  readonly version: number;
  readonly path: string;
  readonly text: string;
}
export interface AccessChange {
  readonly subject: string;
  readonly resource: string;
  readonly service: string;
  readonly change: 'gain' | 'lose';
  readonly rule: string;
}
export interface FlowChange {
  readonly switch: string;
  readonly added: number;
  readonly removed: number;
  readonly unchanged: number;
}
export interface ApplyReply {
  readonly ok: boolean;
  readonly version?: number;
  readonly access: readonly AccessChange[];
  readonly flows: readonly FlowChange[];
  readonly diagnostics: readonly Diagnostic[];
  readonly results?: ReadonlyArray<{
    readonly switch: string;
    readonly added: number;
    readonly removed: number;
    readonly errors: readonly string[];
  }>;
  readonly rollbackTo?: number;
}

export interface PendingChange {
  readonly id: string;
  readonly kind: 'policy' | 'rollback';
  readonly by: string;
  readonly at: string;
  readonly expiresAt: string;
  readonly baseVersion: number;
  readonly rollbackTo?: number;
  readonly access: readonly AccessChange[];
  readonly flows: readonly FlowChange[];
  readonly summary: string;
}
export interface PendingReply {
  readonly requireApproval: boolean;
  readonly pending: readonly PendingChange[];
}
/** 202 from POST /policy or /policy/rollback under the two-person rule. */
export interface SubmittedReply {
  readonly ok: true;
  readonly pending: PendingChange;
  readonly message: string;
}

export interface LintFinding {
  readonly severity: 'error' | 'warning' | 'info';
  readonly code: string;
  readonly message: string;
  readonly location?: SourceLocation;
  readonly hint?: string;
  readonly rule?: string;
  readonly subjects?: { readonly users: number; readonly servers: number; readonly examples: readonly string[] };
}
export interface LintReply {
  readonly ok: true;
  readonly findings: readonly LintFinding[];
  readonly counts: Readonly<Record<'error' | 'warning' | 'info', number>>;
}

export interface PolicyVersion {
  readonly version: number;
  readonly at: string;
  readonly by: string;
  readonly reason: string;
  readonly approvedBy?: string;
  readonly rollbackTo?: number;
  readonly summary?: string;
  readonly planHash: string;
}
export interface VersionsReply {
  readonly current: number;
  readonly requireApproval: boolean;
  readonly versions: readonly PolicyVersion[];
}
export interface VersionText extends PolicyVersion {
  readonly text: string;
}

export type * from './types-network.js';
