#!/usr/bin/env bash
# Installs everything the demo and the tests need on a fresh machine of this kind, reusing
# caches outside the repo: Node 24, npm packages, Prometheus and Chromium (Debian), the dashboard
# bundle, the control plane (Go).
# Source it: `source scripts/setup.sh` puts Node 24 first on PATH.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
node_bin=$(bash "$repo/scripts/ensure-node.sh")
export PATH="$node_bin:$PATH"
echo "[setup] node $(node --version) ($(command -v node))" >&2
if [[ ! -f "$repo/node_modules/.package-lock.json" || "$repo/package-lock.json" -nt "$repo/node_modules/.package-lock.json" ]]; then
  echo "[setup] npm ci" >&2
  (cd "$repo" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
bash "$repo/e2e/cluster/install-prometheus.sh"
bash "$repo/scripts/ensure-chromium.sh"
echo "[setup] dashboard bundle (dist/ui)" >&2
(cd "$repo" && node scripts/build-ui.ts)
echo "[setup] control plane binaries, Traefik and helm (first build on a new machine: about 30 min on 2 idle cores, longer when shared; then cached)" >&2
bash "$repo/e2e/cluster/build.sh" >/dev/null
