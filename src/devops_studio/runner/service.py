"""The runner as an operating-system service: a hardened systemd unit, a launchd daemon, a Windows plan.

The service runs `runsvc.sh` of the `current` release as the runner's dedicated user, as the unit that
GitHub's own `svc.sh install` writes does. `run.sh` is the wrong program for a service: it forwards
signals to the listener only when RUNNER_MANUALLY_TRAP_SIG is set, so a stop kills the shell and leaves
Runner.Listener running, and the restarted unit then fails its session. `runsvc.sh` traps SIGTERM and
sends SIGINT to RunnerService.js, which asks the listener to stop (SIGKILL after 30 s). On top of that
the unit uses KillMode=mixed: the SIGTERM goes to runsvc.sh alone (so the graceful path runs once),
and whatever is left in the unit's cgroup when runsvc.sh exits or TimeoutStopSec passes (a hung
listener, a job's stray child) gets SIGKILL; GitHub's template keeps KillMode=process, which would let
such leftovers outlive the service. The launchd daemon runs the same runsvc.sh; launchd signals the
rest of the job's process group when the job exits (AbandonProcessGroup stays false).
No token is ever part of a unit: the runner reads its own credentials, written by config.sh, from its
folder.
"""

from __future__ import annotations

import plistlib
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath


@dataclass(frozen=True)
class ServiceSpec:
    name: str  # the service name, e.g. actions.runner.octo-app.chronos
    description: str
    user: str
    group: str
    directory: str  # the runner directory (holds current/)
    writable: tuple[str, ...] = ()  # extra folders jobs must write (e.g. the apps folder)
    allow_sudo: bool = False  # production jobs use a narrow sudo rule to test and reload nginx


def service_name(scope_path: str, runner_name: str) -> str:
    """Same naming as the runner's own svc.sh: actions.runner.<owner>-<repo>.<name>."""
    parts = scope_path.split("/")[1:]
    return f"actions.runner.{'-'.join(parts)}.{runner_name}"


def systemd_unit(spec: ServiceSpec) -> str:
    current = PurePosixPath(spec.directory) / "current"
    writable = " ".join([spec.directory, *spec.writable])
    lines = [
        "# Managed by devops-studio (`devops-studio runner register`); changes are overwritten.",
        "[Unit]",
        f"Description={spec.description}",
        "Documentation=https://docs.github.com/actions/hosting-your-own-runners",
        "After=network-online.target",
        "Wants=network-online.target",
        "",
        "[Service]",
        "Type=simple",
        f"User={spec.user}",
        f"Group={spec.group}",
        f"WorkingDirectory={current}",
        f"ExecStart={current}/runsvc.sh",
        # runsvc.sh turns SIGTERM into SIGINT for the listener (see the module docstring); mixed then
        # SIGKILLs whatever of the cgroup is left, so no listener outlives a stop or a restart.
        "KillMode=mixed",
        "KillSignal=SIGTERM",
        "TimeoutStopSec=5min",
        "Restart=on-failure",
        "RestartSec=15s",
        "UMask=0027",
        "PrivateTmp=yes",
        "ProtectSystem=full",
        "ProtectHome=read-only",
        f"ReadWritePaths={writable}",
        "ProtectKernelTunables=yes",
        "ProtectKernelModules=yes",
        "ProtectKernelLogs=yes",
        "ProtectControlGroups=yes",
        "ProtectClock=yes",
        "ProtectHostname=yes",
        "RestrictRealtime=yes",
        "RestrictSUIDSGID=yes",
        "LockPersonality=yes",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK",
        "SystemCallArchitectures=native",
    ]
    if spec.allow_sudo:
        lines.append(
            "# NoNewPrivileges stays off: deploy jobs run `sudo -n nginx -t` and `nginx -s reload` through a "
            "narrow sudoers rule."
        )
    else:
        lines.append("NoNewPrivileges=yes")
    lines += ["", "[Install]", "WantedBy=multi-user.target", ""]
    return "\n".join(lines)


def launchd_plist(spec: ServiceSpec) -> bytes:
    current = PurePosixPath(spec.directory) / "current"
    return plistlib.dumps(
        {
            "Label": spec.name,
            "ProgramArguments": [str(current / "runsvc.sh")],
            "UserName": spec.user,
            "GroupName": spec.group,
            "WorkingDirectory": str(current),
            "RunAtLoad": True,
            "KeepAlive": {"SuccessfulExit": False},
            "ProcessType": "Interactive",
            "Umask": 0o027,
            "StandardOutPath": f"/Library/Logs/{spec.name}/stdout.log",
            "StandardErrorPath": f"/Library/Logs/{spec.name}/stderr.log",
            "EnvironmentVariables": {"ACTIONS_RUNNER_SVC": "1"},
            # RunnerService.js gives the listener 30 s before SIGKILL; launchd's default is 20 s.
            "ExitTimeOut": 60,
            "AbandonProcessGroup": False,
        }
    )


def launchd_commands(spec: ServiceSpec, plist_path: str) -> list[list[str]]:
    return [
        ["mkdir", "-p", f"/Library/Logs/{spec.name}"],
        ["chown", f"{spec.user}:{spec.group}", f"/Library/Logs/{spec.name}"],
        ["launchctl", "bootstrap", "system", plist_path],
        ["launchctl", "enable", f"system/{spec.name}"],
    ]


def powershell_quote(value: str) -> str:
    """A PowerShell single-quoted literal: nothing inside is expanded; a quote is written twice."""
    return "'" + value.replace("'", "''") + "'"


def windows_plan(
    spec: ServiceSpec,
    scope_path: str,
    url: str,
    runner_name: str,
    labels: list[str],
    work: str,
    *,
    arch: str = "x64",
    runner_group: str | None = None,
) -> list[str]:
    """PowerShell lines that install the runner as a Windows service.

    The download is the node's architecture, checked against GitHub's published SHA-256, and the
    registration token goes from `gh api` straight into ACTIONS_RUNNER_INPUT_TOKEN: it is never shown,
    typed or put on a command line. Every inventory value is a single-quoted PowerShell literal.
    """
    q = powershell_quote
    directory = q(str(PureWindowsPath(spec.directory)))
    config = (
        f".\\config.cmd --unattended --url {q(url)} --name {q(runner_name)} --labels {q(','.join(labels))} "
        f"--work {q(work)} --runasservice --windowslogonaccount 'NT AUTHORITY\\NETWORK SERVICE'"
    )
    if runner_group is not None:
        config += f" --runnergroup {q(runner_group)}"
    return [
        f"New-Item -ItemType Directory -Force -Path {directory} | Out-Null; Set-Location {directory}",
        f"$asset = gh api {q(scope_path + '/actions/runners/downloads')} | ConvertFrom-Json | "
        f"Where-Object {{ $_.os -eq 'win' -and $_.architecture -eq {q(arch)} }}",
        "Invoke-WebRequest -Uri $asset.download_url -OutFile $asset.filename",
        "if ((Get-FileHash $asset.filename -Algorithm SHA256).Hash -ne $asset.sha256_checksum.ToUpper()) "
        "{ Remove-Item $asset.filename; throw 'SHA-256 mismatch: refusing the runner download' }",
        "Expand-Archive -Path $asset.filename -DestinationPath . -Force; Remove-Item $asset.filename",
        f"$env:ACTIONS_RUNNER_INPUT_TOKEN = gh api -X POST {q(scope_path + '/actions/runners/registration-token')}"
        " --jq .token",
        config,
        "Remove-Item Env:ACTIONS_RUNNER_INPUT_TOKEN",
        f"Get-Service {q('actions.runner.*' + runner_name + '*')}",
    ]
