#!/usr/bin/env bash
# Builds the real control-plane binaries the e2e suite and the demo run against:
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler (from the Kubernetes Go
# modules through the Go module proxy) and kwok, then Traefik and the Gateway API CRDs
# (build-traefik.sh) and helm for the chart tests (build-helm.sh). Binaries are cached outside
# the repo, keyed by version, so only the first run on a machine pays for the build.
#
# Usage: e2e/cluster/build.sh            (prints the bin directory on its last line)
# Env:   CANARYD_CACHE (default ~/.cache/canaryd), K8S_VERSION, ETCD_VERSION, KWOK_VERSION,
#        HELM_VERSION (build-helm.sh)
set -euo pipefail

K8S_VERSION=${K8S_VERSION:-v1.36.3}
ETCD_VERSION=${ETCD_VERSION:-v3.6.8}
KWOK_VERSION=${KWOK_VERSION:-v0.8.0}
CACHE=${CANARYD_CACHE:-$HOME/.cache/canaryd}

log() { printf '[build %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

command -v go >/dev/null || { log "error: Go toolchain not found on PATH (need Go >= 1.26)"; exit 1; }

export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local

k8s_dir="$CACHE/bin/kubernetes-$K8S_VERSION"
etcd_dir="$CACHE/bin/etcd-$ETCD_VERSION"
kwok_dir="$CACHE/bin/kwok-$KWOK_VERSION"
stage_dir="$CACHE/kwok-stages-$KWOK_VERSION"

build_kubernetes() {
  if [[ -x "$k8s_dir/kube-apiserver" && -x "$k8s_dir/kube-controller-manager" && -x "$k8s_dir/kube-scheduler" ]]; then
    log "kubernetes $K8S_VERSION: cached in $k8s_dir"; return
  fi
  local work="$CACHE/src/kubernetes-$K8S_VERSION" minor staging
  minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
  staging="v0.${K8S_VERSION#v1.}"
  mkdir -p "$work" "$k8s_dir.tmp"
  log "kubernetes $K8S_VERSION: resolving module (staging modules at $staging)"
  local modfile
  modfile=$(cd "$work" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  [[ -f "$modfile" ]] || { log "error: could not download k8s.io/kubernetes@$K8S_VERSION"; exit 1; }
  {
    echo "module canaryd.local/kubebuild"
    echo
    echo "go 1.26.0"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    # Every staging module is required at v0.0.0 with a local replace; point each at its
    # published version instead. Read the list from the module itself (it changes by release).
    grep -E '^\s*k8s\.io/[a-z0-9-]+ => \./staging/' "$modfile" | awk -v v="$staging" '{print "replace " $1 " => " $1 " " v}'
  } > "$work/go.mod"
  log "kubernetes $K8S_VERSION: building kube-apiserver, kube-controller-manager, kube-scheduler (a cold build takes 15-30 min on 2 cores)"
  local ld="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION"
  (cd "$work" && go build -trimpath -tags selinux,notest -ldflags "$ld" -o "$k8s_dir.tmp/" \
      k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler)
  rm -rf "$k8s_dir"; mv "$k8s_dir.tmp" "$k8s_dir"
  log "kubernetes $K8S_VERSION: built into $k8s_dir"
}

build_etcd() {
  if [[ -x "$etcd_dir/etcd" ]]; then log "etcd $ETCD_VERSION: cached"; return; fi
  local work="$CACHE/src/etcd-$ETCD_VERSION"
  mkdir -p "$work" "$etcd_dir.tmp"
  # etcd's server module has replace lines, so `go install` refuses it; a wrapper module that
  # requires it builds it from the proxy.
  printf 'module canaryd.local/etcdbuild\n\ngo 1.26.0\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" > "$work/go.mod"
  log "etcd $ETCD_VERSION: building"
  (cd "$work" && go build -trimpath -ldflags "-s -w" -o "$etcd_dir.tmp/etcd" go.etcd.io/etcd/server/v3)
  rm -rf "$etcd_dir"; mv "$etcd_dir.tmp" "$etcd_dir"
  log "etcd $ETCD_VERSION: built into $etcd_dir"
}

build_kwok() {
  if [[ -x "$kwok_dir/kwok" && -d "$stage_dir" ]]; then log "kwok $KWOK_VERSION: cached"; return; fi
  mkdir -p "$kwok_dir.tmp"
  log "kwok $KWOK_VERSION: building"
  GOBIN="$kwok_dir.tmp" GOFLAGS= go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  # kwok v0.8 ships no default stages: keep the ones from its module beside the binary.
  local moddir
  moddir=$(GOFLAGS= go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  rm -rf "$stage_dir"; mkdir -p "$stage_dir"
  cp -r "$moddir/kustomize/stage/." "$stage_dir/"
  chmod -R u+w "$stage_dir"
  rm -rf "$kwok_dir"; mv "$kwok_dir.tmp" "$kwok_dir"
  log "kwok $KWOK_VERSION: built into $kwok_dir"
}

build_etcd
build_kwok
build_kubernetes

mkdir -p "$CACHE/bin/current"
for f in "$k8s_dir"/* "$etcd_dir/etcd" "$kwok_dir/kwok"; do ln -sf "$f" "$CACHE/bin/current/$(basename "$f")"; done
ln -sfn "$stage_dir" "$CACHE/bin/current/kwok-stages"
# The ingress data plane of the local cluster (links itself into bin/current).
bash "$(dirname "${BASH_SOURCE[0]}")/build-traefik.sh" >/dev/null
# helm, for deploy/helm/canaryd's tests (links itself into bin/current).
bash "$(dirname "${BASH_SOURCE[0]}")/build-helm.sh" >/dev/null
echo "$CACHE/bin/current"
