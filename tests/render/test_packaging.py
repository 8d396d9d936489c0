"""The wheel carries the template, so `devops-studio new` works from an installed package."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

from tests.conftest import REPO_ROOT


def test_installed_wheel_renders_its_own_template(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(wheels), str(REPO_ROOT)],
        check=True,
    )
    (wheel,) = wheels.glob("devops_studio-*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        archive.extractall(site)
    assert "devops_studio/_template/copier.yml" in names
    assert "devops_studio/_template/extensions/studio.py" in names
    assert any(n.startswith("devops_studio/_template/template/.github/workflows/") for n in names)

    # Run the unpacked package (not this checkout) with the dependencies of the test environment.
    env = {**os.environ, "PYTHONPATH": str(site)}
    dest = tmp_path / "app"
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import devops_studio.template_source as t, sys; print(t.template_root());"
            "from devops_studio.cli import main; sys.exit(main(sys.argv[1:]))",
            "new",
            str(dest),
            "--defaults",
            "--data",
            "app_name=from-wheel",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == str(site / "devops_studio" / "_template")
    assert (dest / "app/main.py").is_file()
    assert "app_name: from-wheel" in (dest / ".copier-answers.yml").read_text()
