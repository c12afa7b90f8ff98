/**
 * "Why am I blocked?": the policy's answer for (user, resource, service), and the smallest policy changes that
 * would allow it — each one checked by deciding again with the change made (stated, never applied).
 */
import type { Compiled, Subject } from './compiled.js';
import type { Rule, Selector } from './inputs.js';
import { explain, decideFor, QueryError, type Explanation } from './query.js';
import { parseIpv4, parseService, prefixHas, serviceCovers, type Service } from './addr.js';
import { compareText } from './order.js';

export interface Suggestion {
  /** How big the change is: 1 touches one user's membership or one list, 2 moves a user between organizations, 3 adds a rule. */
  readonly size: number;
  readonly kind: 'add-role' | 'set-organization' | 'add-user-to-rule' | 'add-service-to-rule' | 'narrow-deny-rule' | 'add-rule';
  readonly rule?: string;
  readonly role?: string;
  readonly organization?: string;
  readonly text: string;
  /** Also affects others: e.g. adding a service to a rule opens it for everyone the rule covers. */
  readonly alsoAffects?: string;
}

export interface WhyAnswer extends Explanation {
  readonly suggestions: readonly Suggestion[];
}

function orgChain(c: Compiled, org: string | undefined): Set<string> {
  const parent = new Map(c.input.directory.organizations.map((o) => [o.name, o.parent]));
  const out = new Set<string>();
  for (let o = org, guard = 0; o !== undefined && guard < 64; o = parent.get(o), guard++) out.add(o);
  return out;
}

function selectorHolds(sel: Selector, u: { id: string; organization?: string; roles: readonly string[] }, chain: Set<string>): boolean {
  if (sel.resources) return false;
  if (sel.organizations && !sel.organizations.some((o) => chain.has(o))) return false;
  if (sel.roles && !sel.roles.some((r) => u.roles.includes(r))) return false;
  if (sel.users && !sel.users.includes(u.id)) return false;
  return true;
}

function rulesFor(c: Compiled, u: { id: string; organization?: string; roles: readonly string[] }): number[] {
  const chain = orgChain(c, u.organization);
  return c.input.policy.rules.filter((r) => r.from.some((s) => selectorHolds(s, u, chain))).map((r) => r.index);
}

type SuggestCtx = {
  c: Compiled;
  subject: Subject;
  allows: (s: Subject) => boolean;
  as: (patch: Partial<{ organization: string; roles: readonly string[] }>) => Subject;
  push: (s: Suggestion) => void;
};

/** Which membership (a user in the rule, a role, an organization) would make allow rule `r` apply to the subject. */
function membershipSuggestions({ c, subject, allows, as, push }: SuggestCtx, r: Rule): void {
  for (const sel of r.from) {
    if (sel.resources) continue;
    if (sel.users && !sel.roles && !sel.organizations) {
      const t = { ...subject, rules: [...subject.rules, r.index].sort((a, b) => a - b) };
      if (allows(t)) push({ size: 1, kind: 'add-user-to-rule', rule: r.name, text: `add ${subject.id} to the users of rule '${r.name}'` });
      continue;
    }
    if (sel.roles)
      for (const role of sel.roles) {
        const t = as({ roles: [...subject.roles, role] });
        if (allows(t))
          push({
            size: 1,
            kind: 'add-role',
            rule: r.name,
            role,
            text: `give ${subject.id} the role '${role}' (rule '${r.name}')`,
            ...(t.rules.length > subject.rules.length + 1
              ? {
                  alsoAffects: `the role also brings rules ${t.rules
                    .filter((i) => !subject.rules.includes(i) && i !== r.index)
                    .map((i) => `'${c.input.policy.rules[i].name}'`)
                    .join(', ')}`,
                }
              : {}),
          });
      }
    if (sel.organizations && !sel.roles && !sel.users)
      for (const org of sel.organizations) {
        const t = as({ organization: org });
        if (allows(t))
          push({
            size: 2,
            kind: 'set-organization',
            rule: r.name,
            organization: org,
            text: `move ${subject.id} to organization '${org}' (rule '${r.name}'; it changes everything else the organization decides)`,
          });
      }
  }
}

