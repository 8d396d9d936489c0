"""Fixtures of the deploy tests: one loopback production box per test session.

The infra scripts (tests/infra/docker.sh, edge.sh, standin-images.sh) are idempotent; the session
runs them first, so a missing engine, nginx or pebble fails the run loudly here. Nothing is skipped:
in CI (CI=true) and locally alike these tests need the real parts and say so when they are missing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy import harness  # noqa: E402


@pytest.fixture(scope="session")
def infra() -> None:
    try:
        harness.ensure_infra()
    except Exception as exc:  # the message names the script and its output
        pytest.fail(f"the deploy tests need Docker, nginx, pebble and the stand-in images: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def base_dir(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("box")
    base.chmod(0o755)
    return base


@pytest.fixture(scope="session")
def nginx(infra, base_dir):
    server = harness.Nginx(base_dir / "nginx")
    server.start()
    yield server
    server.stop()


def _first_deploy(app: harness.App, nginx: harness.Nginx, ref: str) -> harness.App:
    try:
        nginx.issue(app)
        proc = app.run_deploy(nginx, "deploy", "--ref", ref)
        assert proc.returncode == 0, f"first deploy of {app.name} failed:\n{proc.stdout}\n{proc.stderr}"
    except BaseException:
        app.destroy()
        raise
    return app


@pytest.fixture(scope="session")
def python_app(nginx, base_dir):
    app = harness.make_app(base_dir, name="pyapp", stack="python", nginx=nginx)
    yield _first_deploy(app, nginx, "v1")
    app.destroy()


@pytest.fixture(scope="session")
def node_app(nginx, base_dir):
    app = harness.make_app(base_dir, name="nodeapp", stack="node", database="postgres", nginx=nginx)
    yield _first_deploy(app, nginx, "n1")
    app.destroy()
