import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.e2e.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Each file starts its own services in its own namespace; files may run side by side.
    fileParallelism: true,
  },
});
