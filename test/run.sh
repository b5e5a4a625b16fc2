#!/usr/bin/env bash
# The test command (`npm test`): type check, build or reuse the cached test
# control plane, ECK operator and helm, run every bun test, and end with the line CI reads:
# "N passed, N failed". Extra arguments go to `bun test` (e.g. a path filter).
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
[ -d node_modules ] || npm ci --no-audit --no-fund # a fresh clone needs nothing else

passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "== type check (tsc --noEmit)"
if tsc --noEmit -p .; then passed=$((passed + 1)); else failed=$((failed + 1)); fi

echo "== test control plane binaries"
start=$(date +%s)
if ! bun test/controlplane/binaries.ts; then
  echo "building the test control plane failed"
  echo "$passed passed, $((failed + 1)) failed"
  exit 1
fi
echo "control plane binaries ready in $(( $(date +%s) - start )) s"

echo "== the real ECK operator (test/eck/; built once, then cached)"
start=$(date +%s)
# Not fatal: without it the tests next to ECK skip, each by name with the reason.
if bun test/eck/operator-binary.ts; then echo "ECK operator ready in $(( $(date +%s) - start )) s"; else echo "no ECK operator: the tests next to ECK will skip"; fi

echo "== helm (test/helm/; built once, then cached)"
start=$(date +%s)
# Not fatal: without it the chart's tests (test/deploy/chart/) skip, each by name with the reason.
if bun test/helm/binary.ts; then echo "helm ready in $(( $(date +%s) - start )) s"; else echo "no helm: the chart's tests will skip"; fi

echo "== bun test"
# Own process group, so whatever a crashed test leaves behind is killed below.
set -m
bun test --timeout 120000 "$@" > >(tee "$log") 2>&1 &
job=$!
wait "$job"
rc=$?
set +m
kill -KILL -- "-$job" 2>/dev/null || true
sleep 0.2 # let tee flush

p=$(grep -E '^ *[0-9]+ pass$' "$log" | tail -1 | awk '{print $1}')
f=$(grep -E '^ *[0-9]+ fail$' "$log" | tail -1 | awk '{print $1}')
passed=$((passed + ${p:-0}))
failed=$((failed + ${f:-0}))
if [ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then
  echo "bun test exited with $rc without reporting a failure"
  failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
