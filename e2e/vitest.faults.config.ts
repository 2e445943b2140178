import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/faults/**/*.faults.test.ts'],
    testTimeout: 360_000,
    hookTimeout: 180_000,
    fileParallelism: false,
  },
});
