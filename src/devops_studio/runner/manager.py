"""Register, remove and inspect a node's self-hosted runner, idempotently.

Registration and remove tokens come from the REST API and travel to config.sh only in its
ACTIONS_RUNNER_INPUT_TOKEN environment variable (never argv, never a file, never output). config.sh and
the service run as the runner's dedicated non-root user with a minimal environment, so neither the
GitHub token of the person running setup nor the registration token reaches a job.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:  # POSIX only; on Windows the runner is set up from a printed PowerShell plan
    import grp
    import pwd
except ImportError:  # pragma: no cover - Windows
    grp = pwd = None  # type: ignore[assignment]

from rich.console import Console

from devops_studio.github_api import GitHub, GitHubError, env_without_tokens, server_url
from devops_studio.inventory import Inventory, Node, RunnerSpec
from devops_studio.nodes import systemd
from devops_studio.nodes.report import CHANGED, DONE, FAILED, PLANNED, SKIPPED, Report
from devops_studio.redact import redact
from devops_studio.runner import package, service

LOCAL_CONFIG_FILES = (".runner", ".credentials", ".credentials_rsaparams", ".service")


class RunnerError(Exception):
    pass


def host_os() -> str:
    return {"Linux": "linux", "Darwin": "macos", "Windows": "windows"}.get(platform.system(), platform.system())


def host_arch() -> str:
    machine = platform.machine().lower()
    return {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)


def scope_path(inventory: Inventory, spec: RunnerSpec) -> str:
    return f"repos/{inventory.owner}/{spec.repo}" if spec.scope == "repo" else f"orgs/{inventory.owner}"


@dataclass
class RunnerContext:
    inventory: Inventory
    node: Node
    client: GitHub | None  # None in dry runs: they read nothing from GitHub
    console: Console
    systemd_dir: Path = field(default_factory=systemd.unit_dir)
    systemctl: list[str] = field(default_factory=systemd.systemctl)
    launchd_dir: Path = Path("/Library/LaunchDaemons")

    @property
    def spec(self) -> RunnerSpec:
        if self.node.runner is None:
            raise RunnerError(
                f"node {self.node.name!r} has no runner section in {self.inventory.path}; add "
                f"nodes.{self.node.name}.runner (scope, repo, labels)"
            )
        return self.node.runner

    @property
    def scope(self) -> str:
        return scope_path(self.inventory, self.spec)

    @property
    def directory(self) -> Path:
        return Path(self.spec.directory)

    @property
    def service(self) -> service.ServiceSpec:
        spec = self.spec
        production = self.node.has("production")
        return service.ServiceSpec(
            name=service.service_name(self.scope, spec.name),
            description=f"GitHub Actions runner {spec.name} ({self.scope})",
            user=spec.user,
            group=_primary_group(spec.user, self.node.os),
            directory=spec.directory,
            writable=(self.node.apps_dir,) if production and self.node.apps_dir else (),
            allow_sudo=production,
        )

    @property
    def unit_path(self) -> Path:
        return self.systemd_dir / f"{self.service.name}.service"

    def api(self) -> GitHub:
        if self.client is None:
            raise RunnerError("this step needs the GitHub API; it is not available in a dry run")
        return self.client


# ---- local state


def read_local_config(directory: Path) -> dict[str, Any] | None:
    path = directory / "current" / ".runner"
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError):
        return {"broken": True}


def clear_local_config(directory: Path) -> None:
    for name in LOCAL_CONFIG_FILES:
        (directory / "current" / name).unlink(missing_ok=True)


def user_info(name: str) -> pwd.struct_passwd | None:
    if pwd is None:
        return None
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


def ensure_user(ctx: RunnerContext, report: Report, dry_run: bool) -> None:
    user = ctx.spec.user
    if user_info(user) is not None:
        report.add("runner user", DONE, f"{user} exists")
        return
    if ctx.node.os == "linux":
        command = [
            "useradd",
            "--system",
            "--create-home",
            "--home-dir",
            f"/var/lib/{user}",
            "--shell",
            "/usr/sbin/nologin",
            user,
        ]
    else:
        command = ["sysadminctl", "-addUser", user, "-home", f"/Users/{user}", "-shell", "/usr/bin/false"]
    if dry_run:
        report.add("runner user", PLANNED, "create " + shlex.join(command))
        return
    if os.geteuid() != 0:
        raise RunnerError(
            f"the runner user {user!r} does not exist and creating it needs root; re-run with sudo "
            f"or create it: {shlex.join(command)}"
        )
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RunnerError(f"creating the runner user failed: {done.stderr.strip()}")
    report.add("runner user", CHANGED, f"created {user} (no login shell)")


def runner_env(user: pwd.struct_passwd, secrets: dict[str, str] | None = None) -> dict[str, str]:
    """A minimal environment: nothing of the caller's (GH_TOKEN included) leaks into the runner."""
    env = {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": user.pw_dir,
        "USER": user.pw_name,
        "LOGNAME": user.pw_name,
        "LANG": os.environ.get("LANG", "C.UTF-8"),
    }
    env.update(secrets or {})
    return env


