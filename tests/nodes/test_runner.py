"""`devops-studio runner register|remove|status` against the GitHub test server and a stand-in runner."""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from github_api import FakeGitHub

from devops_studio.runner.manager import host_arch
from tests.conftest import IN_CI
from tests.nodes.runner_kit import (
    build_runner_tarball,
    calls,
    kill_listeners,
    live_listeners,
    world_writable_dir,
)
from tests.nodes.systemctl_standin import systemctl_calls, write_fake_systemctl

PAT = "ghp_personalAccessTokenForTheTests0001"
RUNNER_USER = "studio-runner"
SCOPE = "repos/chronos-lab/todo-auth-app"

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0 and not IN_CI, reason="switches to the runner user: needs root"),
    # One runner user for the whole module: its tests run in one worker, one after another.
    pytest.mark.xdist_group("nodes-runner-user"),
]

INVENTORY = """\
version: 1
github:
  owner: chronos-lab
  repos: [todo-auth-app]
models:
  olmo-3: {{family: olmo3, memory_gb: 8}}
nodes:
  chronos:
    os: linux
    arch: {arch}
    memory_gb: 32
    roles: [production, runner]
    apps_dir: {base}/apps
    runner:
      {scope}
      labels: [{labels}]
      user: {user}
      directory: {base}/runner
      {extra}
"""


@dataclass
class Lab:
    gh: FakeGitHub
    base: Path
    record: Path
    inventory: Path
    env: dict[str, str]

    def write_inventory(
        self,
        labels: str = "chronos",
        scope: str = "repo: todo-auth-app",
        extra: str = "",
        arch: str | None = None,
    ) -> None:
        self.inventory.write_text(
            INVENTORY.format(
                arch=arch or host_arch(), base=self.base, labels=labels, user=RUNNER_USER, scope=scope, extra=extra
            )
        )

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "devops_studio", *args, "--inventory", str(self.inventory)],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def register(self, *extra: str) -> subprocess.CompletedProcess:
        return self.cli("runner", "register", "--node", "chronos", "--wait", "5", *extra)

    def runner(self):
        return self.gh.find_runner(SCOPE, "chronos")

    def publish(self, tamper: bool = False) -> None:
        tarball = build_runner_tarball(
            self.base / "release.tar.gz", api=self.gh.url, record_dir=self.record, architecture=host_arch()
        )
        checksum = hashlib.sha256(b"something else").hexdigest() if tamper else None
        self.gh.add_runner_download("linux", host_arch(), tarball, version="2.330.0", sha256_checksum=checksum)

    def secrets(self) -> list[str]:
        return [PAT, *self.gh.runner_tokens]


@pytest.fixture
def lab():
    base = Path(tempfile.mkdtemp(prefix="studio-runner-test-"))
    os.chmod(base, 0o755)  # the runner user must reach its folder
    record = world_writable_dir(base / "record")
    with FakeGitHub() as gh:
        gh.add_token(PAT)
        gh.add_repo("chronos-lab", "todo-auth-app")
        systemd = base / "systemd"
        systemd.mkdir()
        systemctl = write_fake_systemctl(base / "systemctl", api=gh.url, record_dir=record, systemd_dir=systemd)
        env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_TOKEN", "GH_TOKEN")}
        env.update(
            {
                "GH_TOKEN": PAT,
                "GITHUB_API_URL": gh.url,
                "DEVOPS_STUDIO_SYSTEMD_DIR": str(systemd),
                "DEVOPS_STUDIO_SYSTEMCTL": str(systemctl),
                "COLUMNS": "200",
            }
        )
        lab = Lab(gh, base, record, base / "studio.yml", env)
        lab.write_inventory()
        lab.publish()
        try:
            yield lab
        finally:
            kill_listeners(record)
    shutil.rmtree(base, ignore_errors=True)


def assert_no_secret_anywhere(lab: Lab, *outputs: subprocess.CompletedProcess) -> None:
    secrets = lab.secrets()
    assert len(secrets) > 1
    for result in outputs:
        for secret in secrets:
            assert secret not in result.stdout and secret not in result.stderr
    for path in lab.base.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            for secret in secrets:
                assert secret.encode() not in data, f"a token was written to {path}"
    for call in calls(lab.record):
        for secret in secrets:
            assert all(secret not in arg for arg in call["argv"])


