/**
 * Lint: rules that do nothing or contradict each other, found on the compiler's own class model (subjects with
 * the rules that match them, destination classes with the resources that cover them), never by re-reading YAML.
 *
 * Classes of findings (after the anomaly classes of Al-Shaer/Hamed and Batfish's filterLineReachability):
 *  - rule-shadowed       an allow rule every grant of which is overridden by a deny (never effective)
 *  - rule-redundant      an allow rule everything of which other allow rules already grant
 *  - allow-deny-conflict users/servers an allow and a deny rule both catch (the deny wins), made explicit
 *  - rule-matches-nobody a rule whose `from` matches nobody in the current directory/topology
 *  - rule-grants-everyone an allow rule that matches every user
 *  - unused-role / unused-organization / unused-resource  declared but named by no rule
 *  - resource-unreached  a resource rules name as a destination, but nobody may reach it
 * Pure: the caller passes a compiled policy.
 */
import { compareText } from './order.js';
import type { ClassModel, Compiled, CompileInput, Subject } from './compile.js';
import { classModel } from './compile.js';
import type { SourceLocation } from './model.js';
import type { Resource, Rule } from './inputs.js';
import { serviceCovers, type Service } from './addr.js';
import { timeless } from './schedule.js';
import { dstClassesOfResources } from './dst-classes.js';

export type LintSeverity = 'error' | 'warning' | 'info';

export interface LintFinding {
  readonly severity: LintSeverity;
  readonly code: string;
  readonly message: string;
  readonly location?: SourceLocation;
  readonly hint?: string;
  /** The rule the finding is about (absent for unused declarations). */
  readonly rule?: string;
  /** Other rules involved (the denies that shadow, the allows that make redundant). */
  readonly related?: readonly string[];
  /** Users and servers concerned: how many, and a few ids. */
  readonly subjects?: { readonly users: number; readonly servers: number; readonly examples: readonly string[] };
}

export interface LintReport {
  readonly findings: readonly LintFinding[];
  readonly counts: Readonly<Record<LintSeverity, number>>;
}

const ANY: Service = { proto: 'any', text: 'any' };
const EXAMPLES = 5;

function overlap(a: Service, b: Service): boolean {
  if (a.proto === 'any' || b.proto === 'any') return true;
  if (a.proto !== b.proto) return false;
  if (a.proto === 'icmp') return true;
  return (a.from ?? 0) <= (b.to ?? 65535) && (b.from ?? 0) <= (a.to ?? 65535);
}

class Who {
  users = 0;
  servers = 0;
  readonly examples: string[] = [];
  add(subs: readonly Subject[]): void {
    for (const s of subs) {
      if (s.kind === 'user') this.users++;
      else this.servers++;
      if (this.examples.length < EXAMPLES) this.examples.push(s.id);
    }
  }
  get total(): number {
    return this.users + this.servers;
  }
  get value() {
    return { users: this.users, servers: this.servers, examples: [...this.examples] };
  }
  text(): string {
    const parts = [
      this.users ? `${this.users} user${this.users === 1 ? '' : 's'}` : '',
      this.servers ? `${this.servers} server${this.servers === 1 ? '' : 's'}` : '',
    ]
      .filter(Boolean)
      .join(' and ');
    return `${parts} (${this.examples.join(', ')}${this.total > this.examples.length ? ', …' : ''})`;
  }
}

/**
 * Lints a policy with its directory and topology: compiles the timeless view (every rule active) and reads its model.
 * `compiled`, a compile of this same input the caller already has (`acl validate`), is linted as it is when the policy
 * has no time windows — its timeless view is the policy itself — instead of compiling it a second time.
 */
export function lintInput(input: CompileInput, opts: LintOptions = {}, compiled?: Compiled): LintReport {
  const policy = timeless(input.policy);
  if (compiled && compiled.input.policy === policy && compiled.input.directory === input.directory) return lint(compiled, opts);
  return lint(classModel({ ...input, policy, at: undefined }), opts);
}

export interface LintOptions {
  /**
   * Leave out the informational notes (what `acl validate` shows): ordering them needs their line numbers, which
   * need the positional YAML parse — a third of validate's time on a valid policy. Default: every finding.
   */
  readonly withoutInfo?: boolean;
}

const NONE: readonly number[] = [];

