#!/bin/sh
# Installs Debian's Chromium for the end-to-end tests (idempotent, run as root). Playwright cannot
# download its own browser here; the rendered e2e tests drive this one through
# PLAYWRIGHT_CHROMIUM_EXECUTABLE=/usr/bin/chromium.
set -eu
export DEBIAN_FRONTEND=noninteractive

command -v chromium >/dev/null && exit 0
apt-get -o DPkg::Lock::Timeout=900 update -qq
apt-get -o DPkg::Lock::Timeout=900 install -y -qq chromium
