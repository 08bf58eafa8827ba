#!/usr/bin/env bash
# `npm test`: everything CI checks, from a fresh clone: dependencies, browsers, types, then every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
bash scripts/ensure-browsers.sh
export PATH="$PWD/node_modules/.bin:$PATH"
echo "allium: type-checking…" >&2
tsc --noEmit -p .
tsc --noEmit -p extension
echo "allium: running the test suite…" >&2
exec vitest run "$@"
