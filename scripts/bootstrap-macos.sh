#!/usr/bin/env bash
# Set up a Mac node of the inventory (Astraeus: development, Selene: tests and reviews).
#
#   bash scripts/bootstrap-macos.sh [NODE] [--dry-run]
#
# Run it as your own user (not with sudo): Ollama and Playwright belong to you. It installs what is
# missing with Homebrew (Python 3.12, Ollama, Node.js for Playwright), puts the devops-studio CLI into
# its own virtual environment (~/.devops-studio/venv, linked into ~/.local/bin), registers the
# GitHub runner when the node has one (that step alone asks for your password through sudo), then
# runs `devops-studio node setup NODE`. Safe to run again.
#
# Settings (environment):
#   DEVOPS_STUDIO_SOURCE     what pip installs (default: this checkout)
#   DEVOPS_STUDIO_HOME       where the venv lives (default ~/.devops-studio)
#   DEVOPS_STUDIO_INVENTORY  the studio.yml to use (default ~/.devops-studio/studio.yml)
#   GH_TOKEN                 GitHub token for the runner (or `gh auth login` first)
set -euo pipefail

node="${1:-$(scutil --get LocalHostName 2>/dev/null | tr '[:upper:]' '[:lower:]' || hostname -s)}"
if [ $# -gt 0 ]; then shift; fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
prefix="${DEVOPS_STUDIO_HOME:-$HOME/.devops-studio}"
inventory="${DEVOPS_STUDIO_INVENTORY:-$prefix/studio.yml}"
source_spec="${DEVOPS_STUDIO_SOURCE:-}"
if [ -z "$source_spec" ]; then
  if [ -f "$here/../pyproject.toml" ]; then
    source_spec="$(cd "$here/.." && pwd)"
  else
    echo "error: set DEVOPS_STUDIO_SOURCE (e.g. git+https://github.com/OWNER/devops-studio@v0.1.0)" >&2
    exit 2
  fi
fi

if [ "$(id -u)" -eq 0 ]; then
  echo "error: run this as your own user; it uses sudo only for the runner service" >&2
  exit 2
fi
if ! command -v brew >/dev/null 2>&1; then
  echo "error: Homebrew is needed (https://brew.sh); install it and re-run" >&2
  exit 1
fi

brew_install() {
  local formula="$1"
  brew list --formula "$formula" >/dev/null 2>&1 || brew install "$formula"
}

brew_install python@3.12
brew_install ollama
brew_install node
brew_install gh
# Ollama as a login service, so models stay reachable after a reboot.
brew services list | grep -q '^ollama .*started' || brew services start ollama

python="$(brew --prefix python@3.12)/bin/python3.12"
if [ ! -x "$prefix/venv/bin/python" ]; then
  "$python" -m venv "$prefix/venv"
fi
"$prefix/venv/bin/python" -m pip install --quiet --upgrade pip
"$prefix/venv/bin/python" -m pip install --quiet --upgrade "$source_spec"
mkdir -p "$HOME/.local/bin"
ln -sf "$prefix/venv/bin/devops-studio" "$HOME/.local/bin/devops-studio"
cli="$prefix/venv/bin/devops-studio"

if [ ! -f "$inventory" ]; then
  mkdir -p "$(dirname "$inventory")"
  cp "$here/../examples/studio.yml" "$inventory"
  echo "Wrote the example inventory to $inventory: edit owner, repos and the nodes, then run this again."
  exit 1
fi

dry_run=0
for arg in "$@"; do
  if [ "$arg" = "--dry-run" ]; then dry_run=1; fi
done
# The runner is a launchd daemon running as its own user: installing it needs root. The token is
# handed over by name (--preserve-env), never on a command line.
has_runner() {
  "$prefix/venv/bin/python" -c 'import sys
from devops_studio.inventory import load_inventory
sys.exit(0 if load_inventory(sys.argv[1]).node(sys.argv[2]).runner else 1)' "$inventory" "$node"
}
if [ "$dry_run" -eq 0 ] && has_runner; then
  if [ -z "${GH_TOKEN:-}${GITHUB_TOKEN:-}" ] && gh auth status >/dev/null 2>&1; then
    # root has no gh login of its own: hand over yours through the environment only.
    GH_TOKEN="$(gh auth token)"
    export GH_TOKEN
  fi
  sudo --preserve-env=GH_TOKEN,GITHUB_TOKEN "$cli" runner register --node "$node" --inventory "$inventory"
fi
exec "$cli" node setup "$node" --inventory "$inventory" "$@"
