"""The reviewer as an operating-system service: a hardened systemd unit (Linux), a launchd daemon (macOS).

The service runs `devops-studio review run` as an unprivileged user. The GitHub token never appears
in a unit: systemd hands it over with LoadCredential (readable by the service alone), launchd points
the program at a 0600 token file. Every value that lands in a unit is checked against a strict
full-string pattern first, so no quote, space or newline can add a directive.
"""

from __future__ import annotations

import plistlib
import re
from dataclasses import dataclass

SERVICE = "devops-studio-review"
LAUNCHD_LABEL = "org.devops-studio.review"
_PATH = re.compile(r"/(?:[A-Za-z0-9._+-]+/)*[A-Za-z0-9._+-]+")
_USER = re.compile(r"[a-z_][a-z0-9_-]{0,31}")


class ServiceError(ValueError):
    pass


@dataclass(frozen=True)
class ServiceSpec:
    program: str  # absolute path of the devops-studio executable
    inventory: str
    state_file: str
    token_file: str
    user: str = "devops-review"

    def check(self) -> None:
        for name in ("program", "inventory", "state_file", "token_file"):
            value = getattr(self, name)
            if not _PATH.fullmatch(value) or "/../" in value + "/" or "/./" in value + "/":
                raise ServiceError(f"{name} {value!r}: use an absolute path of letters, digits and . _ + - only")
        if not _USER.fullmatch(self.user) or self.user == "root":
            raise ServiceError(f"user {self.user!r}: use a dedicated unprivileged user such as devops-review")


def systemd_unit(spec: ServiceSpec) -> str:
    spec.check()
    state_dir = spec.state_file.rsplit("/", 1)[0]
    return "\n".join(
        [
            "# Managed by devops-studio (`devops-studio review install`); changes are overwritten.",
            "[Unit]",
            "Description=devops-studio pull request reviewer (polls GitHub, reads diffs as data)",
            "After=network-online.target",
            "Wants=network-online.target",
            "",
            "[Service]",
            "Type=simple",
            f"User={spec.user}",
            f"Group={spec.user}",
            f"ExecStart={spec.program} review run --inventory {spec.inventory} --state-file {spec.state_file}",
            f"LoadCredential=github-token:{spec.token_file}",
            "Environment=DEVOPS_STUDIO_REVIEW_TOKEN_CREDENTIAL=github-token",
            "Restart=on-failure",
            "RestartSec=30s",
            "TimeoutStopSec=2min",
            "UMask=0077",
            "NoNewPrivileges=yes",
            "CapabilityBoundingSet=",
            "AmbientCapabilities=",
            "ProtectSystem=strict",
            "ProtectHome=read-only",
            f"ReadWritePaths={state_dir}",
            "PrivateTmp=yes",
            "PrivateDevices=yes",
            "ProtectKernelTunables=yes",
            "ProtectKernelModules=yes",
            "ProtectKernelLogs=yes",
            "ProtectControlGroups=yes",
            "ProtectClock=yes",
            "ProtectHostname=yes",
            "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
            "RestrictNamespaces=yes",
            "RestrictRealtime=yes",
            "RestrictSUIDSGID=yes",
            "LockPersonality=yes",
            "SystemCallArchitectures=native",
            "SystemCallFilter=@system-service",
            "SystemCallFilter=~@privileged @resources",
            "",
            "[Install]",
            "WantedBy=multi-user.target",
            "",
        ]
    )


def launchd_plist(spec: ServiceSpec) -> bytes:
    spec.check()
    log_dir = spec.state_file.rsplit("/", 1)[0]
    return plistlib.dumps(
        {
            "Label": LAUNCHD_LABEL,
            "ProgramArguments": [
                spec.program, "review", "run", "--inventory", spec.inventory, "--state-file", spec.state_file,
            ],
            "UserName": spec.user,
            "EnvironmentVariables": {"DEVOPS_STUDIO_REVIEW_TOKEN_FILE": spec.token_file},
            "RunAtLoad": True,
            "KeepAlive": {"SuccessfulExit": False},
            "ThrottleInterval": 30,
            "Umask": 0o077,
            "ProcessType": "Background",
            "StandardOutPath": f"{log_dir}/review.log",
            "StandardErrorPath": f"{log_dir}/review.log",
        }
    )  # fmt: skip
