/** Time windows and expiring grants: parsing with file:line, evaluation at an instant (zones, DST, past midnight), next boundary, hard_timeouts in the plan, explain and policy tests at a time. */
import { describe, expect, it } from 'vitest';
import { parseDirectoryText, parsePolicyText, parseTopologyText } from '../../compiler/inputs.js';
import { compile, recompile } from '../../compiler/compile.js';
import { explain } from '../../compiler/query.js';
import { runPolicyTests } from '../../compiler/policy-tests.js';
import { formatHex, formatOvsFlows } from '../../compiler/format.js';
import { hardTimeoutAt, isActiveAt, nextBoundary, nextChange, windowOpen, parseTimeArg, type TimeWindow } from '../../compiler/schedule.js';

const T = (s: string) => Date.parse(s);
const DIRECTORY = `
organizations: [{ name: ops }]
users:
  - { id: olga, organization: ops, roles: [oncall], devices: [{ mac: "02:00:00:00:00:01", ip: 10.0.1.1 }] }
  - { id: pete, organization: ops, roles: [staff], devices: [{ mac: "02:00:00:00:00:02", ip: 10.0.1.2 }] }
`;
const TOPOLOGY = `
switches: [{ name: s1, dpid: 1 }]
hosts:
  - { mac: "02:00:00:00:00:01", switch: s1, port: 1 }
  - { mac: "02:00:00:00:00:02", switch: s1, port: 2 }
servers:
  - { name: db, switch: s1, port: 10, mac: "02:00:00:00:10:01", ip: 10.0.2.10 }
  - { name: wiki, switch: s1, port: 11, mac: "02:00:00:00:10:02", ip: 10.0.2.20 }
`;
const policy = (rules: string) => `version: 1
directory: d.yaml
topology: t.yaml
resources:
  db: { hosts: [db], services: [tcp/5432] }
  wiki: { hosts: [wiki], services: [tcp/443] }
rules:
${rules}`;
const input = (rules: string, at?: number) => {
  const p = parsePolicyText(policy(rules), 'p.yaml');
  if (!p.ok) throw new Error(JSON.stringify(p.diagnostics.map((d) => d.message)));
  const d = parseDirectoryText(DIRECTORY, 'd.yaml'),
    t = parseTopologyText(TOPOLOGY, 't.yaml');
  if (!d.ok || !t.ok) throw new Error('fixture');
  return { policy: p.value, directory: d.value, topology: t.value, ...(at !== undefined ? { at } : {}) };
};
const errorsOf = (rules: string) => {
  const p = parsePolicyText(policy(rules), 'p.yaml');
  return p.ok ? [] : p.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.location?.line}:${d.code}:${d.message}`);
};
const OFFICE = `  - { name: staff-wiki, from: { roles: [staff] }, to: wiki }
  - name: oncall-db
    from: { roles: [oncall] }
    to: db
    when: { days: [mon-fri], hours: "08:00-18:30", timezone: Europe/Berlin }
