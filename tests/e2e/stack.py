"""A rendered app with `e2e: true`, built into its image and started with its own compose file.

The image is built from the rendered Dockerfile on the stand-in base image (no container registry
is reachable); the container is published on a free loopback port, as `proxy: none` renders it. The
rendered Playwright tests then run against it in Debian's Chromium, through the executable path the
rendered config reads from PLAYWRIGHT_CHROMIUM_EXECUTABLE (browser downloads are impossible here).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.deploy.harness import STANDIN, free_port, render_app, sh

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "tests" / "infra"
CHROMIUM = Path("/usr/bin/chromium")


@dataclass
class ComposedApp:
    name: str
    stack: str
    repo: Path
    port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def compose(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
        env = {**os.environ, "APP_HOST_PORT": str(self.port), "APP_BIND": "127.0.0.1", "APP_VERSION": "e2e"}
        return sh(["docker", "compose", "-p", self.name, *args], cwd=self.repo, env=env, timeout=timeout)

    def up(self) -> None:
        """Build the image from the working tree as it is now and (re)start the container healthy."""
        self.compose("build", "--build-arg", f"BASE_IMAGE={STANDIN[self.stack]}")
        self.compose("up", "-d", "--wait", "--wait-timeout", "120", "--force-recreate")

    def down(self) -> None:
        # The image is named in compose.yaml (app:version), so only --rmi all removes it.
        self.compose("down", "--volumes", "--rmi", "all", "--remove-orphans", timeout=300)


def render(dest: Path, name: str, stack: str) -> ComposedApp:
    repo = render_app(dest, app_name=name, stack=stack, e2e=True, proxy="none", database="none")
    return ComposedApp(name=name, stack=stack, repo=repo, port=free_port())


def playwright_env(app: ComposedApp) -> dict[str, str]:
    return {
        **os.environ,
        "CI": "true",
        "BASE_URL": app.base_url,
        "PLAYWRIGHT_CHROMIUM_EXECUTABLE": str(CHROMIUM),
    }


def have(tool: str) -> str:
    path = shutil.which(tool)
    assert path, f"{tool} is needed on PATH for the end-to-end tests"
    return path
