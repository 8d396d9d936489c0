"""proxy: compose-nginx — the same zero-downtime switch through the app's own nginx container."""

from __future__ import annotations

import json
import re
import time
import urllib.request

import pytest

from tests import certificates
from tests.deploy import harness

# One loopback production box per test session: nginx on pebble's fixed HTTP port, and the apps'
# tests run in file order. Under xdist every deploy test runs in the same worker.
pytestmark = [pytest.mark.docker, pytest.mark.xdist_group("deploy-box")]


def _loopback_ports(app: harness.App, http_port: int) -> None:
    """The proxy publishes 80/443 on the production box; here it gets loopback ports."""
    path = app.repo / "compose.proxy.yaml"
    text = path.read_text()
    text = re.sub(r'- "80:80"', f'- "127.0.0.1:{http_port}:80"', text)
    text = re.sub(r'- "443:443"', f'- "127.0.0.1:{app.https_port}:443"', text)
    path.write_text(text)


def _certificate_volume(app: harness.App, base) -> None:
    """A certificate in the proxy's letsencrypt volume, where certbot's container would put it."""
    certs = certificates.self_signed(base / f"{app.name}-certs", app.domain)
    volume = f"{app.name}_letsencrypt"
    harness.sh(
        [
            "docker",
            "volume",
            "create",
            "--label",
            f"com.docker.compose.project={app.name}",
            "--label",
            "com.docker.compose.volume=letsencrypt",
            volume,
        ]
    )
    harness.sh(
        [
            "docker",
            "run",
            "--rm",
            "-v",
            f"{volume}:/le",
            "-v",
            f"{certs}:/src:ro",
            harness.STANDIN["python"],
            "sh",
            "-c",
            f"mkdir -p /le/live/{app.domain} && cp /src/*.pem /le/live/{app.domain}/",
        ]
    )


def test_compose_nginx_switches_through_the_proxy_container_with_zero_failures(nginx, base_dir):
    app = harness.make_app(base_dir, name="cnapp", stack="python", proxy="compose-nginx", nginx=nginx)
    # The nginx commands run inside the proxy container (deploy.json defaults).
    app.env.update({"DEPLOY_NGINX_TEST_COMMAND": "nginx -t", "DEPLOY_NGINX_RELOAD_COMMAND": "nginx -s reload"})
    try:
        _loopback_ports(app, harness.free_port())
        _certificate_volume(app, base_dir)
        proc = app.run_deploy(nginx, "deploy", "--ref", "cn1")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert app.version() == "cn1"
        # Through Docker's published port the container sees the bridge's address: the stack may scrape.
        status, body = app.get("/metrics")
        assert status == 200 and "http_requests_total" in body, body
        proxy = app.containers("proxy")
        assert len(proxy) == 1
        started = harness.sh(["docker", "inspect", "-f", "{{.State.StartedAt}}", proxy[0]]).stdout

        harness.bump_version(app, "cn2")
        with harness.Load(app.https_port, app.domain, settle=1) as load:
            proc = app.run_deploy(nginx, "deploy", "--ref", "cn2")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert load.failed == 0, load.failures[:10]
        assert load.ok > 100
        assert app.version() == "cn2"
        # The proxy was reloaded, not recreated.
        assert app.containers("proxy") == proxy
        assert harness.sh(["docker", "inspect", "-f", "{{.State.StartedAt}}", proxy[0]]).stdout == started
        assert app.containers("web-blue") == [] and len(app.containers("web-green")) == 1
    finally:
        app.destroy()
        harness.sh(
            ["docker", "volume", "rm", "-f", f"{app.name}_letsencrypt", f"{app.name}_acme-webroot"],
            check=False,
        )


def test_proxy_none_is_a_health_gated_recreate_that_puts_the_old_release_back(nginx, base_dir):
    app = harness.make_app(base_dir, name="noneapp", stack="python", proxy="none", nginx=nginx)
    port = int(harness._env_file(app.repo / ".env")["APP_HOST_PORT"])
    app.env["DEPLOY_SMOKE_URL"] = f"http://127.0.0.1:{port}/healthz"

    def served() -> str | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=3) as resp:
                return json.loads(resp.read()).get("version")
        except OSError:
            return None

    try:
        for ref in ("none1", "none2"):
            harness.bump_version(app, ref)
            proc = app.run_deploy(nginx, "deploy", "--ref", ref)
            assert proc.returncode == 0, proc.stdout + proc.stderr
            assert served() == ref
        main_py = app.repo / "app" / "main.py"
        original = main_py.read_text()
        app.break_health()
        try:
            proc = app.run_deploy(nginx, "deploy", "--ref", "none3-broken")
        finally:
            main_py.write_text(original)
        out = proc.stdout + proc.stderr
        assert proc.returncode != 0, out
        assert "briefly down" in out and "starting web-green again" in out
        deadline = time.monotonic() + 60
        while served() != "none2":
            assert time.monotonic() < deadline, "the old release did not come back"
            time.sleep(1)
        assert app.containers("web-blue") == []
    finally:
        app.destroy()


def test_first_deploy_takes_over_from_a_plain_compose_deploy_with_zero_failures(nginx, base_dir):
    """An app deployed the plain way (`docker compose up` in the app directory) moves to deploy.py."""
    app = harness.make_app(base_dir, name="legacyapp", stack="python", nginx=nginx)
    try:
        env = dict(app.deploy_env_plain(), APP_VERSION="plain1")
        compose = ["docker", "compose", "--project-directory", str(app.repo)]
        # Run from the app directory, as the plain workflow did (COMPOSE_FILE in .env is relative).
        harness.sh([*compose, "build", "--build-arg", f"BASE_IMAGE={harness.STANDIN['python']}"], env=env, cwd=app.repo)
        harness.sh([*compose, "up", "-d", "--wait", "--wait-timeout", "120"], env=env, cwd=app.repo)
        nginx.issue(app)  # its placeholder upstream is APP_HOST_PORT: the plain container
        assert app.version() == "plain1"

        with harness.Load(app.https_port, app.domain, settle=1) as load:
            proc = app.run_deploy(nginx, "deploy", "--ref", "ours1")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert load.failed == 0, load.failures[:10]
        assert app.version() == "ours1"
        assert app.containers("web") == []  # the plain container gave way
        assert len(app.containers("web-blue")) == 1
    finally:
        app.destroy()
