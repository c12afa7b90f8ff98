/**
 * Per-port guards of the 802.1X authenticator: a token bucket on EAPOL frames (one port cannot starve the others;
 * a flood is alerted once a minute) and the count of failed logins that raises `auth-failures-alert`.
 */
import type { AuthPolicy } from '../compiler/auth.js';

interface PortState {
  tokens: number;
  last: number;
  dropped: number;
  failures: number[];
  alerted: number;
  floodAlerted: number;
}

export interface PortGuardDeps {
  readonly config: () => AuthPolicy | undefined;
  readonly event: (type: string, data: Record<string, unknown>) => void;
  readonly now: () => number;
  /** Called for every frame refused by the rate limit. */
  readonly onRateLimited: () => void;
}

export class PortGuard {
  private readonly perPort = new Map<string, PortState>();

  constructor(private readonly d: PortGuardDeps) {}

  private state(pk: string, now: number, tokens: number): PortState {
    let p = this.perPort.get(pk);
    if (!p) this.perPort.set(pk, (p = { tokens, last: now, dropped: 0, failures: [], alerted: 0, floodAlerted: 0 }));
    return p;
  }

  /** Token bucket per port: `eapolPerSecond` frames per second, bursts of twice that. */
  allow(sw: string, port: number): boolean {
    const rate = this.d.config()?.eapolPerSecond ?? 20;
    const pk = `${sw}:${port}`;
    const now = this.d.now();
    const p = this.state(pk, now, rate * 2);
    p.tokens = Math.min(rate * 2, p.tokens + ((now - p.last) / 1000) * rate);
    p.last = now;
    if (p.tokens >= 1) {
      p.tokens -= 1;
      return true;
    }
    p.dropped++;
    this.d.onRateLimited();
    if (now - p.floodAlerted > 60_000) {
      p.floodAlerted = now;
      this.d.event('eapol-flood', { switch: sw, port, rate, message: `more than ${rate} EAPOL frames/s from ${pk}: excess dropped` });
    }
    return false;
  }

  /** A failed login on the port: `failureAlert.count` of them within its window raise one alert per window. */
  noteFailure(sw: string, port: number): void {
    const { count, windowSeconds } = this.d.config()?.failureAlert ?? { count: 5, windowSeconds: 60 };
    const pk = `${sw}:${port}`;
    const now = this.d.now();
    const p = this.state(pk, now, 0);
    p.failures.push(now);
    while (p.failures.length && now - p.failures[0] > windowSeconds * 1000) p.failures.shift();
    if (p.failures.length >= count && now - p.alerted > windowSeconds * 1000) {
      p.alerted = now;
      this.d.event('auth-failures-alert', {
        switch: sw,
        port,
        failures: p.failures.length,
        withinSeconds: windowSeconds,
        message: `${p.failures.length} failed logins on ${pk} within ${windowSeconds} s`,
      });
    }
  }
}
