#!/usr/bin/env bash
# Set up a Linux node of the inventory (Chronos: AlmaLinux 10; Debian/Ubuntu work too).
#
#   sudo --preserve-env=GH_TOKEN bash scripts/bootstrap-linux.sh [NODE] [--dry-run]
#
# Installs the devops-studio CLI into its own virtual environment (/opt/devops-studio/venv, linked
# as /usr/local/bin/devops-studio), then runs `devops-studio node setup NODE`. Safe to run again.
#
# Settings (environment):
#   DEVOPS_STUDIO_SOURCE     what pip installs (default: this checkout), e.g.
#                            git+https://github.com/OWNER/devops-studio@v0.1.0
#   DEVOPS_STUDIO_HOME       where the venv lives (default /opt/devops-studio)
#   DEVOPS_STUDIO_INVENTORY  the studio.yml to use (default /etc/devops-studio/studio.yml)
#   DEVOPS_STUDIO_BIN_DIR    where the `devops-studio` link goes (default /usr/local/bin)
#   GH_TOKEN                 GitHub token for the runner (or run `gh auth login` as root first).
#                            Pass it with --preserve-env=GH_TOKEN, never on the command line.
set -euo pipefail

node="${1:-chronos}"
if [ $# -gt 0 ]; then shift; fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
prefix="${DEVOPS_STUDIO_HOME:-/opt/devops-studio}"
inventory="${DEVOPS_STUDIO_INVENTORY:-/etc/devops-studio/studio.yml}"
bin_dir="${DEVOPS_STUDIO_BIN_DIR:-/usr/local/bin}"
source_spec="${DEVOPS_STUDIO_SOURCE:-}"
if [ -z "$source_spec" ]; then
  if [ -f "$here/../pyproject.toml" ]; then
    source_spec="$(cd "$here/.." && pwd)"
  else
    echo "error: set DEVOPS_STUDIO_SOURCE (e.g. git+https://github.com/OWNER/devops-studio@v0.1.0)" >&2
    exit 2
  fi
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "error: run as root: sudo --preserve-env=GH_TOKEN bash $0 $node" >&2
  exit 2
fi

install_packages() {
  if command -v dnf >/dev/null 2>&1; then
    dnf install -y -q "$@"
  elif command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
  else
    echo "error: neither dnf nor apt-get found; install $* yourself" >&2
    exit 1
  fi
}

python_ok() {
  command -v python3 >/dev/null 2>&1 &&
    python3 -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null
}

if ! python_ok; then
  if command -v dnf >/dev/null 2>&1; then install_packages python3 python3-pip; else install_packages python3 python3-venv; fi
fi
if ! python_ok; then
  echo "error: devops-studio needs Python 3.11 or newer with venv; install it and re-run" >&2
  exit 1
fi
command -v git >/dev/null 2>&1 || install_packages git

if [ ! -x "$prefix/venv/bin/python" ]; then
  python3 -m venv "$prefix/venv"
fi
"$prefix/venv/bin/python" -m pip install --quiet --upgrade pip
"$prefix/venv/bin/python" -m pip install --quiet --upgrade "$source_spec"
mkdir -p "$bin_dir"
ln -sf "$prefix/venv/bin/devops-studio" "$bin_dir/devops-studio"

if [ ! -f "$inventory" ]; then
  mkdir -p "$(dirname "$inventory")"
  if [ -f "$here/../examples/studio.yml" ]; then
    cp "$here/../examples/studio.yml" "$inventory"
    echo "Wrote the example inventory to $inventory: edit owner, repos and the nodes, then run this again."
  else
    echo "error: no inventory at $inventory; copy examples/studio.yml there and edit it" >&2
  fi
  exit 1
fi

exec "$bin_dir/devops-studio" node setup "$node" --inventory "$inventory" "$@"