interface Conflict {
  allow: number;
  deny: number;
  who: Who;
  on: Set<string>;
  groups: Set<object>;
}
interface AllowAt {
  readonly j: number;
  readonly t: string;
}

/** A destination of a rule: a resource it names that lies in destination classes, with the services granted there. */
interface Target {
  readonly res: string;
  readonly dcs: readonly number[];
  readonly svs: readonly Service[];
  /** `resource service` for each of svs, as conflicts list them. */
  readonly texts: readonly string[];
  /** Whether some subject reaches it through this rule (found so far). */
  reached: boolean;
}

function ruleTargets(r: Rule, dcsOf: ReadonlyMap<string, readonly number[]>, resources: ReadonlyMap<string, Resource>): Target[] {
  const out: Target[] = [];
  for (const res of r.to) {
    const dcs = dcsOf.get(res);
    if (!dcs) continue;
    const svs = grants(resources, r, res);
    out.push({ res, dcs, svs, texts: svs.map((sv) => `${res} ${sv.text}`), reached: false });
  }
  return out;
}

/** The services rule r grants on resource res. */
function grants(resources: ReadonlyMap<string, Resource>, r: Rule, res: string): readonly Service[] {
  return r.services ?? resources.get(res)?.services ?? [];
}

/** The first other allow rule of the group (inGroup) at a destination class that grants service sv, if any. */
function otherGrant(
  list: readonly AllowAt[] | undefined,
  i: number,
  sv: Service,
  rules: readonly Rule[],
  resources: ReadonlyMap<string, Resource>,
  inGroup: Uint8Array,
): number | undefined {
  if (!list) return undefined;
  for (let x = 0; x < list.length; x++) {
    const { j, t } = list[x];
    if (j === i || !inGroup[j]) continue;
    const gs = grants(resources, rules[j], t);
    for (let y = 0; y < gs.length; y++) if (serviceCovers(gs[y], sv)) return j;
  }
  return undefined;
}

interface RuleIndexes {
  /** Subjects grouped by their rule set. */
  readonly groups: Map<string, { rules: readonly number[]; subjects: Subject[] }>;
  /** The destination classes each resource reaches. */
  readonly dcsOf: Map<string, number[]>;
  readonly denyAt: Map<number, number[]>;
  readonly allowAt: Map<number, AllowAt[]>;
}

function ruleIndexes(c: ClassModel): RuleIndexes {
  const rules = c.input.policy.rules;
  // Subjects grouped by their rule set: everything below is per group, not per user. (Subjects of one set mostly
  // share one rules array, so each array is joined once.)
  const groups = new Map<string, { rules: readonly number[]; subjects: Subject[] }>();
  const keyOf = new Map<readonly number[], string>();
  for (const s of c.subjects) {
    let k = keyOf.get(s.rules);
    if (k === undefined) keyOf.set(s.rules, (k = s.rules.join(',')));
    const g = groups.get(k);
    if (g) g.subjects.push(s);
    else groups.set(k, { rules: s.rules, subjects: [s] });
  }
  // Destination classes (sets of resources one address lies in) and which of them each resource reaches.
  const dcsOf = dstClassesOfResources([c.dest]);
  // per destination class: the deny rules and the (allow rule, resource) pairs that name it, in rule order; a
  // group keeps those of its own rules (inGroup), so `full`, `part` and `other` come out as if its rules were scanned
  const denyAt = new Map<number, number[]>(),
    allowAt = new Map<number, AllowAt[]>();
  for (const r of rules)
    for (const t of r.to)
      for (const dc of dcsOf.get(t) ?? []) {
        // a monitored deny (mode: monitor) overrides nothing: it only logs what it would deny
        if (r.action === 'deny' && r.mode !== 'monitor') {
          const l = denyAt.get(dc) ?? denyAt.set(dc, []).get(dc)!;
          if (l[l.length - 1] !== r.index) l.push(r.index);
        } else if (r.action === 'allow') (allowAt.get(dc) ?? allowAt.set(dc, []).get(dc)!).push({ j: r.index, t });
      }
  return { groups, dcsOf, denyAt, allowAt };
}

