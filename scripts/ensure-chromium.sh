#!/usr/bin/env bash
# Debian's Chromium for the dashboard's browser e2e (driven by playwright-core; Playwright's own
# browser download does not work on these machines). Skips when it is already installed.
set -euo pipefail
if [[ -x /usr/bin/chromium ]]; then exit 0; fi
echo "[setup] installing Debian chromium (dashboard e2e)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq chromium >&2
