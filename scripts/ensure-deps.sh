#!/usr/bin/env bash
# Installs the npm dependencies (Node 24 among them, as a devDependency) when they are missing or
# older than package-lock.json, so `npm start` and `npm test` work on a fresh clone.
set -euo pipefail
cd "$(dirname "$0")/.."
marker=node_modules/.package-lock.json
if [ ! -f "$marker" ] || [ package-lock.json -nt "$marker" ] || [ ! -x node_modules/.bin/node ]; then
  echo "allium: installing npm dependencies (npm ci)…" >&2
  npm ci --no-audit --no-fund >&2
fi