def test_fresh_register_then_rerun_is_a_no_op(lab):
    first = lab.register()
    assert first.returncode == 0, first.stdout + first.stderr
    runner = lab.runner()
    assert runner["status"] == "online"
    assert [x["name"] for x in runner["labels"]] == ["self-hosted", "Linux", host_arch().upper(), "chronos"]
    unit = lab.base / "systemd" / "actions.runner.chronos-lab-todo-auth-app.chronos.service"
    text = unit.read_text()
    assert f"User={RUNNER_USER}" in text and "ProtectSystem=full" in text
    assert f"ReadWritePaths={lab.base}/runner {lab.base}/apps" in text
    assert (lab.base / "runner" / "versions" / "2.330.0" / "config.sh").exists()
    assert os.readlink(lab.base / "runner" / "current") == "versions/2.330.0"

    [config] = [c for c in calls(lab.record) if c["script"] == "config.sh"]
    assert config["uid"] == pwd.getpwnam(RUNNER_USER).pw_uid != 0
    [deps] = [c for c in calls(lab.record) if c["script"] == "installdependencies"]
    assert deps["uid"] == 0 and "GH_TOKEN" not in deps["env_names"]
    issued = {
        hashlib.sha256(t.encode()).hexdigest()
        for t, info in lab.gh.runner_tokens.items()
        if info["kind"] == "registration"
    }
    assert config["secret_sha256"] in issued  # the token arrived ...
    assert "ACTIONS_RUNNER_INPUT_TOKEN" in config["env_names"]  # ... through the environment
    assert "--token" not in config["argv"]
    assert "GH_TOKEN" not in config["env_names"] and "GITHUB_API_URL" not in config["env_names"]
    assert "--url" in config["argv"] and "https://github.com/chronos-lab/todo-auth-app" in config["argv"]

    services = systemctl_calls(lab.record)
    assert ["enable", "--now", unit.name] in [c["argv"] for c in services]
    assert all("GH_TOKEN" not in c["env_names"] for c in services)  # system tools do not get the token either

    second = lab.register()
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Nothing to change" in second.stdout
    assert len([c for c in calls(lab.record) if c["script"] == "config.sh"]) == 1
    assert lab.runner()["id"] == runner["id"]
    assert unit.read_text() == text
    assert_no_secret_anywhere(lab, first, second)


def test_label_change_updates_the_existing_runner(lab):
    assert lab.register().returncode == 0
    runner_id = lab.runner()["id"]
    lab.write_inventory(labels="chronos, build")
    result = lab.register()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "runner labels" in result.stdout and "changed" in result.stdout
    runner = lab.runner()
    assert runner["id"] == runner_id
    assert [x["name"] for x in runner["labels"] if x["type"] == "custom"] == ["chronos", "build"]
    assert len([c for c in calls(lab.record) if c["script"] == "config.sh"]) == 1


def test_stale_local_config_is_cleaned_and_registered_again(lab):
    assert lab.register().returncode == 0
    old_id = lab.runner()["id"]
    with lab.gh.lock:
        del lab.gh.runners[SCOPE][old_id]  # someone deleted it on GitHub
    result = lab.register()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "stale local config" in result.stdout
    runner = lab.runner()
    assert runner is not None and runner["id"] != old_id and runner["status"] == "online"
    local = json.loads((lab.base / "runner" / "current" / ".runner").read_text())
    assert local["agentId"] == runner["id"]


def test_name_clash_is_reported_with_the_fix_then_replace_works(lab):
    other = lab.gh.add_runner(SCOPE, "chronos", status="offline")
    result = lab.register()
    assert result.returncode == 1
    assert "already has a runner named 'chronos'" in result.stdout and "--replace" in result.stdout
    assert not (lab.base / "runner" / "current" / ".runner").exists()
    assert [c for c in calls(lab.record) if c["script"] == "config.sh"] == []
    replaced = lab.register("--replace")
    assert replaced.returncode == 0, replaced.stdout + replaced.stderr
    runner = lab.runner()
    assert runner["id"] != other["id"] and runner["status"] == "online"
    assert "--replace" in [c for c in calls(lab.record) if c["script"] == "config.sh"][0]["argv"]


