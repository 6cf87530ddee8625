#!/usr/bin/env bash
# The main job: a demo on a local cluster (real control plane + Prometheus on 127.0.0.1).
# Installs what it needs, then runs the demo; `--keep` leaves the cluster and canaryd running
# afterwards (`npm run cluster -- down` stops both).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
source scripts/setup.sh
exec node e2e/demo/demo.ts "$@"
