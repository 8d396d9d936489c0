"""Steps of the production role (Chronos): Docker, Compose, nginx, the apps folder, the sudo rule, certbot.

Each step looks first and changes only what differs. Checks that would need a package manager and a
vendor repository (Docker Engine, nginx, certbot) report the exact fix instead of installing behind
the user's back.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from devops_studio.inventory import BackupTarget, Node
from devops_studio.nodes import systemd
from devops_studio.nodes.process import run
from devops_studio.nodes.report import CHANGED, DONE, FAILED, PLANNED, Report

SUDOERS_FILE = "devops-studio-nginx"  # no dot: sudo ignores files in sudoers.d whose name has one
CERTBOT_TIMERS = ("certbot-renew.timer", "certbot.timer", "snap.certbot.renew.timer")
DOCKER_FIX = (
    "install Docker Engine with the Compose plugin: dnf config-manager --add-repo "
    "https://download.docker.com/linux/rhel/docker-ce.repo && dnf install -y docker-ce docker-ce-cli "
    "containerd.io docker-compose-plugin && systemctl enable --now docker"
)


def sudoers_dir() -> Path:
    return Path(os.environ.get("DEVOPS_STUDIO_SUDOERS_DIR", "/etc/sudoers.d"))


def tool(name: str, fallback: str) -> str:
    return shutil.which(name) or fallback


def sudoers_rule(user: str) -> str:
    """Exactly the two commands deploy/deploy.py runs with `sudo -n`: test the configuration, reload."""
    nginx = tool("nginx", "/usr/sbin/nginx")
    return (
        "# Managed by devops-studio (`devops-studio node setup`). Deploy jobs may test the nginx\n"
        "# configuration and reload nginx as root - nothing else.\n"
        f"{user} ALL=(root) NOPASSWD: {nginx} -t, {nginx} -s reload\n"
    )


def check_docker(report: Report) -> None:
    if not shutil.which("docker"):
        report.add("docker engine", FAILED, f"docker is not installed. Fix: {DOCKER_FIX}")
        return
    code, out = run(["docker", "info", "--format", "{{.ServerVersion}}"])
    if code != 0:
        report.add(
            "docker engine",
            FAILED,
            f"the Docker daemon does not answer ({out[-200:]}). Fix: systemctl enable --now docker",
        )
    else:
        report.add("docker engine", DONE, f"Docker Engine {out} running")


def check_compose(report: Report) -> None:
    code, out = run(["docker", "compose", "version", "--short"])
    if code != 0:
        report.add(
            "docker compose",
            FAILED,
            "Compose v2 (`docker compose`) is missing. Fix: dnf install -y docker-compose-plugin",
        )
    else:
        report.add("docker compose", DONE, f"Compose {out}")


def check_nginx(report: Report) -> None:
    if not shutil.which("nginx"):
        report.add(
            "nginx",
            FAILED,
            "nginx is not installed. Fix: dnf install -y nginx && systemctl enable --now nginx",
        )
        return
    code, out = run(["nginx", "-t"])
    if code != 0:
        report.add("nginx", FAILED, f"`nginx -t` fails: {out[-300:]}")
    else:
        report.add("nginx", DONE, "installed, `nginx -t` passes")


def ensure_apps_dir(node: Node, report: Report, dry_run: bool) -> None:
    path = Path(node.apps_dir or "/home/chronos/apps")
    user = node.deploy_user or "chronos"
    info = _user(user)
    if dry_run:
        report.add("apps folder", PLANNED if not path.is_dir() else DONE, f"{path} owned by {user}, mode 0750")
        return
    if info is None:
        report.add("apps folder", FAILED, f"the deploy user {user} does not exist yet (the runner step creates it)")
        return
    if path.is_symlink() or path.exists() and not path.is_dir():
        report.add("apps folder", FAILED, f"{path} exists and is not a plain folder; set another apps_dir")
        return
    if path.is_dir():
        # A folder we did not create keeps its owner and mode: re-owning it could hand the deploy user
        # someone else's files. Say what would be needed instead.
        stat = path.stat()
        if (stat.st_uid, stat.st_gid) != (info.pw_uid, info.pw_gid):
            report.add(
                "apps folder",
                FAILED,
                f"{path} exists and belongs to uid {stat.st_uid}, not the deploy user {user}; it is left as it "
                f"is. Fix: pick an apps_dir that does not exist yet, or hand it over yourself "
                f"(chown {user}: {path}) if it holds nothing of anyone else",
            )
        else:
            report.add("apps folder", DONE, f"{path} exists and belongs to {user} (left as it is)")
        return
    changed = []
    path.mkdir(parents=True, mode=0o750)
    os.chown(path, info.pw_uid, info.pw_gid)
    path.chmod(0o750)
    changed.append(f"created, owner {user}, mode 0750")
    # The deploy user must be able to walk down to the folder (e.g. through /home/chronos).
    blocked = []
    parent = path.parent
    while parent != parent.parent:
        if not parent.stat().st_mode & 0o001:
            blocked.append(str(parent))
        parent = parent.parent
    if blocked:
        report.add(
            "apps folder",
            FAILED,
            f"{path} created, but {user} cannot reach it through {', '.join(blocked)} (left as they are). "
            f"Fix: chmod o+x {' '.join(blocked)}, or pick an apps_dir under a reachable folder",
        )
        return
    report.add("apps folder", CHANGED if changed else DONE, f"{path}: " + (", ".join(changed) or "as wanted"))


def ensure_sudo_rule(node: Node, report: Report, dry_run: bool) -> None:
    user = node.deploy_user or "chronos"
    directory = sudoers_dir()
    path = directory / SUDOERS_FILE
    wanted = sudoers_rule(user)
    current = path.read_text() if path.exists() else None
    if current == wanted:
        report.add("sudo rule", DONE, f"{path}: {user} may run `nginx -t` and `nginx -s reload`")
        return
    if dry_run:
        report.add("sudo rule", PLANNED, f"write {path}: {user} may run `nginx -t` and `nginx -s reload`")
        return
    visudo = shutil.which("visudo")
    if not visudo:
        report.add("sudo rule", FAILED, "visudo is missing, so the rule cannot be checked. Fix: dnf install -y sudo")
        return
    directory.mkdir(parents=True, exist_ok=True)
    staging = directory / f".{SUDOERS_FILE}.new"  # the dot keeps sudo from reading it while it is checked
    staging.write_text(wanted)
    staging.chmod(0o440)
    code, out = run([visudo, "-cf", str(staging)])
    if code != 0:
        staging.unlink()
        report.add("sudo rule", FAILED, f"visudo rejected the rule: {out}")
        return
    staging.replace(path)
    report.add("sudo rule", CHANGED, f"{path}: {user} may run `nginx -t` and `nginx -s reload`")


def docker_group() -> str:
    return os.environ.get("DEVOPS_STUDIO_DOCKER_GROUP", "docker")


def ensure_docker_group(node: Node, report: Report, dry_run: bool, restart=None) -> None:
    """Deploy jobs call `docker compose`: the deploy user joins the docker group (root-equivalent)."""
    user = node.deploy_user or "chronos"
    name = docker_group()
    try:
        import grp  # POSIX only; production nodes are Linux
    except ImportError:  # pragma: no cover - Windows
        return
    try:
        group = grp.getgrnam(name)
    except KeyError:
        if dry_run:
            report.add("docker access", PLANNED, f"usermod -aG {name} {user} (once Docker Engine is installed)")
        else:
            report.add("docker access", FAILED, f"there is no {name} group yet; install Docker Engine first")
        return
    info = _user(user)
    if info is not None and (user in group.gr_mem or info.pw_gid == group.gr_gid):
        report.add("docker access", DONE, f"{user} is in the {name} group")
        return
    if dry_run or info is None:
        report.add("docker access", PLANNED, f"usermod -aG {name} {user}")
        return
    code, out = run(["usermod", "-aG", name, user])
    if code != 0:
        report.add("docker access", FAILED, f"usermod failed: {out}")
        return
    if restart is not None:
        restart()  # group membership counts from the next start of the runner
    report.add("docker access", CHANGED, f"added {user} to the {name} group; the runner restarted")


def ensure_certbot_timer(report: Report, dry_run: bool) -> None:
    if dry_run:
        report.add("certbot renewal", PLANNED, f"enable the first of {', '.join(CERTBOT_TIMERS)} found")
        return
    if not shutil.which("certbot"):
        report.add(
            "certbot renewal",
            FAILED,
            "certbot is not installed. Fix: dnf install -y certbot python3-certbot-nginx",
        )
        return
    for timer in CERTBOT_TIMERS:
        code, out = run(["systemctl", "list-unit-files", "--no-legend", timer])
        if code != 0 or timer not in out:
            continue
        enabled = run(["systemctl", "is-enabled", "--quiet", timer])[0] == 0
        active = run(["systemctl", "is-active", "--quiet", timer])[0] == 0
        if enabled and active:
            report.add("certbot renewal", DONE, f"{timer} enabled and active")
            return
        code, out = run(["systemctl", "enable", "--now", timer])
        status = CHANGED if code == 0 else FAILED
        report.add("certbot renewal", status, f"{timer} enabled" if code == 0 else out[-200:])
        return
    report.add(
        "certbot renewal",
        FAILED,
        "no certbot renewal timer found; install certbot from the distribution "
        "(it ships certbot-renew.timer) or add a timer running `certbot renew`",
    )


def _user(name: str):
    try:
        import pwd  # POSIX only; production nodes are Linux
    except ImportError:  # pragma: no cover - Windows
        return None
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


BACKUP_UNITS = {
    # Persistent=true: a run missed while the box was off happens at the next boot.
    "devops-studio-backup.timer": "[Unit]\nDescription=Back up every app's data (deploy/backup.py)\n\n"
    "[Timer]\nOnCalendar=*-*-* 03:15:00\nRandomizedDelaySec=15m\nPersistent=true\n\n"
    "[Install]\nWantedBy=timers.target\n",
    "devops-studio-drill.timer": "[Unit]\nDescription=Weekly restore drill of every app's latest backup\n\n"
    "[Timer]\nOnCalendar=Sun *-*-* 05:30:00\nPersistent=true\n\n[Install]\nWantedBy=timers.target\n",
}


def backup_service(apps_dir: str, user: str, command: str, repository: str | None = None) -> str:
    """One oneshot service for every app with deploy/backup.py; any failing app fails the unit.

    `repository` (the inventory's `backup:` target, `{app}` standing for each app's name) overrides
    each app's backup_repository. apps_dir, user and repository are checked by the inventory
    against strict full-string patterns, so they can stand unquoted in the unit file."""
    loop = (
        f'rc=0; for app in {apps_dir}/*/deploy/backup.py; do [ -e "$$app" ] || continue; '
        f'/usr/bin/python3 "$$app" {command} || rc=1; done; exit $$rc'
    )
    return (
        f"[Unit]\nDescription=devops-studio: backup.py {command} for every app\n"
        "Wants=network-online.target\nAfter=network-online.target docker.service\n\n"
        f"[Service]\nType=oneshot\nUser={user}\n"
        + (f"Environment=DEPLOY_BACKUP_REPOSITORY={repository}\n" if repository else "")
        + f"ExecStart=/bin/sh -c '{loop}'\n"
    )


def ensure_backup_timers(node: Node, report: Report, dry_run: bool, target: BackupTarget | None = None) -> None:
    """systemd timers for the backups and the weekly restore drill of the apps on this node."""
    directory = systemd.unit_dir()
    apps_dir, user = node.apps_dir or "/home/chronos/apps", node.deploy_user or "chronos"
    repository = target.repository() if target else None
    units = dict(BACKUP_UNITS)
    units["devops-studio-backup.service"] = backup_service(apps_dir, user, "backup --kind scheduled", repository)
    units["devops-studio-drill.service"] = backup_service(apps_dir, user, "drill", repository)
    stale = systemd.stale_units(directory, units)
    if not stale:
        report.add("backup timers", DONE, "devops-studio-backup.timer (daily), devops-studio-drill.timer (weekly)")
        return
    if dry_run:
        report.add("backup timers", PLANNED, f"write {', '.join(stale)} in {directory}")
        return
    written, problem = systemd.install_units(directory, units)
    if problem:
        report.add("backup timers", FAILED, problem)
        return
    if directory == systemd.SYSTEM_UNIT_DIR:
        code, out = run(["systemctl", "daemon-reload"])
        code2, out2 = run(["systemctl", "enable", "--now", *BACKUP_UNITS])
        if code or code2:
            report.add("backup timers", FAILED, (out + out2)[-300:])
            return
    report.add("backup timers", CHANGED, f"wrote {', '.join(written)}; timers enabled")