def test_tampered_tarball_is_refused_and_nothing_installed(lab):
    lab.publish(tamper=True)
    result = lab.register()
    assert result.returncode == 1
    assert "SHA-256 mismatch" in result.stderr
    assert not (lab.base / "runner").exists()
    assert calls(lab.record) == []
    assert list((lab.base / "systemd").iterdir()) == []
    assert lab.runner() is None


def test_remove_unregisters_and_removes_the_service(lab):
    registered = lab.register()
    assert registered.returncode == 0
    result = lab.cli("runner", "remove", "--node", "chronos")
    assert result.returncode == 0, result.stdout + result.stderr
    assert lab.runner() is None
    assert not (lab.base / "runner" / "current" / ".runner").exists()
    assert list((lab.base / "systemd").iterdir()) == []
    [remove] = [c for c in calls(lab.record) if c["argv"][:1] == ["remove"]]
    issued = {
        hashlib.sha256(t.encode()).hexdigest() for t, info in lab.gh.runner_tokens.items() if info["kind"] == "remove"
    }
    assert remove["secret_sha256"] in issued and "ACTIONS_RUNNER_INPUT_TOKEN" in remove["env_names"]
    again = lab.cli("runner", "remove", "--node", "chronos")
    assert again.returncode == 0 and "not configured" in again.stdout
    assert_no_secret_anywhere(lab, registered, result, again)
    purged = lab.cli("runner", "remove", "--node", "chronos", "--purge")
    assert purged.returncode == 0 and not (lab.base / "runner").exists()


def test_status_reports_online_and_json(lab):
    missing = lab.cli("runner", "status", "--node", "chronos")
    assert missing.returncode == 1
    assert lab.register().returncode == 0
    shown = lab.cli("runner", "status", "--node", "chronos", "--json")
    assert shown.returncode == 0, shown.stdout + shown.stderr
    data = json.loads(shown.stdout)
    assert data["configured"] and data["service_active"] and data["remote"]["status"] == "online"
    assert data["version"] == "2.330.0"


def test_bad_token_answers_with_the_fix(lab):
    lab.env["GH_TOKEN"] = "ghp_wrong"
    result = lab.register()
    assert result.returncode == 3  # GitHub refused (docs/nodes.md, exit codes)
    assert "Bad credentials" in result.stderr and "gh auth login" in result.stderr
    assert "ghp_wrong" not in result.stdout + result.stderr
    assert not (lab.base / "runner").exists()


def test_token_from_gh_cli(lab, tmp_path):
    bindir = tmp_path / "bin"  # outside the folders searched for leaked tokens
    bindir.mkdir()
    gh = bindir / "gh"
    gh.write_text(f"#!/bin/sh\n[ \"$1 $2\" = 'auth token' ] && echo {PAT}\n")
    gh.chmod(0o755)
    del lab.env["GH_TOKEN"]
    lab.env["PATH"] = f"{bindir}:{lab.env['PATH']}"
    result = lab.register()
    assert result.returncode == 0, result.stdout + result.stderr
    assert_no_secret_anywhere(lab, result)


def test_jit_runner_gets_its_config_through_the_environment(lab):
    result = lab.register("--jit")
    assert result.returncode == 0, result.stdout + result.stderr
    [run] = [c for c in calls(lab.record) if c["script"] == "Runner.Listener"]
    assert "ACTIONS_RUNNER_INPUT_JITCONFIG" in run["env_names"] and run["argv"] == ["run"]
    runner = lab.runner()
    assert runner["ephemeral"] is True and runner["status"] == "online"
    assert not list((lab.base / "systemd").iterdir())
    # The stand-in decodes the config as Runner.Listener does (a map of file names to base64 contents)
    # and fails on anything else: these files exist only when the format was right.
    release = lab.base / "runner" / "versions" / "2.330.0"
    for name in (".runner", ".credentials", ".credentials_rsaparams"):
        assert (release / name).is_file(), name
    assert json.loads((release / ".runner").read_text())["agentId"] == runner["id"]


