import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests share one Open vSwitch daemon and one Mininet namespace set: run files one at a time.
    fileParallelism: false,
    reporters: ['default'],
    // Every API reply is checked against its schema in controller/api/contract.ts (a mismatch answers 500).
    env: { ACL_CHECK_REPLIES: '1' },
  },
});
