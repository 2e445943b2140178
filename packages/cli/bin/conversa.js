#!/usr/bin/env node
// The `conversa` command: the compiled CLI lives in ../dist (built by `npm run build`).
import { existsSync } from 'node:fs';
const entry = new URL('../dist/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('conversa: the CLI is not built yet; run `npm run build` first\n');
  process.exit(1);
}
await import(entry.href);
