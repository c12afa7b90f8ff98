/**
 * Applying a policy: one change at a time, each validated (policy guard for submitted texts), compiled against the
 * plan the previous one left, written atomically and synced to every switch; time-window boundaries are applied the
 * same way. A cluster node's preview compile is reused by the commit that follows it.
 */
import { rename, writeFile } from 'node:fs/promises';
import { recompile, CompileError, compileDiagnostic, type Compiled } from '../compiler/compile.js';
import { loadPolicy, type LoadedPolicy, type LoadResult } from '../loader/index.js';
import type { Binding, Directory } from '../compiler/model.js';
import type { DirectorySync } from '../directory/ldap.js';
import { diffAccess, diffPlans } from '../compiler/query.js';
import { PolicyGuard } from './policy-guard.js';
import type { ApplyOptions, ApplyResult, ControllerLog, ControllerOptions, EventSink, LastChange } from './controller-types.js';
import { timeChange } from './scheduler.js';
import type { Clock } from './clock.js';
import type { EdgeHook } from './edge-hook.js';
import type { SwitchSync } from './switch-sync.js';
import type { VersionMonitor } from './monitor-version.js';
import type { ReconcileResult } from './reconcile.js';

/** What applying a policy needs from the controller (controller.ts implements it). */
export interface ControllerForPolicy extends EventSink {
  readonly opts: Pick<ControllerOptions, 'policyPath' | 'submitted'>;
  readonly clock: Pick<Clock, 'now'>;
  loaded: LoadedPolicy;
  compiled: Compiled;
  directory: Directory;
  version: number;
  lastChange?: LastChange;
  readonly directorySync?: Pick<DirectorySync, 'snapshot'>;
  readonly bindings: ReadonlyMap<string, Binding>;
  readonly edge: Pick<EdgeHook, 'input'>;
  readonly switches: Pick<SwitchSync, 'syncFrom'>;
  readonly monitorMode: Pick<VersionMonitor, 'applying'>;
  readonly log: ControllerLog;
  saveState(): Promise<void>;
  syncAll(): Promise<ReconcileResult[]>;
}

/** A policy text validated and compiled against `base` (the plan at that moment), not yet applied. */
interface Prepared {
  readonly text: string;
  readonly trusted?: boolean;
  readonly base: Compiled;
  readonly madeAt: number;
  readonly r: Extract<LoadResult, { ok: true }>;
  readonly next: Compiled;
  readonly access: ApplyResult['access'];
  readonly flows: ApplyResult['flows'];
}

/** Keeps a chain going whatever the previous link returned or threw. */
const ignore = () => undefined;

export class PolicyApplier {
  private chain: Promise<void> = Promise.resolve();
  private guard?: PolicyGuard;
  private prepared?: Prepared;

  constructor(private readonly ctl: ControllerForPolicy) {}

  /** Validates and compiles a new policy text; unless dryRun, writes it (atomically) and applies it everywhere. */
  apply(text: string, opts: ApplyOptions = {}): Promise<ApplyResult> {
    // One change at a time: each compiles against the plan the previous one left.
    const run = this.chain.then(() => this.applyNow(text, opts));
    this.chain = run.then(ignore, ignore);
    return run;
  }

  /**
   * Validates and compiles a policy text against the current plan. A cluster node compiles a change twice (the preview
   * before the etcd commit, then the committed version): when nothing changed in between (same text, same plan, a few
   * seconds), the second use takes the first's result instead of compiling again.
   */
  private async prepare(text: string, opts: ApplyOptions): Promise<Prepared | ApplyResult> {
    const ctl = this.ctl;
    const p = this.prepared;
    this.prepared = undefined;
    if (p && !opts.ids && p.text === text && p.base === ctl.compiled && !!p.trusted === !!opts.trusted && ctl.clock.now() - p.madeAt < 5000)
      return p;
    // Unless the text is the operator's own file (SIGHUP reload), it may name only allowed files and no new secrets.
    const guard = opts.trusted ? undefined : (this.guard ??= new PolicyGuard({ policyPath: ctl.opts.policyPath, ...ctl.opts.submitted }));
    const refused = guard?.checkSecrets(text, ctl.loaded.policy) ?? [];
    if (refused.length) return { ok: false, diagnostics: refused, dryRun: !!opts.dryRun, access: [], flows: [] };
    // An LDAP directory keeps its latest synced snapshot (not the one from start-up); a file directory is re-read.
    // (the sync's latest accepted snapshot: it also carries group names that changed no user, e.g. a new empty group)
    const r0 = await loadPolicy(ctl.opts.policyPath, {
      policyText: text,
      readFile: guard?.readFile,
      directory: ctl.loaded.policy.directory.kind === 'ldap' ? (ctl.directorySync?.snapshot ?? ctl.directory) : undefined,
    });
    const r = !guard ? r0 : r0.ok ? { ...r0, warnings: guard.redact(r0.warnings) } : { ...r0, diagnostics: guard.redact(r0.diagnostics) };
    if (!r.ok) return { ok: false, diagnostics: r.diagnostics, dryRun: !!opts.dryRun, access: [], flows: [] };
    const base = ctl.compiled;
    // a rollback reuses the class ids of the version it returns to, so its flows come back identical
    const ids = opts.ids ? { ...base, ...opts.ids } : base;
    let next: Compiled;
    try {
      next = recompile(ids, {
        policy: r.value.policy,
        topology: r.value.topology,
        ...ctl.edge.input(r.value.directory, [...ctl.bindings.values()]),
        at: ctl.clock.now(),
        sampleAllowed: false, // an apply ends monitor mode (controller/monitor-version.ts)
      });
    } catch (e) {
      if (!(e instanceof CompileError)) throw e;
      return { ok: false, diagnostics: [compileDiagnostic(e, r.value.paths.policy)], dryRun: !!opts.dryRun, access: [], flows: [] };
    }
    const access = diffAccess(base, next);
    const flows = diffPlans(ctl.compiled.plan, next.plan).map((d) => ({
      switch: d.switch,
      added: d.added.length,
      removed: d.removed.length,
      unchanged: d.unchanged,
    }));
    const prepared: Prepared = { text, trusted: opts.trusted, base, madeAt: ctl.clock.now(), r, next, access, flows };
    // kept for the commit that follows a cluster node's preview
    if (opts.dryRun && opts.committed && !opts.ids) this.prepared = prepared;
    return prepared;
  }

