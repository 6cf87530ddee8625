#!/usr/bin/env bash
# Installs Prometheus from Debian's package without letting its postinst start the packaged
# daemon on 0.0.0.0:9090: the tests run their own instance on loopback with their own config.
set -euo pipefail
if command -v prometheus >/dev/null 2>&1; then exit 0; fi
echo "[prometheus] installing Debian's prometheus package (daemon start suppressed)" >&2
SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO=sudo
policy=/usr/sbin/policy-rc.d
had_policy=0; [[ -e $policy ]] && had_policy=1
if [[ $had_policy -eq 0 ]]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null; $SUDO chmod +x "$policy"
fi
trap '[[ $had_policy -eq 0 ]] && $SUDO rm -f "$policy"' EXIT
$SUDO apt-get update -qq >&2 || true
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus >&2
# Some init systems ignore policy-rc.d: make sure no packaged daemon keeps port 9090.
$SUDO pkill -x prometheus 2>/dev/null || true
command -v prometheus >/dev/null
