#!/usr/bin/env bash
# Debian's Chromium for the browser tests (Playwright drives it by executable path: browser
# downloads are impossible here). Does nothing when it is already installed.
set -euo pipefail
if command -v chromium >/dev/null; then
  exit 0
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
echo "chromium.sh: $(chromium --version)"