  private async applyNow(text: string, opts: ApplyOptions): Promise<ApplyResult> {
    const ctl = this.ctl;
    if (opts.baseVersion !== undefined && !opts.committed && opts.baseVersion !== ctl.version) {
      return {
        ok: false,
        diagnostics: [
          {
            severity: 'error',
            code: 'conflict',
            message: `policy changed meanwhile (based on version ${opts.baseVersion}, now ${ctl.version}): reload and apply again`,
          },
        ],
        dryRun: !!opts.dryRun,
        access: [],
        flows: [],
      };
    }
    const prep = await this.prepare(text, opts);
    if (!('next' in prep)) return prep;
    const { r, base, access, flows } = prep;
    opts.onCompiled?.(prep.next);
    let next = prep.next;
    if (opts.dryRun) return { ok: true, diagnostics: r.warnings, dryRun: true, access, flows };
    const tmp = `${r.value.paths.policy}.tmp-${process.pid}`;
    await writeFile(tmp, text);
    await rename(tmp, r.value.paths.policy);
    // A binding learned or a directory synced while the file was written is kept: compile again on top of it.
    if (ctl.compiled !== base) {
      const directory = ctl.loaded.policy.directory.kind === 'ldap' ? ctl.directory : r.value.directory;
      next = recompile(opts.ids ? { ...ctl.compiled, ...opts.ids } : ctl.compiled, {
        policy: r.value.policy,
        topology: r.value.topology,
        ...ctl.edge.input(directory, [...ctl.bindings.values()]),
        at: ctl.clock.now(),
        sampleAllowed: false,
      });
    }
    ctl.loaded = r.value;
    if (ctl.loaded.policy.directory.kind !== 'ldap') ctl.directory = r.value.directory;
    ctl.compiled = next;
    ctl.version = opts.version ?? ctl.version + 1;
    const summary = `${access.filter((a) => a.change === 'gain').length} gained, ${access.filter((a) => a.change === 'lose').length} lost; flows ${flows.map((f) => `${f.switch} +${f.added}/-${f.removed}`).join(' ')}`;
    ctl.lastChange = { at: new Date().toISOString(), by: opts.by ?? 'unknown', version: ctl.version, summary };
    ctl.monitorMode.applying(text);
    ctl.event('policy-applied', {
      version: ctl.version,
      by: opts.by,
      reason: opts.meta?.reason ?? 'apply',
      ...opts.meta,
      summary,
      access,
      flows,
    });
    void ctl.saveState();
    const results = await ctl.syncAll();
    return { ok: true, diagnostics: r.warnings, dryRun: false, access, flows, version: ctl.version, results };
  }

  /**
   * Re-evaluates time-windowed rules at `at` (the scheduler calls this at each boundary). When access changes it is
   * an apply like any other: a new version, recorded "by schedule"; the switches are re-synced either way (a flow
   * whose end moved is sent again, and one capped at 65,535 s that runs low is re-armed). `version`: a boundary a cluster committed through etcd (cluster-driver.ts), applied
   * with that version number even when nothing changed on this node.
   */
  applyAt(at: number, by = 'schedule', version?: number): Promise<void> {
    const ctl = this.ctl;
    const run = this.chain.then(async () => {
      const base = ctl.compiled;
      const r = timeChange(base, at);
      if ('error' in r) {
        ctl.log('error', `time window change not applied, keeping the last good plan: ${r.error}`);
        ctl.event('schedule-rejected', { error: r.error });
        return;
      }
      ctl.compiled = r.next;
      if (r.changed || version !== undefined) {
        ctl.version = version ?? ctl.version + 1;
        ctl.lastChange = { at: new Date().toISOString(), by, version: ctl.version, summary: r.summary };
        ctl.log('info', `time window: ${r.summary}`);
        ctl.event('policy-applied', {
          version: ctl.version,
          by,
          reason: 'schedule',
          effectiveAt: new Date(at).toISOString(),
          summary: r.summary,
          access: r.access,
          flows: r.flows,
        });
        void ctl.saveState();
      }
      // the 6-hourly refresh changes no plan (flows carry their end as an instant): it reads every switch back, which
      // re-arms flows capped at 65,535 s that run low
      if (by === 'schedule-refresh' && !r.changed && version === undefined) await ctl.syncAll();
      else await ctl.switches.syncFrom(base.plan);
    });
    this.chain = run.then(ignore, ignore);
    return run;
  }
}