def scrub(text: str, secrets: list[str]) -> str:
    return redact(text, secrets)


def run_as(
    user: pwd.struct_passwd,
    argv: list[str],
    cwd: Path,
    secrets: dict[str, str] | None = None,
    timeout: float | None = 300,
) -> tuple[int, str]:
    """Run a runner script as its user; returns (exit code, output with every secret masked)."""
    kwargs: dict[str, Any] = {}
    if os.geteuid() == 0 and user.pw_uid != 0:
        kwargs = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
    elif os.geteuid() != user.pw_uid:
        raise RunnerError(f"runner scripts must run as {user.pw_name}; re-run with sudo")
    done = subprocess.run(
        argv,
        cwd=cwd,
        env=runner_env(user, secrets),
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        **kwargs,
    )
    output = (done.stdout + done.stderr).strip()
    return done.returncode, scrub(output, list((secrets or {}).values()))


# ---- GitHub state


def find_remote(ctx: RunnerContext, name: str) -> dict[str, Any] | None:
    runners = ctx.api().paginate(f"/{ctx.scope}/actions/runners?name={name}", "runners")
    return next((r for r in runners if r.get("name") == name), None)


def get_remote(ctx: RunnerContext, runner_id: int) -> dict[str, Any] | None:
    try:
        return ctx.api().request("GET", f"/{ctx.scope}/actions/runners/{runner_id}")
    except GitHubError as error:
        if error.status == 404:
            return None
        raise


def registration_url(ctx: RunnerContext) -> str:
    if ctx.spec.scope == "repo":
        repo = ctx.api().request("GET", f"/repos/{ctx.inventory.owner}/{ctx.spec.repo}")
        return repo["html_url"]
    return f"{server_url(ctx.api().base_url)}/{ctx.inventory.owner}"


def custom_labels(runner: dict[str, Any]) -> list[str]:
    return [label["name"] for label in runner.get("labels", []) if label.get("type") == "custom"]


# ---- service control


def systemctl(ctx: RunnerContext, *args: str) -> tuple[int, str]:
    done = subprocess.run(
        [*ctx.systemctl, *args], capture_output=True, text=True, check=False, timeout=120, env=env_without_tokens()
    )
    return done.returncode, (done.stdout + done.stderr).strip()


def service_active(ctx: RunnerContext) -> bool | None:
    """True/False for systemd and launchd nodes; None when the state cannot be read here."""
    if ctx.node.os == "macos" and host_os() == "macos":
        done = subprocess.run(
            ["launchctl", "print", f"system/{ctx.service.name}"], capture_output=True, text=True, check=False
        )
        return done.returncode == 0 and "state = running" in done.stdout
    if ctx.node.os != "linux" or not shutil.which(ctx.systemctl[0]):
        return None
    code, _ = systemctl(ctx, "is-active", "--quiet", f"{ctx.service.name}.service")
    return code == 0


