#!/usr/bin/env bash
# The developer's machine bootstrap (the dev box is a node too): sets up everything this repo
# needs, then runs one job.
#
#   bash scripts/dev.sh demo   render a sample app with the defaults, lint it, say where it is
#   bash scripts/dev.sh test   install and start every service the tests use, run the whole suite
#
# Works on a fresh Debian or Ubuntu machine with Python 3.11+, as root or with sudo.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV="$ROOT/.venv"

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

system_packages() {
  # What the CLI itself shells out to: git for Copier, nginx for `nginx -t`, openssl for stand-in
  # certificates; Node.js for the Node app's own checks.
  local missing=()
  command -v git >/dev/null || missing+=(git)
  command -v nginx >/dev/null || missing+=(nginx-light)
  command -v openssl >/dev/null || missing+=(openssl)
  python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
  if [ "$1" = test ]; then
    command -v npm >/dev/null || missing+=(nodejs npm)
  fi
  if [ ${#missing[@]} -gt 0 ]; then
    echo "Installing system packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

python_env() {
  if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
  fi
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -e ".[test]"
}

demo() {
  system_packages demo
  python_env
  local dest="$ROOT/demo/sample-app"
  rm -rf "$dest"
  "$VENV/bin/devops-studio" new "$dest" --defaults --data app_name=sample-app
  "$VENV/bin/devops-studio" lint "$dest"
  echo
  echo "Your sample app repo is in $dest"
}

run_tests() {
  system_packages test
  python_env
  # Services the tests use for real (Docker Engine, nginx, pebble, registry, ...): each script
  # installs and starts one part, and does nothing when it is already there.
  for script in tests/infra/*.sh; do
    [ -e "$script" ] || continue
    echo "== $script"
    as_root bash "$script"
  done
  # Two workers (the machines have two cores); tests that share one daemon or port carry
  # @pytest.mark.xdist_group so they run in one worker, one after another.
  "$VENV/bin/python" -m pytest -n 2 --dist loadgroup "$@"
}

case "${1:-}" in
  demo) demo ;;
  test) shift; run_tests "$@" ;;
  *) echo "usage: bash scripts/dev.sh demo|test [pytest arguments]" >&2; exit 2 ;;
esac
