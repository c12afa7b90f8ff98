/**
 * Integration tests declare the real parts they need. Where a part is missing, the test is skipped on a
 * developer's machine, but when ACL_REQUIRE_INTEGRATION=1 (set by `npm run test:all` and .ci/run) the suite
 * fails instead: CI cannot go green by skipping.
 */
import { describe, it } from 'vitest';

export const requireIntegration = process.env.ACL_REQUIRE_INTEGRATION === '1';

export { haveCommand, isRoot } from './have.js';

/**
 * `describeWith(parts, name, fn)`: `parts` maps each needed real part to whether it is here.
 * All present → a normal describe. Any missing → skipped, or (ACL_REQUIRE_INTEGRATION=1) one failing test
 * that names what is missing.
 */
export function describeWith(parts: Record<string, boolean>, name: string, fn: () => void): void {
  const missing = Object.entries(parts)
    .filter(([, ok]) => !ok)
    .map(([k]) => k);
  if (missing.length === 0) {
    describe(name, fn);
    return;
  }
  if (requireIntegration) {
    describe(name, () => {
      it(`needs ${missing.join(', ')}`, () => {
        throw new Error(`integration test cannot run: missing ${missing.join(', ')} (ACL_REQUIRE_INTEGRATION=1 forbids skipping)`);
      });
    });
    return;
  }
  describe.skip(`${name} (missing: ${missing.join(', ')})`, fn);
}
