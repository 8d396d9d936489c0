#!/bin/bash
# Installs and starts the edge of a production box on loopback for the deploy tests (idempotent, root).
#
# - apt: nginx (the tests run private instances with their own -c config; the system service is
#   left alone), certbot, pebble + pebble-challtestsrv, docker-registry, openssl, curl.
# - A throwaway CA and a certificate for localhost/127.0.0.1 in /var/lib/devops-studio/edge/ca; pebble
#   serves its ACME directory with it at https://127.0.0.1:14000/dir and validates HTTP-01
#   challenges on port 5002 (where the tests' nginx serves /.well-known/acme-challenge/).
# - pebble-challtestsrv answers every DNS name with 127.0.0.1 on 127.0.0.1:8053 (no /etc/hosts edits).
# - docker-registry listens on 127.0.0.1:5000 (no auth; the engine trusts loopback registries).
# Logs: /var/log/devops-studio/{pebble,challtestsrv,registry}.log.
set -eu

EDGE=/var/lib/devops-studio/edge
LOG_DIR=/var/log/devops-studio
export DEBIAN_FRONTEND=noninteractive

missing=""
for pkg in nginx certbot pebble docker-registry openssl curl; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
    apt-get -o DPkg::Lock::Timeout=900 update -qq
    # shellcheck disable=SC2086
    apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends $missing
fi
mkdir -p "$EDGE/ca" "$EDGE/registry" "$LOG_DIR"

# Throwaway CA, and pebble's own HTTPS certificate signed by it.
if [ ! -s "$EDGE/ca/pebble.pem" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=devops-studio test CA" \
        -keyout "$EDGE/ca/ca.key" -out "$EDGE/ca/ca.pem" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
        -keyout "$EDGE/ca/pebble.key" -out "$EDGE/ca/pebble.csr" 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$EDGE/ca/ext.cnf"
    openssl x509 -req -in "$EDGE/ca/pebble.csr" -CA "$EDGE/ca/ca.pem" -CAkey "$EDGE/ca/ca.key" \
        -CAcreateserial -days 3650 -extfile "$EDGE/ca/ext.cnf" -out "$EDGE/ca/pebble.pem.part" 2>/dev/null
    mv "$EDGE/ca/pebble.pem.part" "$EDGE/ca/pebble.pem"
fi

cat >"$EDGE/pebble-config.json" <<JSON
{
  "pebble": {
    "listenAddress": "127.0.0.1:14000",
    "managementListenAddress": "127.0.0.1:15000",
    "certificate": "$EDGE/ca/pebble.pem",
    "privateKey": "$EDGE/ca/pebble.key",
    "httpPort": 5002,
    "tlsPort": 5001,
    "ocspResponderURL": "",
    "externalAccountBindingRequired": false
  }
}
JSON

cat >"$EDGE/registry.yml" <<YAML
version: 0.1
storage:
  filesystem:
    rootdirectory: $EDGE/registry
  delete:
    enabled: true
http:
  addr: 127.0.0.1:5000
YAML

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() {
    i=0
    until listening "$1"; do
        i=$((i + 1))
        if [ "$i" -gt 60 ]; then echo "edge.sh: $2 did not listen on port $1; see $LOG_DIR/$2.log" >&2; exit 1; fi
        sleep 0.5
    done
}

if ! listening 8055; then
    nohup /usr/bin/pebble-challtestsrv -defaultIPv4 127.0.0.1 -defaultIPv6 "" -dns01 127.0.0.1:8053 \
        -http01 "" -https01 "" -tlsalpn01 "" -management 127.0.0.1:8055 \
        >>"$LOG_DIR/challtestsrv.log" 2>&1 &
fi
wait_port 8055 challtestsrv

if ! listening 14000; then
    # NOSLEEP: no random validation delays; NONCEREJECT=0: no deliberate bad-nonce errors.
    PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 nohup /usr/bin/pebble -config "$EDGE/pebble-config.json" \
        -dnsserver 127.0.0.1:8053 >>"$LOG_DIR/pebble.log" 2>&1 &
fi
wait_port 14000 pebble

if ! listening 5000; then
    nohup /usr/bin/docker-registry serve "$EDGE/registry.yml" >>"$LOG_DIR/registry.log" 2>&1 &
fi
wait_port 5000 registry

curl -fsS --cacert "$EDGE/ca/ca.pem" https://127.0.0.1:14000/dir >/dev/null
curl -fsS http://127.0.0.1:5000/v2/ >/dev/null
echo "edge.sh: pebble https://127.0.0.1:14000/dir (CA $EDGE/ca/ca.pem), challtestsrv DNS 127.0.0.1:8053, registry 127.0.0.1:5000"