/** Lints a compiled policy (compile it with every rule active: see lintInput). */
export function lint(c: ClassModel, opts: LintOptions = {}): LintReport {
  const policy = c.input.policy;
  const rules = policy.rules;
  const resources = new Map(policy.resources.map((r) => [r.name, r]));
  const findings: LintFinding[] = [];

  const { groups, dcsOf, denyAt, allowAt } = ruleIndexes(c);
  const matched = rules.map(() => new Who());
  const effective = rules.map(() => new Who());
  const shadowedBy = rules.map(() => new Set<string>());
  const redundantBy = rules.map(() => new Set<string>());
  const redundantWho = rules.map(() => new Who());
  const shadowWho = rules.map(() => new Who());
  const conflicts = new Map<number, Conflict>();
  const reached = new Set<string>();
  const inGroup = new Uint8Array(rules.length);
  const targetsOf: Target[][] = [];
  // the group's deny rules at a destination class (per group: they depend on inGroup)
  const dHereOf = new Map<number, readonly number[]>();

  // (indexed loops: this runs once per process, mostly before the optimizing compiler, where for-of allocates)
  for (const g of groups.values()) {
    const gr = g.rules;
    for (let a = 0; a < gr.length; a++) {
      matched[gr[a]].add(g.subjects);
      inGroup[gr[a]] = 1;
    }
    dHereOf.clear();
    for (let a = 0; a < gr.length; a++) {
      const i = gr[a];
      const r = rules[i];
      if (r.action !== 'allow') continue;
      let anyEffective = false,
        allCovered = true;
      let by: Set<string> | undefined, others: Set<string> | undefined;
      const targets = (targetsOf[i] ??= ruleTargets(r, dcsOf, resources));
      for (let b = 0; b < targets.length; b++) {
        const t = targets[b];
        const { res, dcs, svs } = t;
        for (let e = 0; e < dcs.length; e++) {
          const dc = dcs[e];
          let dHere = dHereOf.get(dc);
          if (dHere === undefined) {
            const dl = denyAt.get(dc);
            dHereOf.set(dc, (dHere = dl ? dl.filter((d) => inGroup[d]) : NONE));
          }
          for (let f = 0; f < svs.length; f++) {
            const sv = svs[f];
            // denied here? (a deny on any resource this address lies in, covering the service)
            const full = dHere.length
              ? dHere.filter((d) => (rules[d].services ?? [ANY]).some((ds) => ds.proto === 'any' || serviceCovers(ds, sv)))
              : NONE;
            const part = dHere.length ? dHere.filter((d) => (rules[d].services ?? [ANY]).some((ds) => overlap(ds, sv))) : NONE;
            for (let x = 0; x < part.length; x++) {
              const d = part[x];
              const k = i * rules.length + d;
              let cf = conflicts.get(k);
              if (!cf) conflicts.set(k, (cf = { allow: i, deny: d, who: new Who(), on: new Set(), groups: new Set() }));
              cf.on.add(t.texts[f]);
              if (!cf.groups.has(g)) {
                cf.groups.add(g);
                cf.who.add(g.subjects);
              }
            }
            if (full.length) {
              by ??= new Set();
              for (let x = 0; x < full.length; x++) by.add(rules[full[x]].name);
              continue;
            }
            anyEffective = true;
            if (!t.reached) {
              t.reached = true;
              reached.add(res);
            }
            // already granted by another allow rule of the same subjects?
            const other = otherGrant(allowAt.get(dc), i, sv, rules, resources, inGroup);
            if (other === undefined) allCovered = false;
            else (others ??= new Set()).add(rules[other].name);
          }
        }
      }
      if (!anyEffective) {
        shadowWho[i].add(g.subjects);
        if (by) for (const n of by) shadowedBy[i].add(n);
      } else {
        effective[i].add(g.subjects);
        if (allCovered) {
          redundantWho[i].add(g.subjects);
          if (others) for (const n of others) redundantBy[i].add(n);
        }
      }
    }
    for (let a = 0; a < gr.length; a++) inGroup[gr[a]] = 0;
  }

  findings.push(...ruleFindings(c, { matched, effective, shadowedBy, redundantBy, redundantWho, conflicts }));
  findings.push(...unusedDeclarations(c, reached));
  return report(findings, opts);
}

interface RuleAnalysis {
  readonly matched: readonly Who[];
  readonly effective: readonly Who[];
  readonly shadowedBy: ReadonlyArray<Set<string>>;
  readonly redundantBy: ReadonlyArray<Set<string>>;
  readonly redundantWho: readonly Who[];
  readonly conflicts: ReadonlyMap<number, { allow: number; deny: number; who: Who; on: Set<string> }>;
}

