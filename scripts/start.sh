#!/usr/bin/env bash
# `npm start`: the demo network on Node 24, installing dependencies first on a fresh clone.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
exec node_modules/.bin/node cli/allium.ts demo "$@"
