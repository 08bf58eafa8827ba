#!/usr/bin/env bash
# `npm test`: everything CI checks, from a fresh clone: dependencies, types, then every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
export PATH="$PWD/node_modules/.bin:$PATH"
echo "allium: type-checking…" >&2
tsc --noEmit -p .
echo "allium: running the test suite…" >&2
exec vitest run "$@"
