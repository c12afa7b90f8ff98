/**
 * The test clock of `acl controller --test-clock FILE` (controller/test-clock.ts): it runs on from the instant written
 * in the file at the real clock's speed; writing another instant moves it there and fires the timers now due (in
 * order); a malformed file leaves it running as it was. (Who may use it at all: test/security/test-clock.test.ts.)
 */
import { afterEach, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileClock, parseClockFile } from '../../controller/test-clock.js';
import { tempDir, waitFor } from '../helpers/tmp.js';

const clocks: FileClock[] = [];
afterEach(() => {
  for (const c of clocks.splice(0)) c.close();
});

function clockAt(iso: string): { clock: FileClock; file: string; warnings: string[] } {
  const file = join(tempDir('acl-ck-clock-'), 'clock');
  writeFileSync(file, iso + '\n', { mode: 0o600 });
  const warnings: string[] = [];
  const clock = new FileClock(file, (m) => warnings.push(m), 20);
  clocks.push(clock);
  return { clock, file, warnings };
}

it('reads ISO 8601 instants with a zone only', () => {
  expect(parseClockFile('2026-12-25T06:59:58Z\n')).toBe(Date.parse('2026-12-25T06:59:58Z'));
  expect(parseClockFile('2026-12-25T07:59:58.250+01:00')).toBe(Date.parse('2026-12-25T06:59:58.250Z'));
  for (const bad of ['2026-12-25T06:59:58', '1798181998000', 'tomorrow', '', '2026-12-25T06:59:58Z junk'])
    expect(parseClockFile(bad)).toBeUndefined();
});

it('runs on from the instant in the file at real speed', async () => {
  const { clock } = clockAt('2026-12-25T06:59:00Z');
  const t0 = clock.now();
  expect(Math.abs(t0 - Date.parse('2026-12-25T06:59:00Z'))).toBeLessThan(60_000);
  await new Promise((r) => setTimeout(r, 120));
  expect(clock.now()).toBeGreaterThan(t0);
});

it('a timer fires when the running clock reaches it, without the file changing', async () => {
  const { clock } = clockAt('2026-12-25T06:59:59.700Z');
  const fired: number[] = [];
  clock.at(Date.parse('2026-12-25T07:00:00Z'), () => fired.push(clock.now()));
  await waitFor('timer fired', () => fired.length === 1, 10_000, 20);
  expect(fired[0]).toBeGreaterThanOrEqual(Date.parse('2026-12-25T07:00:00Z'));
});

it('writing a later instant moves the clock and fires the timers now due, earliest first; a cancelled one never fires', async () => {
  const { clock, file } = clockAt('2026-12-25T06:00:00Z');
  const fired: string[] = [];
  clock.at(Date.parse('2026-12-25T17:30:00Z'), () => fired.push('end'));
  clock.at(Date.parse('2026-12-25T07:00:00Z'), () => fired.push('start'));
  const cancel = clock.at(Date.parse('2026-12-25T08:00:00Z'), () => fired.push('cancelled'));
  clock.at(Date.parse('2026-12-26T00:00:00Z'), () => fired.push('tomorrow'));
  cancel();
  writeFileSync(file, '2026-12-25T18:00:00Z');
  await waitFor('timers fired', () => fired.length === 2, 10_000, 20);
  expect(fired).toEqual(['start', 'end']);
  expect(Math.abs(clock.now() - Date.parse('2026-12-25T18:00:00Z'))).toBeLessThan(60_000);
  // moving back is allowed (a test starts over); the clock follows
  writeFileSync(file, '2026-12-24T10:00:00Z');
  await waitFor('moved back', () => clock.now() < Date.parse('2026-12-25T00:00:00Z'), 10_000, 20);
  expect(fired).toEqual(['start', 'end']);
});

it('a malformed file is reported and leaves the clock running as it was', async () => {
  const { clock, file, warnings } = clockAt('2026-12-25T06:00:00Z');
  writeFileSync(file, 'next friday');
  await waitFor('warning', () => warnings.length > 0, 10_000, 20);
  expect(warnings[0]).toMatch(/ISO 8601/);
  expect(Math.abs(clock.now() - Date.parse('2026-12-25T06:00:00Z'))).toBeLessThan(60_000);
});
