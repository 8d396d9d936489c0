#!/bin/sh
# Installs Debian's Chromium for the dashboard's browser tests (idempotent, run as root).
#
# Playwright drives it through its executable path (/usr/bin/chromium): Playwright's own browser
# downloads are not used, so no install step fetches a browser build.
set -eu

export DEBIAN_FRONTEND=noninteractive

apt_install() {
    missing=""
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
    done
    [ -z "$missing" ] && return 0
    # Other jobs on the machine may hold the dpkg lock: wait for it instead of failing.
    apt-get -o DPkg::Lock::Timeout=900 update -qq
    # shellcheck disable=SC2086
    apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends $missing
}

apt_install chromium fonts-noto-cjk
chromium --version
