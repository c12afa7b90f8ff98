/**
 * TEST ONLY: a controller clock that a test moves by writing a file, for end-to-end tests of a whole `acl controller`
 * process (Mininet: a time window opening and closing on real packets without waiting until 18:30).
 *
 *   ACL_TEST_CLOCK=1 acl controller policy.yaml --test-clock /tmp/x/clock   (the flag is hidden from --help)
 *
 * The file holds one ISO 8601 instant with its zone (`2026-12-25T06:59:58Z`); from the moment the controller reads
 * it, its clock runs on from that instant at the real clock's speed (so the hard_timeouts it gives the switches
 * expire in step with it). Writing another instant moves the clock there; timers now due fire at once.
 *
 * Whoever can move a controller's clock can open a time window or revive an expired grant. So this is not an API
 * and never on by accident: the flag is refused unless the environment says ACL_TEST_CLOCK=1 (and refused whatever
 * it says when NODE_ENV=production), and the file must be a regular file owned by the controller's own user that
 * nobody else may write (test/security/test-clock.test.ts). The controller warns at start that its clock is a test's.
 */
import { readFileSync, statSync } from 'node:fs';
import type { Clock } from './clock.js';

export const TEST_CLOCK_ENV = 'ACL_TEST_CLOCK';
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;
/** setTimeout's longest delay (2^31-1 ms); longer waits are re-armed. */
const MAX_DELAY = 2 ** 31 - 1;

/** Why `--test-clock FILE` may not be used here (undefined when it may). */
export function testClockRefusal(file: string, env: NodeJS.ProcessEnv = process.env, uid = process.getuid?.()): string | undefined {
  if (env.NODE_ENV === 'production') return '--test-clock is for tests only and is refused when NODE_ENV=production';
  if (env[TEST_CLOCK_ENV] !== '1')
    return `--test-clock is for tests only (whoever writes the file moves the controller's time: opens time windows, revives expired grants); it is refused unless ${TEST_CLOCK_ENV}=1 is set`;
  let st;
  try {
    st = statSync(file);
  } catch (e) {
    return `--test-clock ${file}: ${(e as Error).message}`;
  }
  if (!st.isFile()) return `--test-clock ${file}: not a regular file`;
  if (uid !== undefined && st.uid !== uid) return `--test-clock ${file}: owned by uid ${st.uid}, not by the controller's user (${uid})`;
  if (st.mode & 0o022) return `--test-clock ${file}: writable by group or others (mode ${(st.mode & 0o777).toString(8)})`;
  return undefined;
}

/** Reads an instant written as ISO 8601 with a zone; undefined when the text is not one. */
export function parseClockFile(text: string): number | undefined {
  const s = text.trim();
  if (!ISO.test(s)) return undefined;
  const t = Date.parse(s);
  return Number.isFinite(t) ? t : undefined;
}

/** The clock of `--test-clock FILE` (see above). `close()` stops watching the file and cancels every timer. */
export class FileClock implements Clock {
  private offset = 0;
  private timers: Array<{ at: number; fn: () => void; id: number }> = [];
  private seq = 0;
  private timer?: NodeJS.Timeout;
  private firing = false;
  private closed = false;
  private last?: string;
  private readonly poll: NodeJS.Timeout;

  constructor(
    readonly file: string,
    private readonly warn: (msg: string) => void = () => undefined,
    pollMs = 50,
  ) {
    this.read();
    // read again every pollMs (a small file; no stat baseline that a write racing the start could hide behind)
    this.poll = setInterval(() => this.read(), pollMs);
    this.poll.unref();
  }

  now(): number {
    return Date.now() + this.offset;
  }

  at(at: number, fn: () => void): () => void {
    const id = ++this.seq;
    this.timers.push({ at, fn, id });
    this.arm();
    return () => {
      this.timers = this.timers.filter((x) => x.id !== id);
      this.arm();
    };
  }

  close(): void {
    this.closed = true;
    clearInterval(this.poll);
    if (this.timer) clearTimeout(this.timer);
    this.timers = [];
  }

  /** A new text in the file: its instant is the time now; an unreadable or malformed file leaves the clock as it runs. */
  private read(): void {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (e) {
      if (this.last !== '') this.warn(`test clock: cannot read ${this.file}: ${(e as Error).message}`);
      this.last = '';
      return;
    }
    if (text === this.last) return;
    this.last = text;
    const t = parseClockFile(text);
    if (t === undefined) {
      this.warn(`test clock: ${this.file} does not hold an ISO 8601 instant with a zone: ${JSON.stringify(text.slice(0, 40))}`);
      return;
    }
    this.offset = t - Date.now();
    this.arm();
  }

  /** Fires every timer due (earliest first), then sets one real timer for the next. */
  private arm(): void {
    if (this.firing || this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.firing = true;
    try {
      for (;;) {
        const due = this.timers.filter((x) => x.at <= this.now()).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        this.timers = this.timers.filter((x) => x !== due);
        due.fn();
      }
    } finally {
      this.firing = false;
    }
    if (!this.timers.length) return;
    const next = Math.min(...this.timers.map((x) => x.at));
    this.timer = setTimeout(() => this.arm(), Math.max(1, Math.min(next - this.now(), MAX_DELAY)));
    this.timer.unref();
  }
}
