#!/usr/bin/env bash
# Builds Traefik, the ingress data plane of the local cluster, from the Go module proxy at a
# pinned version, and fetches the standard Gateway API CRDs it serves. Both are cached outside
# the repo, keyed by version, so only the first run on a machine pays for the build (a cold
# build takes 10-25 min on 2 cores).
#
# The proxy answers 403 for a few modules Traefik depends on; a 403 is final, so this script
# never asks for them and points `replace` lines at local stand-ins instead (see
# e2e/cluster/traefik-build/README.md):
#   - github.com/traefik/traefik/dynamic/ext   -> e2e/cluster/traefik-build/ext (committed)
#   - github.com/abbot/go-http-auth (the fork)   -> upstream v0.4.0 + traefik-build/go-http-auth overlay
#   - github.com/go-acme/lego/v5                 -> a copy without the DNS providers whose SDKs are refused
#
# Usage: e2e/cluster/build-traefik.sh       (prints the bin directory on its last line)
# Env:   CANARYD_CACHE (default ~/.cache/canaryd), TRAEFIK_VERSION, GATEWAY_API_VERSION
set -euo pipefail

TRAEFIK_VERSION=${TRAEFIK_VERSION:-v3.7.13}
# The version Traefik v3.7.13's own go.mod requires: the API its kubernetesGateway provider speaks.
GATEWAY_API_VERSION=${GATEWAY_API_VERSION:-v1.6.1}
GO_HTTP_AUTH_VERSION=v0.4.0
CACHE=${CANARYD_CACHE:-$HOME/.cache/canaryd}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STAND_INS="$HERE/traefik-build"

# Module path prefixes the proxy refuses (403): SDKs of ACME DNS providers lego imports.
REFUSED_SDKS=(
  github.com/akamai/ github.com/aziontech/ github.com/dnsimple/ github.com/alibabacloud-go/
  github.com/aliyun/ github.com/go-acme/esa- github.com/go-acme/tencent github.com/tencentcloud/
  github.com/huaweicloud/ github.com/nrdcg/oci-go-sdk github.com/regfish/ github.com/sacloud/
  github.com/ucloud/ github.com/yandex-cloud/
)

log() { printf '[build-traefik %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

command -v go >/dev/null || { log "error: Go toolchain not found on PATH (need Go >= 1.26)"; exit 1; }

export CGO_ENABLED=0 GOTOOLCHAIN=local

bin_dir="$CACHE/bin/traefik-$TRAEFIK_VERSION"
crd_dir="$CACHE/gateway-api-$GATEWAY_API_VERSION"

# Prints the module cache directory of module@version (downloads it if needed).
module_dir() {
  (cd "$CACHE" && GOFLAGS= go mod download -json "$1" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
}

# Prints the version a go.mod requires for a module path.
required_version() {
  awk -v m="$2" '$1 == m && $2 ~ /^v/ {print $2; exit} $1 == "require" && $2 == m {print $3; exit}' "$1"
}

fetch_gateway_crds() {
  if compgen -G "$crd_dir/standard/*.yaml" >/dev/null; then log "gateway-api $GATEWAY_API_VERSION CRDs: cached"; return; fi
  log "gateway-api $GATEWAY_API_VERSION: fetching the standard CRDs"
  local dir
  dir=$(module_dir "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION")
  [[ -d "$dir/config/crd/standard" ]] || { log "error: sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION has no config/crd/standard"; exit 1; }
  rm -rf "$crd_dir.tmp"; mkdir -p "$crd_dir.tmp/standard"
  cp "$dir"/config/crd/standard/*.yaml "$crd_dir.tmp/standard/"
  chmod -R u+w "$crd_dir.tmp"
  rm -rf "$crd_dir"; mv "$crd_dir.tmp" "$crd_dir"
  log "gateway-api $GATEWAY_API_VERSION CRDs: in $crd_dir/standard"
}

# Copies lego into $1 without the DNS providers whose packages import a refused SDK.
prepare_lego() {
  local dest=$1 version=$2 src pattern removed=()
  src=$(module_dir "github.com/go-acme/lego/v5@$version")
  cp -r "$src" "$dest"; chmod -R u+w "$dest"
  pattern="\"($(printf '%s|' "${REFUSED_SDKS[@]}" | sed 's/|$//; s/\./\\./g'))"
  local dir name
  for dir in "$dest"/providers/dns/*/; do
    name=$(basename "$dir")
    if grep -rqE --include='*.go' "$pattern" "$dir"; then removed+=("$name"); rm -rf "$dir"; fi
  done
  local registry="$dest/providers/dns/zz_gen_dns_providers.go" names
  names=$(IFS='|'; echo "${removed[*]}")
  # Drop the import and the `case ...: return <name>.NewDNSProvider()` pair of each one.
  awk -v names="^($names)\$" '
    /^\t"github.com\/go-acme\/lego\/v5\/providers\/dns\// { n = $0; sub(/.*\//, "", n); sub(/"$/, "", n); if (n ~ names) next }
    /^\tcase / { held = $0; next }
    held != "" { r = $0; sub(/^\t\treturn /, "", r); sub(/\..*/, "", r); if (r !~ names) { print held; print }; held = ""; next }
    { print }
  ' "$registry" > "$registry.new" && mv "$registry.new" "$registry"
  if grep -rqE --include='*.go' "$pattern" "$dest"/providers "$dest"/challenge "$dest"/lego "$dest"/internal 2>/dev/null; then
    log "error: lego copy still imports a refused module:"; grep -rlE --include='*.go' "$pattern" "$dest" >&2; exit 1
  fi
  # Its go.mod must not ask for the refused modules either.
  local mod
  for mod in $(awk '/^\t/ {print $1}' "$dest/go.mod" | grep -E "^($(printf '%s|' "${REFUSED_SDKS[@]}" | sed 's/|$//; s/\./\\./g'))" || true); do
    (cd "$dest" && go mod edit -droprequire "$mod")
  done
  log "lego $version: removed ${#removed[@]} DNS providers (${removed[*]})"
}