def test_jit_org_runner_uses_the_inventory_runner_group(lab):
    lab.gh.add_org("chronos-lab")
    lab.gh.add_runner_group("chronos-lab", "Other")
    ci = lab.gh.add_runner_group("chronos-lab", "lab-ci")
    lab.write_inventory(scope="scope: org", extra="group: lab-ci")
    lab.env["GITHUB_SERVER_URL"] = "https://github.com"
    result = lab.register("--jit")
    assert result.returncode == 0, result.stdout + result.stderr
    [request] = [r for r in lab.gh.requests if r["path"].endswith("/generate-jitconfig")]
    assert request["body"]["runner_group_id"] == ci["id"] != 1
    assert lab.gh.find_runner("orgs/chronos-lab", "chronos")["runner_group_id"] == ci["id"]


def test_jit_org_runner_with_an_unknown_group_names_the_field(lab):
    lab.gh.add_org("chronos-lab")
    lab.write_inventory(scope="scope: org", extra="group: nope")
    lab.env["GITHUB_SERVER_URL"] = "https://github.com"
    result = lab.register("--jit")
    assert result.returncode == 1
    assert "nodes.chronos.runner.group" in result.stderr and "Default" in result.stderr
    assert lab.gh.find_runner("orgs/chronos-lab", "chronos") is None


def test_download_with_a_temp_download_token_is_fetched_with_it(lab):
    tarball = lab.base / "release.tar.gz"
    lab.gh.add_runner_download("linux", host_arch(), tarball, version="2.330.0", temp_download_token="dl-token-1")
    result = lab.register()
    assert result.returncode == 0, result.stdout + result.stderr
    assert lab.runner()["status"] == "online"


def test_download_without_a_checksum_is_refused_with_the_reason(lab):
    tarball = lab.base / "release.tar.gz"
    lab.gh.add_runner_download("linux", host_arch(), tarball, version="2.330.0", omit_checksum=True)
    result = lab.register()
    assert result.returncode == 1
    assert "without a sha256_checksum" in result.stderr
    assert not (lab.base / "runner" / "versions").exists() or not any((lab.base / "runner" / "versions").iterdir())


def test_service_restart_and_stop_leave_no_listener(lab):
    """The installed unit runs under the fake systemctl, which emulates KillMode (see runner_kit)."""
    assert lab.register().returncode == 0
    [first] = live_listeners(lab.record)
    unit = "actions.runner.chronos-lab-todo-auth-app.chronos.service"
    systemctl = lab.env["DEVOPS_STUDIO_SYSTEMCTL"]
    subprocess.run([systemctl, "restart", unit], check=True, timeout=60)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (len(live_listeners(lab.record)) != 1 or first in live_listeners(lab.record)):
        time.sleep(0.1)
    assert first not in live_listeners(lab.record) and len(live_listeners(lab.record)) == 1
    removed = lab.cli("runner", "remove", "--node", "chronos")
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert live_listeners(lab.record) == []


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None and not IN_CI,
    reason="systemd-analyze comes from tests/infra/nodes.sh",
)
def test_rendered_unit_passes_systemd_analyze_verify(lab):
    assert lab.register().returncode == 0
    unit = lab.base / "systemd" / "actions.runner.chronos-lab-todo-auth-app.chronos.service"
    done = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Unknown" not in done.stderr and "Ignoring" not in done.stderr, done.stderr


def test_organization_runner_joins_the_runner_group(lab):
    lab.gh.add_org("chronos-lab")
    lab.write_inventory(scope="scope: org")
    lab.env["GITHUB_SERVER_URL"] = "https://github.com"
    result = lab.register()
    assert result.returncode == 0, result.stdout + result.stderr
    runner = lab.gh.find_runner("orgs/chronos-lab", "chronos")
    assert runner is not None and runner["status"] == "online"
    [config] = [c for c in calls(lab.record) if c["script"] == "config.sh"]
    argv = config["argv"]
    assert argv[argv.index("--url") + 1] == "https://github.com/chronos-lab"
    assert argv[argv.index("--runnergroup") + 1] == "Default"
    assert (lab.base / "systemd" / "actions.runner.chronos-lab.chronos.service").exists()


