import { defineConfig } from 'vitest/config';

// The soak on its own (SOAK_MINUTES of load; npm run test:soak): beside other files it would
// measure their load, not its own.
const minutes = Number(process.env.SOAK_MINUTES || 30);

export default defineConfig({
  test: {
    // The memory-growth rule's unit tests ride along: pure logic, no load of their own.
    include: ['src/**/*.soak.test.ts', 'src/soak/*.unit.test.ts'],
    // The load, then up to 3 minutes to settle, the reads of the checks, and margin.
    testTimeout: Math.round(minutes * 60_000) + 900_000,
    hookTimeout: 300_000,
    fileParallelism: false,
  },
});
