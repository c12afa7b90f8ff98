/**
 * The API contract (controller/api/contract.ts) and the types of what the controller sends through it, held
 * together at the type level: these checks run in `tsc -p tsconfig.test.json` (npm test), so a compiler or
 * controller type that drifts from its reply schema (a new lint severity, a stats field, an auth method) fails the
 * typecheck. Literal unions are compared both ways; values the controller sends must be assignable to the reply.
 */
import { describe, expectTypeOf, it } from 'vitest';
import { Value } from '@sinclair/typebox/value';
import type { Static, TSchema } from '@sinclair/typebox';
import {
  AuthMethod,
  ChangeRefusal,
  DecodeErrorCounts,
  DenialCounters,
  DhcpCounters,
  ErrorReply,
  HistoryReply,
  Ipv6Counters,
  LintReply,
  LintSeverity,
  PendingChange,
  PolicyVersion,
  PollReply,
  SigninCounters,
  StatusReply,
  type GetReply,
  type Session,
  type WriteRefusal,
  type WriteReply,
} from '../../controller/api/contract.js';
import type { AuthMethod as CompilerAuthMethod, EdgeSession } from '../../compiler/model.js';
import type { LintReport, LintSeverity as CompilerLintSeverity } from '../../compiler/lint.js';
import type { CompileStats } from '../../compiler/compiled.js';
import type { PollResult } from '../../controller/stats.js';
import type { DecodeErrorCode } from '../../controller/packet.js';
import type { IngestCounters } from '../../controller/denials.js';
import type { PendingChange as StoredPendingChange, PolicyVersion as StoredVersion } from '../../controller/lifecycle-store.js';
import type { Alert, AuditedEvent } from '../../controller/events.js';
import { ALERT_EVENTS } from '../../controller/events.js';
import type { DhcpCounter, DhcpSnooper } from '../../edge/snooping.js';
import type { Nd6Reason, NdSnooper } from '../../edge/nd-snooping.js';
import type { SigninCounter, SigninServer } from '../../edge/signin.js';

/** The same type with every array and object readonly (what the controller holds; Static<> is mutable). */
type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;
type Wire<S extends TSchema> = DeepReadonly<Static<S>>;