`;

describe('parsing and validation', () => {
  it('reads a window and an expiry', () => {
    const p = parsePolicyText(policy(OFFICE + '    until: 2026-12-24T18:00:00Z\n'), 'p.yaml');
    expect(p.ok).toBe(true);
    const r = p.ok ? p.value.rules[1] : undefined;
    expect(r?.time).toMatchObject({
      when: { days: [1, 2, 3, 4, 5], start: 480, end: 1110, timezone: 'Europe/Berlin' },
      until: T('2026-12-24T18:00:00Z'),
    });
    expect(r?.time?.text).toBe('mon,tue,wed,thu,fri 08:00-18:30 Europe/Berlin until 2026-12-24T18:00:00.000Z');
  });

  it.each([
    [
      'a bad time zone',
      'when: { hours: "08:00-18:00", timezone: Europe/Berlinn }',
      /12:bad-timezone:.*'Europe\/Berlinn' is not an IANA time zone/,
    ],
    ['a zone that is a path trick', 'when: { timezone: "../../etc/passwd" }', /bad-timezone/],
    ['an empty window', 'when: { hours: "09:00-09:00" }', /12:impossible-window:.*same minute/],
    ['hours that do not exist', 'when: { hours: "08:00-25:00" }', /bad-window:.*does not exist/],
    ['unreadable hours', 'when: { hours: 8 }', /bad-window:.*HH:MM-HH:MM/],
    ['a bad day', 'when: { days: [mon-fry] }', /bad-window:.*'mon-fry' is not a day/],
    ['no day at all', 'when: { days: [] }', /impossible-window:.*names no day/],
    ['a time without a zone', 'until: 2026-12-24T18:00:00', /12:bad-time:.*with a zone/],
    ['a date that does not exist', 'until: 2026-02-30T18:00:00Z', /bad-time:.*not a date and time that exists/],
    [
      'an end before the start',
      'start: 2026-12-24T18:00:00Z\n    until: 2026-12-01T00:00:00Z',
      /impossible-window:.*ends .* before it starts/,
    ],
    [
      'a window that never opens between start and end',
      'when: { days: [mon-fri] }\n    start: 2026-12-26T00:00:00Z\n    until: 2026-12-27T20:00:00Z',
      /impossible-window:.*never opens/,
    ],
    ['a huge until', `until: "${'9'.repeat(100000)}"`, /bad-time:.*100000-character/],
    ['a huge days list', `when: { days: [${Array(1000).fill('mon').join(',')}] }`, /bad-window:.*1000 entries/],
    ['an unknown key', 'when: { weekdays: [mon] }', /unknown-field/],
  ])('%s is an error at its line', (_name, extra, re) => {
    const errs = errorsOf(
      `  - { name: staff-wiki, from: { roles: [staff] }, to: wiki }\n  - name: oncall-db\n    from: { roles: [oncall] }\n    to: db\n    ${extra}\n`,
    );
    expect(
      errs.some((e) => re.test(e)),
      errs.join('\n'),
    ).toBe(true);
  });
});

describe('evaluation at an instant', () => {
  const w: TimeWindow = { days: [1, 2, 3, 4, 5], start: 480, end: 1110, timezone: 'Europe/Berlin' };
  it('follows the zone, daylight saving included', () => {
    expect(windowOpen(w, T('2026-12-25T06:59:00Z'))).toBe(false); // Fri 07:59 CET
    expect(windowOpen(w, T('2026-12-25T07:00:00Z'))).toBe(true); // Fri 08:00 CET
    expect(windowOpen(w, T('2026-12-25T17:29:59Z'))).toBe(true);
    expect(windowOpen(w, T('2026-12-25T17:30:00Z'))).toBe(false); // 18:30 CET
    expect(windowOpen(w, T('2026-12-26T10:00:00Z'))).toBe(false); // Saturday
    expect(windowOpen(w, T('2026-07-01T06:00:00Z'))).toBe(true); // Wed 08:00 CEST
    expect(windowOpen(w, T('2026-07-01T05:59:00Z'))).toBe(false);
  });
  it('a window past midnight belongs to the day it opens', () => {
    const night: TimeWindow = { days: [5], start: 22 * 60, end: 6 * 60, timezone: 'UTC' }; // Fri 22:00 - Sat 06:00
    expect(windowOpen(night, T('2026-12-25T23:00:00Z'))).toBe(true);
    expect(windowOpen(night, T('2026-12-26T05:59:00Z'))).toBe(true);
    expect(windowOpen(night, T('2026-12-26T06:00:00Z'))).toBe(false);
    expect(windowOpen(night, T('2026-12-24T23:00:00Z'))).toBe(false); // Thursday night
    expect(nextChange({ when: night, text: '', location: { file: '', line: 1, column: 1 } }, T('2026-12-25T23:00:00Z'))).toBe(
      T('2026-12-26T06:00:00Z'),
    );
  });
  it('start and until bound a rule; without an instant it is inactive (fail closed)', () => {
    const t = { from: T('2026-12-01T00:00:00Z'), until: T('2026-12-24T18:00:00Z'), text: '', location: { file: '', line: 1, column: 1 } };
    expect(isActiveAt(t, T('2026-11-30T23:59:59Z'))).toBe(false);
    expect(isActiveAt(t, T('2026-12-10T00:00:00Z'))).toBe(true);
    expect(isActiveAt(t, T('2026-12-24T18:00:00Z'))).toBe(false);
    expect(isActiveAt(t, undefined)).toBe(false);
  });
  it("next boundary: the close today, then Monday's opening; strictly after the instant", () => {
    const rules = input(OFFICE).policy.rules;
    expect(nextBoundary(rules, T('2026-12-25T10:00:00Z'))).toBe(T('2026-12-25T17:30:00Z'));
    expect(nextBoundary(rules, T('2026-12-25T17:30:00Z'))).toBe(T('2026-12-28T07:00:00Z'));
    expect(nextBoundary(rules, T('2026-12-28T07:00:00Z'))).toBe(T('2026-12-28T17:30:00Z'));
    expect(nextBoundary(input(`  - { name: a, from: { roles: [staff] }, to: wiki }\n`).policy.rules, 0)).toBeUndefined();
  });
});

describe('compiling at an instant', () => {
  it('the grant is in the plan only inside the window, its flows expire at the boundary', () => {
    const inside = compile(input(OFFICE, T('2026-12-25T10:00:00Z')));
    const outside = compile(input(OFFICE, T('2026-12-25T18:00:00Z')));
    const timeless = compile(input(OFFICE));
    const dbFlows = (c: ReturnType<typeof compile>) => c.plan.switches[0].flows.filter((f) => f.origin.includes('oncall-db'));
    expect(dbFlows(inside).length).toBeGreaterThan(0);
    expect(dbFlows(outside)).toEqual([]);
    expect(dbFlows(timeless)).toEqual([]);
    // the end as an instant (17:30Z), sent as the time left then: 7.5 h at 10:00Z, 1.5 h when the plan is 6 h old
    for (const f of dbFlows(inside)) expect(f.expiresAt).toBe(T('2026-12-25T17:30:00Z'));
    expect(hardTimeoutAt(T('2026-12-25T17:30:00Z'), T('2026-12-25T10:00:00Z'))).toBe(7.5 * 3600);
    expect(hardTimeoutAt(T('2026-12-25T17:30:00Z'), T('2026-12-25T16:00:00Z'))).toBe(1.5 * 3600);
    // the permanent grant carries no end
    expect(inside.plan.switches[0].flows.filter((f) => f.origin.includes('staff-wiki')).every((f) => f.expiresAt === undefined)).toBe(true);
    expect(explain(inside, 'olga', 'db', 'tcp/5432').decision).toBe('allow');
    expect(explain(inside, 'olga', 'db', 'tcp/5432').consistent).toBe(true);
    expect(explain(outside, 'olga', 'db', 'tcp/5432').decision).toBe('deny');
  });

  it('an untimed grant of the same people keeps no end: only the flows a time-bound rule decides expire', () => {
    // olga (oncall) may always reach the wiki, and the database in office hours: one class holds both rules
    const rules = OFFICE + `  - { name: oncall-wiki, from: { roles: [oncall] }, to: wiki }\n`;
    const c = compile(input(rules, T('2026-12-25T10:00:00Z')));
    const flows = c.plan.switches[0].flows;
    const db = flows.filter((f) => f.origin.includes('oncall-db'));
    const wiki = flows.filter((f) => f.origin.includes('oncall-wiki'));
    expect(db.length).toBeGreaterThan(0);
    expect(wiki.length).toBeGreaterThan(0);
    for (const f of db) expect(f.expiresAt).toBe(T('2026-12-25T17:30:00Z'));
    // (before, every policy flow of the class took the database's end: the switch cut the wiki at 17:30 until resent)
    for (const f of wiki) expect(f.expiresAt, f.origin).toBeUndefined();
    // a flow both rules decide (the same destination) still ends with the time-bound one
    const both = compile(
      input(OFFICE + `  - { name: oncall-db-icmp, from: { roles: [oncall] }, to: db, services: [icmp] }\n`, T('2026-12-25T10:00:00Z')),
    );
    const icmp = both.plan.switches[0].flows.filter((f) => f.origin.includes('oncall-db-icmp'));
    expect(icmp.length).toBeGreaterThan(0);
    for (const f of icmp) expect(f.expiresAt).toBe(T('2026-12-25T17:30:00Z'));
  });

  it('recompiling at another instant starts again from every rule', () => {
    const outside = compile(input(OFFICE, T('2026-12-25T18:00:00Z')));
    const back = recompile(outside, { at: T('2026-12-28T09:00:00Z') });
    expect(explain(back, 'olga', 'db', 'tcp/5432').decision).toBe('allow');
    expect(back.plan.switches[0].flows.find((f) => f.origin.includes('oncall-db'))?.expiresAt).toBe(T('2026-12-28T17:30:00Z'));
    const again = recompile(back, { at: T('2026-12-28T18:00:00Z') });
    expect(explain(again, 'olga', 'db', 'tcp/5432').decision).toBe('deny');
  });

  it('a long grant is capped at the OpenFlow limit of 65,535 s on the wire; the plan keeps its end', () => {
    const c = compile(
      input(`  - { name: a, from: { roles: [oncall] }, to: db, until: 2027-06-01T00:00:00Z }\n`, T('2026-12-25T10:00:00Z')),
    );
    expect(c.plan.switches[0].flows.filter((f) => f.origin.includes('a')).some((f) => f.expiresAt === T('2027-06-01T00:00:00Z'))).toBe(
      true,
    );
    expect(hardTimeoutAt(T('2027-06-01T00:00:00Z'), T('2026-12-25T10:00:00Z'))).toBe(65535);
  });

  it('acl compile output (ovs-ofctl text, FLOW_MOD hex) carries the time left at the instant compiled for', () => {
    const at = T('2026-12-25T10:00:00Z');
    const sp = compile(input(OFFICE, at)).plan.switches[0];
    const lines = formatOvsFlows(sp, { at, comments: false }).split('\n');
    const db = lines.filter((l) => l.includes('hard_timeout='));
    expect(db.length).toBe(sp.flows.filter((f) => f.expiresAt !== undefined).length);
    expect(db.every((l) => l.includes(', hard_timeout=27000, '))).toBe(true); // 7.5 h
    expect(formatOvsFlows(sp, { at: at + 3600_000 })).toContain(', hard_timeout=23400, ');
    // nothing whose end has passed
    expect(formatOvsFlows(sp, { at: T('2026-12-25T17:30:00Z') })).not.toContain('hard_timeout=');
    expect(formatHex(sp, T('2026-12-25T17:30:00Z')).trim().split('\n').length).toBe(sp.flows.length - db.length);
    const hex = formatHex(sp, at).trim().split('\n');
    const timeouts = hex.map((h) => Buffer.from(h, 'hex').readUInt16BE(8 + 8 + 8 + 1 + 1 + 2)); // ofp_flow_mod.hard_timeout
    expect(timeouts.filter((t) => t === 27000).length).toBe(db.length);
  });

  it('the time left is rounded up (never before the end) and nothing once the end has passed', () => {
    const end = T('2026-12-25T17:30:00Z');
    expect(hardTimeoutAt(end, end - 1)).toBe(1);
    expect(hardTimeoutAt(end, end - 1001)).toBe(2);
    expect(hardTimeoutAt(end, end - 65_535_000)).toBe(65535);
    expect(hardTimeoutAt(end, end - 65_536_000)).toBe(65535);
    expect(hardTimeoutAt(end, end)).toBeUndefined();
    expect(hardTimeoutAt(end, end + 1)).toBeUndefined();
  });

  it('policy tests name an instant with @', () => {
    const inp = input(OFFICE, T('2026-12-25T10:00:00Z'));
    const c = compile(inp);
    const r = runPolicyTests(
      c,
      [
        'olga -> db tcp/5432 @ 2026-12-25T10:00Z: allow',
        'olga -> db tcp/5432 @ 2026-12-25T18:00Z: deny',
        'olga -> db tcp/5432 @ 2026-12-26T10:00:00+01:00: deny',
        'olga -> db tcp/5432: allow',
        'olga -> db tcp/5432 @ 2026-12-25T18:00Z: allow',
        'olga -> db tcp/5432 @ tomorrow: allow',
      ].join('\n'),
      'x.tests',
      (at) => compile({ ...inp, at }),
    );
    expect(r.passed).toBe(4);
    expect(r.failures.map((f) => f.line)).toEqual([5, 6]);
    expect(r.failures[0].message).toContain('expected allow, policy says deny');
  });

  it('parseTimeArg takes ISO 8601 with a zone only', () => {
    expect(parseTimeArg('2026-12-25T10:00Z')).toBe(T('2026-12-25T10:00:00Z'));
    expect(parseTimeArg('2026-12-25T10:00')).toBeUndefined();
    expect(parseTimeArg('x'.repeat(1000))).toBeUndefined();
  });
});
