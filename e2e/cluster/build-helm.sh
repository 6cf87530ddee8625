#!/usr/bin/env bash
# Builds helm from its Go module (the module proxy serves helm.sh/helm/v4; its go.mod has no
# replace lines, so `go install` works) for the chart tests in deploy/helm/canaryd. Cached outside
# the repo, keyed by version, so only the first run on a machine pays for the build (a few
# minutes on 2 cores), and linked into bin/current.
#
# Usage: e2e/cluster/build-helm.sh        (prints the helm binary's path on its last line)
# Env:   CANARYD_CACHE (default ~/.cache/canaryd), HELM_VERSION
set -euo pipefail

HELM_VERSION=${HELM_VERSION:-v4.3.1}
CACHE=${CANARYD_CACHE:-$HOME/.cache/canaryd}

log() { printf '[build-helm %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

command -v go >/dev/null || { log "error: Go toolchain not found on PATH (need Go >= 1.26)"; exit 1; }
[[ $HELM_VERSION =~ ^v([0-9]+)\. ]] || { log "error: HELM_VERSION must look like v4.3.1 (got $HELM_VERSION)"; exit 1; }
major=${BASH_REMATCH[1]}
module="helm.sh/helm/v$major"

helm_dir="$CACHE/bin/helm-$HELM_VERSION"
if [[ -x "$helm_dir/helm" ]]; then
  log "helm $HELM_VERSION: cached in $helm_dir"
else
  rm -rf "$helm_dir.tmp"; mkdir -p "$helm_dir.tmp"
  log "helm $HELM_VERSION: building $module/cmd/helm"
  CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS= GOBIN="$helm_dir.tmp" \
    go install -trimpath -ldflags "-s -w" "$module/cmd/helm@$HELM_VERSION"
  "$helm_dir.tmp/helm" version --short >/dev/null || { log "error: the built helm does not run"; exit 1; }
  rm -rf "$helm_dir"; mv "$helm_dir.tmp" "$helm_dir"
  log "helm $HELM_VERSION: built into $helm_dir"
fi
mkdir -p "$CACHE/bin/current"
ln -sf "$helm_dir/helm" "$CACHE/bin/current/helm"
echo "$helm_dir/helm"
