#!/bin/bash
# Installs the monitoring parts the monitoring tests run for real (idempotent, root).
#
# - apt: prometheus (with promtool), prometheus-alertmanager (with amtool),
#   prometheus-node-exporter and prometheus-blackbox-exporter.
# - No daemon is started or left enabled: the tests start their own Prometheus, Alertmanager and
#   exporters on loopback ports, with their own configuration and data folders.
set -eu
export DEBIAN_FRONTEND=noninteractive

PACKAGES="prometheus prometheus-alertmanager prometheus-node-exporter prometheus-blackbox-exporter"
missing=""
for pkg in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
    apt-get -o DPkg::Lock::Timeout=900 update -qq
    # The packages would start their daemons on the default ports: nothing starts during this install.
    policy_added=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        policy_added=1
    fi
    # shellcheck disable=SC2086
    apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends $missing
    [ -n "$policy_added" ] && rm -f /usr/sbin/policy-rc.d
fi
for tool in prometheus promtool prometheus-alertmanager amtool prometheus-node-exporter prometheus-blackbox-exporter; do
    command -v "$tool" >/dev/null || { echo "monitoring.sh: $tool is missing after the install" >&2; exit 1; }
done
echo "monitoring.sh: $(prometheus --version 2>&1 | head -n1); $(prometheus-alertmanager --version 2>&1 | head -n1)"
