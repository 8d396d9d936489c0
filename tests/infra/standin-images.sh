#!/bin/sh
# Builds the stand-in base images the deploy tests build rendered apps on (idempotent, run as root).
#
# No container registry is reachable, so python:/node:/postgres:/nginx: cannot be pulled. Each
# stand-in is a Debian bookworm minbase tree made with debootstrap from the machine's own Debian
# mirror and imported with `docker import`. Tests pass these names as build arguments / image
# overrides, so the rendered Dockerfiles and compose files keep their pinned upstream images.
#
#   devops-studio-standin/python:3.12    python3, venv, pip, `python` command
#   devops-studio-standin/node:22        nodejs, npm, user `node` (uid 1000) like the official image
#   devops-studio-standin/postgres:16    postgresql with an entrypoint honouring POSTGRES_USER,
#                                        POSTGRES_PASSWORD, POSTGRES_DB and PGDATA; pg_isready
#   devops-studio-standin/nginx:1        nginx in the foreground, conf.d included
#
# Built once per machine: a present image is kept, and the root trees are cached as tarballs in
# /var/cache/devops-studio/standins so a wiped engine re-imports them without debootstrap.
set -eu

CACHE=/var/cache/devops-studio/standins
PREFIX=devops-studio-standin
export DEBIAN_FRONTEND=noninteractive

command -v docker >/dev/null || { echo "standin-images.sh: run tests/infra/docker.sh first" >&2; exit 1; }
docker info >/dev/null 2>&1 || { echo "standin-images.sh: the Docker Engine is not running (tests/infra/docker.sh)" >&2; exit 1; }

if ! command -v debootstrap >/dev/null; then
    apt-get -o DPkg::Lock::Timeout=900 update -qq
    apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends debootstrap
fi

# The Debian mirror this machine's apt already uses (deb822 or one-line sources).
debian_mirror() {
    for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        uri=$(grep -Eo '(URIs:[[:space:]]*|^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?)https?://[^[:space:]]+' "$f" \
              | grep -Eo 'https?://[^[:space:]]+' | grep -v -- '-security' | grep -E '/debian/?$' | head -n 1 || true)
        if [ -n "$uri" ]; then echo "$uri"; return; fi
    done
    echo "http://deb.debian.org/debian"
}
MIRROR=$(debian_mirror)
mkdir -p "$CACHE"
# One builder at a time: a second run waits, then finds the images present.
exec 9>"$CACHE/.lock"
flock 9

# A minbase bookworm tree, made once and shared by every stand-in.
base_tree() {
    [ -s "$CACHE/base.tar" ] && return
    root=$(mktemp -d "$CACHE/root-base.XXXXXX")
    echo "standin-images.sh: debootstrap minbase bookworm from $MIRROR"
    debootstrap --variant=minbase bookworm "$root" "$MIRROR" >"$CACHE/base.debootstrap.log" 2>&1 \
        || { tail -n 30 "$CACHE/base.debootstrap.log" >&2; rm -rf "$root"; exit 1; }
    tar -C "$root" -cf "$CACHE/base.tar.part" .
    mv "$CACHE/base.tar.part" "$CACHE/base.tar"
    rm -rf "$root"
}

# Certificate authorities this machine added to its trust store (a TLS-inspecting proxy in front of
# the package registries, for instance) are trusted inside the stand-ins too, so `pip install` and
# `npm ci` in the app's Dockerfile reach the registries exactly as the machine does.
trust_machine_cas() {
    if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then
        cp /usr/local/share/ca-certificates/*.crt "$1/usr/local/share/ca-certificates/"
        chroot "$1" update-ca-certificates >/dev/null 2>&1
    fi
}

# build NAME TAG PACKAGES CUSTOMISE-FUNCTION IMPORT-CHANGES...
build() {
    name=$1; tag=$2; packages=$3; customise=$4; shift 4
    image="$PREFIX/$name:$tag"
    if docker image inspect "$image" >/dev/null 2>&1; then
        echo "standin-images.sh: $image present"
        return
    fi
    tarball="$CACHE/$name-$tag.tar"
    if [ ! -s "$tarball" ]; then
        base_tree
        root=$(mktemp -d "$CACHE/root-$name.XXXXXX")
        tar -C "$root" -xf "$CACHE/base.tar"
        echo "standin-images.sh: installing $packages into the $name stand-in"
        # No daemons start inside the chroot.
        printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
        chmod 755 "$root/usr/sbin/policy-rc.d"
        mount -t proc proc "$root/proc"
        # shellcheck disable=SC2086
        if ! chroot "$root" sh -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends $packages" \
                >"$CACHE/$name.apt.log" 2>&1; then
            umount "$root/proc"
            tail -n 30 "$CACHE/$name.apt.log" >&2
            rm -rf "$root"
            exit 1
        fi
        umount "$root/proc"
        rm -f "$root/usr/sbin/policy-rc.d"
        trust_machine_cas "$root"
        "$customise" "$root"
        rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
        tar -C "$root" -cf "$tarball.part" .
        mv "$tarball.part" "$tarball"
        rm -rf "$root"
    fi
    # The remaining arguments are Dockerfile instructions: one --change each, passed as they are.
    n=$#
    for change in "$@"; do set -- "$@" --change "$change"; done
    shift "$n"
    docker import "$@" "$tarball" "$image" >/dev/null
    echo "standin-images.sh: imported $image"
}

customise_python() {
    # The official image lets pip install system-wide; Debian marks its Python externally managed.
    rm -f "$1"/usr/lib/python3*/EXTERNALLY-MANAGED
}