export function why(c: Compiled, user: string, resource: string, service: string): WhyAnswer {
  const e = explain(c, user, resource, service);
  if (e.decision === 'allow') return { ...e, suggestions: [] };
  const subject =
    c.subjectById.get(e.from) ?? c.subjects.find((s) => s.endpoints.some((x) => x.ip === user || x.mac === user.toLowerCase()));
  if (!subject) throw new QueryError(`'${user}' is not a user or server`);
  const svc = parseService(service) as Service;
  const addr = parseIpv4(e.ip)!;
  const resourcesHere = c.input.policy.resources.filter((r) => (c.resourcePrefixes.get(r.name) ?? []).some((p) => prefixHas(p, addr)));
  const names = new Set(resourcesHere.map((r) => r.name));
  const out: Suggestion[] = [];
  const allows = (s: Subject) => decideFor(c, s, e.ip, svc).decision === 'allow';
  const as = (patch: Partial<{ organization: string; roles: readonly string[] }>): Subject => {
    const u = { id: subject.id, organization: patch.organization ?? subject.organization, roles: patch.roles ?? subject.roles };
    return { ...subject, ...u, rules: rulesFor(c, u) };
  };

  // 1. an explicit deny rule decided: narrowing it is the change (unless something else would still deny)
  if (e.rule !== 'default') {
    const rules = subject.rules.filter((i) => c.input.policy.rules[i].name !== e.rule);
    if (allows({ ...subject, rules }))
      out.push({
        size: 1,
        kind: 'narrow-deny-rule',
        rule: e.rule,
        text: `rule '${e.rule}' denies it: exclude ${subject.id} from it (or ${svc.text} from its services)`,
      });
  }
  const isUser = subject.kind === 'user';
  // 2. allow rules to this resource that the subject is not covered by: what membership would make them apply
  const candidates: Rule[] = c.input.policy.rules.filter((r) => r.action === 'allow' && r.to.some((t) => names.has(t)));
  const seen = new Set<string>();
  const push = (s: Suggestion) => {
    const k = `${s.kind}|${s.rule}|${s.role}|${s.organization}`;
    if (!seen.has(k)) {
      seen.add(k);
      out.push(s);
    }
  };
  const ctx: SuggestCtx = { c, subject, allows, as, push };
  for (const r of candidates) {
    const svcs = r.services ?? resourcesHere.filter((x) => r.to.includes(x.name)).flatMap((x) => x.services);
    const coversService = svcs.some((s) => serviceCovers(s, svc));
    const covered = subject.rules.includes(r.index);
    if (covered && !coversService) {
      // the rule applies to the subject but not to this service
      push({
        size: 3,
        kind: 'add-service-to-rule',
        rule: r.name,
        text: `add ${svc.text} to the services of rule '${r.name}'`,
        alsoAffects: `everyone rule '${r.name}' covers`,
      });
      continue;
    }
    if (covered || !coversService || !isUser) continue;
    membershipSuggestions(ctx, r);
  }
  // 3. nothing grants it: a new rule
  if (!out.some((s) => s.kind !== 'narrow-deny-rule')) {
    const target = resourcesHere[0]?.name ?? e.ip;
    push({
      size: 3,
      kind: 'add-rule',
      text: `add a rule: from { users: [${subject.id}] } to [${target}] services [${svc.text}]${resourcesHere.length && !resourcesHere[0].services.some((s) => serviceCovers(s, svc)) ? ` (and ${svc.text} to resource '${target}')` : ''}`,
    });
  }
  return { ...e, suggestions: out.sort((a, b) => a.size - b.size || compareText(a.text, b.text)).slice(0, 10) };
}
