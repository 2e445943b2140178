import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

// graphql 16 ships CommonJS (main) and ESM (module) builds. Node's ESM loader picks the
// CommonJS one (no exports map), and so do dependencies like @graphql-tools; vite would pick
// the ESM one for our sources: two "realms" of GraphQLSchema. Pin tests to what Node loads.
const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: { alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }] },
  // Integration tests wait on real Redis events with their own deadlines; on a loaded 2-core CI
  // machine vitest's 5 s default cut one short before its own wait expired.
  test: { testTimeout: 20_000 },
});
