/**
 * The lint of commit ed1e5ef (before its speed-up), kept verbatim as the oracle of test/compiler/lint-equivalence.test.ts.
 *
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
import { compareText } from '../../compiler/order.js';
import type { Compiled, Subject } from '../../compiler/compile.js';
import type { SourceLocation } from '../../compiler/model.js';
import type { Rule } from '../../compiler/inputs.js';
import { serviceCovers, type Service } from '../../compiler/addr.js';

type LintSeverity = 'error' | 'warning' | 'info';

interface LintFinding {
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

interface LintReport {
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

/** Lints a compiled policy (compile it with every rule active: see lintInput). */
export function lintReference(c: Compiled): LintReport {
  const policy = c.input.policy;
  const rules = policy.rules;
  const resources = new Map(policy.resources.map((r) => [r.name, r]));
  const findings: LintFinding[] = [];

  // Subjects grouped by their rule set: everything below is per group, not per user.
  const groups = new Map<string, { rules: readonly number[]; subjects: Subject[] }>();
  for (const s of c.subjects) {
    const k = s.rules.join(',');
    const g = groups.get(k);
    if (g) g.subjects.push(s);
    else groups.set(k, { rules: s.rules, subjects: [s] });
  }
  // Destination classes (sets of resources one address lies in) and which of them each resource reaches.
  const dcResources = new Map<number, Set<string>>();
  for (const d of c.dest) if (d.dstClass && !dcResources.has(d.dstClass)) dcResources.set(d.dstClass, new Set(d.resources));
  const dcsOf = new Map<string, number[]>();
  for (const [dc, rs] of dcResources) for (const r of rs) (dcsOf.get(r) ?? dcsOf.set(r, []).get(r)!).push(dc);
  const grants = (r: Rule, res: string): readonly Service[] => r.services ?? resources.get(res)?.services ?? [];

  const matched = rules.map(() => new Who());
  const effective = rules.map(() => new Who());
  const shadowedBy = rules.map(() => new Set<string>());
  const redundantBy = rules.map(() => new Set<string>());
  const redundantWho = rules.map(() => new Who());
  const shadowWho = rules.map(() => new Who());
  const conflicts = new Map<string, { allow: number; deny: number; who: Who; on: Set<string>; groups: Set<object> }>();
  const reached = new Set<string>();

  for (const g of groups.values()) {
    const allows = g.rules.filter((i) => rules[i].action === 'allow');
    const denies = g.rules.filter((i) => rules[i].action === 'deny');
    for (const i of g.rules) matched[i].add(g.subjects);
    for (const i of allows) {
      const r = rules[i];
      let anyEffective = false,
        allCovered = true;
      const by = new Set<string>(),
        others = new Set<string>();
      for (const res of r.to)
        for (const dc of dcsOf.get(res) ?? []) {
          const here = dcResources.get(dc)!;
          for (const sv of grants(r, res)) {
            // denied here? (a deny on any resource this address lies in, covering the service)
            const full = denies.filter(
              (d) =>
                rules[d].to.some((t) => here.has(t)) &&
                (rules[d].services ?? [ANY]).some((ds) => ds.proto === 'any' || serviceCovers(ds, sv)),
            );
            const part = denies.filter(
              (d) => rules[d].to.some((t) => here.has(t)) && (rules[d].services ?? [ANY]).some((ds) => overlap(ds, sv)),
            );
            for (const d of part) {
              const k = `${i}\u0000${d}`;
              let cf = conflicts.get(k);
              if (!cf) conflicts.set(k, (cf = { allow: i, deny: d, who: new Who(), on: new Set(), groups: new Set() }));
              cf.on.add(`${res} ${sv.text}`);
              if (!cf.groups.has(g)) {
                cf.groups.add(g);
                cf.who.add(g.subjects);
              }
            }
            if (full.length) {
              for (const d of full) by.add(rules[d].name);
              continue;
            }
            anyEffective = true;
            reached.add(res);
            // already granted by another allow rule of the same subjects?
            const other = allows.find(
              (j) => j !== i && rules[j].to.some((t) => here.has(t) && grants(rules[j], t).some((os) => serviceCovers(os, sv))),
            );
            if (other === undefined) allCovered = false;
            else others.add(rules[other].name);
          }
        }
      if (!anyEffective) {
        shadowWho[i].add(g.subjects);
        for (const n of by) shadowedBy[i].add(n);
      } else {
        effective[i].add(g.subjects);
        if (allCovered) {
          redundantWho[i].add(g.subjects);
          for (const n of others) redundantBy[i].add(n);
        }
      }
    }
  }

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
    const users = c.subjects.filter((s) => s.kind === 'user');
    if (users.length > 1 && r.from.every((s) => !s.resources) && m.users === users.length) {
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
      message: `rule '${a.name}' allows and deny rule '${d.name}' (line ${d.location.line}) denies ${cf.who.text()} on ${[...cf.on].slice(0, 4).join(', ')}${cf.on.size > 4 ? ', …' : ''}: the deny wins for them`,
      hint: 'an intended exception is fine; otherwise narrow one of the two rules',
      subjects: cf.who.value,
    });
  }

  // declarations no rule names
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
  const held = new Set(dir.users.flatMap((u) => u.roles));
  const policyFile = policy.file;
  for (const role of [...new Set([...declared, ...held])].sort()) {
    if (usedRoles.has(role)) continue;
    // a role declared for the policy (directory `roles:`) that no rule uses is a leftover; one users merely hold is directory data
    findings.push({
      severity: declared.has(role) && !held.has(role) ? 'warning' : 'info',
      code: 'unused-role',
      // (changed since ed1e5ef: found where the role is written, no longer at the policy's first line)
      location:
        dir.roleLocations?.[(dir.roles ?? []).indexOf(role)] ??
        dir.users.find((u) => u.location && u.roles.includes(role))?.location ??
        policy.directory.location,
      message: `role '${role}' is ${declared.has(role) ? 'declared in the directory' : `held by ${dir.users.filter((u) => u.roles.includes(role)).length} user(s)`} but no rule names it`,
    });
  }
  const parent = new Map(dir.organizations.map((o) => [o.name, o.parent]));
  const coveredOrg = (o: string) => {
    for (let x: string | undefined = o, n = 0; x !== undefined && n < 64; x = parent.get(x), n++) if (usedOrgs.has(x)) return true;
    return false;
  };
  for (const o of dir.organizations) {
    if (usedOrgs.has(o.name)) continue;
    const under = dir.organizations.some((x) => x.parent === o.name);
    if (coveredOrg(o.name) || under) continue; // reached through a parent, or a parent of named ones
    findings.push({
      severity: 'info',
      code: 'unused-organization',
      location: o.location ?? { file: policyFile, line: 1, column: 1 },
      message: `organization '${o.name}' (${dir.users.filter((u) => u.organization === o.name).length} users) is named by no rule`,
    });
  }

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
