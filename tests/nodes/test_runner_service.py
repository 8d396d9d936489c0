"""Service definitions for each operating system, rendered without installing anything."""

from __future__ import annotations

import contextlib
import json
import os
import plistlib
import pwd
import signal
import subprocess
import tarfile
import time
from pathlib import Path

from devops_studio.runner import service
from tests.nodes.runner_kit import (
    build_runner_tarball,
    kill_listeners,
    live_listeners,
    world_writable_dir,
)
from tests.nodes.systemctl_standin import write_fake_systemctl

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
    assert plist["ProgramArguments"] == ["/Users/Shared/actions-runner/current/runsvc.sh"]
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
    assert "$env:ACTIONS_RUNNER_INPUT_TOKEN = gh api -X POST 'repos/lab/app/actions/runners/registration-token'" in text
    config_line = next(line for line in plan if "config.cmd" in line)
    assert "--token" not in config_line and "--runasservice" in config_line
    assert "--runnergroup" not in config_line


def test_windows_plan_takes_the_node_arch_and_runner_group_and_quotes_values():
    plan = service.windows_plan(
        SPEC, "orgs/lab", "https://github.com/lab", "win'; calc", ["gpu"], "_work", arch="arm64", runner_group="lab ci"
    )
    text = "\n".join(plan)
    assert "$_.architecture -eq 'arm64'" in text and "'x64'" not in text
    config_line = next(line for line in plan if "config.cmd" in line)
    assert "--runnergroup 'lab ci'" in config_line and "--name 'win''; calc'" in config_line


# ---- the service stops what it starts, with the signal-faithful stand-in runner


def _service_lab(tmp_path: Path) -> tuple[Path, Path, Path]:
    """An unpacked stand-in release under runner/current, a record folder and a systemd folder."""
    record = world_writable_dir(tmp_path / "record")
    runner = tmp_path / "runner"
    release = runner / "versions" / "2.330.0"
    release.mkdir(parents=True)
    tarball = build_runner_tarball(tmp_path / "release.tar.gz", api="http://127.0.0.1:9", record_dir=record)
    with tarfile.open(tarball) as tar:
        tar.extractall(release, filter="data")
    (release / ".runner").write_text(json.dumps({"agentId": 7, "agentName": "chronos"}))
    (runner / "current").symlink_to(release)
    systemd = tmp_path / "systemd"
    systemd.mkdir()
    return runner, record, systemd


def _wait_for(predicate, timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def _systemd_round(tmp_path: Path, unit_text: str) -> tuple[int, list[int], list[int]]:
    """Start, restart and stop the unit; returns (first listener, listeners after restart, after stop)."""
    runner, record, systemd = _service_lab(tmp_path)
    unit = "studio-test.service"
    (systemd / unit).write_text(unit_text)
    systemctl = write_fake_systemctl(
        tmp_path / "systemctl", api="http://127.0.0.1:9", record_dir=record, systemd_dir=systemd
    )
    try:
        subprocess.run([systemctl, "start", unit], check=True, timeout=60)
        assert _wait_for(lambda: len(live_listeners(record)) == 1), "the listener never started"
        [first] = live_listeners(record)
        subprocess.run([systemctl, "restart", unit], check=True, timeout=60)
        _wait_for(lambda: first not in live_listeners(record) and len(live_listeners(record)) == 1, 10)
        after_restart = live_listeners(record)
        subprocess.run([systemctl, "stop", unit], check=True, timeout=60)
        time.sleep(0.5)
        return first, after_restart, live_listeners(record)
    finally:
        kill_listeners(record)


def _unit(runner: Path) -> str:
    user = pwd.getpwuid(os.getuid()).pw_name
    spec = service.ServiceSpec(name="studio-test", description="t", user=user, group=user, directory=str(runner))
    return service.systemd_unit(spec)


def test_systemd_unit_stop_and_restart_leave_no_listener(tmp_path):
    """systemd is not PID 1 here: the fake systemctl runs ExecStart with KillMode emulated over the
    main process's session (see runner_kit.FAKE_SYSTEMCTL); the runner scripts are the signal-faithful
    stand-ins (run.sh without forwarding, runsvc.sh forwarding, a listener that stays until signalled)."""
    first, after_restart, after_stop = _systemd_round(tmp_path, _unit(tmp_path / "runner"))
    assert len(after_restart) == 1 and first not in after_restart, f"restart left {after_restart}"
    assert after_stop == []


def test_the_old_unit_left_the_listener_running(tmp_path):
    """The stand-in can tell: run.sh under KillMode=process (the unit before this fix) leaks the listener."""
    old = _unit(tmp_path / "runner").replace("runsvc.sh", "run.sh").replace("KillMode=mixed", "KillMode=process")
    first, after_restart, after_stop = _systemd_round(tmp_path, old)
    # the old listener holds the session, so the restarted one meets Session Conflict and exits
    assert after_restart == [first] and after_stop == [first]


def test_run_sh_forwards_signals_only_when_asked(tmp_path):
    runner, record, _ = _service_lab(tmp_path)
    for manual, survives in (("", True), ("1", False)):
        env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)} | (
            {"RUNNER_MANUALLY_TRAP_SIG": manual} if manual else {}
        )
        main = subprocess.Popen([str(runner / "current" / "run.sh")], env=env, start_new_session=True)
        try:
            assert _wait_for(lambda: len(live_listeners(record)) == 1)
            main.send_signal(signal.SIGTERM)
            main.wait(timeout=20)
            time.sleep(0.5)
            assert bool(live_listeners(record)) is survives, f"RUNNER_MANUALLY_TRAP_SIG={manual!r}"
        finally:
            kill_listeners(record)
            _wait_for(lambda: not live_listeners(record), 5)


