#!/usr/bin/env bash
# npm start: installs dependencies on a fresh clone, then runs the local cluster.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -d node_modules ] || npm ci --no-audit --no-fund
exec node_modules/.bin/bun test/local-cluster/main.ts "$@"