def install_service(ctx: RunnerContext, report: Report, dry_run: bool) -> None:
    spec = ctx.service
    if ctx.node.os == "linux":
        text = service.systemd_unit(spec)
        path = ctx.unit_path
        current = path.read_text() if path.exists() else None
        if dry_run:
            report.add(
                "runner service",
                PLANNED if current != text else DONE,
                f"{'write' if current != text else 'keep'} {path}; systemctl enable --now {spec.name}",
            )
            return
        changed = current != text
        if changed:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(text)
            tmp.chmod(0o644)
            tmp.replace(path)
            code, out = systemctl(ctx, "daemon-reload")
            if code != 0:
                raise RunnerError(f"systemctl daemon-reload failed: {out}")
        active = service_active(ctx)
        if changed and active:
            code, out = systemctl(ctx, "restart", f"{spec.name}.service")
        elif not active:
            code, out = systemctl(ctx, "enable", "--now", f"{spec.name}.service")
        else:
            code, out = 0, ""
        if code != 0:
            raise RunnerError(f"starting {spec.name} failed: {out}. Fix: journalctl -u {spec.name} -n 50")
        status = CHANGED if changed or not active else DONE
        report.add("runner service", status, f"{path} ({'updated' if changed else 'unchanged'}), active")
    elif ctx.node.os == "macos":
        plist = ctx.launchd_dir / f"{spec.name}.plist"
        body = service.launchd_plist(spec)
        current = plist.read_bytes() if plist.exists() else None
        if dry_run or host_os() != "macos":
            report.add(
                "runner service",
                PLANNED,
                f"write {plist}; " + "; ".join(shlex.join(c) for c in service.launchd_commands(spec, str(plist))),
            )
            return
        if current == body:
            report.add("runner service", DONE, f"{plist} unchanged")
            return
        plist.write_bytes(body)
        plist.chmod(0o644)
        if current is not None:
            subprocess.run(["launchctl", "bootout", f"system/{spec.name}"], capture_output=True, check=False)
        for command in service.launchd_commands(spec, str(plist)):
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise RunnerError(f"{shlex.join(command)} failed: {done.stderr.strip()}")
        report.add("runner service", CHANGED, f"{plist} loaded")


def remove_service(ctx: RunnerContext, report: Report) -> None:
    if ctx.node.os == "linux":
        path = ctx.unit_path
        if not path.exists():
            report.add("runner service", DONE, "no unit installed")
            return
        systemctl(ctx, "disable", "--now", f"{ctx.service.name}.service")
        path.unlink()
        systemctl(ctx, "daemon-reload")
        report.add("runner service", CHANGED, f"stopped and removed {path}")
    elif ctx.node.os == "macos":
        plist = ctx.launchd_dir / f"{ctx.service.name}.plist"
        if plist.exists():
            subprocess.run(["launchctl", "bootout", f"system/{ctx.service.name}"], capture_output=True, check=False)
            plist.unlink()
            report.add("runner service", CHANGED, f"unloaded and removed {plist}")
        else:
            report.add("runner service", DONE, "no launchd daemon installed")


# ---- the commands


def _check_host(ctx: RunnerContext) -> None:
    if ctx.node.os != host_os() or ctx.node.arch != host_arch():
        raise RunnerError(
            f"node {ctx.node.name!r} is {ctx.node.os}/{ctx.node.arch} but this machine is "
            f"{host_os()}/{host_arch()}; run the command on {ctx.node.name} itself "
            "(or check os/arch in the inventory)"
        )
    if os.geteuid() != 0:
        raise RunnerError(
            "installing a runner service needs root; re-run with sudo (the runner itself runs as "
            f"{ctx.spec.user}, not root)"
        )


def plan_windows(ctx: RunnerContext, report: Report) -> Report:
    spec = ctx.spec
    if spec.role == "ci":
        # Self-hosted CI runs on one-job (JIT) runners only; the Windows plan installs a lasting
        # service, which would keep whatever one CI job leaves behind for the next.
        raise RunnerError(
            f"nodes.{ctx.node.name}.runner.role: ci needs a one-job (JIT) runner, which devops-studio "
            "registers on Linux and macOS only; on Windows use role: general for the build machine's "
            "push-only jobs (a lasting service: trust it like write access) and run CI elsewhere"
        )
    url = f"https://github.com/{ctx.scope.split('/', 1)[1]}"
    plan = service.windows_plan(
        ctx.service,
        ctx.scope,
        url,
        spec.name,
        list(spec.labels),
        spec.work_folder,
        arch=ctx.node.arch,
        runner_group=spec.group if spec.scope == "org" else None,
    )
    ctx.console.print(
        f"Windows service plan for runner {spec.name}: run in an elevated PowerShell on "
        f"{ctx.node.name} with the GitHub CLI logged in (gh auth login):",
        soft_wrap=True,
    )
    for line in plan:
        ctx.console.print("  " + line, markup=False, highlight=False, soft_wrap=True)
    report.add("runner (windows service)", PLANNED, "printed the PowerShell plan")
    return report