/** Per-rule findings (matches nobody, shadowed, redundant, grants everyone) and allow/deny conflicts. */
function ruleFindings(
  c: ClassModel,
  { matched, effective, shadowedBy, redundantBy, redundantWho, conflicts }: RuleAnalysis,
): LintFinding[] {
  const rules = c.input.policy.rules;
  const findings: LintFinding[] = [];
  const userCount = c.subjects.reduce((n, s) => n + (s.kind === 'user' ? 1 : 0), 0);
  for (const r of rules) {
    const i = r.index;
    const m = matched[i];
    const kind = r.from.some((s) => s.resources) ? 'servers' : 'users';
    if (!m.total) {
      findings.push({
        severity: 'warning',
        code: 'rule-matches-nobody',
        rule: r.name,
        location: r.location,
        message: `rule '${r.name}' matches no ${kind === 'servers' ? 'server' : 'user'} in the current ${kind === 'servers' ? 'topology' : 'directory'}: it does nothing`,
        hint: 'check the organizations, roles or users it names, or remove the rule',
        subjects: m.value,
      });
      continue;
    }
    if (r.action !== 'allow') continue;
    if (!effective[i].total) {
      const by = [...shadowedBy[i]];
      findings.push({
        severity: 'warning',
        code: 'rule-shadowed',
        rule: r.name,
        related: by,
        location: r.location,
        message: `rule '${r.name}' is shadowed: for all ${m.text()} it matches, ${by.length ? `deny rule${by.length === 1 ? '' : 's'} ${by.map((b) => `'${b}'`).join(', ')} override${by.length === 1 ? 's' : ''} every grant` : 'its resources have no address'}; it never allows anything`,
        hint: 'remove the rule, or narrow the deny',
        subjects: m.value,
      });
      continue;
    }
    if (redundantWho[i].total === effective[i].total) {
      const by = [...redundantBy[i]];
      findings.push({
        severity: 'warning',
        code: 'rule-redundant',
        rule: r.name,
        related: by,
        location: r.location,
        message: `rule '${r.name}' is redundant: everything it allows the ${effective[i].text()} is already allowed by ${by.map((b) => `'${b}'`).join(', ')}`,
        hint: 'remove it, or keep it on purpose (e.g. as documentation) and ignore this warning',
        subjects: effective[i].value,
      });
    }
    if (userCount > 1 && r.from.every((s) => !s.resources) && m.users === userCount) {
      findings.push({
        severity: 'warning',
        code: 'rule-grants-everyone',
        rule: r.name,
        location: r.location,
        message: `rule '${r.name}' grants ${r.to.join(', ')} to every user in the directory (${m.users})`,
        hint: 'if that is intended, fine; otherwise name the organizations or roles that need it',
        subjects: m.value,
      });
    }
  }
  for (const cf of conflicts.values()) {
    const a = rules[cf.allow],
      d = rules[cf.deny];
    const fully = !effective[cf.allow].total;
    if (fully) continue; // already reported as shadowed
    findings.push({
      severity: 'info',
      code: 'allow-deny-conflict',
      rule: a.name,
      related: [d.name],
      location: a.location,
      // a getter: the line number needs the positional YAML parse, which `acl validate` (no info findings) never pays for
      get message() {
        return `rule '${a.name}' allows and deny rule '${d.name}' (line ${d.location.line}) denies ${cf.who.text()} on ${[...cf.on].slice(0, 4).join(', ')}${cf.on.size > 4 ? ', …' : ''}: the deny wins for them`;
      },
      hint: 'an intended exception is fine; otherwise narrow one of the two rules',
      subjects: cf.who.value,
    });
  }

  return findings;
}

