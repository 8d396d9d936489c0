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

pytestmark = pytest.mark.docker


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

    Own data root, exec root, socket and address pool; no iptables rules (published loopback ports go
    through docker-proxy), so it cannot collide with the machine's main engine.
    """

    ROOT = Path("/var/lib/devops-studio/restart-engine")
    RUN = Path("/run/devops-studio-restart-engine")

    def __init__(self) -> None:
        self.host = f"unix://{self.RUN}/docker.sock"
        self.proc: subprocess.Popen | None = None

    def env(self) -> dict:
        return dict(os.environ, DOCKER_HOST=self.host)

    def start(self) -> None:
        self.RUN.mkdir(parents=True, exist_ok=True)
        self.ROOT.mkdir(parents=True, exist_ok=True)
        log = open(self.ROOT / "dockerd.log", "a")  # noqa: SIM115 (kept open for the daemon's life)
        self.proc = subprocess.Popen(
            [
                "dockerd",
                "--data-root",
                str(self.ROOT / "data"),
                "--exec-root",
                str(self.RUN / "exec"),
                "--pidfile",
                str(self.RUN / "docker.pid"),
                "--host",
                self.host,
                "--bridge",
                "none",
                "--iptables=false",
                "--ip-masq=false",
                "--default-address-pool",
                "base=10.213.0.0/16,size=24",
            ],
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


@pytest.fixture
def private_engine(infra):
    engine = PrivateEngine()
    engine.start()
    image = harness.STANDIN["python"]
    if harness.sh(["docker", "image", "inspect", image], env=engine.env(), check=False).returncode != 0:
        # The stand-in comes from the main engine (no registry to pull from); loaded once, kept.
        save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
        subprocess.run(
            ["docker", "load", "-q"], stdin=save.stdout, env=engine.env(), check=True, capture_output=True
        )
        assert save.wait() == 0
    yield engine
    project_containers = harness.sh(
        ["docker", "ps", "-aq", "--filter", "label=com.docker.compose.project=rsapp"],
        env=engine.env(),
        check=False,
    ).stdout.split()
    if project_containers:
        harness.sh(["docker", "rm", "-f", *project_containers], env=engine.env(), check=False)
    engine.stop()


def test_after_a_docker_daemon_restart_the_app_comes_back_on_its_own(nginx, base_dir, private_engine):
    app = harness.make_app(base_dir, name="rsapp", stack="python", nginx=nginx)
    app.env["DOCKER_HOST"] = private_engine.host
    nginx.issue(app)
    proc = app.run_deploy(nginx, "deploy", "--ref", "rs1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert app.version() == "rs1"

    private_engine.stop()
    assert app.get()[0] == 502  # nothing serves while the engine is down
    private_engine.start()

    deadline = time.monotonic() + 90
    while app.version() != "rs1":
        assert time.monotonic() < deadline, "the app did not come back after the daemon restart"
        time.sleep(1)
    status = app.run_deploy(nginx, "status")
    assert "healthy" in status.stdout or "running" in status.stdout, status.stdout
