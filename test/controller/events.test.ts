/**
 * Controller events are defined once (controller/events.ts): the alert list comes from each event's flags, every
 * event name emitted anywhere in the source is defined there, and an undefined name relayed from a lower layer is
 * caught under test.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Controller, type ControllerEvent } from '../../controller/controller.js';
import { ALERT_EVENTS, DHCP_ALERTS, EVENT_TYPES, infoOf, isEventType } from '../../controller/events.js';

const ROOT = join(import.meta.dirname, '..', '..');
const controller = () => new Controller({ policyPath: join(ROOT, 'examples/campus/policy.yaml'), listen: { host: '127.0.0.1', port: 0 } });

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return n === 'web' || n === 'node_modules' ? [] : sourceFiles(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

describe('controller events', () => {
  it('keeps exactly the events flagged as alerts in the status alerts', () => {
    const ctl = controller();
    const seen: ControllerEvent[] = [];
    ctl.on('event', (e: ControllerEvent) => seen.push(e));
    for (const t of EVENT_TYPES) ctl.relay(t, { switch: 's1', port: 1 });
    expect(seen.map((e) => e.type)).toEqual(EVENT_TYPES);
    expect(ctl.alerts.map((e) => e.type)).toEqual(EVENT_TYPES.filter((t) => infoOf(t).alert));
    expect(ALERT_EVENTS).toEqual(ctl.alerts.map((e) => e.type));
  });

  it('classifies the alerts users are shown (switch trouble, spoofing, lockouts, DHCP snooping)', () => {
    for (const t of [
      'switch-error',
      'switch-impostor',
      'unknown-switch',
      'device-wrong-port',
      'mac-flapping',
      'directory-failed',
      'signin-locked',
      'mac-conflict',
      'eapol-flood',
      'auth-failures-alert',
      'voucher-guessing-alert',
      'lifecycle-save-error',
      ...DHCP_ALERTS.map((k) => `dhcp-${k}`),
    ])
      expect([t, isEventType(t) && infoOf(t).alert]).toEqual([t, true]);
    for (const t of ['switch-up', 'policy-applied', 'session-started', 'denial', 'lease-bound'] as const)
      expect(infoOf(t).alert).toBeFalsy();
  });

  it('stamps its own time and type over payload fields named `at` or `type`', () => {
    const ctl = controller();
    const seen: ControllerEvent[] = [];
    ctl.on('event', (e: ControllerEvent) => seen.push(e));
    ctl.relay('switch-up', { switch: 's1', dpid: '1', at: 'forged', type: 'forged' });
    expect(seen[0].type).toBe('switch-up');
    expect(seen[0].at).not.toBe('forged');
  });

  it('refuses under test an event name that events.ts does not define', () => {
    expect(() => controller().relay('made-up-event', {})).toThrow(/not defined in controller\/events.ts/);
  });

  it('defines every event name the source emits', () => {
    const names = new Set<string>();
    // ctl.event('x', …), this.d.event('x', …), this.deps.event?.('x', …), ctl.relay('x', …)
    const re = /\b(?:event|relay)(?:\?\.)?\(\s*'([a-z0-9-]+)'/g;
    for (const dir of ['controller', 'edge', 'cluster', 'directory'])
      for (const f of sourceFiles(join(ROOT, dir))) for (const m of readFileSync(f, 'utf8').matchAll(re)) names.add(m[1]);
    expect(names.size).toBeGreaterThan(40);
    expect([...names].filter((n) => !isEventType(n))).toEqual([]);
  });
});