def register(
    ctx: RunnerContext,
    *,
    replace: bool = False,
    jit: bool = False,
    wait: float = 60,
    dry_run: bool = False,
    report: Report | None = None,
) -> Report:
    report = report or Report(f"runner register: {ctx.node.name}")
    spec = ctx.spec
    if ctx.node.os == "windows":
        return plan_windows(ctx, report)
    if dry_run:
        return _plan_register(ctx, report)
    _check_host(ctx)
    ensure_user(ctx, report, dry_run=False)
    user = user_info(spec.user)
    assert user is not None
    if spec.role == "ci":
        # Self-hosted CI runs one job per runner (JIT) as a user that cannot reach production.
        groups = {g.gr_name for g in grp.getgrall() if spec.user in g.gr_mem} | {grp.getgrgid(user.pw_gid).gr_name}
        if "docker" in groups:
            raise RunnerError(
                f"the CI runner user {spec.user!r} is in the docker group, which is root on this machine; "
                f"use a user of its own for nodes.{ctx.node.name}.runner.user (gpasswd -d {spec.user} docker)"
            )
        return _run_jit(ctx, report, user, wait)
    if jit:
        return _run_jit(ctx, report, user, wait)

    local = read_local_config(ctx.directory)
    remote = None
    if local and not local.get("broken"):
        remote = get_remote(ctx, int(local.get("agentId", 0)))
        url = registration_url(ctx)
        if remote is None:
            _stop_quietly(ctx)
            clear_local_config(ctx.directory)
            report.add(
                "stale local config",
                CHANGED,
                f"runner id {local.get('agentId')} is gone from GitHub; removed the local config to register again",
            )
            local = None
        elif local.get("agentName") != spec.name or local.get("gitHubUrl", "").rstrip("/") != url.rstrip("/"):
            report.add(
                "runner config",
                FAILED,
                f"this machine is configured as {local.get('agentName')!r} for {local.get('gitHubUrl')}; "
                f"run `devops-studio runner remove --node {ctx.node.name}` first, then register again",
            )
            return report
    elif local and local.get("broken"):
        clear_local_config(ctx.directory)
        report.add("broken local config", CHANGED, "unreadable .runner removed")
        local = None

    if local is None:
        clash = find_remote(ctx, spec.name)
        if clash is not None and not replace:
            report.add(
                "runner config",
                FAILED,
                f"GitHub already has a runner named {spec.name!r} (id {clash['id']}, {clash['status']}) "
                "that this machine did not register. Fix: set a different "
                f"nodes.{ctx.node.name}.runner.name, or pass --replace to take the name over, or delete "
                "the old runner in the repository's Settings > Actions > Runners",
            )
            return report
        asset = package.pick_asset(ctx.api(), ctx.scope, ctx.node.os, ctx.node.arch)
        version_dir, fresh = package.ensure_package(ctx.directory, asset, owner_uid=user.pw_uid, owner_gid=user.pw_gid)
        _chown_root(ctx.directory, user)
        package.point_current(ctx.directory, version_dir)
        report.add(
            "runner package",
            CHANGED if fresh else DONE,
            f"{asset.filename} sha256 verified" + ("" if fresh else " (already unpacked)"),
        )
        if fresh and not _install_dependencies(ctx, report, version_dir):
            return report
        remote = _configure(ctx, report, user, replace=clash is not None)
        if remote is None:
            return report
    else:
        report.add("runner package", DONE, f"configured release {os.readlink(ctx.directory / 'current')}")
        report.add("runner config", DONE, f"{spec.name} (id {remote['id']}) already registered")

    _sync_labels(ctx, report, remote)
    install_service(ctx, report, dry_run=False)
    _wait_online(ctx, report, int(remote["id"]), wait)
    return report


def _plan_register(ctx: RunnerContext, report: Report) -> Report:
    spec = ctx.spec
    local = read_local_config(ctx.directory)
    if user_info(spec.user) is None:
        ensure_user(ctx, report, dry_run=True)
    else:
        report.add("runner user", DONE, f"{spec.user} exists")
    if local:
        report.add(
            "runner config",
            PLANNED,
            f"check that runner {local.get('agentName')!r} still exists on GitHub; sync labels",
        )
    else:
        report.add(
            "runner package",
            PLANNED,
            f"download the {ctx.node.os}/{ctx.node.arch} runner, verify its "
            f"SHA-256, unpack into {ctx.directory}/versions/<version>",
        )
        labels = ",".join(spec.labels) or "(default labels only)"
        report.add(
            "runner config",
            PLANNED,
            f"register {spec.name!r} on {ctx.scope} with labels {labels} "
            "(registration token via ACTIONS_RUNNER_INPUT_TOKEN)",
        )
    install_service(ctx, report, dry_run=True)
    report.add("runner online", PLANNED, "wait until GitHub lists the runner online")
    return report