def test_launchd_daemon_stop_leaves_no_listener(tmp_path):
    """launchd cannot run here: emulated as `launchctl bootout` does it (SIGTERM to the job's program,
    SIGKILL after ExitTimeOut, then the job's process group, which AbandonProcessGroup=false keeps)."""
    runner, record, _ = _service_lab(tmp_path)
    user = pwd.getpwuid(os.getuid()).pw_name
    spec = service.ServiceSpec(name="studio-test", description="t", user=user, group=user, directory=str(runner))
    plist = plistlib.loads(service.launchd_plist(spec))
    assert plist["AbandonProcessGroup"] is False and plist["ExitTimeOut"] >= 30
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **plist["EnvironmentVariables"]}
    try:
        for _ in range(2):  # load, bootout, load again: the second start must not meet the first listener
            main = subprocess.Popen(
                plist["ProgramArguments"], cwd=plist["WorkingDirectory"], env=env, start_new_session=True
            )
            assert _wait_for(lambda: len(live_listeners(record)) == 1)
            main.send_signal(signal.SIGTERM)
            try:
                main.wait(timeout=plist["ExitTimeOut"])
            except subprocess.TimeoutExpired:
                main.kill()
            # the graceful path ran: the listener left by itself before the group kill below
            assert _wait_for(lambda: not live_listeners(record), 5)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(main.pid, signal.SIGKILL)
    finally:
        kill_listeners(record)


def test_a_ci_runner_on_windows_is_refused_because_it_would_outlive_its_job(tmp_path, capsys, monkeypatch):
    """Self-hosted CI is one job per runner; the Windows plan would install a lasting service."""
    monkeypatch.setenv("GH_TOKEN", "ghp_unused_the_refusal_comes_first")
    monkeypatch.setenv("GITHUB_API_URL", "http://127.0.0.1:9")
    from devops_studio.cli import main
    from tests.conftest import REPO_ROOT

    inventory = tmp_path / "studio.yml"
    example = (REPO_ROOT / "examples" / "studio.yml").read_text()
    inventory.write_text(example.replace("role: general           # heavy", "role: ci           # heavy", 1))
    code = main(["runner", "register", "--node", "windows", "--inventory", str(inventory)])
    err = capsys.readouterr()
    assert code != 0
    assert "nodes.windows.runner.role" in err.out + err.err and "JIT" in err.out + err.err
    assert "config.cmd" not in err.out  # no plan printed
