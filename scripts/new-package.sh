#!/usr/bin/env bash
# Scaffolds the boilerplate of one workspace package: usage scripts/new-package.sh packages/foo @conversa/foo
set -euo pipefail
dir=$1; name=$2
mkdir -p "$dir/src"
rel=$(realpath --relative-to="$dir" .)
[ -f "$dir/tsconfig.json" ] || cat > "$dir/tsconfig.json" <<J
{
  "extends": "$rel/tsconfig.base.json",
  "compilerOptions": { "outDir": "dist", "rootDir": "src" },
  "include": ["src"]
}
J
[ -f "$dir/tsconfig.build.json" ] || cat > "$dir/tsconfig.build.json" <<J
{
  "extends": "./tsconfig.json",
  "exclude": ["src/**/*.test.ts"]
}
J
[ -f "$dir/package.json" ] || cat > "$dir/package.json" <<J
{
  "name": "$name",
  "version": "0.1.0",
  "private": true,
  "type": "module",
  "exports": {
    ".": { "types": "./dist/index.d.ts", "import": "./dist/index.js" }
  },
  "scripts": {
    "build": "tsc -p tsconfig.build.json",
    "typecheck": "tsc -p tsconfig.json --noEmit",
    "lint": "eslint src --max-warnings=0",
    "test": "vitest run --passWithNoTests --exclude '**/*.int.test.ts'",
    "test:integration": "vitest run --passWithNoTests .int.test.ts"
  }
}
J