def _chown_root(directory: Path, user: pwd.struct_passwd) -> None:
    if os.geteuid() == 0:
        os.chown(directory, user.pw_uid, user.pw_gid)
        os.chmod(directory, 0o750)


def _stop_quietly(ctx: RunnerContext) -> None:
    if ctx.node.os == "linux" and ctx.unit_path.exists():
        systemctl(ctx, "stop", f"{ctx.service.name}.service")


def _install_dependencies(ctx: RunnerContext, report: Report, version_dir: Path) -> bool:
    """Linux releases ship bin/installdependencies.sh for the .NET libraries (libicu, ...); run it once."""
    script = version_dir / "bin" / "installdependencies.sh"
    if ctx.node.os != "linux" or not script.exists():
        return True
    done = subprocess.run(
        [str(script)], cwd=version_dir, capture_output=True, text=True, check=False, env=env_without_tokens()
    )
    output = (done.stdout + done.stderr).strip()
    if done.returncode != 0:
        report.add(
            "runner dependencies", FAILED, f"bin/installdependencies.sh exited {done.returncode}: {output[-400:]}"
        )
        return False
    report.add("runner dependencies", CHANGED, "bin/installdependencies.sh installed the libraries the runner needs")
    return True


def _configure(ctx: RunnerContext, report: Report, user: pwd.struct_passwd, replace: bool) -> dict | None:
    spec = ctx.spec
    token = ctx.api().request("POST", f"/{ctx.scope}/actions/runners/registration-token")["token"]
    current = ctx.directory / "current"
    argv = [
        str(current / "config.sh"),
        "--unattended",
        "--url",
        registration_url(ctx),
        "--name",
        spec.name,
        "--work",
        spec.work_folder,
    ]
    if spec.labels:
        argv += ["--labels", ",".join(spec.labels)]
    if spec.scope == "org":
        argv += ["--runnergroup", spec.group]
    if replace:
        argv.append("--replace")
    if spec.ephemeral:
        argv.append("--ephemeral")
    code, output = run_as(user, argv, current, {"ACTIONS_RUNNER_INPUT_TOKEN": token})
    if code != 0:
        report.add("runner config", FAILED, f"config.sh exited {code}: {output[-600:]}")
        return None
    local = read_local_config(ctx.directory) or {}
    remote = get_remote(ctx, int(local.get("agentId", 0))) if local.get("agentId") else find_remote(ctx, spec.name)
    if remote is None:
        report.add("runner config", FAILED, "config.sh finished but GitHub does not list the runner")
        return None
    report.add(
        "runner config",
        CHANGED,
        f"registered {spec.name!r} (id {remote['id']})" + (" replacing the old runner of that name" if replace else ""),
    )
    return remote


def _sync_labels(ctx: RunnerContext, report: Report, remote: dict[str, Any]) -> None:
    wanted = list(ctx.spec.labels)
    have = custom_labels(remote)
    if sorted(x.lower() for x in have) == sorted(x.lower() for x in wanted):
        report.add("runner labels", DONE, ", ".join(label["name"] for label in remote.get("labels", [])))
        return
    answer = ctx.api().request("PUT", f"/{ctx.scope}/actions/runners/{remote['id']}/labels", {"labels": wanted})
    added = sorted(set(wanted) - set(have))
    removed = sorted(set(have) - set(wanted))
    report.add(
        "runner labels",
        CHANGED,
        f"now {', '.join(x['name'] for x in answer['labels'])} (+{','.join(added) or '-'} -{','.join(removed) or '-'})",
    )


def _wait_online(ctx: RunnerContext, report: Report, runner_id: int, wait: float) -> None:
    deadline = time.monotonic() + wait
    status = "missing"
    while True:
        remote = get_remote(ctx, runner_id)
        status = remote["status"] if remote else "missing"
        if status == "online" or time.monotonic() >= deadline:
            break
        time.sleep(1)
    if status == "online":
        report.add("runner online", DONE, f"GitHub lists {ctx.spec.name} online")
    else:
        report.add(
            "runner online",
            FAILED,
            f"GitHub lists {ctx.spec.name} as {status} after {wait:.0f}s. Fix: journalctl -u {ctx.service.name} -n 50",
        )


