"""Service definitions for each operating system, rendered without installing anything."""

from __future__ import annotations

import plistlib

from devops_studio.runner import service

SPEC = service.ServiceSpec(
    name="actions.runner.lab-app.selene",
    description="runner",
    user="github-runner",
    group="staff",
    directory="/Users/Shared/actions-runner",
)


def test_service_name_follows_svc_sh():
    assert service.service_name("repos/lab/app", "chronos") == "actions.runner.lab-app.chronos"
    assert service.service_name("orgs/lab", "chronos") == "actions.runner.lab.chronos"


def test_launchd_daemon_runs_as_the_runner_user():
    plist = plistlib.loads(service.launchd_plist(SPEC))
    assert plist["UserName"] == "github-runner" and plist["Label"] == SPEC.name
    assert plist["ProgramArguments"] == ["/Users/Shared/actions-runner/current/run.sh"]
    assert not any("TOKEN" in key for key in plist["EnvironmentVariables"])


def test_systemd_unit_hardening_depends_on_the_role():
    plain = service.systemd_unit(SPEC)
    assert "NoNewPrivileges=yes" in plain and "User=github-runner" in plain
    production = service.systemd_unit(
        service.ServiceSpec(**{**SPEC.__dict__, "allow_sudo": True, "writable": ("/home/chronos/apps",)})
    )
    assert "NoNewPrivileges=yes" not in production
    assert "ReadWritePaths=/Users/Shared/actions-runner /home/chronos/apps" in production


def test_windows_plan_verifies_the_download_and_keeps_the_token_off_the_command_line():
    plan = service.windows_plan(SPEC, "repos/lab/app", "https://github.com/lab/app", "windows", ["gpu"], "_work")
    text = "\n".join(plan)
    assert "Get-FileHash" in text and "sha256_checksum" in text and "throw" in text
    assert "$env:ACTIONS_RUNNER_INPUT_TOKEN = gh api -X POST repos/lab/app/actions/runners/registration-token" in text
    config_line = next(line for line in plan if "config.cmd" in line)
    assert "--token" not in config_line and "--runasservice" in config_line
