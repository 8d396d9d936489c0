"""Fixtures of the end-to-end tests: Docker with the stand-in base images, and Debian's Chromium.

The infra scripts are idempotent and run first; a missing engine or browser fails the run here.
Nothing is skipped: in CI (CI=true) and locally alike these tests need the real parts.
"""

from __future__ import annotations

import subprocess

import pytest

from tests.e2e.stack import CHROMIUM, INFRA


@pytest.fixture(scope="session")
def e2e_infra() -> None:
    for script in ("docker.sh", "standin-images.sh", "chromium.sh"):
        proc = subprocess.run(["bash", str(INFRA / script)], text=True, capture_output=True, timeout=1800)
        if proc.returncode != 0:
            pytest.fail(
                f"the end-to-end tests need tests/infra/{script}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}",
                pytrace=False,
            )
    if not CHROMIUM.is_file():
        pytest.fail(f"tests/infra/chromium.sh left no browser at {CHROMIUM}", pytrace=False)