/** Declarations no rule names: resources (or reached by none), roles, organizations. */
function unusedDeclarations(c: ClassModel, reached: ReadonlySet<string>): LintFinding[] {
  const policy = c.input.policy;
  const rules = policy.rules;
  const findings: LintFinding[] = [];
  const usedRoles = new Set<string>(),
    usedOrgs = new Set<string>(),
    usedRes = new Set<string>(),
    destRes = new Set<string>();
  for (const r of rules) {
    for (const s of r.from) {
      for (const x of s.roles ?? []) usedRoles.add(x);
      for (const x of s.organizations ?? []) usedOrgs.add(x);
      for (const x of s.resources ?? []) usedRes.add(x);
    }
    for (const t of r.to) {
      usedRes.add(t);
      destRes.add(t);
    }
  }
  for (const res of policy.resources) {
    if (!usedRes.has(res.name))
      findings.push({
        severity: 'warning',
        code: 'unused-resource',
        location: res.location,
        message: `resource '${res.name}' is declared but no rule names it`,
        hint: 'remove it or add a rule',
      });
    else if (destRes.has(res.name) && !reached.has(res.name))
      findings.push({
        severity: 'warning',
        code: 'resource-unreached',
        location: res.location,
        message: `resource '${res.name}' is reached by no rule: every rule to it matches nobody or is overridden by a deny`,
        hint: 'see the rule findings above',
      });
  }
  const dir = c.input.directory;
  const declared = new Set(dir.roles ?? []);
  // holders per role and users per organization, counted once (not once per finding)
  const holders = new Map<string, number>(),
    members = new Map<string, number>();
  const firstHolder = new Map<string, SourceLocation>(); // where an undeclared role is found: its first holder
  for (const u of dir.users) {
    for (const x of new Set(u.roles)) {
      holders.set(x, (holders.get(x) ?? 0) + 1);
      if (u.location && !firstHolder.has(x)) firstHolder.set(x, u.location);
    }
    if (u.organization !== undefined) members.set(u.organization, (members.get(u.organization) ?? 0) + 1);
  }
  const held = new Set(holders.keys());
  const policyFile = policy.file;
  // where a role is: its entry in the directory's `roles:` list, else its first holder; else the policy's `directory:`
  const roleAt = new Map<string, SourceLocation>();
  (dir.roles ?? []).forEach((r, i) => {
    const at = dir.roleLocations?.[i];
    if (at && !roleAt.has(r)) roleAt.set(r, at);
  });
  const unusedAt = (role: string): SourceLocation => roleAt.get(role) ?? firstHolder.get(role) ?? policy.directory.location;
  for (const role of [...new Set([...declared, ...held])].sort()) {
    if (usedRoles.has(role)) continue;
    // a role declared for the policy (directory `roles:`) that no rule uses is a leftover; one users merely hold is directory data
    findings.push({
      severity: declared.has(role) && !held.has(role) ? 'warning' : 'info',
      code: 'unused-role',
      location: unusedAt(role),
      message: `role '${role}' is ${declared.has(role) ? 'declared in the directory' : `held by ${holders.get(role) ?? 0} user(s)`} but no rule names it`,
    });
  }
  const parent = new Map(dir.organizations.map((o) => [o.name, o.parent]));
  const coveredOrg = (o: string) => {
    for (let x: string | undefined = o, n = 0; x !== undefined && n < 64; x = parent.get(x), n++) if (usedOrgs.has(x)) return true;
    return false;
  };
  const parents = new Set(dir.organizations.map((o) => o.parent));
  for (const o of dir.organizations) {
    if (usedOrgs.has(o.name)) continue;
    const under = parents.has(o.name);
    if (coveredOrg(o.name) || under) continue; // reached through a parent, or a parent of named ones
    findings.push({
      severity: 'info',
      code: 'unused-organization',
      location: o.location ?? { file: policyFile, line: 1, column: 1 },
      message: `organization '${o.name}' (${members.get(o.name) ?? 0} users) is named by no rule`,
    });
  }

  return findings;
}

/** The findings in file and line order (informational notes left out when asked), with counts by severity. */
function report(all: LintFinding[], opts: LintOptions): LintReport {
  const findings = opts.withoutInfo ? all.filter((f) => f.severity !== 'info') : all;
  findings.sort(
    (x, y) =>
      compareText(x.location?.file ?? '', y.location?.file ?? '') ||
      (x.location?.line ?? 0) - (y.location?.line ?? 0) ||
      compareText(x.code, y.code),
  );
  const counts = { error: 0, warning: 0, info: 0 };
  for (const f of findings) counts[f.severity]++;
  return { findings, counts };
}

/** A finding in the one-line format of diagnostics: `file:line:col: warning code: message (hint)`. */
export function formatFinding(f: LintFinding): string {
  const loc = f.location ? `${f.location.file}:${f.location.line}:${f.location.column}: ` : '';
  return `${loc}${f.severity} ${f.code}: ${f.message}${f.hint ? ` (${f.hint})` : ''}`;
}