def runner_group_id(ctx: RunnerContext) -> int:
    """The id of the inventory's runner group: looked up for org runners; repositories have only group 1."""
    if ctx.spec.scope != "org":
        return 1  # a repository's runners all sit in its one default group, id 1
    groups = ctx.api().paginate(f"/orgs/{ctx.inventory.owner}/actions/runner-groups", "runner_groups")
    for group in groups:
        if group.get("name") == ctx.spec.group:
            return int(group["id"])
    names = ", ".join(str(g.get("name")) for g in groups) or "(none)"
    raise RunnerError(
        f"the organization {ctx.inventory.owner} has no runner group {ctx.spec.group!r} "
        f"(nodes.{ctx.node.name}.runner.group); use one of: {names}, or create it in the organization's "
        "Settings > Actions > Runner groups"
    )


def _run_jit(ctx: RunnerContext, report: Report, user: pwd.struct_passwd, wait: float) -> Report:
    spec = ctx.spec
    # A just-in-time runner gets no default labels: name them all.
    os_label = {"linux": "Linux", "macos": "macOS", "windows": "Windows"}[ctx.node.os]
    labels = ["self-hosted", os_label, ctx.node.arch.upper(), *spec.labels]
    body = {
        "name": spec.name,
        "runner_group_id": runner_group_id(ctx),
        "labels": labels,
        "work_folder": spec.work_folder,
    }
    try:
        answer = ctx.api().request("POST", f"/{ctx.scope}/actions/runners/generate-jitconfig", body)
    except GitHubError as error:
        if error.status == 409:
            report.add(
                "jit runner",
                FAILED,
                f"GitHub already has a runner named {spec.name!r}; remove it or set "
                f"another nodes.{ctx.node.name}.runner.name",
            )
            return report
        raise
    asset = package.pick_asset(ctx.api(), ctx.scope, ctx.node.os, ctx.node.arch)
    version_dir, fresh = package.ensure_package(ctx.directory, asset, owner_uid=user.pw_uid, owner_gid=user.pw_gid)
    _chown_root(ctx.directory, user)
    report.add("runner package", CHANGED if fresh else DONE, f"{asset.filename} sha256 verified")
    secret = answer["encoded_jit_config"]
    code, output = run_as(
        user,
        [str(version_dir / "run.sh")],
        version_dir,
        {"ACTIONS_RUNNER_INPUT_JITCONFIG": secret},
        timeout=None,
    )
    report.add(
        "jit runner",
        CHANGED if code == 0 else FAILED,
        f"single-use runner {spec.name} (id {answer['runner']['id']}) ran; exit {code}"
        + (f": {output[-400:]}" if code else ""),
    )
    return report


def remove(ctx: RunnerContext, *, purge: bool = False, report: Report | None = None) -> Report:
    report = report or Report(f"runner remove: {ctx.node.name}")
    spec = ctx.spec
    if ctx.node.os == "windows":
        ctx.console.print(
            "On Windows run in an elevated PowerShell: "
            "$env:ACTIONS_RUNNER_INPUT_TOKEN = Read-Host -MaskInput; .\\config.cmd remove",
            markup=False,
        )
        report.add("runner remove (windows)", PLANNED, "printed the PowerShell plan")
        return report
    _check_host(ctx)
    remove_service(ctx, report)
    local = read_local_config(ctx.directory)
    user = user_info(spec.user)
    if local and not local.get("broken") and user is not None:
        token = ctx.api().request("POST", f"/{ctx.scope}/actions/runners/remove-token")["token"]
        code, output = run_as(
            user,
            [str(ctx.directory / "current" / "config.sh"), "remove"],
            ctx.directory / "current",
            {"ACTIONS_RUNNER_INPUT_TOKEN": token},
        )
        if code == 0:
            report.add("runner config", CHANGED, f"config.sh remove unregistered {local.get('agentName')!r}")
        else:
            clear_local_config(ctx.directory)
            report.add("runner config", CHANGED, f"config.sh remove failed ({output[-200:]}); local config cleared")
    elif local:
        clear_local_config(ctx.directory)
        report.add("runner config", CHANGED, "local config cleared")
    else:
        report.add("runner config", DONE, "not configured on this machine")
    remote = find_remote(ctx, spec.name)
    if remote is not None:
        if remote.get("busy"):
            report.add("runner on GitHub", FAILED, f"{spec.name} is running a job; wait for it, then remove again")
        else:
            ctx.api().request("DELETE", f"/{ctx.scope}/actions/runners/{remote['id']}")
            report.add("runner on GitHub", CHANGED, f"deleted {spec.name} (id {remote['id']})")
    else:
        report.add("runner on GitHub", DONE, f"no runner named {spec.name}")
    if purge and ctx.directory.exists():
        reason = not_a_runner_folder(ctx.directory)
        if reason:
            report.add(
                "runner files",
                FAILED,
                f"kept {ctx.directory}: {reason}; --purge deletes only a folder that `runner register` set up "
                f"(check nodes.{ctx.node.name}.runner.directory)",
            )
        else:
            shutil.rmtree(ctx.directory)
            report.add("runner files", CHANGED, f"removed {ctx.directory}")
    return report


