#!/bin/sh
# Machine parts the node-setup tests use (idempotent, run as root):
# - systemd-analyze (package systemd) to verify the runner's systemd unit;
# - passwd (useradd) to create the runner's dedicated user;
# - sudo (visudo) to check the deploy user's sudoers rule;
# - openssl to make the certificates whose remaining days `doctor` counts.
# The tests create the user `studio-runner` through `devops-studio runner register` itself.
set -eu

missing=""
command -v systemd-analyze >/dev/null 2>&1 || missing="$missing systemd"
command -v useradd >/dev/null 2>&1 || missing="$missing passwd"
command -v visudo >/dev/null 2>&1 || missing="$missing sudo"
command -v openssl >/dev/null 2>&1 || missing="$missing openssl"
command -v python3 >/dev/null 2>&1 || missing="$missing python3"
if [ -n "$missing" ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086 # word splitting of the package list is intended
    apt-get install -y -qq --no-install-recommends $missing
fi
systemd-analyze --version | head -n 1
