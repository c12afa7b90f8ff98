/**
 * A whole policy version in monitor mode (docs/observability.md, "Monitor mode for a policy version"): the enforced
 * version stays what it is; the candidate is validated and compiled like an apply (policy guard, same directory and
 * topology) and kept here. The enforced compile gets `sampleAllowed`, so every allowed new connection sends a
 * metered copy to the controller (compiler/monitor.ts); the observer asks the candidate about each copy and logs
 * what it would deny as `would-deny` naming the candidate. Entering it changes no forwarding decision; any apply
 * (promoting the candidate is applying its text) ends it, and so does `stop`.
 */
import { createHash } from 'node:crypto';
import { recompile, type Compiled } from '../compiler/compile.js';
import type { AccessChange } from '../compiler/query.js';
import type { FlowPlan } from '../compiler/model.js';
import type { ApplyOptions, ApplyResult } from './controller-types.js';
import type { ControllerEvent, EventData } from './events.js';

/** What monitor mode needs from the controller. */
export interface MonitorHost {
  compiled: Compiled;
  readonly version: number;
  readonly opts: { readonly cluster?: unknown };
  applyPolicy(text: string, opts?: ApplyOptions): Promise<ApplyResult>;
  readonly switches: { syncFrom(before: FlowPlan): Promise<void> };
  event<K extends 'policy-monitor-started' | 'policy-monitor-stopped'>(type: K, data: EventData<K>): void;
  on(event: 'event', fn: (e: ControllerEvent) => void): unknown;
}

export interface MonitoredVersion {
  /** How the deny log names it: `candidate for v<N> (sha256 prefix)`. */
  readonly name: string;
  readonly text: string;
  readonly textSha256: string;
  readonly by: string;
  readonly approvedBy?: string;
  readonly since: string;
  /** The enforced version it was compiled against. */
  readonly baseVersion: number;
  /** Who would gain or lose access if it were applied (the dry run's diff when it started). */
  readonly access: readonly AccessChange[];
}

export type MonitorStart = { ok: true; monitor: MonitoredVersion; result: ApplyResult } | { ok: false; result: ApplyResult };

const conflict = (message: string): ApplyResult => ({
  ok: false,
  diagnostics: [{ severity: 'error', code: 'conflict', message }],
  dryRun: true,
  access: [],
  flows: [],
});

export class VersionMonitor {
  private state?: { readonly version: MonitoredVersion; compiled: Compiled };

  constructor(private readonly ctl: MonitorHost) {
    // an apply or a rollback replaces the enforced version: whatever was monitored against it is over
    ctl.on('event', (e) => {
      if (e.type === 'policy-applied' && e.reason !== 'schedule' && this.state) {
        const promoted = createHash('sha256').update(this.state.version.text).digest('hex') === this.appliedSha;
        this.end(e.by ?? 'unknown', promoted ? 'promoted' : 'replaced');
      }
    });
  }

  private appliedSha?: string;
  /** The text about to be applied (the policy applier tells us, so the end can say "promoted"). */
  applying(text: string): void {
    this.appliedSha = this.state ? createHash('sha256').update(text).digest('hex') : undefined;
  }

  get current(): MonitoredVersion | undefined {
    return this.state?.version;
  }

  /**
   * The candidate's compile for the observer, kept on the enforced compile's directory and bindings (a user who logged
   * in or a device learned since is judged by the candidate too).
   */
  get monitoring(): { readonly compiled: Compiled; readonly name: string } | undefined {
    const s = this.state;
    if (!s) return undefined;
    const now = this.ctl.compiled.input;
    if (s.compiled.input.directory !== now.directory || s.compiled.input.bindings !== now.bindings) {
      try {
        s.compiled = recompile(s.compiled, { directory: now.directory, bindings: now.bindings });
      } catch {
        // the candidate does not compile on the new directory: keep judging with the last good one
      }
    }
    return { compiled: s.compiled, name: s.version.name };
  }

  /**
   * After a restart: the version that was in monitor mode (the lifecycle file keeps it) is monitored again, as it
   * was (who, approved by whom, since when), while the enforced version is still the one it was monitored against;
   * otherwise the stop is recorded (the policy changed while the controller was down).
   */
  async restore(m: {
    text: string;
    by: string;
    approvedBy?: string;
    since: string;
    baseVersion: number;
  }): Promise<MonitorStart | undefined> {
    if (m.baseVersion !== this.ctl.version) {
      const sha = createHash('sha256').update(m.text).digest('hex');
      this.ctl.event('policy-monitor-stopped', {
        name: `candidate for v${m.baseVersion} (${sha.slice(0, 8)})`,
        by: 'startup',
        reason: 'replaced',
      });
      return undefined;
    }
    return this.start(m.text, m.by, m.approvedBy, m.since);
  }

  /** Validates and compiles `text` as an apply would (nothing applied), then monitors it. */
  async start(text: string, by: string, approvedBy?: string, since?: string): Promise<MonitorStart> {
    if (this.ctl.opts.cluster) return { ok: false, result: conflict('monitor mode for a policy version is not available in a cluster') };
    const base = this.ctl.version;
    let compiled: Compiled | undefined;
    const result = await this.ctl.applyPolicy(text, { dryRun: true, by, onCompiled: (n) => (compiled = n) });
    if (!result.ok || !compiled) return { ok: false, result };
    if (this.ctl.version !== base)
      return { ok: false, result: conflict(`the policy changed meanwhile (now version ${this.ctl.version}): try again`) };
    const sha = createHash('sha256').update(text).digest('hex');
    const version: MonitoredVersion = {
      name: `candidate for v${base} (${sha.slice(0, 8)})`,
      text,
      textSha256: sha,
      by,
      ...(approvedBy ? { approvedBy } : {}),
      since: since ?? new Date().toISOString(),
      baseVersion: base,
      access: result.access,
    };
    const replaced = this.state;
    this.state = { version, compiled };
    if (replaced) this.ctl.event('policy-monitor-stopped', { name: replaced.version.name, by, reason: 'replaced' });
    this.ctl.event('policy-monitor-started', {
      name: version.name,
      by,
      approvedBy,
      baseVersion: base,
      textSha256: sha,
      summary: `${result.access.filter((a) => a.change === 'lose').length} would lose, ${result.access.filter((a) => a.change === 'gain').length} would gain`,
      access: result.access,
    });
    await this.sample(true);
    return { ok: true, monitor: version, result };
  }

  /** Leaves monitor mode without applying anything. */
  async stop(by: string): Promise<MonitoredVersion | undefined> {
    const s = this.state;
    if (!s) return undefined;
    this.end(by, 'stopped');
    await this.sample(false);
    return s.version;
  }

  private end(by: string, reason: 'promoted' | 'replaced' | 'stopped'): void {
    const s = this.state;
    if (!s) return;
    this.state = undefined;
    this.appliedSha = undefined;
    this.ctl.event('policy-monitor-stopped', { name: s.version.name, by, reason });
  }

  /** Turns the enforced compile's sampling of allowed connections on or off and brings the switches there. */
  private async sample(on: boolean): Promise<void> {
    const before = this.ctl.compiled;
    if (!!before.input.sampleAllowed === on) return;
    this.ctl.compiled = recompile(before, { sampleAllowed: on });
    await this.ctl.switches.syncFrom(before.plan);
  }
}