def not_a_runner_folder(directory: Path) -> str | None:
    """Why `directory` does not look like a runner folder we installed; None when it does.

    Our layout is versions/<x.y.z>/ (each an unpacked release with config.sh and run.sh) and a `current`
    symlink into versions/, next to nothing but runner files.
    """
    if directory.is_symlink() or not directory.is_dir():
        return "it is not a plain folder"
    current = directory / "current"
    versions = directory / "versions"
    if not (current.is_symlink() and versions.is_dir()):
        return "it holds no current -> versions/<version> runner release"
    target = current.resolve()
    if target.parent != versions.resolve() or not (target / "config.sh").is_file() or not (target / "run.sh").is_file():
        return "current does not point at an unpacked runner release (config.sh, run.sh) in versions/"
    others = sorted(p.name for p in directory.iterdir() if p.name not in ("current", "versions", "_work"))
    if others:
        return f"it also holds {', '.join(others[:5])}, which the runner did not put there"
    return None


def status(ctx: RunnerContext) -> tuple[Report, dict[str, Any]]:
    report = Report(f"runner status: {ctx.node.name}")
    spec = ctx.spec
    data: dict[str, Any] = {"node": ctx.node.name, "name": spec.name, "scope": ctx.scope}
    local = read_local_config(ctx.directory)
    data["configured"] = bool(local and not local.get("broken"))
    link = ctx.directory / "current"
    data["version"] = os.readlink(link).rsplit("/", 1)[-1] if link.is_symlink() else None
    report.add(
        "local config",
        DONE if data["configured"] else FAILED,
        f"{ctx.directory} release {data['version']}"
        if data["configured"]
        else f"not configured in {ctx.directory}; run `devops-studio runner register`",
    )
    active = service_active(ctx)
    data["service_active"] = active
    if active is None:
        report.add("service", SKIPPED, "service state not readable on this machine")
    else:
        report.add(
            "service",
            DONE if active else FAILED,
            f"{ctx.service.name} {'active' if active else 'not active'}",
        )
    if ctx.client is None:
        report.add("on GitHub", SKIPPED, "no GitHub token")
        return report, data
    remote = find_remote(ctx, spec.name)
    data["remote"] = remote
    if remote is None:
        report.add("on GitHub", FAILED, f"GitHub lists no runner named {spec.name}")
    else:
        labels = ", ".join(label["name"] for label in remote.get("labels", []))
        state = remote["status"] + (", busy" if remote.get("busy") else "")
        report.add("on GitHub", DONE if remote["status"] == "online" else FAILED, f"{state}; labels {labels}")
        wanted = sorted(x.lower() for x in spec.labels)
        if sorted(x.lower() for x in custom_labels(remote)) != wanted:
            report.add(
                "labels",
                FAILED,
                f"GitHub has {custom_labels(remote)}, the inventory wants {list(spec.labels)}; "
                "run `devops-studio runner register`",
            )
    return report, data


def _primary_group(user: str, os_name: str = "linux") -> str:
    info = user_info(user)
    if info is None:  # not created yet: useradd makes a group of the same name, macOS users join staff
        return "staff" if os_name == "macos" else user
    try:
        return grp.getgrgid(info.pw_gid).gr_name
    except KeyError:
        return str(info.pw_gid)
