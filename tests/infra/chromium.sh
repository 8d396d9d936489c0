#!/bin/sh
# Installs Debian's Chromium for the end-to-end tests (idempotent, root). Browser downloads
# (`playwright install`) are impossible here; Playwright drives this browser through its executable
# path (/usr/bin/chromium).
set -eu
export DEBIAN_FRONTEND=noninteractive

command -v chromium >/dev/null && exit 0
apt-get -o DPkg::Lock::Timeout=900 update -qq
apt-get -o DPkg::Lock::Timeout=900 install -y -qq chromium
