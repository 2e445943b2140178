import { defineConfig } from 'vitest/config';

// The scale-out run (3 gateways, 2 chats, 2-3 audit consumers) on its own: run beside the other
// end-to-end files it would starve them of CPU on a small machine and turn their timing flaky.
export default defineConfig({
  test: {
    include: ['src/**/*.scale.test.ts'],
    testTimeout: 360_000,
    hookTimeout: 180_000,
    fileParallelism: false,
  },
});
