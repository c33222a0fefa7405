#!/usr/bin/env bash
# Creates packages/<dir> with the standard layout: ESM, src/index.ts as the only public entry,
# dist/ build output, tests beside the code; publishable (tests/packaging checks it). Usage: scripts/new-package.sh <dir> <name> "<description>"
set -euo pipefail
dir=$1 name=$2 desc=$3
root=$(cd "$(dirname "$0")/.." && pwd)
p="$root/packages/$dir"
[ -e "$p" ] && { echo "packages/$dir exists" >&2; exit 1; }
mkdir -p "$p/src"
cat > "$p/package.json" <<JSON
{
  "name": "@stopsim/$name",
  "version": "0.1.0",
  "description": "$desc",
  "keywords": ["stopsim"],
  "license": "MIT",
  "repository": {
    "type": "git",
    "url": "git+https://github.com/stopsim/stopsim.git",
    "directory": "packages/$dir"
  },
  "type": "module",
  "sideEffects": false,
  "main": "./dist/index.js",
  "types": "./dist/index.d.ts",
  "exports": {
    ".": {
      "types": "./dist/index.d.ts",
      "default": "./dist/index.js"
    },
    "./package.json": "./package.json"
  },
  "files": ["dist", "src", "!src/**/*.test.ts", "!src/**/test-helpers"],
  "engines": {
    "node": ">=20"
  },
  "publishConfig": {
    "access": "public"
  },
  "scripts": {
    "build": "tsc -p tsconfig.build.json",
    "typecheck": "tsc -p tsconfig.json --noEmit",
    "test": "vitest run --reporter=default --reporter=json --outputFile=test-results.json"
  },
  "dependencies": {},
  "devDependencies": {}
}
JSON
cat > "$p/tsconfig.json" <<JSON
{
  "extends": "../../tsconfig.base.json",
  "compilerOptions": { "rootDir": ".", "noEmit": true },
  "include": ["src/**/*.ts", "test/**/*.ts", "bench/**/*.ts", "scripts/**/*.ts", "vitest.config.ts"]
}
JSON
cat > "$p/tsconfig.build.json" <<JSON
{
  "extends": "../../tsconfig.base.json",
  "compilerOptions": { "rootDir": "src", "outDir": "dist" },
  "include": ["src/**/*.ts"],
  "exclude": ["src/**/*.test.ts", "src/**/test-helpers/**"]
}
JSON
cat > "$p/vitest.config.ts" <<'TS'
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
TS
echo "export {};" > "$p/src/index.ts"
echo "created packages/$dir (@stopsim/$name)"
echo "next: add keywords, a README.md with its API reference link and usage example (see packages/engine),"
echo "examples/usage.ts, and \"@stopsim/$name\": \"workspace:*\" in tests/packaging/package.json devDependencies"
