"""`node setup`'s metrics exporter and Docker metrics steps, with a real node_exporter.

GitHub's release downloads cannot be reached here: a loopback server stands in for them, serving an
archive in node_exporter's release layout (`node_exporter-<version>.<os>-<arch>/node_exporter`) with
the `sha256sums.txt` every Prometheus release publishes. The program inside is Debian's build of
node_exporter (tests/infra/monitoring.sh), and the unit runs under the systemctl stand-in
(tests/nodes/systemctl_standin.py), so the service really starts and really answers.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import os
import plistlib
import pwd
import socket
import subprocess
import tarfile
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from devops_studio.inventory import load_inventory
from devops_studio.nodes import docker_metrics, exporter
from devops_studio.nodes.report import CHANGED, DONE, FAILED, PLANNED, Report
from tests.nodes.systemctl_standin import stop_services, systemctl_calls, write_fake_systemctl
from tests.nodes.test_node_setup import EXAMPLE, cli, needs_root

DEBIAN_EXPORTER = "/usr/bin/prometheus-node-exporter"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def release(folder: Path, node, *, tamper: bool = False) -> Path:
    """The release folder the stand-in serves: v<version>/<archive> and v<version>/sha256sums.txt."""
    name = exporter.archive_name(node)
    version_dir = folder / f"v{exporter.NODE_EXPORTER_VERSION}"
    version_dir.mkdir(parents=True)
    with tarfile.open(version_dir / name, "w:gz", compresslevel=1) as tar:
        tar.add(DEBIAN_EXPORTER, arcname=f"{name.removesuffix('.tar.gz')}/node_exporter")
    digest = hashlib.sha256((version_dir / name).read_bytes()).hexdigest()
    if tamper:
        digest = hashlib.sha256(b"what the release really held").hexdigest()
    other = f"{'0' * 64}  node_exporter-{exporter.NODE_EXPORTER_VERSION}.linux-386.tar.gz"
    (version_dir / "sha256sums.txt").write_text(f"{other}\n{digest}  {name}\n")
    return folder


@pytest.fixture
def served(tmp_path):
    root = tmp_path / "releases"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def lab(tmp_path, served, monkeypatch):
    if not Path(DEBIAN_EXPORTER).exists():
        pytest.fail("prometheus-node-exporter is missing: tests/infra/monitoring.sh installs it")
    root, url = served
    record, systemd = tmp_path / "record", tmp_path / "systemd"
    record.mkdir()
    systemd.mkdir()
    systemctl = write_fake_systemctl(tmp_path / "systemctl", api="", record_dir=record, systemd_dir=systemd)
    listen = f"127.0.0.1:{free_port()}"
    for key, value in {
        "DEVOPS_STUDIO_EXPORTER_PREFIX": str(tmp_path / "prefix"),
        "DEVOPS_STUDIO_SYSTEMD_DIR": str(systemd),
        "DEVOPS_STUDIO_SYSTEMCTL": str(systemctl),
        "DEVOPS_STUDIO_EXPORTER_LISTEN": listen,
        "DEVOPS_STUDIO_EXPORTER_RELEASES": url,
    }.items():
        monkeypatch.setenv(key, value)
    node = load_inventory(EXAMPLE).node("chronos")
    # pytest's folders are 0700: the dynamic user (nobody here) must reach the program.
    for folder in (tmp_path, *tmp_path.parents):
        if folder.is_relative_to("/tmp") and folder != Path("/tmp"):
            folder.chmod(folder.stat().st_mode | 0o001)
    yield node, root, record, tmp_path, listen
    stop_services(record)


def metrics(listen: str) -> str:
    with urllib.request.urlopen(f"http://{listen}/metrics", timeout=5) as resp:
        return resp.read().decode()


@needs_root
def test_the_exporter_is_installed_verified_started_and_then_left_alone(lab):
    node, root, record, tmp_path, listen = lab
    release(root, node)
    first = Report("first")
    exporter.ensure_exporter(node, "chronos", first, dry_run=False)
    assert [(o.status, o.step) for o in first.outcomes] == [(CHANGED, "metrics exporter")], first.outcomes
    assert "node_exporter_build_info" in metrics(listen)

    unit = (tmp_path / "systemd" / exporter.UNIT).read_text()
    binary = tmp_path / "prefix" / exporter.NODE_EXPORTER_VERSION / "node_exporter"
    assert f"ExecStart={binary} --web.listen-address={listen}\n" in unit
    assert "DynamicUser=yes" in unit and "ProtectSystem=strict" in unit and "CapabilityBoundingSet=\n" in unit
    verify = subprocess.run(
        ["systemd-analyze", "verify", str(tmp_path / "systemd" / exporter.UNIT)], capture_output=True, text=True
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert binary.stat().st_mode & 0o777 == 0o755
    assert sorted(p.name for p in (tmp_path / "prefix").iterdir()) == [exporter.NODE_EXPORTER_VERSION]
    state = json.loads((record / "systemctl-state.json").read_text())
    assert Path(f"/proc/{state[exporter.UNIT]}").stat().st_uid == pwd.getpwnam("nobody").pw_uid

    calls_before = len(systemctl_calls(record))
    second = Report("second")
    exporter.ensure_exporter(node, "chronos", second, dry_run=False)
    assert [o.status for o in second.outcomes] == [DONE], second.outcomes
    assert len(systemctl_calls(record)) == calls_before, "a second run changes nothing"


@needs_root
def test_a_staging_folder_a_killed_run_left_is_cleared_and_a_young_one_kept(lab):
    node, root, _, tmp_path, _ = lab
    release(root, node)
    prefix = tmp_path / "prefix"
    old, young = prefix / ".unpack-1.9.1-killed", prefix / ".unpack-1.9.1-running"
    for folder in (old, young):
        folder.mkdir(parents=True)
        (folder / "node_exporter-1.9.1.linux-amd64.tar.gz").write_bytes(b"half a download")
    hours_ago = time.time() - 2 * exporter.STALE_STAGING_SECONDS
    os.utime(old, (hours_ago, hours_ago))
    report = Report("after a kill")
    exporter.ensure_exporter(node, "chronos", report, dry_run=False)
    assert [o.status for o in report.outcomes] == [CHANGED], report.outcomes
    assert sorted(p.name for p in prefix.iterdir()) == [young.name, exporter.NODE_EXPORTER_VERSION]


@needs_root
def test_a_download_that_does_not_match_the_published_checksum_installs_nothing(lab):
    node, root, record, tmp_path, _ = lab
    release(root, node, tamper=True)
    report = Report("tampered")
    exporter.ensure_exporter(node, "chronos", report, dry_run=False)
    [outcome] = report.outcomes
    assert outcome.status == FAILED and "SHA-256 mismatch" in outcome.detail, outcome
    assert list((tmp_path / "prefix").iterdir()) == []
    assert not (tmp_path / "systemd" / exporter.UNIT).exists()
    assert systemctl_calls(record) == []


@needs_root
def test_an_archive_the_release_does_not_list_is_refused(lab):
    node, root, _, tmp_path, _ = lab
    release(root, node)
    sums = root / f"v{exporter.NODE_EXPORTER_VERSION}" / "sha256sums.txt"
    sums.write_text(sums.read_text().splitlines()[0] + "\n")
    report = Report("unlisted")
    exporter.ensure_exporter(node, "chronos", report, dry_run=False)
    [outcome] = report.outcomes
    assert outcome.status == FAILED and "not listed in the release's sha256sums.txt" in outcome.detail
    assert list((tmp_path / "prefix").iterdir()) == []


def test_an_exporter_that_is_not_ours_is_left_alone(lab):
    node, _, record, tmp_path, listen = lab
    foreign = subprocess.Popen(
        [DEBIAN_EXPORTER, f"--web.listen-address={listen}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        assert exporter._wait_answering(f"http://{listen}/metrics")
        report = Report("foreign")
        exporter.ensure_exporter(node, "chronos", report, dry_run=False)
        [outcome] = report.outcomes
        assert outcome.status == DONE and "not ours" in outcome.detail
        assert not (tmp_path / "prefix").exists() and not (tmp_path / "systemd" / exporter.UNIT).exists()
        assert systemctl_calls(record) == []
    finally:
        foreign.kill()
        foreign.wait()


def test_no_monitoring_section_means_no_exporter_step(lab):
    node, *_ = lab
    report = Report("none")
    exporter.ensure_exporter(node, None, report, dry_run=False)
    assert report.outcomes == []


def test_the_stack_node_listens_on_loopback_and_the_others_on_the_lan(monkeypatch):
    monkeypatch.delenv("DEVOPS_STUDIO_EXPORTER_LISTEN", raising=False)
    inventory = load_inventory(EXAMPLE)
    assert exporter.Placement.for_node(inventory.node("chronos"), "chronos").listen == "127.0.0.1:9100"
    assert exporter.Placement.for_node(inventory.node("selene"), "chronos").listen == ":9100"


def test_the_macos_daemon_runs_the_checked_program_as_nobody():
    plist = plistlib.loads(exporter.launchd_plist(Path("/usr/local/lib/x/1.9.1/node_exporter"), ":9100"))
    assert plist["ProgramArguments"] == ["/usr/local/lib/x/1.9.1/node_exporter", "--web.listen-address=:9100"]
    assert plist["UserName"] == "nobody" and plist["RunAtLoad"] is True and plist["Label"] == exporter.LAUNCHD_LABEL
    node = load_inventory(EXAMPLE).node("selene")
    assert exporter.archive_name(node) == f"node_exporter-{exporter.NODE_EXPORTER_VERSION}.darwin-arm64.tar.gz"


def test_the_windows_plan_checks_github_s_digest_before_installing():
    node = load_inventory(EXAMPLE).node("windows")
    lines = exporter.windows_plan(node)
    text = "\n".join(lines)
    assert f"'windows_exporter-{exporter.WINDOWS_EXPORTER_VERSION}-amd64.msi'" in text
    digest_line = next(i for i, line in enumerate(lines) if "$asset.digest" in line)
    install_line = next(i for i, line in enumerate(lines) if "msiexec" in line)
    assert digest_line < install_line and "throw" in lines[digest_line]
    assert "/qn" in lines[install_line] and "LISTEN_PORT=9182" in lines[install_line]


# --- docker metrics ---------------------------------------------------------------------------


@pytest.fixture
def daemon_json(tmp_path, monkeypatch):
    path = tmp_path / "docker" / "daemon.json"
    monkeypatch.setenv("DEVOPS_STUDIO_DOCKER_DAEMON_JSON", str(path))
    return path


@needs_root
def test_the_metrics_address_is_added_and_the_owner_s_keys_are_kept(daemon_json):
    daemon_json.parent.mkdir()
    daemon_json.write_text('{"log-driver": "journald", "live-restore": true}\n')
    daemon_json.chmod(0o600)
    first, second = Report("first"), Report("second")
    docker_metrics.ensure_metrics_address(first, dry_run=False)
    docker_metrics.ensure_metrics_address(second, dry_run=False)
    assert [o.status for o in first.outcomes + second.outcomes] == [CHANGED, DONE]
    assert "systemctl restart docker" in first.outcomes[0].detail
    assert json.loads(daemon_json.read_text()) == {
        "log-driver": "journald",
        "live-restore": True,
        "metrics-addr": "127.0.0.1:9323",
    }
    assert daemon_json.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in daemon_json.parent.iterdir()] == ["daemon.json"]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('{"log-driver": "journald",', "cannot be read as JSON"),
        ("[1, 2]", "holds no JSON object"),
        ('{"metrics-addr": "0.0.0.0:9323"}', "metrics-addr is 0.0.0.0:9323"),
    ],
)
def test_a_daemon_json_we_cannot_merge_into_is_left_as_it_is(daemon_json, text, says):
    daemon_json.parent.mkdir()
    daemon_json.write_text(text)
    report = Report("bad")
    docker_metrics.ensure_metrics_address(report, dry_run=False)
    [outcome] = report.outcomes
    assert outcome.status == FAILED and says in outcome.detail
    assert daemon_json.read_text() == text


def test_a_dry_run_plans_the_address_and_writes_nothing(daemon_json):
    report = Report("dry")
    docker_metrics.ensure_metrics_address(report, dry_run=True)
    assert [o.status for o in report.outcomes] == [PLANNED]
    assert not daemon_json.parent.exists()


def test_node_setup_installs_no_exporter_without_a_monitoring_section(tmp_path):
    text = EXAMPLE.read_text()
    (tmp_path / "studio.yml").write_text(text[: text.index("\nmonitoring:")] + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("GH_TOKEN", "GITHUB_TOKEN")}
    env |= {"HOME": str(tmp_path), "COLUMNS": "250", "OLLAMA_HOST": f"127.0.0.1:{free_port()}"}
    result = cli("node", "setup", "chronos", "--dry-run", "--inventory", str(tmp_path / "studio.yml"), env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "sudo rule" in result.stdout
    assert "metrics exporter" not in result.stdout and "docker metrics" not in result.stdout


def test_a_bad_monitoring_section_stops_node_setup_before_any_step(tmp_path):
    text = EXAMPLE.read_text().replace("  node: chronos ", "  node: nowhere ")
    (tmp_path / "studio.yml").write_text(text)
    result = cli(
        "node", "setup", "chronos", "--dry-run", "--inventory", str(tmp_path / "studio.yml"), env=dict(os.environ)
    )
    assert result.returncode == 1
    assert "monitoring.node" in result.stderr and "planned" not in result.stdout