build_traefik() {
  if [[ -x "$bin_dir/traefik" ]]; then log "traefik $TRAEFIK_VERSION: cached in $bin_dir"; return; fi
  local work="$CACHE/src/traefik-$TRAEFIK_VERSION" traefik_dir modfile
  rm -rf "$work"; mkdir -p "$work"
  log "traefik $TRAEFIK_VERSION: resolving module"
  traefik_dir=$(module_dir "github.com/traefik/traefik/v3@$TRAEFIK_VERSION")
  modfile="$traefik_dir/go.mod"
  [[ -f "$modfile" ]] || { log "error: could not download github.com/traefik/traefik/v3@$TRAEFIK_VERSION"; exit 1; }

  log "traefik $TRAEFIK_VERSION: preparing the stand-ins for refused modules"
  cp -r "$STAND_INS/ext" "$work/ext"
  local auth_src
  auth_src=$(module_dir "github.com/abbot/go-http-auth@$GO_HTTP_AUTH_VERSION")
  cp -r "$auth_src" "$work/go-http-auth"; chmod -R u+w "$work/go-http-auth"
  rm -rf "$work/go-http-auth/examples"
  cp "$STAND_INS/go-http-auth/fork_additions.go" "$work/go-http-auth/"
  printf 'module github.com/abbot/go-http-auth\n\ngo 1.26.0\n\nrequire (\n\tgolang.org/x/crypto %s\n\tgolang.org/x/net %s\n)\n' \
    "$(required_version "$modfile" golang.org/x/crypto)" "$(required_version "$modfile" golang.org/x/net)" > "$work/go-http-auth/go.mod"
  prepare_lego "$work/lego" "$(required_version "$modfile" github.com/go-acme/lego/v5)"

  {
    echo "module canaryd.local/traefikbuild"
    echo
    echo "go 1.26.0"
    echo
    echo "require github.com/traefik/traefik/v3 $TRAEFIK_VERSION"
    echo
    echo "replace github.com/traefik/traefik/dynamic/ext => ./ext"
    echo "replace github.com/abbot/go-http-auth => ./go-http-auth"
    echo "replace github.com/go-acme/lego/v5 => ./lego"
    # Traefik's other replace lines (forks published on the proxy) and exclude lines apply
    # only in its own build: repeat them here. Read them from its go.mod (they change by release).
    awk '
      /^replace \(/ { inblock = 1; next }
      inblock && /^\)/ { inblock = 0; next }
      inblock && /=>/ { print "replace " $0; next }
      /^(replace|exclude) / { print }
    ' "$modfile" | sed 's/^replace[[:space:]]*/replace /' \
      | grep -vE '^replace (github.com/traefik/traefik/dynamic/ext|github.com/abbot/go-http-auth) ' \
      | grep -v '=> \./' || true
  } > "$work/go.mod"
  log "traefik $TRAEFIK_VERSION: wrapper module:"; sed 's/^/    /' "$work/go.mod" >&2
  # Traefik's go.sum covers most of what the build needs: start from it.
  cp "$traefik_dir/go.sum" "$work/go.sum"; chmod u+w "$work/go.sum"

  log "traefik $TRAEFIK_VERSION: building (a cold build takes 10-25 min on 2 cores)"
  mkdir -p "$bin_dir.tmp"
  local ld="-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=${TRAEFIK_VERSION#v} -X github.com/traefik/traefik/v3/pkg/version.BuildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  local started=$SECONDS
  (cd "$work" && GOFLAGS=-mod=mod go build -trimpath -ldflags "$ld" -o "$bin_dir.tmp/traefik" github.com/traefik/traefik/v3/cmd/traefik)
  rm -rf "$bin_dir"; mv "$bin_dir.tmp" "$bin_dir"
  log "traefik $TRAEFIK_VERSION: built into $bin_dir in $(( (SECONDS - started) / 60 )) min $(( (SECONDS - started) % 60 )) s"
}

fetch_gateway_crds
build_traefik

mkdir -p "$CACHE/bin/current"
ln -sf "$bin_dir/traefik" "$CACHE/bin/current/traefik"
ln -sfn "$crd_dir/standard" "$CACHE/bin/current/gateway-api-crds"
echo "$CACHE/bin/current"