describe('the contract and the types of the values sent through it', () => {
  it('literal unions are the same on both sides', () => {
    expectTypeOf<Static<typeof AuthMethod>>().toEqualTypeOf<CompilerAuthMethod>();
    expectTypeOf<Static<typeof LintSeverity>>().toEqualTypeOf<CompilerLintSeverity>();
    expectTypeOf<GetReply<'/api/v1/sessions'>['sessions'][number]['method']>().toEqualTypeOf<CompilerAuthMethod>();
    expectTypeOf<keyof Static<typeof DecodeErrorCounts>>().toEqualTypeOf<DecodeErrorCode>();
    expectTypeOf<Static<typeof LintReply>['counts']>().toEqualTypeOf<{ error: number; warning: number; info: number }>();
    // and at run time: the schema accepts every method the compiler knows and nothing else
    const methods: Record<CompilerAuthMethod, true> = { dot1x: true, mab: true, web: true, admin: true };
    for (const m of Object.keys(methods)) if (!Value.Check(AuthMethod, m)) throw new Error(`contract refuses auth method ${m}`);
    if (Value.Check(AuthMethod, 'radius')) throw new Error('contract accepts an unknown auth method');
  });

  it('what the compiler and controller produce fits the reply schemas', () => {
    expectTypeOf<LintReport['findings'][number]>().toMatchTypeOf<Wire<typeof LintReply>['findings'][number]>();
    expectTypeOf<LintReport['counts']>().toMatchTypeOf<Wire<typeof LintReply>['counts']>();
    expectTypeOf<CompileStats>().toEqualTypeOf<DeepReadonly<StatusReply['stats']>>();
    expectTypeOf<PollResult>().toEqualTypeOf<Wire<typeof PollReply>>();
    expectTypeOf<WriteReply<'POST /api/v1/stats/poll'>>().toEqualTypeOf<Static<typeof PollReply>>();
    // a refused policy change is typed by the route's `refused` schema; a route without one refuses with an ErrorReply
    expectTypeOf<WriteRefusal<'POST /api/v1/policy'>>().toEqualTypeOf<Static<typeof ChangeRefusal>>();
    expectTypeOf<WriteRefusal<'POST /api/v1/policy/monitor'>>().toEqualTypeOf<Static<typeof ChangeRefusal>>();
    expectTypeOf<WriteRefusal<'POST /api/v1/stats/poll'>>().toEqualTypeOf<Static<typeof ErrorReply>>();
    expectTypeOf<StoredPendingChange>().toMatchTypeOf<Wire<typeof PendingChange>>();
    expectTypeOf<Omit<StoredVersion, 'text' | 'ids'>>().toMatchTypeOf<Wire<typeof PolicyVersion>>();
    expectTypeOf<EdgeSession>().toMatchTypeOf<DeepReadonly<Session>>();
    expectTypeOf<IngestCounters>().toEqualTypeOf<Static<typeof DenialCounters>>();
    // a history entry is an audited event (narrowed by type) with who made it, or an unreadable line
    expectTypeOf<Extract<HistoryReply[number], { type: string }>>().toMatchTypeOf<AuditedEvent & { by: string }>();
    expectTypeOf<Exclude<HistoryReply[number], { type: string }>>().toEqualTypeOf<{ corrupt: string }>();
  });

  it("the leases reply's counters have the edge's keys, and the edge counts only by them", () => {
    expectTypeOf<keyof Static<typeof DhcpCounters>>().toEqualTypeOf<DhcpCounter>();
    expectTypeOf<keyof Static<typeof Ipv6Counters>>().toEqualTypeOf<Nd6Reason>();
    expectTypeOf<keyof Static<typeof SigninCounters>>().toEqualTypeOf<SigninCounter>();
    expectTypeOf<DhcpSnooper['counters']>().toEqualTypeOf<Static<typeof DhcpCounters>>();
    expectTypeOf<NdSnooper['counters']>().toEqualTypeOf<Static<typeof Ipv6Counters>>();
    expectTypeOf<SigninServer['counters']>().toEqualTypeOf<Static<typeof SigninCounters>>();
    expectTypeOf<GetReply<'/api/v1/leases'>['dhcp']['counters']>().toEqualTypeOf<Static<typeof DhcpCounters>>();
    // and at run time: the schemas take a counter the edge has and refuse one it has not
    const dhcp: DhcpCounter = 'client-discover';
    const v6: Nd6Reason = 'learned';
    const signin: SigninCounter = 'voucher-accepted';
    for (const [schema, key] of [
      [DhcpCounters, dhcp],
      [Ipv6Counters, v6],
      [SigninCounters, signin],
    ] as const) {
      if (!Value.Check(schema, { [key]: 1 })) throw new Error(`contract refuses counter ${key}`);
      if (Value.Check(schema, { 'no-such-counter': 1 })) throw new Error('contract accepts an unknown counter');
      if (Value.Check(schema, { [key]: 'one' })) throw new Error('contract accepts a counter that is not a number');
    }
  });

  it("status alerts are the controller's alert events", () => {
    expectTypeOf<StatusReply['alerts'][number]>().toEqualTypeOf<Alert>();
    expectTypeOf<Alert['type']>().toEqualTypeOf<(typeof ALERT_EVENTS)[number]>();
    // an event that is not an alert is refused by the schema
    const alerts = StatusReply.properties.alerts;
    if (!Value.Check(alerts, [{ type: 'directory-failed', at: '2026-01-01T00:00:00Z', error: 'x' }])) throw new Error('alert refused');
    if (Value.Check(alerts, [{ type: 'switch-up', at: '2026-01-01T00:00:00Z' }])) throw new Error('a non-alert event accepted as an alert');
  });
});
