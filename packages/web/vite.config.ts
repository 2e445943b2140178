import { defineConfig } from 'vite';

/**
 * Two pages: the chat client (index.html) and GraphiQL (graphiql.html), built to dist/ with
 * content-hashed files under dist/assets/ (the gateway caches those for a year).
 */
export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // Off: the GraphiQL bundle's maps alone are ~30 MB, and the gateway would serve them publicly.
    sourcemap: false,
    // No inline scripts or styles: the gateway's Content-Security-Policy forbids them.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    // GraphiQL bundles the Monaco editor: large by nature, and loaded only on /graphql.
    chunkSizeWarningLimit: 6_000,
    rollupOptions: {
      input: { index: 'index.html', graphiql: 'graphiql.html' },
      onwarn(warning, warn) {
        // framer-motion (via GraphiQL) marks its modules "use client": meaningless in a plain bundle.
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(warning);
      },
    },
  },
  worker: { format: 'es' },
  server: {
    // `npm run dev -w @conversa/web` with the gateway on :4000.
    proxy: { '/graphql': { target: 'http://127.0.0.1:4000', ws: true } },
  },
});
