"""`devops-studio node setup` and `devops-studio doctor`."""

from __future__ import annotations

import glob
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from ollama_api import OllamaServer

from devops_studio.inventory import load_inventory
from devops_studio.nodes import production
from devops_studio.nodes.report import CHANGED, DONE, FAILED, Report
from tests import certificates
from tests.conftest import IN_CI

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "studio.yml"
SYSTEM_PATHS = [
    "/opt/actions-runner",
    "/home/chronos",
    "/etc/sudoers.d/devops-studio-nginx",
    "/Users",
    "/Library",
    "/var/lib/github-runner",
    "/etc/systemd/system/actions.runner.*",
]
needs_root = pytest.mark.skipif(os.geteuid() != 0 and not IN_CI, reason="changes owners of files: needs root")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "devops_studio", *args], capture_output=True, text=True, env=env, timeout=120
    )


def snapshot(home: Path) -> dict[str, object]:
    state: dict[str, object] = {pattern: sorted(glob.glob(pattern)) for pattern in SYSTEM_PATHS}
    state["home"] = sorted(str(p) for p in home.rglob("*"))
    state["runner user"] = "\ngithub-runner:" in "\n" + Path("/etc/passwd").read_text()
    return state


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        (
            "chronos",
            [
                "docker engine",
                "nginx",
                "runner config",
                "runner service",
                "apps folder",
                "sudo rule",
                "certbot renewal",
                "metrics exporter",
                "127.0.0.1:9100",
                "docker metrics",
            ],
        ),
        (
            "astraeus",
            [
                "model devstral-small-2",
                "model gpt-oss:20b",
                "profile llm-dev-jp-fast",
                "profile llm-dev-deep",
            ],
        ),
        ("selene", ["runner config", "model olmo-3", "review policy", "playwright", "listening on :9100"]),
        (
            "windows",
            [
                "runner (windows service)",
                "model gpt-oss:120b",
                "GPU's 12 GB",
                "profile llm-dev-deep",
                "config.cmd",
                "windows_exporter",
            ],
        ),
    ],
)
def test_dry_run_of_each_example_node_prints_a_plan_and_changes_nothing(tmp_path, node, expected):
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("GH_TOKEN", "GITHUB_TOKEN")}
    env.update(
        {
            "HOME": str(home),
            "OLLAMA_HOST": f"127.0.0.1:{closed_port()}",
            "COLUMNS": "250",
            "GITHUB_API_URL": f"http://127.0.0.1:{closed_port()}",
        }
    )
    before = snapshot(home)
    result = cli("node", "setup", node, "--dry-run", "--inventory", str(EXAMPLE), env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "dry run: nothing changed" in result.stdout and "planned" in result.stdout
    for step in expected:
        assert step in result.stdout, step
    assert " failed" not in result.stdout.replace("0 failed", "")
    assert snapshot(home) == before


def test_unknown_node_names_the_known_ones(tmp_path):
    result = cli("node", "setup", "luna", "--dry-run", "--inventory", str(EXAMPLE), env=dict(os.environ))
    assert result.returncode == 1
    assert "no node named 'luna'" in result.stderr and "chronos" in result.stderr


def test_bad_inventory_fails_before_any_step(tmp_path):
    bad = tmp_path / "studio.yml"
    bad.write_text(EXAMPLE.read_text().replace("memory_gb: 32", "memory_gb: many"))
    result = cli("node", "setup", "chronos", "--dry-run", "--inventory", str(bad), env=dict(os.environ))
    assert result.returncode == 1
    assert f"{bad}:" in result.stderr and "nodes.chronos.memory_gb" in result.stderr
    assert "planned" not in result.stdout


@needs_root
def test_apps_folder_and_sudo_rule_are_idempotent(tmp_path, monkeypatch):
    sudoers = tmp_path / "sudoers.d"
    monkeypatch.setenv("DEVOPS_STUDIO_SUDOERS_DIR", str(sudoers))
    text = EXAMPLE.read_text().replace("apps_dir: /home/chronos/apps", f"apps_dir: {tmp_path}/home/chronos/apps")
    text = text.replace("user: github-runner\n      directory: /opt/actions-runner", "user: nobody")
    text = text.replace("deploy_user: github-runner", "deploy_user: nobody")
    (tmp_path / "studio.yml").write_text(text)
    node = load_inventory(tmp_path / "studio.yml").node("chronos")
    for folder in (tmp_path, *tmp_path.parents):  # pytest's folders are 0700; node setup does not touch them
        if folder != Path("/tmp") and folder.is_relative_to("/tmp"):
            folder.chmod(folder.stat().st_mode | 0o001)

    first = Report("first")
    production.ensure_apps_dir(node, first, dry_run=False)
    production.ensure_sudo_rule(node, first, dry_run=False)
    assert [o.status for o in first.outcomes] == [CHANGED, CHANGED], first.outcomes
    apps = tmp_path / "home" / "chronos" / "apps"
    assert apps.stat().st_mode & 0o777 == 0o750 and apps.owner() == "nobody"
    rule = sudoers / production.SUDOERS_FILE
    assert rule.stat().st_mode & 0o777 == 0o440
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    assert f"nobody ALL=(root) NOPASSWD: {nginx} -t, {nginx} -s reload\n" in rule.read_text()
    assert subprocess.run(["visudo", "-cf", str(rule)], capture_output=True).returncode == 0
    assert not list(sudoers.glob(".*"))

    second = Report("second")
    production.ensure_apps_dir(node, second, dry_run=False)
    production.ensure_sudo_rule(node, second, dry_run=False)
    assert [o.status for o in second.outcomes] == [DONE, DONE], second.outcomes


@needs_root
def test_deploy_user_joins_the_docker_group_once(tmp_path, monkeypatch):
    group, user = "studio-docker-test", "studio-deploy-test"
    subprocess.run(["groupadd", "-f", group], check=True)
    subprocess.run(["useradd", "--system", "--no-create-home", user], capture_output=True)
    monkeypatch.setenv("DEVOPS_STUDIO_DOCKER_GROUP", group)
    text = EXAMPLE.read_text().replace("user: github-runner\n      directory: /opt/actions-runner", f"user: {user}")
    (tmp_path / "studio.yml").write_text(text.replace("deploy_user: github-runner", f"deploy_user: {user}"))
    node = load_inventory(tmp_path / "studio.yml").node("chronos")
    restarts = []
    try:
        first, second = Report("first"), Report("second")
        production.ensure_docker_group(node, first, dry_run=False, restart=lambda: restarts.append(1))
        production.ensure_docker_group(node, second, dry_run=False, restart=lambda: restarts.append(1))
        assert [o.status for o in first.outcomes + second.outcomes] == [CHANGED, DONE]
        assert restarts == [1]
        members = subprocess.run(["getent", "group", group], capture_output=True, text=True).stdout
        assert user in members
    finally:
        subprocess.run(["userdel", user], capture_output=True)
        subprocess.run(["groupdel", group], capture_output=True)


def make_cert(live: Path, name: str, days: int) -> None:
    certificates.self_signed(live / name, name, days=days, cert_name="cert.pem")


DOCTOR_INVENTORY = """\
version: 1
github: {{owner: chronos-lab, repos: [todo-auth-app]}}
models:
  olmo-3: {{family: olmo3, memory_gb: 8}}
nodes:
  selene:
    os: macos
    arch: arm64
    memory_gb: 64
    roles: [review]
    ollama: {{models: [olmo-3]}}
  chronos:
    os: linux
    arch: x64
    memory_gb: 32
    roles: [production]
    apps_dir: {apps}
    runner: {{repo: todo-auth-app, labels: [chronos], directory: {runner}}}
"""


def test_doctor_reports_ollama_health_as_json(tmp_path):
    inventory = tmp_path / "studio.yml"
    inventory.write_text(DOCTOR_INVENTORY.format(apps=tmp_path / "apps", runner=tmp_path / "runner"))
    env = {k: v for k, v in os.environ.items() if k not in ("GH_TOKEN", "GITHUB_TOKEN")}
    with OllamaServer() as ollama:
        ollama.add_model("olmo-3", family="olmo3")
        healthy = cli("doctor", "selene", "--json", "--ollama-url", ollama.url, "--inventory", str(inventory), env=env)
        assert healthy.returncode == 0, healthy.stdout + healthy.stderr
        data = json.loads(healthy.stdout)
        assert data["healthy"] is True
        assert {c["name"]: c["status"] for c in data["checks"]}["model olmo-3"] == "ok"
        ollama.models.clear()
        sick = cli("doctor", "selene", "--json", "--ollama-url", ollama.url, "--inventory", str(inventory), env=env)
    assert sick.returncode == 1
    checks = {c["name"]: c for c in json.loads(sick.stdout)["checks"]}
    assert checks["model olmo-3"]["status"] == "fail" and "ollama setup" in checks["model olmo-3"]["detail"]
    down = cli(
        "doctor",
        "selene",
        "--ollama-url",
        f"http://127.0.0.1:{closed_port()}",
        "--inventory",
        str(inventory),
        env=env,
    )
    assert down.returncode == 1 and "cannot reach Ollama" in down.stdout


@pytest.mark.skipif(
    shutil.which("openssl") is None and not IN_CI,
    reason="openssl comes from tests/infra/nodes.sh",
)
def test_doctor_counts_certificate_days_and_fails_on_expiry(tmp_path):
    live = tmp_path / "live"
    make_cert(live, "app.example.org", 90)
    make_cert(live, "old.example.org", 3)
    inventory = tmp_path / "studio.yml"
    inventory.write_text(
        DOCTOR_INVENTORY.format(apps=tmp_path / "apps", runner=tmp_path / "runner").replace(
            "arch: x64", f"arch: {'arm64' if os.uname().machine == 'aarch64' else 'x64'}"
        )
    )
    env = {k: v for k, v in os.environ.items() if k not in ("GH_TOKEN", "GITHUB_TOKEN")}
    env["DEVOPS_STUDIO_LETSENCRYPT_DIR"] = str(live)
    env["PATH"] = f"{tmp_path / 'no-gh'}:{env['PATH']}"
    result = cli("doctor", "chronos", "--json", "--inventory", str(inventory), env=env)
    assert result.returncode == 1
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["certificate app.example.org"]["status"] == "ok"
    assert checks["certificate app.example.org"]["detail"].startswith(("89 days", "90 days"))
    assert checks["certificate old.example.org"]["status"] == "fail"
    assert "renewal is not working" in checks["certificate old.example.org"]["detail"]
    assert {"docker", "nginx -t", "runner online"} <= set(checks)


def test_the_cli_loads_where_pwd_and_grp_do_not_exist(tmp_path):
    # Windows has neither module; the Windows node still runs `devops-studio node setup windows`.
    code = (
        "import sys; sys.modules['pwd'] = None; sys.modules['grp'] = None\n"
        "from devops_studio.cli import main\n"
        f"sys.exit(main(['node', 'setup', 'windows', '--dry-run', '--inventory', {str(EXAMPLE)!r}]))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("GH_TOKEN", "GITHUB_TOKEN")}
    env["COLUMNS"] = "200"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "config.cmd" in done.stdout and "planned" in done.stdout


@needs_root
def test_existing_apps_folder_keeps_its_owner_and_is_reported(tmp_path):
    apps = tmp_path / "srv-apps"
    apps.mkdir(mode=0o700)
    (apps / "someone-elses.txt").write_text("not yours")
    text = EXAMPLE.read_text().replace("apps_dir: /home/chronos/apps", f"apps_dir: {apps}")
    text = text.replace("user: github-runner\n      directory: /opt/actions-runner", "user: nobody")
    (tmp_path / "studio.yml").write_text(text.replace("deploy_user: github-runner", "deploy_user: nobody"))
    node = load_inventory(tmp_path / "studio.yml").node("chronos")
    report = Report("setup")
    production.ensure_apps_dir(node, report, dry_run=False)
    [outcome] = report.outcomes
    assert outcome.status == FAILED and "left as it is" in outcome.detail and "apps_dir" in outcome.detail
    assert apps.owner() == "root" and apps.stat().st_mode & 0o777 == 0o700
    assert (apps / "someone-elses.txt").owner() == "root"
