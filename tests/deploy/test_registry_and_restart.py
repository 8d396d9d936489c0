"""Method B through a real registry, and a release that survives a Docker daemon restart."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.deploy import harness

# One loopback production box per test session: nginx on pebble's fixed HTTP port, and the apps'
# tests run in file order. Under xdist every deploy test runs in the same worker.
pytestmark = [pytest.mark.docker, pytest.mark.xdist_group("deploy-box")]


def test_method_b_pushes_to_and_deploys_from_the_local_registry(nginx, base_dir):
    app = harness.make_app(
        base_dir,
        name="regapp",
        stack="python",
        nginx=nginx,
        deploy_method="registry",
        registry_url=f"{harness.REGISTRY}/regapp",
    )
    try:
        assert app.config["deploy_method"] == "registry"
        nginx.issue(app)
        image = f"{harness.REGISTRY}/regapp:r1"
        # What the workflow's image job does: build on the CI runner and push.
        harness.sh(
            [
                "docker",
                "build",
                "--tag",
                image,
                "--build-arg",
                f"BASE_IMAGE={harness.STANDIN['python']}",
                str(app.repo),
            ]
        )
        harness.sh(["docker", "push", image])
        harness.sh(["docker", "image", "rm", image])
        with urllib.request.urlopen(f"http://{harness.REGISTRY}/v2/regapp/tags/list", timeout=5) as resp:
            assert "r1" in json.loads(resp.read())["tags"]

        proc = app.run_deploy(nginx, "deploy", "--ref", "r1", "--image", image)
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0, out
        assert f"pulling {image}" in out and "building" not in out
        assert app.version() == "r1"
        assert app.state()["releases"][-1]["image"] == image
    finally:
        app.destroy()


# ───────────────────────────── daemon restart ─────────────────────────────


class PrivateEngine:
    """A second Docker Engine for this test alone, so restarting it disturbs nobody else's containers.

    It runs in its own network namespace (its docker0, iptables rules and loopback ports are its own),
    with its own data root, exec root, socket and containerd namespace. Nothing it does reaches the
    machine's main engine; the namespace stays across restarts like a machine's network does.
    """

    NETNS = "dsrestart"
    ROOT = Path("/var/lib/devops-studio/restart-engine")
    RUN = Path("/run/devops-studio-restart-engine")

    def __init__(self) -> None:
        self.host = f"unix://{self.RUN}/docker.sock"
        self.proc: subprocess.Popen | None = None

    def env(self) -> dict:
        return dict(os.environ, DOCKER_HOST=self.host)

    def inside(self, *cmd: str) -> list[str]:
        # nsenter switches the network namespace only (`ip netns exec` would remount /sys and hide
        # the cgroup mounts dockerd needs).
        return ["nsenter", f"--net=/run/netns/{self.NETNS}", *cmd]

    def start(self) -> None:
        if self.NETNS not in harness.sh(["ip", "netns", "list"]).stdout.split():
            harness.sh(["ip", "netns", "add", self.NETNS])
            harness.sh(self.inside("ip", "link", "set", "lo", "up"))
        self.RUN.mkdir(parents=True, exist_ok=True)
        self.ROOT.mkdir(parents=True, exist_ok=True)
        log = open(self.ROOT / "dockerd.log", "a")  # noqa: SIM115 (kept open for the daemon's life)
        self.proc = subprocess.Popen(
            self.inside(
                "dockerd",
                "--data-root",
                str(self.ROOT / "data"),
                "--exec-root",
                str(self.RUN / "exec"),
                "--pidfile",
                str(self.RUN / "docker.pid"),
                "--host",
                self.host,
                "--containerd-namespace",
                "dsrestart",
                "--containerd-plugins-namespace",
                "dsrestart-plugins",
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while harness.sh(["docker", "info"], env=self.env(), check=False).returncode != 0:
            assert self.proc.poll() is None, (self.ROOT / "dockerd.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the private engine did not start"
            time.sleep(0.5)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)

    def get(self, port: int) -> tuple[int, str]:
        code = (
            "import sys, urllib.request\n"
            "try:\n"
            f"    r = urllib.request.urlopen('http://127.0.0.1:{port}/healthz', timeout=3)\n"
            "    print(r.status, r.read().decode())\n"
            "except Exception as exc:\n"
            "    print(0, exc)\n"
        )
        out = harness.sh(self.inside("python3", "-c", code), check=False).stdout.strip()
        status, _, body = out.partition(" ")
        return int(status or 0), body


@pytest.fixture
def private_engine(infra):
    engine = PrivateEngine()
    engine.start()
    yield engine
    leftovers = harness.sh(
        ["docker", "ps", "-aq", "--filter", "label=com.docker.compose.project=rsapp"],
        env=engine.env(),
        check=False,
    ).stdout.split()
    if leftovers:
        harness.sh(["docker", "rm", "-f", *leftovers], env=engine.env(), check=False)
    engine.stop()


def test_after_a_docker_daemon_restart_the_app_comes_back_on_its_own(nginx, base_dir, private_engine):
    app = harness.make_app(base_dir, name="rsapp", stack="python", proxy="none", nginx=nginx)
    app.env["DOCKER_HOST"] = private_engine.host
    port = int(harness._env_file(app.repo / ".env")["APP_HOST_PORT"])
    # The private engine has no way out to PyPI: the image is built on the main engine and moved.
    harness.sh(
        [
            "docker",
            "build",
            "-q",
            "--tag",
            "rsapp:rs1",
            "--build-arg",
            f"BASE_IMAGE={harness.STANDIN['python']}",
            str(app.repo),
        ]
    )
    save = subprocess.Popen(["docker", "save", "rsapp:rs1"], stdout=subprocess.PIPE)
    subprocess.run(
        ["docker", "load", "-q"], stdin=save.stdout, env=private_engine.env(), check=True, capture_output=True
    )
    assert save.wait() == 0
    harness.sh(["docker", "image", "rm", "rsapp:rs1"])
    env = app.deploy_env(nginx)
    env["DEPLOY_SMOKE_URL"] = f"http://127.0.0.1:{port}/healthz"
    proc = harness.sh(
        private_engine.inside(*app.deploy_cmd("deploy", "--ref", "rs1", "--image", "rsapp:rs1")),
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert private_engine.get(port)[0] == 200

    private_engine.stop()
    assert private_engine.get(port)[0] == 0  # nothing answers while the engine is down
    private_engine.start()

    deadline = time.monotonic() + 90
    while True:
        status, body = private_engine.get(port)
        if status == 200 and '"version":"rs1"' in body.replace(" ", ""):
            break
        assert time.monotonic() < deadline, f"the app did not come back after the daemon restart: {body}"
        time.sleep(1)
    status = harness.sh(app.deploy_cmd("status"), env=env)
    assert "rsapp-web-blue-1" in status.stdout, status.stdout
