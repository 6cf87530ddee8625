#!/usr/bin/env bash
# The whole test suite: lint, typecheck, unit tests, and the e2e suite against a real local
# control plane and Prometheus on 127.0.0.1. Installs what it needs (see scripts/setup.sh).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
source scripts/setup.sh
echo "[test] lint"; npm run --silent lint
echo "[test] typecheck"; npm run --silent typecheck
mkdir -p results/tmp
echo "[test] unit + e2e (vitest)"
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=results/tmp/vitest.json "$@" || status=$?
# A plain closing line any CI can read.
node -e '
  const r = JSON.parse(require("node:fs").readFileSync("results/tmp/vitest.json", "utf8"));
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""));
' || true
exit $status
