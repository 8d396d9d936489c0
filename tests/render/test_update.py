"""`copier update` from one tagged template version to the next keeps the owner's edits."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT

from .helpers import run


def _git(repo: Path, *args: str) -> str:
    return run(["git", *args], cwd=repo).stdout


def _template_repo(tmp_path: Path) -> Path:
    """A copy of this template in its own git repo, tagged v1.0.0."""
    repo = tmp_path / "template"
    repo.mkdir()
    shutil.copy(REPO_ROOT / "copier.yml", repo)
    for folder in ("template", "extensions"):
        shutil.copytree(REPO_ROOT / folder, repo / folder, ignore=shutil.ignore_patterns("__pycache__"))
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "v1")
    _git(repo, "tag", "v1.0.0")
    return repo


def _copier(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # The copier command installed beside this Python, as a user runs it.
    return run([str(Path(sys.executable).parent / "copier"), *args], cwd=cwd)


def test_update_keeps_a_local_edit_and_brings_the_template_change(tmp_path):
    template = _template_repo(tmp_path)
    app = tmp_path / "app"
    _copier(
        "copy",
        "--trust",
        "--defaults",
        "--vcs-ref",
        "v1.0.0",
        "--data",
        "app_name=sample-app",
        str(template),
        str(app),
        cwd=tmp_path,
    )
    _git(app, "init", "-q", "-b", "main")
    _git(app, "add", "-A")
    _git(app, "-c", "user.name=o", "-c", "user.email=o@example.com", "commit", "-qm", "rendered")

    # The owner's edits: a route in the app and a line in the README.
    main_py = app / "app/main.py"
    main_py.write_text(
        main_py.read_text() + '\n\n@app.get("/owner")\ndef owner() -> dict[str, str]:\n    return {"owner": "kept"}\n'
    )
    readme = app / "README.md"
    readme.write_text(readme.read_text() + "\nOwner's note: keep me.\n")
    _git(app, "-c", "user.name=o", "-c", "user.email=o@example.com", "commit", "-qam", "owner edits")

    # The next template version changes other parts of the same files and one more file.
    dockerignore = template / "template/.dockerignore.jinja"
    dockerignore.write_text(dockerignore.read_text() + "*.log\n")
    readme_tpl = template / "template/README.md.jinja"
    readme_tpl.write_text(readme_tpl.read_text().replace("## Run it locally", "## Run it on your machine"))
    _git(template, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "v1.1")
    _git(template, "tag", "v1.1.0")

    _copier("update", "--trust", "--defaults", "--vcs-ref", "v1.1.0", cwd=app)

    assert '"owner": "kept"' in main_py.read_text()
    readme_text = readme.read_text()
    assert "Owner's note: keep me." in readme_text
    assert "## Run it on your machine" in readme_text
    assert "*.log" in (app / ".dockerignore").read_text()
    assert "_commit: v1.1.0" in (app / ".copier-answers.yml").read_text()
    status = _git(app, "status", "--porcelain")
    assert "UU " not in status and not list(app.rglob("*.rej"))
    assert not any(
        "<<<<<<<" in p.read_text(errors="ignore") for p in app.rglob("*") if p.is_file() and ".git" not in p.parts
    )
