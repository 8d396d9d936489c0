#!/bin/bash
# Installs the backup parts and starts "the other machine" on loopback for the backup tests
# (idempotent, root).
#
# - apt: restic (the backup tool), openssh-server + openssh-client (the SFTP backend restic talks to).
# - A private sshd on 127.0.0.1:2223 with its own host key and config (the system sshd is left
#   alone and not started): one user, studio-backup, key login only, and nothing but SFTP
#   (ForceCommand internal-sftp). Its client key and known_hosts are in
#   /var/lib/devops-studio/backup-target (root only, 0600), which the tests read.
# Log: /var/log/devops-studio/backup-sshd.log.
set -eu

TARGET=/var/lib/devops-studio/backup-target
LOG_DIR=/var/log/devops-studio
PORT=2223
USER_NAME=studio-backup
export DEBIAN_FRONTEND=noninteractive

missing=""
for pkg in restic openssh-server openssh-client; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
    apt-get -o DPkg::Lock::Timeout=900 update -qq
    # The package would start the system sshd on port 22: no daemon starts during this install.
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

mkdir -p "$TARGET" "$LOG_DIR" /run/sshd
chmod 700 "$TARGET"
id "$USER_NAME" >/dev/null 2>&1 || useradd --system --create-home --home-dir "/srv/$USER_NAME" \
    --shell /bin/sh "$USER_NAME"
# A system account is created locked ("!"), which sshd refuses even for key logins: "*" means no
# password can ever match, without locking the account.
[ "$(getent shadow "$USER_NAME" | cut -d: -f2)" = "*" ] || usermod -p '*' "$USER_NAME"
[ -s "$TARGET/host_ed25519" ] || ssh-keygen -q -t ed25519 -N "" -f "$TARGET/host_ed25519"
[ -s "$TARGET/client_ed25519" ] || ssh-keygen -q -t ed25519 -N "" -C "devops-studio backup tests" \
    -f "$TARGET/client_ed25519"
install -d -m 700 -o "$USER_NAME" -g "$USER_NAME" "/srv/$USER_NAME/.ssh"
install -m 600 -o "$USER_NAME" -g "$USER_NAME" "$TARGET/client_ed25519.pub" "/srv/$USER_NAME/.ssh/authorized_keys"
printf '[127.0.0.1]:%s %s\n' "$PORT" "$(cut -d' ' -f1,2 "$TARGET/host_ed25519.pub")" >"$TARGET/known_hosts"

cat >"$TARGET/sshd_config" <<CONF
ListenAddress 127.0.0.1:$PORT
HostKey $TARGET/host_ed25519
PidFile $TARGET/sshd.pid
AllowUsers $USER_NAME
PermitRootLogin no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
AllowTcpForwarding no
X11Forwarding no
PermitTTY no
Subsystem sftp internal-sftp
ForceCommand internal-sftp
CONF
/usr/sbin/sshd -t -f "$TARGET/sshd_config"

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if ! listening "$PORT"; then
    nohup /usr/sbin/sshd -D -e -f "$TARGET/sshd_config" >>"$LOG_DIR/backup-sshd.log" 2>&1 &
fi
i=0
until listening "$PORT"; do
    i=$((i + 1))
    if [ "$i" -gt 60 ]; then echo "backup.sh: sshd did not listen on $PORT; see $LOG_DIR/backup-sshd.log" >&2; exit 1; fi
    sleep 0.5
done
# One SFTP round trip with the client key: the target answers as the tests will use it.
echo "ls" | sftp -q -b - -P "$PORT" -i "$TARGET/client_ed25519" -o BatchMode=yes \
    -o UserKnownHostsFile="$TARGET/known_hosts" "$USER_NAME@127.0.0.1" >/dev/null
echo "backup.sh: restic $(restic version | cut -d' ' -f2), SFTP target $USER_NAME@127.0.0.1:$PORT (key $TARGET/client_ed25519)"