def test_ephemeral_runner_is_configured_as_such(lab):
    lab.write_inventory(extra="ephemeral: true")
    result = lab.register()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "--ephemeral" in [c for c in calls(lab.record) if c["script"] == "config.sh"][0]["argv"]
    assert lab.runner()["ephemeral"] is True


def test_renamed_runner_asks_for_remove_first(lab):
    assert lab.register().returncode == 0
    lab.write_inventory(extra="name: chronos-2")
    result = lab.register()
    assert result.returncode == 1
    assert "configured as 'chronos'" in result.stdout and "runner remove --node chronos" in result.stdout
    assert lab.gh.find_runner(SCOPE, "chronos-2") is None and lab.runner() is not None


def test_register_refuses_to_run_on_another_kind_of_machine(lab):
    lab.write_inventory(arch="arm64" if host_arch() == "x64" else "x64")
    result = lab.register()
    assert result.returncode == 1
    assert "run the command on chronos itself" in result.stderr
    assert not (lab.base / "runner").exists() and lab.runner() is None


def test_runner_that_never_comes_online_fails_with_the_fix(lab):
    (lab.record / "stay-offline").write_text("")
    result = lab.cli("runner", "register", "--node", "chronos", "--wait", "2")
    assert result.returncode == 1
    assert (
        "offline after 2s" in result.stdout
        and "journalctl -u actions.runner.chronos-lab-todo-auth-app" in result.stdout
    )


def test_register_refuses_another_node_of_the_inventory(lab):
    text = lab.inventory.read_text()
    lab.inventory.write_text(
        text + f"  thisbox:\n    host: {socket.gethostname()}\n    os: linux\n    arch: x64\n"
        "    memory_gb: 8\n    roles: [build]\n"
    )
    result = lab.register()
    assert result.returncode == 2 and "chronos is another machine" in result.stderr
    assert lab.runner() is None and not (lab.base / "runner").exists()


def test_purge_deletes_only_a_folder_that_holds_a_runner(lab):
    """`directory` pointed at a folder of someone else's files: --purge keeps it and says why."""
    victim = lab.base / "runner"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me")
    (victim / "config.sh").write_text("#!/bin/sh\n")  # looks a bit like a runner, is not our layout
    result = lab.cli("runner", "remove", "--node", "chronos", "--purge")
    assert result.returncode == 1
    assert "kept" in result.stdout and "nodes.chronos.runner.directory" in result.stdout
    assert (victim / "precious.txt").read_text() == "keep me"


def test_purge_keeps_a_runner_folder_that_also_holds_other_files(lab):
    assert lab.register().returncode == 0
    (lab.base / "runner" / "notes.txt").write_text("mine")
    result = lab.cli("runner", "remove", "--node", "chronos", "--purge")
    assert result.returncode == 1 and "notes.txt" in result.stdout
    assert (lab.base / "runner" / "notes.txt").exists()


def test_errors_are_one_line_redacted_and_debug_shows_the_trace(lab):
    text = lab.inventory.read_text().replace(
        "  owner: chronos-lab", "  api_url: https://octo:hunter2@ghe.example.com\n  owner: chronos-lab"
    )
    lab.inventory.write_text(text)
    plain = lab.cli("runner", "status", "--node", "chronos")
    assert plain.returncode == 2 and plain.stderr.startswith("error: ")
    assert "github.api_url: must not hold credentials" in plain.stderr and "Traceback" not in plain.stderr
    debug = subprocess.run(
        [
            sys.executable,
            "-m",
            "devops_studio",
            "--debug",
            "runner",
            "status",
            "--node",
            "chronos",
            "--inventory",
            str(lab.inventory),
        ],
        env=lab.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert debug.returncode == 2 and "Traceback" in debug.stderr
    for result in (plain, debug):
        assert "hunter2" not in result.stdout + result.stderr