customise_node() {
    chroot "$1" groupadd --gid 1000 node
    chroot "$1" useradd --uid 1000 --gid node --shell /bin/sh --create-home node
}

customise_postgres() {
    # The package's own cluster is not used: the entrypoint makes one in PGDATA like the official image.
    rm -rf "$1"/var/lib/postgresql/15/main "$1"/etc/postgresql/15/main
    mkdir -p "$1/docker-entrypoint-initdb.d"
    cat >"$1/usr/local/bin/docker-entrypoint.sh" <<'ENTRY'
#!/bin/sh
# Stand-in for the official postgres image's entrypoint: POSTGRES_USER, POSTGRES_PASSWORD,
# POSTGRES_DB and PGDATA mean the same; *.sql / *.sh in /docker-entrypoint-initdb.d run once.
set -eu
export PGDATA="${PGDATA:-/var/lib/postgresql/data}"
if [ "${1:-}" = postgres ] && [ "$(id -u)" = 0 ]; then
    mkdir -p "$PGDATA" /run/postgresql
    chown -R postgres:postgres "$PGDATA" /run/postgresql
    chmod 700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi
if [ "${1:-}" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
    : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required (the official image refuses to start without it)}"
    user="${POSTGRES_USER:-postgres}"
    db="${POSTGRES_DB:-$user}"
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    initdb -D "$PGDATA" -U "$user" --pwfile="$pwfile" -E UTF8 --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    rm -f "$pwfile"
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
    if [ "$db" != postgres ]; then
        psql -v ON_ERROR_STOP=1 -U "$user" -d postgres -q -c "CREATE DATABASE \"$db\""
    fi
    for f in /docker-entrypoint-initdb.d/*; do
        case "$f" in
            *.sql) psql -v ON_ERROR_STOP=1 -U "$user" -d "$db" -q -f "$f" ;;
            *.sh) . "$f" ;;
        esac
    done
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
    echo "stand-in postgres: database $db initialised"
fi
if [ "${1:-}" = postgres ]; then
    shift
    exec postgres -c listen_addresses='*' "$@"
fi
exec "$@"
ENTRY
    chmod 755 "$1/usr/local/bin/docker-entrypoint.sh"
}

customise_nginx() {
    rm -f "$1"/etc/nginx/sites-enabled/default
    ln -sf /dev/stdout "$1"/var/log/nginx/access.log
    ln -sf /dev/stderr "$1"/var/log/nginx/error.log
}

BASE_PATH=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# pip and node read the system trust store only when told to.
CA_FILE=/etc/ssl/certs/ca-certificates.crt

build python 3.12 "python3 python3-venv python3-pip python-is-python3 ca-certificates adduser" \
    customise_python "ENV $BASE_PATH" "ENV LANG=C.UTF-8" "ENV PIP_CERT=$CA_FILE" "ENV SSL_CERT_FILE=$CA_FILE" \
    'CMD ["python3"]'
build node 22 "nodejs npm ca-certificates adduser" customise_node \
    "ENV $BASE_PATH" "ENV LANG=C.UTF-8" "ENV NODE_EXTRA_CA_CERTS=$CA_FILE" "ENV NPM_CONFIG_CAFILE=$CA_FILE" \
    'CMD ["node"]'
build postgres 16 "postgresql postgresql-client ca-certificates" customise_postgres \
    "ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    "ENV PGDATA=/var/lib/postgresql/data" "ENV LANG=C.UTF-8" "EXPOSE 5432" \
    "VOLUME /var/lib/postgresql/data" 'ENTRYPOINT ["docker-entrypoint.sh"]' 'CMD ["postgres"]'
build nginx 1 "nginx-light ca-certificates" customise_nginx \
    "ENV $BASE_PATH" "EXPOSE 80" 'CMD ["nginx","-g","daemon off;"]'
